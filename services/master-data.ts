/**
 * Master data: items, warehouses, suppliers and channel settings, read and written.
 * Items, warehouses and suppliers are created once: the same content again changes nothing
 * (`created: false`), other content under the same key is refused. A price change and a
 * channel's settings are set: the same value again changes nothing. Each write that makes
 * more than one row (a supplier with its items and lanes, a change with its outbox event)
 * does so in one transaction.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Db } from '../db/connection.js';
import type { ChannelsTable, Database, ItemsTable, ShortagePolicy, WarehousesTable, Zone } from '../db/schema.js';
import type { ChannelName } from '../domain/order.js';
import { toBaseUnitCost, unitsPerUnit } from '../domain/units.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export type SkuClass = 'A' | 'B' | 'C';

export interface NewItem {
  sku: string;
  name: string;
  uom: string;
  priceMinor: number;
  standardCostMinor: number;
  requiresInspection: boolean;
  lotTracked: boolean;
  substitutes: string[];
  skuClass: SkuClass;
  safetyStock: number;
}

export interface Item extends NewItem {
  /** Other units of measure: unit name → whole base units in one (docs/units.md). */
  conversions: Record<string, number>;
  averageCostMinor: number;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewWarehouse {
  code: string;
  name: string;
  lat: number;
  lon: number;
  freightBaseMinor: number;
  freightPerKmMinor: number;
  dailyCapacity: number;
  zones: Zone[];
}

export interface Warehouse extends NewWarehouse {
  active: boolean;
  createdAt: Date;
}

export interface SupplierItem {
  sku: string;
  unitCostMinor: number;
  moq: number;
  packSize: number;
  /** Shown only when set: the unit the supplier sells the item in; its conversion is then the pack size. */
  purchaseUnit?: string;
}

export interface SupplierLane {
  warehouse: string;
  leadTimeDays: number;
}

export interface NewSupplier {
  id: string;
  name: string;
  defaultLeadTimeDays: number;
  items: SupplierItem[];
  lanes: SupplierLane[];
}

export interface SupplierSummary {
  id: string;
  name: string;
  approved: boolean;
  defaultLeadTimeDays: number;
  createdAt: Date;
}

/** A supplier with its approved items and its lanes, each sorted (by sku, by warehouse). */
export interface Supplier extends SupplierSummary {
  items: SupplierItem[];
  lanes: SupplierLane[];
}

export interface ChannelSettings {
  code: ChannelName;
  name: string;
  reservationPriority: number;
  atsBufferQty: number;
  atsBufferPct: number;
  shortagePolicy: ShortagePolicy;
  webhookUrl: string | null;
  /** Days of shelf life a lot must still have when an order arrives (0: not expired by then). */
  minShelfLifeDays?: number;
}

export interface Channel extends Omit<ChannelSettings, 'code' | 'minShelfLifeDays'> {
  code: string;
  minShelfLifeDays: number;
  updatedAt: Date;
}

const itemFromRow = (row: Selectable<ItemsTable>): Item => ({
  sku: row.sku,
  name: row.name,
  uom: row.uom,
  priceMinor: row.price_minor,
  standardCostMinor: row.standard_cost_minor,
  averageCostMinor: row.average_cost_minor,
  requiresInspection: row.requires_inspection,
  lotTracked: row.lot_tracked,
  substitutes: row.substitutes,
  skuClass: row.sku_class,
  safetyStock: row.safety_stock,
  active: row.active,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  conversions: sortedConversions(row.unit_conversions),
});

