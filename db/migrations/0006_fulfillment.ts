import { sql, type Kysely } from 'kysely';

/** Shipments: one per warehouse leg of an order, with the units each line sends. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table shipments (
      id text primary key,
      order_id text not null references orders(id),
      warehouse_code text not null references warehouses(code),
      workflow_id text not null unique,
      status text not null,
      ship_by timestamptz,
      carrier text,
      tracking text,
      freight_cost_minor bigint check (freight_cost_minor >= 0),
      journal_entry_id bigint references journal_entries(id),
      created_at timestamptz not null default now(),
      picked_at timestamptz,
      packed_at timestamptz,
      shipped_at timestamptz,
      closed_at timestamptz,
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index shipments_order_idx on shipments (order_id)`.execute(db);
  await sql`create index shipments_open_idx on shipments (warehouse_code, status) where closed_at is null`.execute(db);
  await sql`
    create table shipment_lines (
      shipment_id text not null references shipments(id),
      line_no int not null,
      sku text not null references items(sku),
      reservation_id bigint not null references reservations(id),
      qty bigint not null check (qty > 0),
      picked_qty bigint check (picked_qty >= 0 and picked_qty <= qty),
      shipped_qty bigint not null default 0 check (shipped_qty >= 0 and shipped_qty <= qty),
      primary key (shipment_id, line_no, sku)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table shipment_lines`.execute(db);
  await sql`drop table shipments`.execute(db);
}
