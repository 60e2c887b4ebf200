import { sql, type Kysely } from 'kysely';

/** Payments received from customers (terms orders), applied to their orders' receivables. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table customer_payments (
      id text primary key,
      customer_id text not null,
      received_on date not null,
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null,
      payload_hash text not null,
      unapplied_minor bigint not null check (unapplied_minor >= 0),
      journal_entry_id bigint references journal_entries(id),
      recorded_by text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table customer_payment_allocations (
      payment_id text not null references customer_payments(id),
      seq int not null,
      order_id text not null references orders(id),
      amount_minor bigint not null check (amount_minor > 0),
      primary key (payment_id, order_id)
    )`.execute(db);
  await sql`insert into accounts (code, name, type) values ('2300', 'Customer payments not yet applied', 'liability')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table customer_payment_allocations`.execute(db);
  await sql`drop table customer_payments`.execute(db);
}
