import { z } from 'zod';
import { containing, listPage } from './lists.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { channels, orderTotalMinor, termsChannels, type OrderInput } from '../domain/order.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { sendDecision } from './decisions.js';
import { businessRule, conflict, notFound, unprocessable } from './errors.js';
import { functionalCurrency, rateOn, todayUtc } from '../db/fx-rates.js';
import { liveView, startOnce } from './processes.js';
import { orderReturnSummary } from './returns.js';
import { cancelOrderUpdate, holdDecisionUpdate, orderViewQuery, orderWorkflowId, submitOrderUpdate, orderWorkflowType, type OrderReleaseWorkflow } from '../contracts/order.js';
import { cancelBody, currencyCode, dateTime, decisionBody, lineNo, lineNumbersOnce, lineQty, minor, recordId, sku } from './schemas.js';
import { orderStartSearchAttributes } from '../contracts/search-attributes.js';
import { DependencyUnavailable } from './dependencies.js';
import { channelOrderOf } from '../services/channel-connectors.js';

export const orderBody = z
  .object({
    orderId: recordId,
    channel: z.enum(channels),
    customerId: recordId,
    currency: currencyCode.default('USD'),
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
    promisedBy: dateTime.optional(),
    payment: z
      .discriminatedUnion('kind', [
        z.object({
          kind: z.literal('authorization'),
          gateway: z.string().regex(/^[a-z0-9_-]{1,30}$/, 'a gateway name like stripe'),
          authorizationId: z.string().min(1).max(200),
          amountMinor: minor.refine((n) => n > 0, 'an authorization holds a positive amount'),
          currency: currencyCode,
          expiresAt: dateTime,
        }),
        z.object({ kind: z.literal('terms'), dueDate: z.iso.date() }),
      ])
      .optional()
      .describe('an authorization the storefront made (captured per shipment), or terms (wholesale: invoice, paid later); none: paid outside'),
    lines: z
      .array(
        z.object({
          lineNo: lineNo.optional(),
          sku,
          qty: lineQty,
          unitPriceMinor: minor,
          discountMinor: minor.default(0),
          taxMinor: minor.default(0),
        }),
      )
      .min(1, 'an order needs at least one line')
      .max(500),
  })
  .superRefine((order, ctx) => {
    const lineNoOnce = lineNumbersOnce(ctx);
    order.lines.forEach((line, index) => {
      lineNoOnce(line, index);
      if (line.discountMinor > line.qty * line.unitPriceMinor) {
        ctx.addIssue({ code: 'custom', ...businessRule('discount_exceeds_line', 'discount exceeds the line amount', ['lines', index, 'discountMinor']) });
      }
    });
    const total = orderTotalMinor(normalize(order));
    if (!Number.isSafeInteger(total)) {
      ctx.addIssue({ code: 'custom', path: ['lines'], message: 'order total exceeds 2^53 minor units' });
    }
    const payment = order.payment;
    if (payment?.kind === 'authorization') {
      if (payment.currency !== order.currency) {
        ctx.addIssue({ code: 'custom', ...businessRule('payment_currency_mismatch', `the authorization is in ${payment.currency}, the order in ${order.currency}`, ['payment', 'currency']) });
      }
      if (payment.amountMinor < total) {
        ctx.addIssue({ code: 'custom', ...businessRule('authorization_short', `the authorization holds ${payment.amountMinor}, the order comes to ${total}`, ['payment', 'amountMinor']) });
      }
    }
    if (payment?.kind === 'terms' && !termsChannels.includes(order.channel)) {
      ctx.addIssue({ code: 'custom', ...businessRule('terms_not_allowed', `orders of channel ${order.channel} cannot be on terms (${termsChannels.join(', ')} only)`, ['payment', 'kind']) });
    }
  });

type OrderBody = z.infer<typeof orderBody>;

function normalize(body: OrderBody): OrderInput {
  return { ...body, lines: body.lines.map((line, index) => ({ ...line, lineNo: line.lineNo ?? index + 1 })) };
}

/** The order as its process has it once checked and screened, with whether this request started it. */
const submitted = (description: string) =>
  z
    .looseObject({
      orderId: z.string(),
      status: z.string().describe('rejected (with problems), on_hold, or on its way to stock'),
      workflowId: z.string(),
      created: z.boolean(),
    })
    .describe(description);

/** An order in a currency other than the functional one needs a rate for today, or nothing is started (422 no_fx_rate). */
async function requireRate(db: AppDeps['db'], currency: string): Promise<void> {
  const functional = await functionalCurrency(db);
  if (currency === functional || (await rateOn(db, currency, functional, todayUtc()))) return;
  const message = `no ${currency}→${functional} exchange rate on or before ${todayUtc()}: an order in ${currency} cannot be booked until finance sets one (PUT /fx-rates)`;
  throw unprocessable('no_fx_rate', message, [{ in: 'body', path: 'currency', message }]);
}