/** Conversions by unit name, so two equal sets compare equal whatever order jsonb kept. */
function sortedConversions(conversions: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(conversions ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

const warehouseFromRow = (row: Selectable<WarehousesTable>): Warehouse => ({
  code: row.code,
  name: row.name,
  lat: row.lat,
  lon: row.lon,
  freightBaseMinor: row.freight_base_minor,
  freightPerKmMinor: row.freight_per_km_minor,
  dailyCapacity: row.daily_capacity,
  // jsonb reorders keys; rebuild each zone so it compares equal to what was sent
  zones: row.zones.map(({ code, bins }) => ({ code, bins })),
  active: row.active,
  createdAt: row.created_at,
});

/** A channel as the API shows it, and as its `channel.updated` event carries it. */
export const channelFromRow = (row: Selectable<ChannelsTable>): Channel => ({
  code: row.code,
  name: row.name,
  reservationPriority: row.reservation_priority,
  atsBufferQty: row.ats_buffer_qty,
  atsBufferPct: row.ats_buffer_pct,
  shortagePolicy: row.shortage_policy,
  webhookUrl: row.webhook_url,
  minShelfLifeDays: row.min_shelf_life_days,
  updatedAt: row.updated_at,
});

const bySku = (a: { sku: string }, b: { sku: string }) => a.sku.localeCompare(b.sku);
const byWarehouse = (a: { warehouse: string }, b: { warehouse: string }) => a.warehouse.localeCompare(b.warehouse);

/** True when every field the caller sent equals what is stored. */
function sameContent(sent: object, stored: object): boolean {
  return Object.entries(sent).every(([key, value]) => JSON.stringify(value) === JSON.stringify((stored as Record<string, unknown>)[key]));
}

/**
 * The answer of a create that happens once per key: the new record; or, when the key was
 * there already, the stored record if the caller sent the same content, else `duplicate`.
 */
async function createdOnce<T extends object>(sent: object, inserted: T | undefined, stored: () => Promise<T>, duplicate: Refusal): Promise<(T & { created: boolean }) | Refusal> {
  if (inserted) return { ...inserted, created: true };
  const existing = await stored();
  return sameContent(sent, existing) ? { ...existing, created: false } : duplicate;
}

type Reference = { path: string; value: string };

/** References to master data that does not exist, each by where it was given (unknown_sku, unknown_warehouse); undefined when all exist. */
async function unknownReferences(db: Db, what: 'sku' | 'warehouse', references: Reference[]): Promise<Refusal | undefined> {
  const values = [...new Set(references.map((r) => r.value))];
  if (values.length === 0) return undefined;
  const known = new Set(
    what === 'sku'
      ? (await db.selectFrom('items').select('sku').where('sku', 'in', values).execute()).map((r) => r.sku)
      : (await db.selectFrom('warehouses').select('code').where('code', 'in', values).execute()).map((r) => r.code),
  );
  const unknown = references.filter((r) => !known.has(r.value)).map((r) => ({ path: r.path, message: `unknown ${what} ${r.value}` }));
  if (!unknown.length) return undefined;
  return refuse.invalid(`unknown_${what}`, unknown.map((u) => `${u.path}: ${u.message}`).join('; '), unknown);
}

// ---------------------------------------------------------------- items

/** Creates an item once: the same content again answers it with `created: false`; other content is duplicate_sku. */
export async function createItem(db: Db, item: NewItem): Promise<(Item & { created: boolean }) | Refusal> {
  const unknown = await unknownReferences(
    db,
    'sku',
    item.substitutes.map((value, index) => ({ path: `substitutes.${index}`, value })),
  );
  if (unknown) return unknown;
  const inserted = await db
    .insertInto('items')
    .values({
      sku: item.sku,
      name: item.name,
      uom: item.uom,
      price_minor: item.priceMinor,
      standard_cost_minor: item.standardCostMinor,
      average_cost_minor: item.standardCostMinor,
      requires_inspection: item.requiresInspection,
      lot_tracked: item.lotTracked,
      substitutes: item.substitutes,
      sku_class: item.skuClass,
      safety_stock: item.safetyStock,
    })
    .onConflict((oc) => oc.column('sku').doNothing())
    .returningAll()
    .executeTakeFirst();
  return createdOnce(
    item,
    inserted && itemFromRow(inserted),
    async () => itemFromRow(await db.selectFrom('items').selectAll().where('sku', '=', item.sku).executeTakeFirstOrThrow()),
    refuse.conflict('duplicate_sku', `item ${item.sku} already exists with different content`),
  );
}

/** Items by sku after `after`, `limit` at a time; `nextAfter` is the last sku of a full page. */
export async function listItems(db: Db, page: { after?: string; limit: number }): Promise<{ items: Item[]; nextAfter: string | null }> {
  let query = db.selectFrom('items').selectAll().orderBy('sku').limit(page.limit);
  if (page.after) query = query.where('sku', '>', page.after);
  const rows = await query.execute();
  return { items: rows.map(itemFromRow), nextAfter: rows.length === page.limit ? rows.at(-1)!.sku : null };
}

export async function findItem(db: Db, sku: string): Promise<Item | undefined> {
  const row = await db.selectFrom('items').selectAll().where('sku', '=', sku).executeTakeFirst();
  return row && itemFromRow(row);
}

export interface PriceChange {
  sku: string;
  priceMinor: number;
  reason: string;
  actor: string | undefined;
}

/**
 * Sets an item's list price. A change writes an `item.price_changed` event with the price
 * before, the reason and who, in the same transaction; the same price again changes nothing.
 */
export async function changeItemPrice(db: Db, change: PriceChange): Promise<(Item & { previousPriceMinor: number; changed: boolean }) | Refusal> {
  const { sku, priceMinor, reason, actor } = change;
  return db.transaction().execute(async (tx) => {
    const before = await tx.selectFrom('items').select('price_minor').where('sku', '=', sku).forNoKeyUpdate().executeTakeFirst();
    if (!before) return refuse.notFound(`item ${sku}`);
    const changed = before.price_minor !== priceMinor;
    const row = changed
      ? await tx.updateTable('items').set({ price_minor: priceMinor, updated_at: new Date() }).where('sku', '=', sku).returningAll().executeTakeFirstOrThrow()
      : await tx.selectFrom('items').selectAll().where('sku', '=', sku).executeTakeFirstOrThrow();
    if (changed) {
      await tx
        .insertInto('outbox_events')
        .values({ topic: 'item.price_changed', key: sku, payload: JSON.stringify({ sku, previousPriceMinor: before.price_minor, priceMinor, reason, actor }) })
        .execute();
    }
    return { ...itemFromRow(row), previousPriceMinor: before.price_minor, changed };
  });
}

// ---------------------------------------------------------------- warehouses

/** Creates a warehouse once: the same content again answers it with `created: false`; other content is duplicate_warehouse. */
export async function createWarehouse(db: Db, warehouse: NewWarehouse): Promise<(Warehouse & { created: boolean }) | Refusal> {
  const inserted = await db
    .insertInto('warehouses')
    .values({
      code: warehouse.code,
      name: warehouse.name,
      lat: warehouse.lat,
      lon: warehouse.lon,
      freight_base_minor: warehouse.freightBaseMinor,
      freight_per_km_minor: warehouse.freightPerKmMinor,
      daily_capacity: warehouse.dailyCapacity,
      zones: JSON.stringify(warehouse.zones),
    })
    .onConflict((oc) => oc.column('code').doNothing())
    .returningAll()
    .executeTakeFirst();
  return createdOnce(
    warehouse,
    inserted && warehouseFromRow(inserted),
    async () => warehouseFromRow(await db.selectFrom('warehouses').selectAll().where('code', '=', warehouse.code).executeTakeFirstOrThrow()),
    refuse.conflict('duplicate_warehouse', `warehouse ${warehouse.code} already exists with different content`),
  );
}

export async function listWarehouses(db: Db): Promise<Warehouse[]> {
  const rows = await db.selectFrom('warehouses').selectAll().orderBy('code').execute();
  return rows.map(warehouseFromRow);
}

// ---------------------------------------------------------------- suppliers

/**
 * Creates a supplier with its approved items and lanes in one transaction, once: the same
 * content again answers it with `created: false`; other content is duplicate_supplier. An
 * item or lane naming an unknown sku or warehouse refuses the whole supplier.
 */
export async function createSupplier(db: Db, input: NewSupplier): Promise<(Supplier & { created: boolean }) | Refusal> {
  const supplier = { ...input, items: [...input.items].sort(bySku), lanes: [...input.lanes].sort(byWarehouse) };
  const created = await db.transaction().execute(async (tx) => {
    const unknown =
      (await unknownReferences(
        tx,
        'sku',
        input.items.map((item, index) => ({ path: `items.${index}.sku`, value: item.sku })),
      )) ??
      (await unknownReferences(
        tx,
        'warehouse',
        input.lanes.map((l, index) => ({ path: `lanes.${index}.warehouse`, value: l.warehouse })),
      ));
    if (unknown) return unknown;
    const inserted = await tx
      .insertInto('suppliers')
      .values({ id: supplier.id, name: supplier.name, default_lead_time_days: supplier.defaultLeadTimeDays })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return false;
    if (supplier.items.length) {
      await tx
        .insertInto('supplier_items')
        .values(
          supplier.items.map((i) => ({
            supplier_id: supplier.id,
            sku: i.sku,
            unit_cost_minor: i.unitCostMinor,
            moq: i.moq,
            pack_size: i.packSize,
          })),
        )
        .execute();
    }
    if (supplier.lanes.length) {
      await tx
        .insertInto('supplier_lanes')
        .values(supplier.lanes.map((l) => ({ supplier_id: supplier.id, warehouse_code: l.warehouse, lead_time_days: l.leadTimeDays })))
        .execute();
    }
    return true;
  });
  if (typeof created !== 'boolean') return created;
  const stored = (await findSupplier(db, supplier.id))!;
  return createdOnce(supplier, created ? stored : undefined, async () => stored, refuse.conflict('duplicate_supplier', `supplier ${supplier.id} already exists with different content`));
}

export async function listSuppliers(db: Db): Promise<SupplierSummary[]> {
  const rows = await db.selectFrom('suppliers').selectAll().orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    approved: r.approved,
    defaultLeadTimeDays: r.default_lead_time_days,
    createdAt: r.created_at,
  }));
}

