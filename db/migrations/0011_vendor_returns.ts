import { sql, type Kysely } from 'kysely';

/** Units rejected at inspection, owed back to their supplier until shipped to them. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table vendor_returns (
      id text primary key,
      po_id text not null references purchase_orders(id),
      supplier_id text not null references suppliers(id),
      warehouse_code text not null references warehouses(code),
      sku text not null references items(sku),
      qty bigint not null check (qty > 0),
      unit_cost_minor bigint not null check (unit_cost_minor >= 0),
      status text not null default 'open' check (status in ('open', 'shipped')),
      created_at timestamptz not null default now(),
      shipped_at timestamptz,
      shipped_by text,
      carrier_reference text,
      journal_entry_id bigint references journal_entries(id),
      check ((status = 'shipped') = (shipped_at is not null))
    )`.execute(db);
  await sql`create index vendor_returns_open_idx on vendor_returns (supplier_id) where status = 'open'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table vendor_returns`.execute(db);
}
