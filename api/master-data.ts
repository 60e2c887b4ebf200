/**
 * Master data: items, warehouses, suppliers and channel settings. Items, warehouses and
 * suppliers are created once: a repeated POST with the same content answers
 * `created: false`, with other content 409. Channel settings are upserted.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { channels } from '../domain/order.js';
import { nudgeChannelPublisher } from '../runtime/channel-publishers.js';
import {
  changeItemPrice,
  createItem,
  createSupplier,
  createWarehouse,
  findItem,
  findSupplier,
  listChannels,
  listItems,
  listSuppliers,
  listWarehouses,
  setChannel,
  updateItem,
  updateSupplier,
} from '../services/master-data.js';
import type { AppDeps } from './app.js';
import { businessRule, notFound, resultOrThrow } from './errors.js';
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

/** A unit of measure's name: letters, digits, dashes, underscores and dots, up to 20. */
const unitName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$/, 'letters, digits, dashes, underscores and dots, up to 20');
/** Other units of an item: unit name → whole base units in one (a case of 12 is { case: 12 }). */
const conversions = z.record(unitName, z.number().int().min(1, 'a conversion is a whole number of base units, at least 1').max(1_000_000)).refine((c) => Object.keys(c).length <= 20, 'at most 20 units');

const itemView = z.object({
  conversions: z.record(z.string(), z.number()).describe('other units: unit name → base units in one'),
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
const itemPatch = z
  .object({
    name: name.optional(),
    uom: z.string().min(1).max(20).optional(),
    standardCostMinor: minor.optional(),
    requiresInspection: z.boolean().optional(),
    lotTracked: z.boolean().optional(),
    substitutes: z.array(sku).max(20).refine(distinct((s: string) => s), businessRule('repeated_sku', 'each substitute once')).optional(),
    skuClass: z.enum(['A', 'B', 'C']).optional(),
    safetyStock: minor.optional(),
    active: z.boolean().optional().describe('false deactivates the item'),
    conversions: conversions.optional().describe('the whole set of other units (unit name → whole base units in one); {} removes them'),
    reason: reason.optional(),
  })
  .refine((patch) => Object.entries(patch).some(([field, value]) => field !== 'reason' && value !== undefined), { message: 'name at least one field to change' });

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
const supplierItemView = z.object({ sku: z.string(), unitCostMinor: z.number(), moq: z.number(), packSize: z.number(), purchaseUnit: z.string().optional().describe('when set, packSize is its conversion') });
const supplierView = supplierSummary.extend({
  items: z.array(supplierItemView),
  lanes: z.array(z.object({ warehouse: z.string(), leadTimeDays: z.number() })),
});
const createdSupplier = supplierView.extend({ created: z.boolean() });
const supplierState = supplierSummary.extend({ active: z.boolean(), items: z.array(supplierItemView) });
const supplierItemPatch = z
  .object({
    sku,
    purchaseUnit: unitName.nullable().optional().describe("one of the item's units (its conversion becomes the pack the planner rounds to); null or the base unit to buy in base units"),
    unitCostMinor: minor.optional().describe('the price per costUnit; kept per base unit, so it must divide into whole minor units'),
    costUnit: unitName.optional().describe("the unit unitCostMinor is per (default the item's base unit)"),
  })
  .refine((entry) => entry.purchaseUnit !== undefined || entry.unitCostMinor !== undefined, { message: 'name purchaseUnit or unitCostMinor' })
  .refine((entry) => entry.costUnit === undefined || entry.unitCostMinor !== undefined, { message: 'costUnit goes with unitCostMinor', path: ['costUnit'] });
const supplierPatch = z
  .object({
    name: name.optional(),
    defaultLeadTimeDays: int32.min(1).optional(),
    approved: z.boolean().optional(),
    active: z.boolean().optional().describe('false deactivates the supplier'),
    items: z.array(supplierItemPatch).min(1).max(5_000).refine(distinct((i: { sku: string }) => i.sku), businessRule('repeated_sku', 'each sku once')).optional().describe("per item: the supplier's purchase unit and price"),
    reason: reason.optional(),
  })
  .refine((patch) => Object.entries(patch).some(([field, value]) => field !== 'reason' && value !== undefined), { message: 'name at least one field to change' });

const channelBody = z.object({
  code: z.enum(channels),
  name,
  reservationPriority: int32.min(1),
  atsBufferQty: minor.default(0),
  atsBufferPct: z.number().int().min(0).max(100).default(0),
  shortagePolicy: z.enum(['backorder', 'cancel_remainder', 'wait']).default('backorder'),
  webhookUrl: webhookUrlPlainMessage.nullable().default(null),
  minShelfLifeDays: z.number().int().min(0).max(3650).default(0).describe('days of shelf life a lot must still have when an order arrives'),
});
const channelView = z.object({
  code: z.string(),
  name: z.string(),
  reservationPriority: z.number(),
  atsBufferQty: z.number(),
  atsBufferPct: z.number(),
  shortagePolicy: z.string(),
  webhookUrl: z.string().nullable(),
  minShelfLifeDays: z.number(),
  updatedAt: z.date(),
});

const page = z.object({ after: afterSku, limit: pageLimit(500, 1_000) });

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
        const item = resultOrThrow(await createItem(db, request.body), 'body');
        return reply.code(item.created ? 201 : 200).send(item);
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
      async (request) => listItems(db, request.query),
    );

    app.get(
      '/items/:sku',
      { schema: { summary: 'One item', params: z.object({ sku }), response: { 200: itemView } } },
      async (request) => {
        const item = await findItem(db, request.params.sku);
        if (!item) throw notFound(`item ${request.params.sku}`);
        return item;
      },
    );

    app.patch(
      '/items/:sku',
      {
        config: { roles: ['ops'] },
        schema: {
          summary:
            'Edit an item; active:false deactivates it (refused on new orders and purchase orders; its stock and open orders still move). A change of uom or lotTracked while any unit is held or on order is refused (422 item_has_stock). Audited with before and after',
          params: z.object({ sku }),
          body: itemPatch,
          response: { 200: z.object({ before: itemView, after: itemView, changed: z.array(z.string()) }) },
        },
      },
      async (request) => {
        const { reason: why, ...patch } = request.body;
        const result = resultOrThrow(await updateItem(db, request.params.sku, patch), 'body');
        request.audit = { action: result.after.active ? 'item.update' : 'item.deactivate', before: result.before, after: result.after, ...(why ? { reason: why } : {}) };
        return result;
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
        const { priceMinor, reason } = request.body;
        const result = resultOrThrow(await changeItemPrice(db, { sku: request.params.sku, priceMinor, reason, actor: request.actor }));
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
        const warehouse = resultOrThrow(await createWarehouse(db, request.body));
        return reply.code(warehouse.created ? 201 : 200).send(warehouse);
      },
    );

    app.get(
      '/warehouses',
      { schema: { summary: 'All warehouses', response: { 200: z.object({ warehouses: z.array(warehouseView) }) } } },
      async () => ({ warehouses: await listWarehouses(db) }),
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
        const supplier = resultOrThrow(await createSupplier(db, request.body), 'body');
        return reply.code(supplier.created ? 201 : 200).send(supplier);
      },
    );

    app.get(
      '/suppliers',
      { schema: { summary: 'All suppliers', response: { 200: z.object({ suppliers: z.array(supplierSummary) }) } } },
      async () => ({ suppliers: await listSuppliers(db) }),
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
        const supplier = await findSupplier(db, request.params.id);
        if (!supplier) throw notFound(`supplier ${request.params.id}`);
        return supplier;
      },
    );

    app.patch(
      '/suppliers/:id',
      {
        config: { roles: ['buyer', 'ops'] },
        schema: {
          summary: 'Edit a supplier; active:false deactivates it (no new purchase orders, open ones still move); items sets per item its purchase unit and price (422 unknown_supplier_item, unknown_unit, fractional_unit_cost); audited with before and after',
          params: z.object({ id: recordId }),
          body: supplierPatch,
          response: { 200: z.object({ before: supplierState, after: supplierState, changed: z.array(z.string()) }) },
        },
      },
      async (request) => {
        const { reason: why, ...patch } = request.body;
        const result = resultOrThrow(await updateSupplier(db, request.params.id, patch), 'body');
        request.audit = { action: result.after.active ? 'supplier.update' : 'supplier.deactivate', before: result.before, after: result.after, ...(why ? { reason: why } : {}) };
        return result;
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
        const channel = await setChannel(db, request.body);
        // A running publisher looks at the channel's settings now (a new webhook, another buffer);
        // publishers are started by the worker and npm start, or by PUT /channels/:channel/webhook.
        if (channel.changed) await nudgeChannelPublisher(temporal, request.body.code);
        return channel;
      },
    );

    app.get(
      '/channels',
      { schema: { summary: 'All channels and their settings', response: { 200: z.object({ channels: z.array(channelView) }) } } },
      async () => ({ channels: await listChannels(db) }),
    );
  };