/** A supplier with its approved items and its lanes. */
export async function findSupplier(db: Db, id: string): Promise<Supplier | undefined> {
  const row = await db.selectFrom('suppliers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const [items, lanes] = await Promise.all([
    approvedItems(db, id),
    db.selectFrom('supplier_lanes').selectAll().where('supplier_id', '=', id).execute(),
  ]);
  return {
    id: row.id,
    name: row.name,
    approved: row.approved,
    defaultLeadTimeDays: row.default_lead_time_days,
    createdAt: row.created_at,
    items,
    lanes: lanes.map((l) => ({ warehouse: l.warehouse_code, leadTimeDays: l.lead_time_days })).sort(byWarehouse),
  };
}

/** A supplier's approved items with their terms, by sku. */
async function approvedItems(db: Kysely<Database>, id: string): Promise<SupplierItem[]> {
  const rows = await db
    .selectFrom('supplier_items as si')
    .innerJoin('items as i', 'i.sku', 'si.sku')
    .select(['si.sku', 'si.unit_cost_minor', 'si.moq', 'si.pack_size', 'si.purchase_unit', 'i.uom', 'i.unit_conversions'])
    .where('si.supplier_id', '=', id)
    .where('si.approved', '=', true)
    .execute();
  return rows.map((i) => ({ sku: i.sku, unitCostMinor: i.unit_cost_minor, moq: i.moq, ...supplierPack(i) })).sort(bySku);
}

