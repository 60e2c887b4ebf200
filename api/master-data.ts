/**
 * Master data: items, warehouses, suppliers and channel settings. Items, warehouses and
 * suppliers are created once: a repeated POST with the same content answers
 * `created: false`, with other content 409. Channel settings are upserted.
 */
import { sql, type Selectable } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../db/connection.js';
import type { ChannelsTable, ItemsTable, WarehousesTable } from '../db/schema.js';
import { channels } from '../domain/order.js';
import { nudgeChannelPublisher } from '../runtime/channel-publishers.js';
import type { AppDeps } from './app.js';
import { businessRule, conflict, notFound, unprocessable } from './errors.js';
import { afterSku, minor, pageLimit, reason, recordId, sku, warehouseCode, webhookUrlPlainMessage } from './schemas.js';

const int32 = z.number().int().max(2_147_483_647);
const name = z.string().min(1).max(200);
const distinct =
  <T>(key: (value: T) => string) =>
  (list: T[]) =>
    new Set(list.map(key)).size === list.length;

const itemBody = z
  .object({
    sku,
    name,
    uom: z.string().min(1).max(20).default('each'),
    priceMinor: minor,
    standardCostMinor: minor,
    requiresInspection: z.boolean().default(false),
    lotTracked: z.boolean().default(false),
    substitutes: z.array(sku).max(20).refine(distinct((sku: string) => sku), businessRule('repeated_sku', 'each substitute once')).default([]),
    skuClass: z.enum(['A', 'B', 'C']).default('C'),
    safetyStock: minor.default(0),
  })
  .refine((item) => !item.substitutes.includes(item.sku), businessRule('self_substitute', 'an item cannot substitute itself', ['substitutes']));

