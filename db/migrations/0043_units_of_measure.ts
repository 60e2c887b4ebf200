import { sql, type Kysely } from 'kysely';

/**
 * Units of measure: an item's conversions (unit → whole base units, each at least 1), a
 * supplier's purchase unit per item, and the quantities given in a unit on purchase order
 * lines and receipts, kept with the conversion used (the ledger posts base units only).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table items add column unit_conversions jsonb not null default '{}'::jsonb check (jsonb_typeof(unit_conversions) = 'object')`.execute(db);
  await sql`alter table supplier_items add column purchase_unit text`.execute(db);
  await sql`
    create table purchase_unit_quantities (
      po_id text not null,
      -- 'order' for the line as ordered, else the receipt id
      entry text not null,
      line_no int not null,
      sku text not null,
      unit text not null,
      unit_qty numeric not null check (unit_qty > 0),
      units_per_unit int not null check (units_per_unit > 0),
      base_qty int not null check (base_qty > 0),
      recorded_at timestamptz not null default now(),
      primary key (po_id, entry, line_no)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table purchase_unit_quantities`.execute(db);
  await sql`alter table supplier_items drop column purchase_unit`.execute(db);
  await sql`alter table items drop column unit_conversions`.execute(db);
}