/** The pack a supplier sells an item in: its purchase unit's conversion when it has one, else the pack size it was given. */
function supplierPack(row: { pack_size: number; purchase_unit: string | null; uom: string; unit_conversions: Record<string, number> }): { packSize: number; purchaseUnit?: string } {
  if (row.purchase_unit === null) return { packSize: row.pack_size };
  return { packSize: unitsPerUnit(row.uom, row.unit_conversions, row.purchase_unit) ?? row.pack_size, purchaseUnit: row.purchase_unit };
}

// ---------------------------------------------------------------- channels

/**
 * Sets a channel's settings, creating the channel when it is new. A change writes a
 * `channel.updated` event in the same transaction, since it moves available-to-sell; the
 * same settings again change nothing (`changed: false`).
 */
export async function setChannel(db: Db, channel: ChannelSettings): Promise<Channel & { changed: boolean }> {
  const { code, ...body } = channel;
  const settings = {
    name: body.name,
    reservation_priority: body.reservationPriority,
    ats_buffer_qty: body.atsBufferQty,
    ats_buffer_pct: body.atsBufferPct,
    shortage_policy: body.shortagePolicy,
    webhook_url: body.webhookUrl,
    min_shelf_life_days: body.minShelfLifeDays ?? 0,
  };
  const changed = await db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('channels')
      .values({ code, ...settings })
      .onConflict((oc) =>
        oc
          .column('code')
          .doUpdateSet({ ...settings, updated_at: sql<Date>`now()` })
          .where(
            sql<boolean>`(channels.name, channels.reservation_priority, channels.ats_buffer_qty, channels.ats_buffer_pct,
              channels.shortage_policy, channels.webhook_url, channels.min_shelf_life_days) is distinct from (excluded.name,
              excluded.reservation_priority, excluded.ats_buffer_qty, excluded.ats_buffer_pct, excluded.shortage_policy,
              excluded.webhook_url, excluded.min_shelf_life_days)`,
          ),
      )
      .returningAll()
      .executeTakeFirst();
    if (row) {
      await tx
        .insertInto('outbox_events')
        .values({ topic: 'channel.updated', key: code, payload: JSON.stringify(channelFromRow(row)) })
        .execute();
    }
    return row !== undefined;
  });
  const row = await db.selectFrom('channels').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
  return { ...channelFromRow(row), changed };
}

