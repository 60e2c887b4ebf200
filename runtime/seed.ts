/**
 * A small demo catalog: three warehouses across the US, a dozen items, two suppliers
 * and opening stock. Safe to run again: rows are inserted once and the opening stock
 * goes through the ledger under fixed idempotency keys.
 */
import type { Db } from '../db/connection.js';
import { receive } from '../db/ledger.js';

const warehouses = [
  { code: 'EWR', name: 'Newark, NJ', lat: 40.7357, lon: -74.1724, freight_base_minor: 450, freight_per_km_minor: 1, daily_capacity: 800 },
  { code: 'ORD', name: 'Chicago, IL', lat: 41.8781, lon: -87.6298, freight_base_minor: 400, freight_per_km_minor: 1, daily_capacity: 1200 },
  { code: 'LAX', name: 'Los Angeles, CA', lat: 34.0522, lon: -118.2437, freight_base_minor: 500, freight_per_km_minor: 1, daily_capacity: 600 },
];

const items: { sku: string; name: string; price: number; cost: number; cls: 'A' | 'B' | 'C'; inspect?: boolean; substitutes?: string[]; safety?: number }[] = [
  { sku: 'TEE-BLK-S', name: 'T-shirt black S', price: 1_999, cost: 650, cls: 'A', substitutes: ['TEE-BLK-M'], safety: 5 },
  { sku: 'TEE-BLK-M', name: 'T-shirt black M', price: 1_999, cost: 650, cls: 'A', safety: 5 },
  { sku: 'TEE-BLK-L', name: 'T-shirt black L', price: 1_999, cost: 650, cls: 'A', safety: 5 },
  { sku: 'HOOD-GRY-M', name: 'Hoodie grey M', price: 4_999, cost: 1_900, cls: 'B' },
  { sku: 'HOOD-GRY-L', name: 'Hoodie grey L', price: 4_999, cost: 1_900, cls: 'B' },
  { sku: 'CAP-NVY', name: 'Cap navy', price: 2_499, cost: 700, cls: 'B' },
  { sku: 'SOCK-3PK', name: 'Socks 3-pack', price: 1_299, cost: 300, cls: 'A', safety: 10 },
  { sku: 'BOTTLE-750', name: 'Steel bottle 750 ml', price: 2_999, cost: 950, cls: 'C', inspect: true },
  { sku: 'MUG-CER', name: 'Ceramic mug', price: 1_499, cost: 420, cls: 'C', inspect: true },
  { sku: 'BAG-TOTE', name: 'Canvas tote', price: 1_799, cost: 380, cls: 'C' },
  { sku: 'JKT-RAIN-M', name: 'Rain jacket M', price: 12_999, cost: 5_200, cls: 'B' },
  { sku: 'JKT-RAIN-L', name: 'Rain jacket L', price: 12_999, cost: 5_200, cls: 'B' },
];

/** Units on hand per warehouse, by sku (EWR, ORD, LAX). */
const openingStock: Record<string, [number, number, number]> = {
  'TEE-BLK-S': [40, 60, 20],
  'TEE-BLK-M': [80, 120, 50],
  'TEE-BLK-L': [60, 90, 0],
  'HOOD-GRY-M': [25, 30, 10],
  'HOOD-GRY-L': [0, 20, 15],
  'CAP-NVY': [50, 0, 40],
  'SOCK-3PK': [200, 300, 150],
  'BOTTLE-750': [30, 30, 30],
  'MUG-CER': [24, 48, 0],
  'BAG-TOTE': [70, 70, 70],
  'JKT-RAIN-M': [8, 12, 3],
  'JKT-RAIN-L': [5, 0, 6],
};

export async function seedDemo(db: Db, log: (line: string) => void): Promise<void> {
  await db
    .insertInto('warehouses')
    .values(warehouses.map((w) => ({ ...w, zones: JSON.stringify([{ code: 'A', bins: ['A-01', 'A-02', 'A-03'] }, { code: 'B', bins: ['B-01', 'B-02'] }]) })))
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
  await db
    .insertInto('items')
    .values(
      items.map((i) => ({
        sku: i.sku,
        name: i.name,
        price_minor: i.price,
        standard_cost_minor: i.cost,
        average_cost_minor: i.cost,
        sku_class: i.cls,
        requires_inspection: i.inspect ?? false,
        substitutes: i.substitutes ?? [],
        safety_stock: i.safety ?? 0,
      })),
    )
    .onConflict((oc) => oc.column('sku').doNothing())
    .execute();
  await db
    .insertInto('suppliers')
    .values([
      { id: 'ACME-APPAREL', name: 'Acme Apparel Co.', default_lead_time_days: 14 },
      { id: 'NORTH-GOODS', name: 'North Goods Ltd.', default_lead_time_days: 21 },
    ])
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await db
    .insertInto('supplier_items')
    .values(
      items.map((i) => ({
        supplier_id: /^(TEE|HOOD|SOCK|JKT|CAP)/.test(i.sku) ? 'ACME-APPAREL' : 'NORTH-GOODS',
        sku: i.sku,
        unit_cost_minor: i.cost,
        moq: i.cls === 'A' ? 50 : 12,
        pack_size: i.cls === 'A' ? 10 : 6,
      })),
    )
    .onConflict((oc) => oc.columns(['supplier_id', 'sku']).doNothing())
    .execute();
  await db
    .insertInto('supplier_lanes')
    .values(
      ['ACME-APPAREL', 'NORTH-GOODS'].flatMap((supplier_id, s) =>
        warehouses.map((w, i) => ({ supplier_id, warehouse_code: w.code, lead_time_days: 10 + 4 * i + 7 * s })),
      ),
    )
    .onConflict((oc) => oc.columns(['supplier_id', 'warehouse_code']).doNothing())
    .execute();

  // Each sku in a bin of zone A (fast movers, class A) or B.
  await db
    .insertInto('item_locations')
    .values(
      warehouses.flatMap((w) =>
        items.map((item, index) => {
          const zone = item.cls === 'A' ? 'A' : 'B';
          const bins = zone === 'A' ? ['A-01', 'A-02', 'A-03'] : ['B-01', 'B-02'];
          return { warehouse_code: w.code, sku: item.sku, zone, bin: bins[index % bins.length]! };
        }),
      ),
    )
    .onConflict((oc) => oc.columns(['warehouse_code', 'sku']).doNothing())
    .execute();

  let received = 0;
  for (const item of items) {
    const units = openingStock[item.sku] ?? [0, 0, 0];
    for (const [index, warehouse] of warehouses.entries()) {
      const qty = units[index]!;
      if (qty === 0) continue;
      const result = await receive(
        db,
        { key: `seed:opening:${item.sku}:${warehouse.code}`, actor: 'seed', reason: 'opening stock' },
        { sku: item.sku, warehouse: warehouse.code, qty, into: 'available', fromInbound: 0, unitCostMinor: item.cost, landedCostMinor: 0 },
      );
      if (!result.replayed) received += qty;
    }
  }
  log(`demo catalog: ${warehouses.length} warehouses, ${items.length} items, 2 suppliers; ${received ? `${received} units of opening stock received` : 'opening stock already in place'}`);
}