const itemView = z.object({
  sku: z.string(),
  name: z.string(),
  uom: z.string(),
  priceMinor: z.number(),
  standardCostMinor: z.number(),
  averageCostMinor: z.number(),
  requiresInspection: z.boolean(),
  lotTracked: z.boolean(),
  substitutes: z.array(z.string()),
  skuClass: z.enum(['A', 'B', 'C']),
  safetyStock: z.number(),
  active: z.boolean(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
const createdItem = itemView.extend({ created: z.boolean() });

const zone = z.object({
  code: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,15}$/, 'letters, digits and dashes, up to 16'),
  bins: z.array(z.string().min(1).max(40)).max(10_000).refine(distinct((bin: string) => bin), businessRule('repeated_bin', 'each bin once')),
});

const warehouseBody = z.object({
  code: warehouseCode,
  name,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  freightBaseMinor: minor,
  freightPerKmMinor: minor,
  dailyCapacity: int32.min(0),
  zones: z.array(zone).max(200).refine(distinct((entry: { code: string }) => entry.code), businessRule('repeated_zone', 'each zone code once')).default([]),
});

const warehouseView = z.object({
  code: z.string(),
  name: z.string(),
  lat: z.number(),
  lon: z.number(),
  freightBaseMinor: z.number(),
  freightPerKmMinor: z.number(),
  dailyCapacity: z.number(),
  zones: z.array(z.object({ code: z.string(), bins: z.array(z.string()) })),
  active: z.boolean(),
  createdAt: z.date(),
});
const createdWarehouse = warehouseView.extend({ created: z.boolean() });

const supplierItem = z.object({
  sku,
  unitCostMinor: minor,
  moq: minor.min(1).default(1),
  packSize: minor.min(1).default(1),
});
const lane = z.object({ warehouse: warehouseCode, leadTimeDays: int32.min(1) });

const supplierBody = z.object({
  id: recordId,
  name,
  defaultLeadTimeDays: int32.min(1),
  items: z.array(supplierItem).max(5_000).refine(distinct((i: { sku: string }) => i.sku), businessRule('repeated_sku', 'each sku once')).default([]),
  lanes: z.array(lane).max(500).refine(distinct((l: { warehouse: string }) => l.warehouse), businessRule('repeated_warehouse', 'each warehouse once')).default([]),
});

const supplierSummary = z.object({
  id: z.string(),
  name: z.string(),
  approved: z.boolean(),
  defaultLeadTimeDays: z.number(),
  createdAt: z.date(),
});
const supplierView = supplierSummary.extend({
  items: z.array(z.object({ sku: z.string(), unitCostMinor: z.number(), moq: z.number(), packSize: z.number() })),
  lanes: z.array(z.object({ warehouse: z.string(), leadTimeDays: z.number() })),
});
const createdSupplier = supplierView.extend({ created: z.boolean() });

const channelBody = z.object({
  code: z.enum(channels),
  name,
  reservationPriority: int32.min(1),
  atsBufferQty: minor.default(0),
  atsBufferPct: z.number().int().min(0).max(100).default(0),
  shortagePolicy: z.enum(['backorder', 'cancel_remainder', 'wait']).default('backorder'),
  webhookUrl: webhookUrlPlainMessage.nullable().default(null),
});
const channelView = z.object({
  code: z.string(),
  name: z.string(),
  reservationPriority: z.number(),
  atsBufferQty: z.number(),
  atsBufferPct: z.number(),
  shortagePolicy: z.string(),
  webhookUrl: z.string().nullable(),
  updatedAt: z.date(),
});

const page = z.object({ after: afterSku, limit: pageLimit(500, 1_000) });

const itemFromRow = (row: Selectable<ItemsTable>): z.infer<typeof itemView> => ({
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
});

const warehouseFromRow = (row: Selectable<WarehousesTable>): z.infer<typeof warehouseView> => ({
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
export const channelFromRow = (row: Selectable<ChannelsTable>): z.infer<typeof channelView> => ({
  code: row.code,
  name: row.name,
  reservationPriority: row.reservation_priority,
  atsBufferQty: row.ats_buffer_qty,
  atsBufferPct: row.ats_buffer_pct,
  shortagePolicy: row.shortage_policy,
  webhookUrl: row.webhook_url,
  updatedAt: row.updated_at,
});

const bySku = (a: { sku: string }, b: { sku: string }) => a.sku.localeCompare(b.sku);
const byWarehouse = (a: { warehouse: string }, b: { warehouse: string }) => a.warehouse.localeCompare(b.warehouse);

async function loadSupplier(db: Db, id: string): Promise<z.infer<typeof supplierView> | undefined> {
  const row = await db.selectFrom('suppliers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const [items, lanes] = await Promise.all([
    db.selectFrom('supplier_items').selectAll().where('supplier_id', '=', id).where('approved', '=', true).execute(),
    db.selectFrom('supplier_lanes').selectAll().where('supplier_id', '=', id).execute(),
  ]);
  return {
    id: row.id,
    name: row.name,
    approved: row.approved,
    defaultLeadTimeDays: row.default_lead_time_days,
    createdAt: row.created_at,
    items: items
      .map((i) => ({ sku: i.sku, unitCostMinor: i.unit_cost_minor, moq: i.moq, packSize: i.pack_size }))
      .sort(bySku),
    lanes: lanes.map((l) => ({ warehouse: l.warehouse_code, leadTimeDays: l.lead_time_days })).sort(byWarehouse),
  };
}

/** True when every field the caller sent equals what is stored. */
function sameContent(sent: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  return Object.entries(sent).every(([key, value]) => JSON.stringify(value) === JSON.stringify(stored[key]));
}

type Reference = { path: string; value: string };

/** Refuses references to master data that does not exist, naming each one (422 unknown_sku, unknown_warehouse). */
async function refuseUnknown(db: Db, what: 'sku' | 'warehouse', references: Reference[]): Promise<void> {
  const values = [...new Set(references.map((r) => r.value))];
  if (values.length === 0) return;
  const known = new Set(
    what === 'sku'
      ? (await db.selectFrom('items').select('sku').where('sku', 'in', values).execute()).map((r) => r.sku)
      : (await db.selectFrom('warehouses').select('code').where('code', 'in', values).execute()).map((r) => r.code),
  );
  const unknown = references
    .filter((r) => !known.has(r.value))
    .map((r) => ({ in: 'body', path: r.path, message: `unknown ${what} ${r.value}` }));
  if (unknown.length) throw unprocessable(`unknown_${what}`, unknown.map((u) => `${u.path}: ${u.message}`).join('; '), unknown);
}

export const masterDataRoutes =
  ({ db, temporal }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/items',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Create an item (idempotent on sku: the same content again answers created:false)',
          body: itemBody,
          response: { 201: createdItem, 200: createdItem },
        },
      },
      async (request, reply) => {
        const item = request.body;
        await refuseUnknown(
          db,
          'sku',
          item.substitutes.map((value, index) => ({ path: `substitutes.${index}`, value })),
        );
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
        if (inserted) return reply.code(201).send({ ...itemFromRow(inserted), created: true });
        const existing = itemFromRow(await db.selectFrom('items').selectAll().where('sku', '=', item.sku).executeTakeFirstOrThrow());
        if (!sameContent(item, existing)) throw conflict('duplicate_sku', `item ${item.sku} already exists with different content`);
        return reply.code(200).send({ ...existing, created: false });
      },
    );

    app.get(
      '/items',
      {
        schema: {
          summary: 'Items by sku, a page at a time',
          querystring: page,
          response: { 200: z.object({ items: z.array(itemView), nextAfter: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { after, limit } = request.query;
        let query = db.selectFrom('items').selectAll().orderBy('sku').limit(limit);
        if (after) query = query.where('sku', '>', after);
        const rows = await query.execute();
        return { items: rows.map(itemFromRow), nextAfter: rows.length === limit ? rows.at(-1)!.sku : null };
      },
    );

    app.get(
      '/items/:sku',
      { schema: { summary: 'One item', params: z.object({ sku }), response: { 200: itemView } } },
      async (request) => {
        const row = await db.selectFrom('items').selectAll().where('sku', '=', request.params.sku).executeTakeFirst();
        if (!row) throw notFound(`item ${request.params.sku}`);
        return itemFromRow(row);
      },
    );

    app.put(
      '/items/:sku/price',
      {
        config: { roles: ['ops', 'finance'] },
        schema: {
          summary: "Change an item's list price, with the reason (audited with the price before and after; writes an item.price_changed event)",
          params: z.object({ sku }),
          body: z.object({ priceMinor: minor, reason }),
          response: { 200: itemView.extend({ previousPriceMinor: z.number(), changed: z.boolean() }) },
        },
      },
      async (request) => {
        const { sku } = request.params;
        const { priceMinor, reason } = request.body;
        const result = await db.transaction().execute(async (tx) => {
          const before = await tx.selectFrom('items').select('price_minor').where('sku', '=', sku).forNoKeyUpdate().executeTakeFirst();
          if (!before) throw notFound(`item ${sku}`);
          const changed = before.price_minor !== priceMinor;
          const row = changed
            ? await tx.updateTable('items').set({ price_minor: priceMinor, updated_at: new Date() }).where('sku', '=', sku).returningAll().executeTakeFirstOrThrow()
            : await tx.selectFrom('items').selectAll().where('sku', '=', sku).executeTakeFirstOrThrow();
          if (changed) {
            await tx
              .insertInto('outbox_events')
              .values({ topic: 'item.price_changed', key: sku, payload: JSON.stringify({ sku, previousPriceMinor: before.price_minor, priceMinor, reason, actor: request.actor }) })
              .execute();
          }
          return { ...itemFromRow(row), previousPriceMinor: before.price_minor, changed };
        });
        request.audit = { action: 'item.price_change', before: { priceMinor: result.previousPriceMinor }, after: { priceMinor: result.priceMinor }, reason };
        return result;
      },
    );

    app.post(
      '/warehouses',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Create a warehouse (idempotent on code)',
          body: warehouseBody,
          response: { 201: createdWarehouse, 200: createdWarehouse },
        },
      },
      async (request, reply) => {
        const warehouse = request.body;
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
        if (inserted) return reply.code(201).send({ ...warehouseFromRow(inserted), created: true });
        const existing = warehouseFromRow(
          await db.selectFrom('warehouses').selectAll().where('code', '=', warehouse.code).executeTakeFirstOrThrow(),
        );
        if (!sameContent(warehouse, existing)) {
          throw conflict('duplicate_warehouse', `warehouse ${warehouse.code} already exists with different content`);
        }
        return reply.code(200).send({ ...existing, created: false });
      },
    );

    app.get(
      '/warehouses',
      { schema: { summary: 'All warehouses', response: { 200: z.object({ warehouses: z.array(warehouseView) }) } } },
      async () => {
        const rows = await db.selectFrom('warehouses').selectAll().orderBy('code').execute();
        return { warehouses: rows.map(warehouseFromRow) };
      },
    );

    app.post(
      '/suppliers',
      {
        config: { roles: ['ops', 'buyer'] },
        schema: {
          summary: 'Create a supplier with its approved items and lanes, in one transaction (idempotent on id)',
          body: supplierBody,
          response: { 201: createdSupplier, 200: createdSupplier },
        },
      },
      async (request, reply) => {
        const supplier = { ...request.body, items: [...request.body.items].sort(bySku), lanes: [...request.body.lanes].sort(byWarehouse) };
        const created = await db.transaction().execute(async (tx) => {
          await refuseUnknown(
            tx,
            'sku',
            request.body.items.map((item, index) => ({ path: `items.${index}.sku`, value: item.sku })),
          );
          await refuseUnknown(
            tx,
            'warehouse',
            request.body.lanes.map((l, index) => ({ path: `lanes.${index}.warehouse`, value: l.warehouse })),
          );
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
        const stored = (await loadSupplier(db, supplier.id))!;
        if (created) return reply.code(201).send({ ...stored, created });
        if (!sameContent(supplier, stored)) {
          throw conflict('duplicate_supplier', `supplier ${supplier.id} already exists with different content`);
        }
        return reply.code(200).send({ ...stored, created });
      },
    );

    app.get(
      '/suppliers',
      { schema: { summary: 'All suppliers', response: { 200: z.object({ suppliers: z.array(supplierSummary) }) } } },
      async () => {
        const rows = await db.selectFrom('suppliers').selectAll().orderBy('id').execute();
        return {
          suppliers: rows.map((r) => ({
            id: r.id,
            name: r.name,
            approved: r.approved,
            defaultLeadTimeDays: r.default_lead_time_days,
            createdAt: r.created_at,
          })),
        };
      },
    );

    app.get(
      '/suppliers/:id',
      {
        schema: {
          summary: 'A supplier with its approved items and lanes',
          params: z.object({ id: recordId }),
          response: { 200: supplierView },
        },
      },
      async (request) => {
        const supplier = await loadSupplier(db, request.params.id);
        if (!supplier) throw notFound(`supplier ${request.params.id}`);
        return supplier;
      },
    );

    app.post(
      '/channels',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: "Set a channel's settings; a change writes a channel.updated event, since it moves available-to-sell",
          body: channelBody,
          response: { 200: channelView.extend({ changed: z.boolean() }) },
        },
      },
      async (request) => {
        const { code, ...body } = request.body;
        const settings = {
          name: body.name,
          reservation_priority: body.reservationPriority,
          ats_buffer_qty: body.atsBufferQty,
          ats_buffer_pct: body.atsBufferPct,
          shortage_policy: body.shortagePolicy,
          webhook_url: body.webhookUrl,
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
                    channels.shortage_policy, channels.webhook_url) is distinct from (excluded.name, excluded.reservation_priority,
                    excluded.ats_buffer_qty, excluded.ats_buffer_pct, excluded.shortage_policy, excluded.webhook_url)`,
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
        // A running publisher looks at the channel's settings now (a new webhook, another buffer);
        // publishers are started by the worker and npm start, or by PUT /channels/:channel/webhook.
        if (changed) await nudgeChannelPublisher(temporal, code);
        return { ...channelFromRow(row), changed };
      },
    );

    app.get(
      '/channels',
      { schema: { summary: 'All channels and their settings', response: { 200: z.object({ channels: z.array(channelView) }) } } },
      async () => {
        const rows = await db.selectFrom('channels').selectAll().orderBy('reservation_priority').orderBy('code').execute();
        return { channels: rows.map(channelFromRow) };
      },
    );
  };