export const orderRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/orders',
      {
        config: { roles: ['system', 'ops'] },
        schema: {
          summary: 'Submit an order; starts its order-release process (idempotent on orderId)',
          description:
            'Answers once the order is checked against the item master and screened for risk: `rejected` with the problems, `on_hold` with the rules that fired, or on its way to stock. A repeat of the same order starts nothing (200, created false); the same id with other content is 409.',
          body: orderBody,
          response: {
            201: submitted('Recorded and its process started, also when rejected for its lines (status rejected, with the problems)'),
            200: submitted('The same order again: nothing started, the order as it is now'),
          },
        },
      },
      async (request, reply) => {
        const order = normalize(request.body);
        await requireRate(db, order.currency);
        const workflowId = orderWorkflowId(order.orderId);
        const { view, created } = await startOnce<OrderReleaseWorkflow>(temporal, {
          workflowType: orderWorkflowType,
          options: {
            workflowId,
            taskQueue: config.taskQueue,
            args: [order, config.policies.order],
            typedSearchAttributes: orderStartSearchAttributes(order),
          },
          submit: submitOrderUpdate,
          view: orderViewQuery,
          content: order,
          duplicate: { code: 'duplicate_order_id', message: `order ${order.orderId} was already submitted with different content` },
          // The orders table keeps every id for good; Temporal forgets a finished process after
          // its retention. Without the refusal a reused id would replay the old run's ledger keys.
          record: () => db.selectFrom('orders').select(['status', 'created_at']).where('id', '=', order.orderId).executeTakeFirst(),
          forgotten: (record) => {
            const used = record as { status: string; created_at: Date };
            return conflict('order_id_used', `order id ${order.orderId} was used by an order placed ${used.created_at.toISOString()} (now ${used.status}); send a new order id`);
          },
        });
        return reply.code(created ? 201 : 200).send({ ...view, workflowId, created });
      },
    );

    app.get(
      '/orders',
      {
        schema: {
          summary: 'Orders, newest first, from the order records',
          querystring: z.object({
            status: z.string().max(40).optional(),
            customerId: recordId.optional(),
            channel: z.string().max(40).optional(),
            ...listPage(50, 500),
          }),
        },
      },
      async (request) => {
        const { q, status, customerId, channel } = request.query;
        let base = db.selectFrom('orders');
        if (status) base = base.where('status', '=', status);
        if (customerId) base = base.where('customer_id', '=', customerId);
        if (channel) base = base.where('channel', '=', channel);
        if (q) base = base.where((eb) => eb.or([eb('id', 'ilike', containing(q)), eb('customer_id', 'ilike', containing(q))]));
        const [rows, count] = await Promise.all([
          base
            .select(['id', 'channel', 'customer_id', 'status', 'status_reason', 'total_minor', 'currency', 'created_at', 'updated_at'])
            .orderBy('created_at', 'desc')
            .orderBy('id')
            .offset(request.query.offset)
            .limit(request.query.limit)
            .execute(),
          base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
        ]);
        return {
          total: Number(count.n),
          orders: rows.map((r) => ({
            orderId: r.id,
            channel: r.channel,
            customerId: r.customer_id,
            status: r.status,
            statusReason: r.status_reason,
            totalMinor: r.total_minor,
            currency: r.currency,
            createdAt: r.created_at,
            updatedAt: r.updated_at,
          })),
        };
      },
    );

    app.get(
      '/orders/:id',
      {
        schema: {
          summary: 'An order: its record in the database and the live state of its process',
          params: z.object({ id: recordId }),
        },
      },
      async (request) => {
        const orderId = request.params.id;
        const row = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
        const lines = row
          ? await db.selectFrom('order_lines').selectAll().where('order_id', '=', orderId).orderBy('line_no').execute()
          : [];
        const workflowId = orderWorkflowId(orderId);
        const { view: process, state: processState, error: processError } = await liveView(temporal, workflowId, orderViewQuery, config.resilience.temporal.queryTimeoutMs);
        if (!row && processState === 'not_found') throw notFound(`order ${orderId}`);
        // No record, and Temporal cannot say: whether the order exists is not known now.
        if (!row && processState === 'unavailable') throw new DependencyUnavailable({ dependency: 'temporal', reason: 'unavailable' }, `Temporal is unavailable and order ${orderId} has no record yet`);
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
                hold: row.hold,
                routing: row.routing,
                problems: row.problems,
                createdAt: row.created_at,
                updatedAt: row.updated_at,
                releasedAt: row.released_at,
                closedAt: row.closed_at,
                lines: lines.map((l) => ({
                  lineNo: l.line_no,
                  sku: l.sku,
                  qty: l.qty,
                  unitPriceMinor: l.unit_price_minor,
                  discountMinor: l.discount_minor,
                  taxMinor: l.tax_minor,
                  allocated: l.allocated_qty,
                  backordered: l.backordered_qty,
                  cancelled: l.cancelled_qty,
                  shipped: l.shipped_qty,
                })),
              }
            : null,
          process,
          processState,
          processError,
          // Returns against the order: units returned per line, money refunded and credited.
          returns: row ? await orderReturnSummary(db, orderId) : null,
          // The storefront order behind it: platform, its payment as the platform says it, where the coordinates came from.
          channelOrder: row ? await channelOrderOf(db, orderId) : null,
        };
      },
    );

    app.post(
      '/orders/:id/hold-decision',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Approve or reject an order on hold (409 when it is not on hold)',
          params: z.object({ id: recordId }),
          body: decisionBody,
        },
      },
      async (request) =>
        sendDecision(
          temporal.workflow.getHandle(orderWorkflowId(request.params.id)),
          holdDecisionUpdate,
          [{ ...request.body, actor: request.actor! }],
          `order ${request.params.id}`,
        ).then((view) => audited(request, view, (v) => ({ status: v.status, decision: v.hold?.decision?.decision, holdFlags: v.hold?.flags.map((f) => f.rule) }))),
    );

    app.post(
      '/orders/:id/cancel',
      {
        config: { roles: ['ops', 'system'] },
        schema: {
          summary: 'Cancel an order before it ships; every reservation is released (409 once shipped or closed)',
          params: z.object({ id: recordId }),
          body: cancelBody,
        },
      },
      async (request) =>
        sendDecision(
          temporal.workflow.getHandle(orderWorkflowId(request.params.id)),
          cancelOrderUpdate,
          [{ reason: request.body.reason, actor: request.actor! }],
          `order ${request.params.id}`,
        ).then((view) => audited(request, view, (v) => ({ status: v.status }))),
    );
  };