/** Every channel and its settings, by reservation priority. */
export async function listChannels(db: Db): Promise<Channel[]> {
  const rows = await db.selectFrom('channels').selectAll().orderBy('reservation_priority').orderBy('code').execute();
  return rows.map(channelFromRow);
}

// ---------------------------------------------------------------- where skus sit in a warehouse

export interface ItemLocation {
  sku: string;
  zone: string;
  bin: string;
}

/**
 * Sets the zone and bin of each listed sku in a warehouse, replacing where it sat before; the
 * same list again changes nothing. Each sku must be in the item master and each zone and bin
 * in the warehouse's layout, or nothing is written.
 */
export async function setItemLocations(db: Db, warehouse: string, locations: ItemLocation[]): Promise<{ warehouse: string; updated: number } | Refusal> {
  const found = await db.selectFrom('warehouses').select('zones').where('code', '=', warehouse).executeTakeFirst();
  if (!found) return refuse.notFound(`warehouse ${warehouse}`);
  const skus = new Set((await db.selectFrom('items').select('sku').where('sku', 'in', locations.map((l) => l.sku)).execute()).map((i) => i.sku));
  const zones = found.zones;
  const problems = locations.flatMap((l, index) => {
    const zone = zones.find((z) => z.code === l.zone);
    if (!skus.has(l.sku)) return [{ path: `locations.${index}.sku`, message: `unknown sku ${l.sku}`, code: 'unknown_sku' }];
    if (!zone) return [{ path: `locations.${index}.zone`, message: `warehouse ${warehouse} has no zone ${l.zone}`, code: 'unknown_zone' }];
    if (!zone.bins.includes(l.bin)) return [{ path: `locations.${index}.bin`, message: `zone ${l.zone} has no bin ${l.bin}`, code: 'unknown_bin' }];
    return [];
  });
  if (problems.length) return refuse.invalid(problems[0]!.code, problems.map((p) => p.message).join('; '), problems);
  // One statement: every location is set, or none.
  await db
    .insertInto('item_locations')
    .values(locations.map((l) => ({ warehouse_code: warehouse, sku: l.sku, zone: l.zone, bin: l.bin })))
    .onConflict((oc) => oc.columns(['warehouse_code', 'sku']).doUpdateSet((eb) => ({ zone: eb.ref('excluded.zone'), bin: eb.ref('excluded.bin') })))
    .execute();
  return { warehouse, updated: locations.length };
}

