import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table orders (
      id text primary key,
      workflow_id text not null unique,
      channel text not null,
      customer_id text not null,
      currency char(3) not null,
      status text not null,
      ship_to jsonb not null,
      billing_country char(2),
      freight_minor bigint not null check (freight_minor >= 0),
      total_minor bigint not null check (total_minor >= 0),
      promised_by timestamptz,
      status_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table order_lines (
      order_id text not null references orders(id),
      line_no int not null check (line_no > 0),
      sku text not null,
      qty bigint not null check (qty > 0),
      unit_price_minor bigint not null check (unit_price_minor >= 0),
      discount_minor bigint not null check (discount_minor >= 0),
      tax_minor bigint not null check (tax_minor >= 0),
      primary key (order_id, line_no)
    )`.execute(db);
  await sql`create index orders_status_idx on orders (status, updated_at)`.execute(db);
  await sql`create index orders_customer_idx on orders (customer_id, created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table order_lines`.execute(db);
  await sql`drop table orders`.execute(db);
}
