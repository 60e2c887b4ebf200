/** Master data and opening stock written straight to a test database. */
import type { Db } from '../../db/connection.js';
import { receive } from '../../db/ledger.js';
import { uniqueId } from './stack.js';

export async function addWarehouse(db: Db, code = uniqueId('W').toUpperCase().slice(0, 8), overrides: Partial<{ lat: number; lon: number; daily_capacity: number }> = {}) {
  await db
    .insertInto('warehouses')
    .values({
      code,
      name: `Warehouse ${code}`,
      lat: overrides.lat ?? 40,
      lon: overrides.lon ?? -74,
      freight_base_minor: 500,
      freight_per_km_minor: 1,
      daily_capacity: overrides.daily_capacity ?? 1_000,
      zones: JSON.stringify([{ code: 'A', bins: ['A-01', 'A-02'] }]),
    })
    .execute();
  return code;
}

export async function addItem(
  db: Db,
  sku = uniqueId('SKU-').toUpperCase(),
  overrides: Partial<{ price_minor: number; average_cost_minor: number; requires_inspection: boolean; safety_stock: number; substitutes: string[]; lot_tracked: boolean }> = {},
) {
  await db
    .insertInto('items')
    .values({
      sku,
      name: `Item ${sku}`,
      price_minor: overrides.price_minor ?? 2_000,
      standard_cost_minor: overrides.average_cost_minor ?? 800,
      average_cost_minor: overrides.average_cost_minor ?? 800,
      requires_inspection: overrides.requires_inspection ?? false,
      safety_stock: overrides.safety_stock ?? 0,
      substitutes: overrides.substitutes ?? [],
      lot_tracked: overrides.lot_tracked ?? false,
    })
    .execute();
  return sku;
}

/** Puts `qty` units on the shelf by a supplier receipt at the item's cost. */
export async function stock(db: Db, sku: string, warehouse: string, qty: number, unitCostMinor = 800) {
  await receive(
    db,
    { key: `opening:${sku}:${warehouse}:${uniqueId()}`, actor: 'test' },
    { sku, warehouse, qty, into: 'available', fromInbound: 0, unitCostMinor, landedCostMinor: 0 },
  );
}

/** Puts `qty` units of a lot on the shelf by a supplier receipt (a lot-tracked item). */
export async function stockLot(db: Db, sku: string, warehouse: string, qty: number, lot: string, expiresOn: string, unitCostMinor = 800) {
  await receive(
    db,
    { key: `opening:${sku}:${warehouse}:${lot}:${uniqueId()}`, actor: 'test' },
    { sku, warehouse, qty, into: 'available', fromInbound: 0, unitCostMinor, landedCostMinor: 0, lot: { lot, expiresOn } },
  );
}

/** A lot's balance in one bucket of a warehouse. */
export async function lotBalance(db: Db, sku: string, warehouse: string, bucket: string, lot: string): Promise<number> {
  const row = await db
    .selectFrom('inventory_lot_balances')
    .select('qty')
    .where('sku', '=', sku)
    .where('warehouse_code', '=', warehouse)
    .where('bucket', '=', bucket)
    .where('lot', '=', lot)
    .executeTakeFirst();
  return row?.qty ?? 0;
}

/** An ISO date `days` from today (UTC). */
export function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export async function balance(db: Db, sku: string, warehouse: string, bucket: string): Promise<number> {
  const row = await db
    .selectFrom('inventory_balances')
    .select('qty')
    .where('sku', '=', sku)
    .where('warehouse_code', '=', warehouse)
    .where('bucket', '=', bucket as never)
    .executeTakeFirst();
  return row?.qty ?? 0;
}