// ---------------------------------------------------------------- lifecycle: edits and deactivation

export interface ItemPatch {
  name?: string;
  uom?: string;
  standardCostMinor?: number;
  requiresInspection?: boolean;
  lotTracked?: boolean;
  substitutes?: string[];
  skuClass?: SkuClass;
  safetyStock?: number;
  active?: boolean;
  /** The whole set of other units: unit name → base units in one (each a whole number ≥ 1). */
  conversions?: Record<string, number>;
}

/** The fields of an item a patch may change, as the API names them, with their columns. */
const itemPatchColumns = {
  name: 'name',
  uom: 'uom',
  standardCostMinor: 'standard_cost_minor',
  requiresInspection: 'requires_inspection',
  lotTracked: 'lot_tracked',
  substitutes: 'substitutes',
  skuClass: 'sku_class',
  safetyStock: 'safety_stock',
  active: 'active',
  conversions: 'unit_conversions',
} as const satisfies Record<keyof ItemPatch, keyof ItemsTable>;

/** Units of a sku the company holds or has on order anywhere: every stock bucket and inbound. */
async function unitsHeld(db: Kysely<Database>, sku: string): Promise<{ warehouse: string; bucket: string; qty: number }[]> {
  return (
    await db
      .selectFrom('inventory_balances')
      .select(['warehouse_code', 'bucket', 'qty'])
      .where('sku', '=', sku)
      .where('bucket', 'in', ['available', 'allocated', 'inbound', 'quarantine', 'damaged', 'return_pending', 'in_transit'])
      .where('qty', '<>', 0)
      .orderBy('warehouse_code')
      .orderBy('bucket')
      .execute()
  ).map((b) => ({ warehouse: b.warehouse_code, bucket: b.bucket, qty: b.qty }));
}

/**
 * Edits an item: the fields given, and `active: false` to deactivate it (no new orders or
 * purchase orders; its stock and open orders still move). A change of unit of measure or of
 * lot tracking is refused while any unit is held or on order, with where they are: the
 * ledger's units and lots would no longer mean what they were booked as. The item row is
 * locked for the change, which waits for every movement of the sku in flight (each holds a
 * key-share lock on it) and holds off new ones until the commit.
 */
export async function updateItem(db: Db, sku: string, patch: ItemPatch): Promise<{ before: Item; after: Item; changed: string[] } | Refusal> {
  if (patch.substitutes) {
    const unknown = await unknownReferences(db, 'sku', patch.substitutes.map((value, index) => ({ path: `substitutes.${index}`, value })));
    if (unknown) return unknown;
    if (patch.substitutes.includes(sku)) return refuse.invalid('self_substitute', 'an item cannot substitute itself', [{ path: 'substitutes', message: 'an item cannot substitute itself' }]);
  }
  if (patch.conversions) patch = { ...patch, conversions: sortedConversions(patch.conversions) };
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('items').selectAll().where('sku', '=', sku).forUpdate().executeTakeFirst();
    if (!row) return refuse.notFound(`item ${sku}`);
    const before = itemFromRow(row);
    const changed = (Object.keys(itemPatchColumns) as (keyof ItemPatch)[]).filter(
      (field) => patch[field] !== undefined && JSON.stringify(patch[field]) !== JSON.stringify(before[field]),
    );
    if (changed.length === 0) return { before, after: before, changed };
    const conversionProblem = await conversionProblems(tx, sku, patch.uom ?? before.uom, patch.conversions ?? before.conversions);
    if (conversionProblem) return conversionProblem;
    const modeChanges = changed.filter((field) => field === 'uom' || field === 'lotTracked');
    if (modeChanges.length) {
      const held = await unitsHeld(tx, sku);
      if (held.length) {
        const where = held.map((h) => `${h.qty} ${h.bucket} at ${h.warehouse}`).join(', ');
        const message = `${sku} has stock (${where}): its ${modeChanges.map((f) => (f === 'uom' ? 'unit of measure' : 'lot tracking')).join(' and ')} cannot change until none is held or on order`;
        return refuse.invalid('item_has_stock', message, modeChanges.map((path) => ({ path, message })));
      }
    }
    const values = Object.fromEntries(changed.map((field) => [itemPatchColumns[field], field === 'conversions' ? JSON.stringify(patch[field]) : patch[field]]));
    const updated = await tx
      .updateTable('items')
      .set({ ...values, updated_at: new Date() })
      .where('sku', '=', sku)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = itemFromRow(updated);
    await tx
      .insertInto('outbox_events')
      .values({ topic: 'item.updated', key: sku, payload: JSON.stringify({ sku, changed, before: pick(before, changed), after: pick(after, changed) }) })
      .execute();
    return { before, after, changed };
  });
}

