import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { containing, listPage } from './lists.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authorizeReturn, completeRefurbishment, ReturnRefusal } from '../services/returns.js';
import type { Db } from '../db/connection.js';
import { LedgerError } from '../db/ledger.js';
import { returnDispositions, returnReasons, returnResolutions, unitConditions } from '../domain/return-rules.js';
import type { AppDeps } from './app.js';
import { sendDecision } from './decisions.js';
import { ApiError, businessRule, notFound, unprocessable } from './errors.js';
import { liveView, startOnce } from './processes.js';
import { decisionBody as approvalBody, lineQty as qty, recordIdByPattern as orderId, recordIdByPattern as stepId, returnId, sku, warehouseCodeBrief as warehouse } from './schemas.js';
import { inspectionUpdate, parcelReceivedUpdate, refundApprovalUpdate, returnViewQuery, returnWorkflowId, submitReturnUpdate, returnWorkflowType, type ReturnWorkflow } from '../contracts/return.js';
import { Channel, CustomerId, ProcessStatus, SkuCount, ValueMinor } from '../contracts/search-attributes.js';

const uniqueSkus = <T extends { sku: string }>(lines: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    if (seen.has(line.sku)) ctx.addIssue({ code: 'custom', ...businessRule('repeated_sku', `${line.sku} appears twice`, ['lines', index, 'sku']) });
    seen.add(line.sku);
  });
};

const returnBody = z
  .object({
    returnId: returnId.optional().describe('your id for the return; a retry with the same id and content starts nothing'),
    orderId,
    lines: z.array(z.object({ sku, qty, replacementSku: sku.optional().describe('on an exchange: send this sku instead') })).min(1).max(200),
    reasonCode: z.enum(returnReasons),
    resolution: z.enum(returnResolutions).default('refund'),
  })
  .superRefine((body, ctx) => uniqueSkus(body.lines, ctx));

const receiptBody = z
  .object({
    parcelId: stepId.describe('the parcel; a repeat with the same id changes nothing'),
    warehouse,
    lines: z.array(z.object({ sku, qty })).min(1).max(200),
  })
  .superRefine((body, ctx) => uniqueSkus(body.lines, ctx));

const inspectionBody = z
  .object({
    inspectionId: stepId.describe('the inspection; a repeat with the same id changes nothing'),
    lines: z
      .array(
        z.object({
          sku,
          qty,
          condition: z.enum(unitConditions),
          warehouse: warehouse.optional().describe('needed when the units wait at more than one warehouse'),
          disposition: z.enum(returnDispositions).optional().describe("overrides the rule's disposition; needs overrideReason"),
          overrideReason: z.string().trim().max(500).optional(),
        }),
      )
      .min(1)
      .max(200),
  })
  .superRefine((body, ctx) =>
    body.lines.forEach((line, index) => {
      if (line.disposition && (line.overrideReason ?? '').length < 3) {
        ctx.addIssue({ code: 'custom', path: ['lines', index, 'overrideReason'], message: 'an override needs a reason' });
      }
    }),
  );

const refurbishmentBody = z
  .object({
    refurbishmentId: stepId,
    lines: z.array(z.object({ sku, qty, outcome: z.enum(['restock', 'scrap']) })).min(1).max(200),
  })
  .superRefine((body, ctx) => uniqueSkus(body.lines, ctx));

/** What a return's well-formed but unacceptable request is called. */
const returnRuleCode = (message: string) =>
  message.startsWith('not on order')
    ? 'sku_not_on_order'
    : message.includes('needs the exchange resolution')
      ? 'replacement_needs_exchange'
      : message.includes('replacement sku')
        ? 'unknown_replacement_sku'
        : 'return_refused';

/**
 * A refusal of ours or of the ledger (the refurbishment id reused for other lines, stock not
 * there) as its HTTP answer: what the request names but the records do not have, or a rule
 * it breaks, is 422; a state that does not allow it, 409.
 */
const refusal = (error: unknown) => {
  if (error instanceof ReturnRefusal) {
    if (error.status === 400) return unprocessable(returnRuleCode(error.message), error.message, error.details);
    return new ApiError(error.status, error.code, error.message, error.details);
  }
  if (error instanceof LedgerError) return new ApiError(error.code === 'invalid_movement' || error.code === 'unknown_reference' ? 422 : 409, error.code, error.message, error.details);
  return error;
};

