/** Inventory visibility: stock buckets and ATP per place, channel availability, and the ledger's own check. */
import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { checkLedger } from '../db/ledger-check.js';
import { stockBuckets } from '../db/schema.js';
import { availableToPromise, availableToSell } from '../domain/availability.js';
import type { AppDeps } from './app.js';
import { notFound } from './errors.js';
import { afterSku, channelInPath, pageLimit, sku, skuAtWarehouse, warehouseCode } from './schemas.js';

const place = z.object({
  sku: z.string(),
  warehouse: z.string(),
  available: z.number(),
  allocated: z.number(),
  inbound: z.number(),
  quarantine: z.number(),
  damaged: z.number(),
  returnPending: z.number(),
  inTransit: z.number(),
  onHand: z.number().describe('units physically in the warehouse: available, allocated, quarantine, damaged, return pending'),
  atp: z.number(),
});

const ledgerCheck = z.object({
  ok: z.boolean(),
  problems: z.array(z.object({ check: z.string(), detail: z.record(z.string(), z.unknown()) })),
  counted: z.object({ balances: z.number(), movements: z.number(), journalEntries: z.number(), reservations: z.number() }),
});

const refusal = z.object({
  id: z.number(),
  operationKey: z.string(),
  kind: z.string(),
  sku: z.string(),
  warehouse: z.string(),
  bucket: z.string(),
  requested: z.number(),
  onHand: z.number(),
  process: z.string().nullable(),
  actor: z.string(),
  refusedAt: z.date(),
});

export const inventoryRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/inventory',
      {
        schema: {
          summary: 'Every stock bucket, on-hand and available-to-promise per sku and warehouse, a page at a time',
          querystring: z.object({
            sku: sku.optional(),
            warehouse: warehouseCode.optional(),
            includeInbound: z.enum(['true', 'false']).default('false').describe('count inbound and in-transit units in atp'),
            after: skuAtWarehouse.optional().describe('the last sku@warehouse of the previous page'),
            limit: pageLimit(1_000, 5_000),
          }),
          response: { 200: z.object({ inventory: z.array(place), nextAfter: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { sku, warehouse, after } = request.query;
        let query = db
          .selectFrom('inventory_balances')
          .select(['sku', 'warehouse_code'])
          .select(stockBuckets.map((bucket) => sql<number>`coalesce(sum(qty) filter (where bucket = ${bucket}), 0)::bigint`.as(bucket)))
          .where('bucket', 'in', stockBuckets)
          .groupBy(['sku', 'warehouse_code'])
          .orderBy('sku')
          .orderBy('warehouse_code')
          .limit(request.query.limit);
        if (sku) query = query.where('sku', '=', sku);
        if (warehouse) query = query.where('warehouse_code', '=', warehouse);
        if (after) {
          const [afterSku, afterWarehouse] = after.split('@') as [string, string];
          query = query.where((eb) => eb(eb.refTuple('sku', 'warehouse_code'), '>', eb.tuple(afterSku, afterWarehouse)));
        }
        const rows = await query.execute();
        const includeInbound = request.query.includeInbound === 'true';
        const inventory = rows.map((r) => ({
          sku: r.sku,
          warehouse: r.warehouse_code,
          available: r.available,
          allocated: r.allocated,
          inbound: r.inbound,
          quarantine: r.quarantine,
          damaged: r.damaged,
          returnPending: r.return_pending,
          inTransit: r.in_transit,
          onHand: r.available + r.allocated + r.quarantine + r.damaged + r.return_pending,
          atp: availableToPromise({ available: r.available, inbound: r.inbound, inTransit: r.in_transit }, includeInbound),
        }));
        const last = inventory.at(-1);
        return { inventory, nextAfter: last && inventory.length === request.query.limit ? `${last.sku}@${last.warehouse}` : null };
      },
    );

    app.get(
      '/channels/:channel/availability',
      {
        schema: {
          summary: "Per sku: available units across warehouses and the channel's available-to-sell, a page at a time",
          params: z.object({ channel: channelInPath }),
          querystring: z.object({
            sku: sku.optional(),
            after: afterSku,
            limit: pageLimit(1_000, 5_000),
          }),
          response: {
            200: z.object({
              channel: z.string(),
              bufferQty: z.number(),
              bufferPct: z.number(),
              skus: z.array(z.object({ sku: z.string(), available: z.number(), safetyStock: z.number(), ats: z.number() })),
              nextAfter: z.string().nullable(),
            }),
          },
        },
      },
      async (request) => {
        const channel = await db
          .selectFrom('channels')
          .select(['code', 'ats_buffer_qty', 'ats_buffer_pct'])
          .where('code', '=', request.params.channel)
          .executeTakeFirst();
        if (!channel) throw notFound(`channel ${request.params.channel}`);
        const { sku, after } = request.query;
        let query = db
          .selectFrom('items as i')
          .leftJoin('inventory_balances as b', (join) => join.onRef('b.sku', '=', 'i.sku').on('b.bucket', '=', 'available'))
          .select(['i.sku', 'i.safety_stock', sql<number>`coalesce(sum(b.qty), 0)::bigint`.as('available')])
          .groupBy(['i.sku', 'i.safety_stock'])
          .orderBy('i.sku')
          .limit(request.query.limit);
        if (sku) query = query.where('i.sku', '=', sku);
        if (after) query = query.where('i.sku', '>', after);
        const rows = await query.execute();
        const buffer = { bufferQty: channel.ats_buffer_qty, bufferPct: channel.ats_buffer_pct };
        return {
          channel: channel.code,
          ...buffer,
          skus: rows.map((r) => ({
            sku: r.sku,
            available: r.available,
            safetyStock: r.safety_stock,
            ats: availableToSell(r.available, r.safety_stock, buffer),
          })),
          nextAfter: rows.length === request.query.limit ? rows.at(-1)!.sku : null,
        };
      },
    );

    app.get(
      '/ledger/check',
      {
        schema: {
          summary: 'The reconciliation check: balances equal movements, nothing negative, journal balanced (ok tells)',
          response: { 200: ledgerCheck },
        },
      },
      () => checkLedger(db),
    );

    app.get(
      '/ledger/refusals',
      {
        schema: {
          summary: 'Movements the ledger refused for lack of stock, newest first',
          querystring: z.object({ limit: pageLimit(100, 1_000) }),
          response: { 200: z.object({ refusals: z.array(refusal) }) },
        },
      },
      async (request) => {
        const rows = await db.selectFrom('ledger_refusals').selectAll().orderBy('id', 'desc').limit(request.query.limit).execute();
        return {
          refusals: rows.map((r) => ({
            id: r.id,
            operationKey: r.operation_key,
            kind: r.kind,
            sku: r.sku,
            warehouse: r.warehouse_code,
            bucket: r.bucket,
            requested: r.requested,
            onHand: r.on_hand,
            process: r.process,
            actor: r.actor,
            refusedAt: r.refused_at,
          })),
        };
      },
    );
  };