/**
 * A unit named like the base unit is refused (it would mean two sizes), and so is dropping a
 * unit a supplier buys the item in (its purchase unit would lose its size).
 */
async function conversionProblems(db: Kysely<Database>, sku: string, uom: string, conversions: Record<string, number>): Promise<Refusal | undefined> {
  if (Object.prototype.hasOwnProperty.call(conversions, uom)) {
    const message = `${uom} is the base unit of ${sku}: it cannot also be a conversion`;
    return refuse.invalid('base_unit_converted', message, [{ path: `conversions.${uom}`, message }]);
  }
  const used = await db.selectFrom('supplier_items').select(['supplier_id', 'purchase_unit']).where('sku', '=', sku).where('purchase_unit', 'is not', null).execute();
  const lost = used.filter((u) => unitsPerUnit(uom, conversions, u.purchase_unit!) === undefined);
  if (lost.length) {
    const message = lost.map((u) => `supplier ${u.supplier_id} buys ${sku} in ${u.purchase_unit}`).join('; ');
    return refuse.invalid('unit_in_use', `${message}: that unit cannot be dropped`, lost.map((u) => ({ path: `conversions.${u.purchase_unit}`, message })));
  }
  return undefined;
}

/** A supplier's terms for one item: its purchase unit (null to buy in the base unit again) and its price, per `costUnit` (the base unit by default). */
export interface SupplierItemPatch {
  sku: string;
  purchaseUnit?: string | null;
  unitCostMinor?: number;
  costUnit?: string;
}

export interface SupplierPatch {
  name?: string;
  defaultLeadTimeDays?: number;
  approved?: boolean;
  active?: boolean;
  items?: SupplierItemPatch[];
}

export interface SupplierState extends SupplierSummary {
  active: boolean;
  /** Its approved items with their terms. */
  items: SupplierItem[];
}

/**
 * Edits a supplier; `active: false` deactivates it (no new purchase orders; open ones still
 * move). `items` sets, per item it supplies, the purchase unit (one of the item's units; its
 * conversion is then the pack the planner rounds to) and the price, given per `costUnit` and
 * kept per base unit: a price that does not divide into whole minor units per base unit is refused.
 */
