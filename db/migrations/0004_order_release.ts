import { sql, type Kysely } from 'kysely';

/** What order release records on the order: line quantities, the hold and its decision, the routing. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table order_lines
      add column allocated_qty bigint not null default 0 check (allocated_qty >= 0),
      add column backordered_qty bigint not null default 0 check (backordered_qty >= 0),
      add column cancelled_qty bigint not null default 0 check (cancelled_qty >= 0),
      add column shipped_qty bigint not null default 0 check (shipped_qty >= 0),
      add constraint line_quantities_within_ordered check (allocated_qty + backordered_qty + cancelled_qty + shipped_qty <= qty)`.execute(db);
  await sql`
    alter table orders
      add column hold jsonb,
      add column routing jsonb,
      add column problems jsonb,
      add column released_at timestamptz,
      add column closed_at timestamptz`.execute(db);
  await sql`create index order_lines_backordered_idx on order_lines (sku) where backordered_qty > 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index order_lines_backordered_idx`.execute(db);
  await sql`alter table orders drop column hold, drop column routing, drop column problems, drop column released_at, drop column closed_at`.execute(db);
  await sql`
    alter table order_lines drop constraint line_quantities_within_ordered,
      drop column allocated_qty, drop column backordered_qty, drop column cancelled_qty, drop column shipped_qty`.execute(db);
}