/** The return as its process has it once authorized, with whether this request started it. */
const authorized = (description: string) =>
  z.looseObject({ returnId: z.string(), status: z.string(), workflowId: z.string(), created: z.boolean() }).describe(description);

/** What an order's returns have done: units returned per line and the money given back. */
export async function orderReturnSummary(db: Db, orderIdValue: string) {
  const [returns, lines] = await Promise.all([
    db
      .selectFrom('returns')
      .select(['id', 'status', 'resolution', 'refund_minor', 'credit_minor', 'replacement_order_id'])
      .where('order_id', '=', orderIdValue)
      .orderBy('authorized_at')
      .execute(),
    db
      .selectFrom('return_lines as rl')
      .innerJoin('returns as r', 'r.id', 'rl.return_id')
      .select(['rl.line_no', (eb) => eb.fn.sum<number>('rl.qty').as('authorized'), (eb) => eb.fn.sum<number>('rl.received_qty').as('returned')])
      .where('r.order_id', '=', orderIdValue)
      .where('r.status', 'not in', ['expired'])
      .groupBy('rl.line_no')
      .orderBy('rl.line_no')
      .execute(),
  ]);
  return {
    returnIds: returns.map((r) => r.id),
    returns: returns.map((r) => ({ returnId: r.id, status: r.status, resolution: r.resolution, refundedMinor: r.refund_minor ?? 0, creditedMinor: r.credit_minor ?? 0, replacementOrderId: r.replacement_order_id })),
    returnedLines: lines.map((l) => ({ lineNo: l.line_no, authorized: Number(l.authorized), returned: Number(l.returned) })),
    refundedMinor: returns.reduce((n, r) => n + (r.refund_minor ?? 0), 0),
    creditedMinor: returns.reduce((n, r) => n + (r.credit_minor ?? 0), 0),
  };
}