export async function updateSupplier(db: Db, id: string, patch: SupplierPatch): Promise<{ before: SupplierState; after: SupplierState; changed: string[] } | Refusal> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('suppliers').selectAll().where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
    if (!row) return refuse.notFound(`supplier ${id}`);
    const state = async (r: typeof row): Promise<SupplierState> => ({ id: r.id, name: r.name, approved: r.approved, active: r.active, defaultLeadTimeDays: r.default_lead_time_days, createdAt: r.created_at, items: await approvedItems(tx, id) });
    const before = await state(row);
    const changed: string[] = (['name', 'defaultLeadTimeDays', 'approved', 'active'] as const).filter((field) => patch[field] !== undefined && patch[field] !== before[field]);
    const itemChanges = await supplierItemChanges(tx, id, patch.items ?? []);
    if (refuse.isRefusal(itemChanges)) return itemChanges;
    for (const change of itemChanges) {
      await tx.updateTable('supplier_items').set(change.set).where('supplier_id', '=', id).where('sku', '=', change.sku).execute();
      changed.push(...change.fields.map((f) => `items.${change.sku}.${f}`));
    }
    if (changed.length === 0) return { before, after: before, changed };
    const updated = await tx
      .updateTable('suppliers')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.defaultLeadTimeDays !== undefined ? { default_lead_time_days: patch.defaultLeadTimeDays } : {}),
        ...(patch.approved !== undefined ? { approved: patch.approved } : {}),
        ...(patch.active !== undefined ? { active: patch.active } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { before, after: await state(updated), changed };
  });
}

/** What each item entry of a supplier patch changes, checked against the item's units; a refusal names the entry's field. */
async function supplierItemChanges(
  db: Kysely<Database>,
  supplierId: string,
  entries: SupplierItemPatch[],
): Promise<{ sku: string; fields: string[]; set: { purchase_unit?: string | null; unit_cost_minor?: number } }[] | Refusal> {
  if (entries.length === 0) return [];
  const rows = await db
    .selectFrom('supplier_items as si')
    .innerJoin('items as i', 'i.sku', 'si.sku')
    .select(['si.sku', 'si.unit_cost_minor', 'si.purchase_unit', 'i.uom', 'i.unit_conversions'])
    .where('si.supplier_id', '=', supplierId)
    .where(
      'si.sku',
      'in',
      entries.map((e) => e.sku),
    )
    .execute();
  const changes = [];
  for (const [index, entry] of entries.entries()) {
    const row = rows.find((r) => r.sku === entry.sku);
    if (!row) {
      const message = `supplier ${supplierId} does not supply ${entry.sku}`;
      return refuse.invalid('unknown_supplier_item', message, [{ path: `items.${index}.sku`, message }]);
    }
    const unitProblem = (unit: string, field: string) => {
      const message = `${entry.sku} has no unit ${unit} (its base unit is ${row.uom}; others: ${Object.keys(row.unit_conversions).join(', ') || 'none'})`;
      return refuse.invalid('unknown_unit', message, [{ path: `items.${index}.${field}`, message }]);
    };
    const set: { purchase_unit?: string | null; unit_cost_minor?: number } = {};
    const fields: string[] = [];
    if (entry.purchaseUnit !== undefined) {
      const unit = entry.purchaseUnit === row.uom ? null : entry.purchaseUnit;
      if (unit !== null && unitsPerUnit(row.uom, row.unit_conversions, unit) === undefined) return unitProblem(unit, 'purchaseUnit');
      if (unit !== row.purchase_unit) {
        set.purchase_unit = unit;
        fields.push('purchaseUnit');
      }
    }
    if (entry.unitCostMinor !== undefined) {
      const costUnit = entry.costUnit ?? row.uom;
      const perUnit = unitsPerUnit(row.uom, row.unit_conversions, costUnit);
      if (perUnit === undefined) return unitProblem(costUnit, 'costUnit');
      const cost = toBaseUnitCost(entry.unitCostMinor, perUnit);
      if (cost === undefined) {
        const message = `${entry.unitCostMinor} minor units per ${costUnit} of ${perUnit} is not a whole number of minor units per ${row.uom}`;
        return refuse.invalid('fractional_unit_cost', message, [{ path: `items.${index}.unitCostMinor`, message }]);
      }
      if (cost !== row.unit_cost_minor) {
        set.unit_cost_minor = cost;
        fields.push('unitCostMinor');
      }
    }
    if (fields.length) changes.push({ sku: entry.sku, fields, set });
  }
  return changes;
}

function pick<T extends object>(value: T, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, (value as Record<string, unknown>)[f]]));
}
