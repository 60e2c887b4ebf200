import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { channels, orderTotalMinor, orderWorkflowId, type OrderInput } from '../domain/order.js';
import { orderRelease, orderViewQuery, type OrderView } from '../workflows/order-release.js';
import { Channel, CustomerId, SkuCount, ValueMinor } from '../workflows/search-attributes.js';
import type { AppDeps } from './app.js';
import { conflict, notFound } from './errors.js';

const minor = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (up to 64), starting with a letter or digit');

export const orderBody = z
  .object({
    orderId: id,
    channel: z.enum(channels),
    customerId: id,
    currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code like USD').default('USD'),
    shipTo: z.object({
      name: z.string().max(200).optional(),
      line1: z.string().max(200).optional(),
      city: z.string().max(100).optional(),
      region: z.string().max(100).optional(),
      postalCode: z.string().max(20).optional(),
      country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 code like US'),
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
    }),
    billingCountry: z.string().regex(/^[A-Z]{2}$/).optional(),
    freightMinor: minor.default(0),
    promisedBy: z.iso.datetime({ offset: true }).optional(),
    lines: z
      .array(
        z.object({
          lineNo: z.number().int().min(1).max(10_000).optional(),
          sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{2,39}$/, 'upper-case letters, digits and dashes, 3 to 40'),
          qty: z.number().int().min(1).max(100_000),
          unitPriceMinor: minor,
          discountMinor: minor.default(0),
          taxMinor: minor.default(0),
        }),
      )
      .min(1, 'an order needs at least one line')
      .max(500),
  })
  .superRefine((order, ctx) => {
    const seen = new Set<number>();
    order.lines.forEach((line, index) => {
      const lineNo = line.lineNo ?? index + 1;
      if (seen.has(lineNo)) ctx.addIssue({ code: 'custom', path: ['lines', index, 'lineNo'], message: `duplicate line number ${lineNo}` });
      seen.add(lineNo);
      if (line.discountMinor > line.qty * line.unitPriceMinor) {
        ctx.addIssue({ code: 'custom', path: ['lines', index, 'discountMinor'], message: 'discount exceeds the line amount' });
      }
    });
    if (!Number.isSafeInteger(orderTotalMinor(normalize(order)))) {
      ctx.addIssue({ code: 'custom', path: ['lines'], message: 'order total exceeds 2^53 minor units' });
    }
  });

type OrderBody = z.infer<typeof orderBody>;

function normalize(body: OrderBody): OrderInput {
  return { ...body, lines: body.lines.map((line, index) => ({ ...line, lineNo: line.lineNo ?? index + 1 })) };
}

/** A stable fingerprint of the request, so a retried POST is told apart from a different order under the same id. */
function fingerprint(order: OrderInput): string {
  return createHash('sha256').update(JSON.stringify(order)).digest('hex');
}

const startedOrder = z.object({
  orderId: z.string(),
  workflowId: z.string(),
  created: z.boolean().describe('false when this order id was already submitted with the same content'),
  status: z.string(),
});

export const orderRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/orders',
      {
        config: { roles: ['system', 'ops'] },
        schema: {
          summary: 'Submit an order; starts its order-release process (idempotent on orderId)',
          body: orderBody,
          response: { 201: startedOrder, 200: startedOrder },
        },
      },
      async (request, reply) => {
        const order = normalize(request.body);
        const workflowId = orderWorkflowId(order.orderId);
        const requestHash = fingerprint(order);
        try {
          await temporal.workflow.start(orderRelease, {
            workflowId,
            taskQueue: config.taskQueue,
            args: [order],
            memo: { requestHash },
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            typedSearchAttributes: [
              { key: Channel, value: order.channel },
              { key: CustomerId, value: order.customerId },
              { key: SkuCount, value: new Set(order.lines.map((l) => l.sku)).size },
              { key: ValueMinor, value: orderTotalMinor(order) },
            ],
          });
          return reply.code(201).send({ orderId: order.orderId, workflowId, created: true, status: 'received' });
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
        const existing = await temporal.workflow.getHandle(workflowId).describe();
        if (existing.memo?.requestHash !== requestHash) {
          throw conflict('duplicate_order_id', `order ${order.orderId} was already submitted with different content`);
        }
        const row = await db.selectFrom('orders').select('status').where('id', '=', order.orderId).executeTakeFirst();
        return reply.code(200).send({ orderId: order.orderId, workflowId, created: false, status: row?.status ?? 'received' });
      },
    );

    app.get(
      '/orders/:id',
      {
        schema: {
          summary: 'An order: its record in the ledger database and the live state of its process',
          params: z.object({ id }),
        },
      },
      async (request) => {
        const orderId = request.params.id;
        const row = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
        const lines = row
          ? await db.selectFrom('order_lines').selectAll().where('order_id', '=', orderId).orderBy('line_no').execute()
          : [];
        const workflowId = orderWorkflowId(orderId);
        let process: OrderView | null = null;
        let processError: string | undefined;
        try {
          process = await temporal.withDeadline(Date.now() + 3_000, () =>
            temporal.workflow.getHandle(workflowId).query(orderViewQuery),
          );
        } catch (error) {
          if (error instanceof WorkflowNotFoundError && !row) throw notFound(`order ${orderId}`);
          processError = (error as Error).message;
        }
        return {
          orderId,
          workflowId,
          temporalUiUrl: `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}`,
          record: row
            ? {
                channel: row.channel,
                customerId: row.customer_id,
                currency: row.currency,
                status: row.status,
                statusReason: row.status_reason,
                shipTo: row.ship_to,
                billingCountry: row.billing_country,
                freightMinor: row.freight_minor,
                totalMinor: row.total_minor,
                createdAt: row.created_at,
                updatedAt: row.updated_at,
                lines: lines.map((l) => ({
                  lineNo: l.line_no,
                  sku: l.sku,
                  qty: l.qty,
                  unitPriceMinor: l.unit_price_minor,
                  discountMinor: l.discount_minor,
                  taxMinor: l.tax_minor,
                })),
              }
            : null,
          process,
          processError,
        };
      },
    );
  };
