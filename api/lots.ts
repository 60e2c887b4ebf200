/** Lots of lot-tracked items: the trace of one lot, and a hold that starts its recall. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { holdLot, traceLot } from '../services/lot-trace.js';
import type { AppDeps } from './app.js';
import { notFound } from './errors.js';
import { lotCode, reason, skuByPattern } from './schemas.js';

const params = z.object({ sku: skuByPattern.describe('the item'), lot: lotCode.describe('the lot code') });

const trace = z.object({
  sku: z.string(),
  lot: z.string(),
  expiresOn: z.string(),
  held: z.boolean(),
  heldReason: z.string().nullable(),
  heldAt: z.date().nullable(),
  received: z
    .array(
      z.object({
        warehouse: z.string(),
        qty: z.number(),
        at: z.date(),
        poId: z.string().nullable(),
        receiptId: z.string().nullable(),
        supplierId: z.string().nullable(),
        supplierName: z.string().nullable(),
        operation: z.string().describe('the ledger operation that brought the units in: receive, adjust…'),
      }),
    )
    .describe('where the lot came from'),
  shipped: z
    .array(z.object({ shipmentId: z.string(), orderId: z.string(), customerId: z.string(), channel: z.string(), warehouse: z.string(), qty: z.number(), shippedAt: z.date().nullable() }))
    .describe('every shipment it left on, with the order and customer'),
  allocated: z
    .array(z.object({ orderId: z.string(), customerId: z.string().nullable(), channel: z.string(), warehouse: z.string(), qty: z.number() }))
    .describe('units held by open orders'),
  onHand: z.array(z.object({ warehouse: z.string(), bucket: z.string(), qty: z.number() })).describe('what is still in each warehouse, by bucket'),
  customers: z.array(z.string()).describe('every customer the lot reached or is promised to'),
});

export const lotRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/lots/:sku/:lot/trace',
      { schema: { summary: 'Where a lot came from (supplier, PO, receipt), every order, shipment and customer it went to, and what is left by bucket', params, response: { 200: trace } } },
      async (request) => {
        const found = await traceLot(db, request.params.sku, request.params.lot);
        if (!found) throw notFound(`lot ${request.params.lot} of ${request.params.sku}`);
        return found;
      },
    );

    app.post(
      '/lots/:sku/:lot/hold',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Hold a lot: its units on the shelf go to quarantine, no allocation takes it, and a recall task lists the affected open orders and customers',
          params,
          body: z.object({ reason }),
          response: {
            200: z.object({
              trace,
              moved: z.array(z.object({ warehouse: z.string(), from: z.string(), qty: z.number() })).describe('units moved to quarantine by this call'),
              taskId: z.string(),
            }),
          },
        },
      },
      async (request) => {
        const held = await holdLot(db, { ...request.params, reason: request.body.reason, actor: request.actor! });
        if (!held) throw notFound(`lot ${request.params.lot} of ${request.params.sku}`);
        return held;
      },
    );
  };
