import { sql, type Kysely } from 'kysely';

/**
 * Inter-warehouse transfers: one row per transfer once its stock has left the origin.
 * The workflow `transfer-<id>` owns the figures; the row mirrors them for reading, and
 * the constraints refuse a receipt that does not account for every unit shipped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table transfers (
      id text primary key,
      workflow_id text not null unique,
      sku text not null references items(sku),
      from_warehouse text not null references warehouses(code),
      to_warehouse text not null references warehouses(code),
      qty bigint not null check (qty > 0),
      reason text not null,
      status text not null,
      requested_by text not null,
      ship_operation_key text not null references inventory_operations(idempotency_key),
      received_qty bigint check (received_qty >= 0),
      damaged_qty bigint check (damaged_qty >= 0),
      lost_qty bigint check (lost_qty >= 0),
      loss_unit_cost_minor bigint check (loss_unit_cost_minor >= 0),
      journal_entry_id bigint references journal_entries(id),
      received_by text,
      shipped_at timestamptz not null default now(),
      received_at timestamptz,
      check (from_warehouse <> to_warehouse),
      check (received_qty is null or received_qty + damaged_qty + lost_qty = qty)
    )`.execute(db);
  await sql`create index transfers_status_idx on transfers (status, to_warehouse)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table transfers`.execute(db);
}