/** Returns (RMAs): authorization, parcels, inspection, refund approval, and refurbished units back to stock. */
export const returnRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const handle = (id: string) => temporal.workflow.getHandle(returnWorkflowId(id));
    const historyUrl = (workflowId: string) => `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}`;

    app.post(
      '/returns',
      {
        config: { roles: ['ops', 'system'] },
        schema: {
          summary: 'Authorize a return against an order and start its process (idempotent on returnId)',
          description:
            'Only shipped units not covered by another return, inside the channel’s return window. A refusal (422 no such order or a sku not on it, 409 not returnable, with the reason per sku) writes nothing. Two requests for the same units: one wins, the other is 409. A repeat of the same request answers 200, created false.',
          body: returnBody,
          response: {
            201: authorized('Authorized and its process started'),
            200: authorized('The same return again: nothing started, the return as it is now'),
          },
        },
      },
      async (request, reply) => {
        const rmaId = request.body.returnId ?? `RMA-${randomBytes(6).toString('hex').toUpperCase()}`;
        const { input, requestHash } = await authorizeReturn(
          db,
          { rmaId, orderId: request.body.orderId, lines: request.body.lines, reasonCode: request.body.reasonCode, resolution: request.body.resolution, actor: request.actor! },
          config.policies.returns,
        ).catch((error: unknown) => {
          // The order is named in the body, not the path: a reference to a record that is not there.
          if (error instanceof ReturnRefusal && error.status === 404) throw unprocessable('unknown_order', error.message, [{ path: 'orderId', message: error.message }]);
          throw refusal(error);
        });
        const workflowId = returnWorkflowId(rmaId);
        const { view, created } = await startOnce<ReturnWorkflow>(temporal, {
          workflowType: returnWorkflowType,
          options: {
            workflowId,
            taskQueue: config.taskQueue,
            args: [input, { returns: config.policies.returns, order: config.policies.order }],
            typedSearchAttributes: [
              { key: ProcessStatus, value: 'authorized' },
              { key: Channel, value: input.channel },
              { key: CustomerId, value: input.customerId },
              { key: SkuCount, value: new Set(input.lines.map((l) => l.sku)).size },
              { key: ValueMinor, value: input.lines.reduce((n, l) => n + l.qty * l.unitPriceMinor, 0) },
            ],
          },
          submit: submitReturnUpdate,
          view: returnViewQuery,
          // The authorization's own hash: the stored input comes back from jsonb with its keys reordered.
          content: requestHash,
          duplicate: { code: 'duplicate_return_id', message: `return ${rmaId} was already requested with different content` },
        });
        return reply.code(created ? 201 : 200).send({ ...view, returnId: rmaId, workflowId, created });
      },
    );

    app.get(
      '/returns',
      {
        schema: {
          summary: 'Returns, newest first, from their records',
          querystring: z.object({ status: z.string().max(40).optional(), orderId: orderId.optional(), ...listPage(50, 500) }),
        },
      },
      async (request) => {
        let base = db.selectFrom('returns');
        if (request.query.status) base = base.where('status', '=', request.query.status);
        if (request.query.orderId) base = base.where('order_id', '=', request.query.orderId);
        const q = request.query.q;
        if (q) base = base.where((eb) => eb.or([eb('id', 'ilike', containing(q)), eb('order_id', 'ilike', containing(q)), eb('customer_id', 'ilike', containing(q))]));
        const [rows, count] = await Promise.all([
          base.selectAll().orderBy('authorized_at', 'desc').orderBy('id').offset(request.query.offset).limit(request.query.limit).execute(),
          base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
        ]);
        return {
          total: Number(count.n),
          returns: rows.map((r) => ({
            returnId: r.id,
            orderId: r.order_id,
            status: r.status,
            statusReason: r.status_reason,
            reasonCode: r.reason_code,
            resolution: r.resolution,
            customerId: r.customer_id,
            channel: r.channel,
            authorizedAt: r.authorized_at,
            expiresAt: r.expires_at,
            firstReceivedAt: r.first_received_at,
            refundedAt: r.refunded_at,
            closedAt: r.closed_at,
            refundedMinor: r.refund_minor,
            creditedMinor: r.credit_minor,
            temporalUiUrl: historyUrl(r.workflow_id),
          })),
        };
      },
    );

    app.get(
      '/returns/:id',
      { schema: { summary: 'A return: its record, lines, parcels, inspections, refund, and the live state of its process', params: z.object({ id: returnId }) } },
      async (request) => {
        const id = request.params.id;
        const row = await db.selectFrom('returns').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) throw notFound(`return ${id}`);
        const [lines, receipts, inspections, vendorReturns] = await Promise.all([
          db.selectFrom('return_lines').selectAll().where('return_id', '=', id).orderBy('line_no').execute(),
          db.selectFrom('return_receipts').selectAll().where('return_id', '=', id).orderBy('received_at').orderBy('line_no').execute(),
          db.selectFrom('return_inspections').selectAll().where('return_id', '=', id).orderBy('inspected_at').orderBy('seq').execute(),
          db.selectFrom('vendor_returns').select(['id', 'supplier_id', 'sku', 'qty', 'status']).where('return_id', '=', id).orderBy('id').execute(),
        ]);
        const { view: process, state: processState, error: processError } = await liveView(temporal, returnWorkflowId(id), returnViewQuery, config.resilience.temporal.queryTimeoutMs);
        return {
          returnId: id,
          orderId: row.order_id,
          status: row.status,
          statusReason: row.status_reason,
          reasonCode: row.reason_code,
          resolution: row.resolution,
          channel: row.channel,
          customerId: row.customer_id,
          currency: row.currency,
          requestedBy: row.requested_by,
          authorizedAt: row.authorized_at,
          expiresAt: row.expires_at,
          firstReceivedAt: row.first_received_at,
          inspectedAt: row.inspected_at,
          refundedAt: row.refunded_at,
          closedAt: row.closed_at,
          refund: row.refund,
          refundedMinor: row.refund_minor,
          creditedMinor: row.credit_minor,
          returnedValueMinor: row.returned_value_minor,
          restockedValueMinor: row.restocked_value_minor,
          approval: row.approval,
          gatewayRefundId: row.gateway_refund_id,
          replacementOrderId: row.replacement_order_id,
          journalEntryId: row.journal_entry_id,
          lines: lines.map((l) => ({
            lineNo: l.line_no,
            sku: l.sku,
            authorized: l.qty,
            received: l.received_qty,
            inspected: l.inspected_qty,
            restocked: l.restocked_qty,
            refurbished: l.refurbished_qty,
            damaged: l.damaged_qty,
            vendorReturned: l.vendor_returned_qty,
            refunded: l.refunded_qty,
            refurbishedRestocked: l.refurbished_restocked_qty,
            refurbishedScrapped: l.refurbished_scrapped_qty,
            replacementSku: l.replacement_sku,
          })),
          receipts: receipts.map((r) => ({ parcelId: r.parcel_id, lineNo: r.line_no, sku: r.sku, warehouse: r.warehouse_code, qty: r.qty, costMinor: r.cost_minor, actor: r.actor, receivedAt: r.received_at })),
          inspections: inspections.map((i) => ({
            inspectionId: i.inspection_id,
            lineNo: i.line_no,
            sku: i.sku,
            warehouse: i.warehouse_code,
            qty: i.qty,
            condition: i.condition,
            disposition: i.disposition,
            ruleDisposition: i.rule_disposition,
            overrideReason: i.override_reason,
            costMinor: i.cost_minor,
            vendorReturnId: i.vendor_return_id,
            actor: i.actor,
            inspectedAt: i.inspected_at,
          })),
          vendorReturns: vendorReturns.map((v) => ({ vendorReturnId: v.id, supplierId: v.supplier_id, sku: v.sku, qty: v.qty, status: v.status })),
          workflowId: row.workflow_id,
          temporalUiUrl: historyUrl(row.workflow_id),
          process,
          processState,
          processError,
        };
      },
    );

    app.post(
      '/returns/:id/receipt',
      {
        config: { roles: ['system'] },
        schema: {
          summary: 'A parcel of the return arrived at a warehouse: its units go to return_pending (409 when the return is not waiting for parcels)',
          description: 'Less than authorized is fine; more parcels may follow until the receipt window closes. A repeat of a parcel id changes nothing; the same id with other content is 409.',
          params: z.object({ id: returnId }),
          body: receiptBody,
        },
      },
      async (request) => {
        const known = await db.selectFrom('warehouses').select('code').where('code', '=', request.body.warehouse).where('active', '=', true).executeTakeFirst();
        if (!known) {
          const message = `unknown or inactive warehouse ${request.body.warehouse}`;
          throw unprocessable('unknown_warehouse', message, [{ path: 'warehouse', message }]);
        }
        return sendDecision(handle(request.params.id), parcelReceivedUpdate, [{ ...request.body, actor: request.actor! }], `return ${request.params.id}`);
      },
    );

    app.post(
      '/returns/:id/inspection',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Inspection of received units: per sku a condition, which decides the disposition (restock, refurbish, damaged, vendor return) unless overridden with a reason',
          description: 'Rules: as_new → restock; opened, needs_repair → refurbish; damaged → damaged (written off at cost); defective → vendor_return when an approved supplier takes the sku, else damaged.',
          params: z.object({ id: returnId }),
          body: inspectionBody,
        },
      },
      async (request) => sendDecision(handle(request.params.id), inspectionUpdate, [{ ...request.body, actor: request.actor! }], `return ${request.params.id}`),
    );

    app.post(
      '/returns/:id/refund-approval',
      {
        config: { roles: ['finance'] },
        schema: {
          summary: 'Approve or reject a refund above the approval limit (409 when the return is not waiting for one)',
          params: z.object({ id: returnId }),
          body: approvalBody,
        },
      },
      async (request) => {
        // A finance person's own refund limit, when they have one: a larger refund is someone else's to approve.
        const limit = request.user!.refundApprovalLimitMinor;
        if (limit !== null) {
          const view = await handle(request.params.id)
            .query(returnViewQuery)
            .catch(() => undefined);
          const refundMinor = view?.refund?.totalMinor;
          if (refundMinor !== undefined && refundMinor > limit) {
            throw new ApiError(403, 'over_approval_limit', `${request.actor} may decide refunds up to ${limit}; this one is ${refundMinor}`, { refundMinor, limitMinor: limit });
          }
        }
        return sendDecision(handle(request.params.id), refundApprovalUpdate, [{ ...request.body, actor: request.actor!, userId: request.user!.id }], `return ${request.params.id}`);
      },
    );

    app.post(
      '/returns/:id/refurbishment',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Refurbished units of the return leave quarantine: restock (to available) or scrap (to damaged, written off at their original cost)',
          description: 'Idempotent per refurbishmentId; more units than are in refurbishment is 409 and moves nothing.',
          params: z.object({ id: returnId }),
          body: refurbishmentBody,
        },
      },
      async (request) => {
        try {
          const result = await completeRefurbishment(db, { rmaId: request.params.id, refurbishmentId: request.body.refurbishmentId, actor: request.actor!, lines: request.body.lines });
          return { returnId: request.params.id, refurbishmentId: request.body.refurbishmentId, ...result };
        } catch (error) {
          throw refusal(error);
        }
      },
    );
  };
