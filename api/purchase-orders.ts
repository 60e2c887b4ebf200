import { z } from 'zod';
import { containing, listPage } from './lists.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { purchaseOrderProblems } from '../db/purchasing.js';
import { findReplenishmentRun, storedReplenishment } from '../db/replenishment.js';
import { actualLeadDays, finishedPurchaseOrders, leadTimeAdherence, purchaseOrderFill, purchaseOrderPerformance } from '../db/purchase-order-performance.js';
import { mayApprove } from '../domain/purchase-order.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { sendDecision } from './decisions.js';
import { ApiError, badRequest, businessRule, notFound, unprocessable } from './errors.js';
import { liveView, startOnce } from './processes.js';
import { lotLineProblems } from '../services/lots.js';
import { recordUnitQuantities, toBaseLines, type UnitProblem } from '../services/units.js';
import { cancelBody, currencyCode, expiryDate, lotCode, dateOrDateTime, decisionBody, distinctLineNumbers, lineNo, minor, reason, recordId, runId, sku, stockQty, stockQtyOrNone, warehouseText } from './schemas.js';
import { acknowledgePurchaseOrderUpdate, approvePurchaseOrderUpdate, cancelPurchaseOrderUpdate, decideExcessUpdate, decideInvoiceUpdate, extendPurchaseOrderUpdate, inspectPurchaseOrderUpdate, invoicePurchaseOrderUpdate, type PurchaseOrderView, purchaseOrderViewQuery, purchaseOrderWorkflowId, receivePurchaseOrderUpdate, submitPurchaseOrderUpdate, purchaseOrderWorkflowType, type PurchaseOrderWorkflow } from '../contracts/purchase-order.js';
import { DependencyUnavailable } from './dependencies.js';

/** A quantity in `unit` when one is named, else in base units; either way it must come to whole base units. */
const unitQty = z.number().gt(0).max(1_000_000).describe("in unit when one is named (1.5 cases of 12 is 18), else whole base units; it must come to whole base units");
/** One of the item's units (its base unit or a conversion, docs/units.md). */
const unitOf = z.string().min(1).max(20).describe("one of the item's units: its base unit or a conversion (a case, a pallet)");

const draftBody = z
  .object({
    poId: recordId,
    supplierId: recordId,
    warehouse: warehouseText,
    currency: currencyCode.default('USD'),
    /** Defaults to today plus the supplier's lead time to the warehouse. */
    expectedAt: dateOrDateTime.optional(),
    lines: z
      .array(
        z.object({
          lineNo: lineNo.optional(),
          sku,
          qty: unitQty,
          unit: unitOf.optional(),
          /** Defaults to the supplier's price for the item. */
          unitCostMinor: minor.optional().describe("per unit when one is named; must divide into whole minor units per base unit. Defaults to the supplier's price"),
        }),
      )
      .min(1, 'a purchase order needs at least one line')
      .max(500),
  })
  .superRefine((body, ctx) => distinctLineNumbers(body.lines, ctx));
type DraftBody = z.infer<typeof draftBody>;

const fromSuggestionsBody = z.object({
  poId: recordId,
  runId,
  lines: z
    .array(z.object({ sku, warehouse: warehouseText }))
    .min(1, 'name at least one suggestion')
    .max(500)
    .refine((lines) => new Set(lines.map((l) => `${l.sku}@${l.warehouse}`)).size === lines.length, businessRule('repeated_suggestion', 'each sku and warehouse once')),
});

const acknowledgementBody = z
  .object({
    confirmedDate: dateOrDateTime.optional(),
    lines: z.array(z.object({ lineNo, confirmedQty: stockQtyOrNone })).max(500).default([]),
  })
  .superRefine((body, ctx) => distinctLineNumbers(body.lines, ctx));
const receiptBody = z
  .object({
    receiptId: recordId,
    lines: z
      .array(z.object({ lineNo, qty: unitQty, unit: unitOf.optional(), lot: lotCode.optional().describe('required for a lot-tracked item'), expiresOn: expiryDate.optional().describe('required for a lot-tracked item') }))
      .min(1)
      .max(500),
    landedCostMinor: minor.default(0),
    landedCostBasis: z.enum(['value', 'quantity']).default('value'),
  })
  .superRefine((body, ctx) => distinctLineNumbers(body.lines, ctx));
const excessBody = z.object({ receiptId: recordId, decision: z.enum(['accept', 'reject']), reason });
const inspectionBody = z
  .object({
    inspectionId: recordId,
    lines: z
      .array(z.object({ lineNo, accepted: stockQtyOrNone, rejected: stockQtyOrNone }))
      .min(1)
      .max(500)
      .refine((lines) => lines.every((l) => l.accepted + l.rejected > 0), 'each line accepts or rejects at least one unit'),
  })
  .superRefine((body, ctx) => distinctLineNumbers(body.lines, ctx));
const invoiceBody = z
  .object({
    invoiceId: recordId,
    lines: z.array(z.object({ lineNo, qty: stockQty, unitCostMinor: minor })).min(1).max(500),
    /** Freight, duty and other charges billed with the goods. */
    chargesMinor: minor.default(0),
  })
  .superRefine((body, ctx) => distinctLineNumbers(body.lines, ctx));
/** Problems converting lines to base units: 400 naming each field. */
function throwUnitProblems(problems: UnitProblem[]): void {
  if (problems.length) throw badRequest(`invalid body: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, problems.map((p) => ({ in: 'body', ...p })));
}

const extendBody = z.object({ expectedAt: dateOrDateTime, reason });
const params = z.object({ id: recordId });

/** The purchase order as its process has it once approval is settled. */
const drafted = {
  200: z
    .looseObject({ poId: z.string(), status: z.string(), workflowId: z.string() })
    .describe('Issued, or rejected with the problems, or the same purchase order again as it is now'),
  202: z
    .looseObject({ poId: z.string(), status: z.literal('awaiting_approval'), workflowId: z.string() })
    .describe('Above the buyer limit: waiting for an approval (status awaiting_approval)'),
};

/** What a draft's problems are called: the first one names the answer. */
const draftProblemCode = (problem: { path: string; message: string }) =>
  problem.path === 'supplierId'
    ? problem.message.includes('not approved')
      ? 'supplier_not_approved'
      : problem.message.includes('deactivated')
        ? 'supplier_inactive'
        : 'unknown_supplier'
    : problem.path === 'warehouse'
      ? 'unknown_warehouse'
      : problem.message.includes('deactivated')
        ? 'sku_inactive'
        : 'item_not_approved';

export const purchaseOrderRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const handleOf = (poId: string) => temporal.workflow.getHandle(purchaseOrderWorkflowId(poId));

    /** A decision or event for a running PO; a refusal by its validator is 409, a command naming no line of the PO or a past date 422, an unknown invoice 404. */
    async function send<Args extends [unknown]>(poId: string, update: UpdateDefinition<PurchaseOrderView, Args>, args: Args) {
      try {
        return await sendDecision(handleOf(poId) as WorkflowHandle, update, args, `purchase order ${poId}`);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'invalid_command') {
          throw unprocessable(/has no line/.test(error.message) ? 'unknown_line' : 'expected_date_not_in_future', error.message);
        }
        if (error instanceof ApiError && error.code === 'invoice_not_found') throw notFound(`invoice ${(args[0] as { invoiceId?: string }).invoiceId} of purchase order ${poId}`);
        throw error;
      }
    }

    /**
     * Drafts a PO and starts its process (update-with-start), answering once approval is
     * settled: the one path for a draft by hand and a draft from planner suggestions.
     */
    async function startDraft(request: FastifyRequest, reply: FastifyReply, body: DraftBody) {
      // Lines given in a unit go to base units here: the process and the ledger know base units only.
      const converted = await toBaseLines(db, body.lines.map((l, index) => ({ path: ['lines', index], lineNo: l.lineNo ?? index + 1, sku: l.sku, qty: l.qty, unit: l.unit, unitCostMinor: l.unitCostMinor })));
      throwUnitProblems(converted.problems);
      const lines = converted.lines;
      const problems = await purchaseOrderProblems(db, { supplierId: body.supplierId, warehouse: body.warehouse, lines: lines.map((l) => ({ ...l, unitCostMinor: 0 })) });
      if (problems.length) {
        throw unprocessable(draftProblemCode(problems[0]!), problems.map((p) => p.message).join('; '), problems.map((p) => ({ ...p, code: draftProblemCode(p) })));
      }

      const [prices, lane, supplier] = await Promise.all([
        db.selectFrom('supplier_items').select(['sku', 'unit_cost_minor']).where('supplier_id', '=', body.supplierId).execute(),
        db.selectFrom('supplier_lanes').select('lead_time_days').where('supplier_id', '=', body.supplierId).where('warehouse_code', '=', body.warehouse).executeTakeFirst(),
        db.selectFrom('suppliers').select('default_lead_time_days').where('id', '=', body.supplierId).executeTakeFirstOrThrow(),
      ]);
      const priced = lines.map((l) => ({ ...l, unitCostMinor: l.unitCostMinor ?? prices.find((p) => p.sku === l.sku)!.unit_cost_minor }));
      // Money is whole minor units up to 2^53; past that the process could not even be indexed by value.
      const valueMinor = priced.reduce((sum, l) => sum + l.qty * l.unitCostMinor, 0);
      if (!Number.isSafeInteger(valueMinor)) {
        throw unprocessable('value_too_large', `the purchase order's value (${valueMinor} minor units) exceeds 2^53 minor units`, { valueMinor });
      }
      const leadDays = lane?.lead_time_days ?? supplier.default_lead_time_days;
      const expectedAt = body.expectedAt ? new Date(body.expectedAt).toISOString() : new Date(Date.now() + leadDays * 86_400_000).toISOString();

      const workflowId = purchaseOrderWorkflowId(body.poId);
      const { view } = await startOnce<PurchaseOrderWorkflow>(temporal, {
        workflowType: purchaseOrderWorkflowType,
        options: {
          workflowId,
          taskQueue: config.taskQueue,
          args: [
            {
              poId: body.poId,
              supplierId: body.supplierId,
              warehouse: body.warehouse,
              currency: body.currency,
              expectedAt,
              lines: priced,
              createdBy: request.actor!,
              creatorRole: request.role === 'buyer' ? 'buyer' : 'ops',
              // A buyer's own limit, when they have one, decides whether their PO needs approval.
              policy: request.role === 'buyer' && request.user!.poApprovalLimitMinor !== null ? { ...config.policies.purchaseOrder, buyerApprovalLimitMinor: request.user!.poApprovalLimitMinor } : config.policies.purchaseOrder,
            },
          ],
        },
        submit: submitPurchaseOrderUpdate,
        view: purchaseOrderViewQuery,
        content: body,
        duplicate: { code: 'duplicate_purchase_order', message: `purchase order ${body.poId} was already submitted with different content` },
      });
      await recordUnitQuantities(db, body.poId, 'order', converted.records);
      return reply.code(view.status === 'awaiting_approval' ? 202 : 200).send({ ...view, workflowId });
    }

    app.post(
      '/purchase-orders',
      {
        config: { roles: ['buyer', 'ops'] },
        schema: {
          summary: 'Draft a purchase order from an approved supplier; above the buyer limit it waits for finance (202)',
          description: 'An unknown or unapproved supplier, an unknown warehouse, or an item the supplier is not approved for is 422 and starts nothing.',
          body: draftBody,
          response: drafted,
        },
      },
      async (request, reply) => startDraft(request, reply, request.body),
    );

    app.post(
      '/purchase-orders/from-suggestions',
      {
        config: { roles: ['buyer', 'ops'] },
        schema: {
          summary: "Draft a purchase order from a planner run's suggestions (one warehouse, one supplier) at their suggested quantities",
          body: fromSuggestionsBody,
          response: drafted,
        },
      },
      async (request, reply) => {
        const { poId, runId, lines } = request.body;
        const run = await findReplenishmentRun(db, { runId });
        if (run?.status !== 'finished') throw unprocessable('unknown_run', `replenishment run ${runId} is not a finished planner run`, { runId });
        const stored = await storedReplenishment(db, runId);
        const problems: string[] = [];
        const picked = lines.flatMap((wanted) => {
          const line = stored.find((l) => l.sku === wanted.sku && l.warehouse === wanted.warehouse);
          if (!line) problems.push(`no suggestion for ${wanted.sku} at ${wanted.warehouse} in run ${runId}`);
          else if (line.suggestedQty <= 0) problems.push(`the suggestion for ${wanted.sku} at ${wanted.warehouse} has nothing to buy (suggestedQty ${line.suggestedQty})`);
          else if (!line.supplierId) problems.push(`the suggestion for ${wanted.sku} at ${wanted.warehouse} has no approved supplier`);
          return line ? [line] : [];
        });
        const warehouses = [...new Set(lines.map((l) => l.warehouse))];
        if (warehouses.length > 1) problems.push(`the suggestions are for more than one warehouse (${warehouses.join(', ')}); a purchase order delivers to one`);
        const suppliers = [...new Set(picked.map((l) => l.supplierId).filter((s) => s !== null))];
        if (suppliers.length > 1) problems.push(`the suggestions are from more than one supplier (${suppliers.join(', ')}); a purchase order has one`);
        if (problems.length) throw unprocessable('unusable_suggestions', problems.join('; '), problems.map((message) => ({ message })));
        return startDraft(request, reply, {
          poId,
          supplierId: suppliers[0]!,
          warehouse: warehouses[0]!,
          currency: 'USD',
          lines: picked.map((l, index) => ({ lineNo: index + 1, sku: l.sku, qty: l.suggestedQty })),
        });
      },
    );

    app.get(
      '/purchase-orders',
      {
        schema: {
          summary: 'Purchase orders, newest first, with search (PO, supplier) and filters',
          querystring: z.object({ status: z.string().max(40).optional(), supplierId: z.string().max(64).optional(), warehouse: z.string().max(16).optional(), ...listPage(50, 500) }),
        },
      },
      async (request) => {
        const { q, status, supplierId, warehouse } = request.query;
        let base = db.selectFrom('purchase_orders');
        if (status) base = base.where('status', '=', status);
        if (supplierId) base = base.where('supplier_id', '=', supplierId);
        if (warehouse) base = base.where('warehouse_code', '=', warehouse);
        if (q) base = base.where((eb) => eb.or([eb('id', 'ilike', containing(q)), eb('supplier_id', 'ilike', containing(q))]));
        const [rows, count] = await Promise.all([
          base.selectAll().orderBy('created_at', 'desc').orderBy('id').offset(request.query.offset).limit(request.query.limit).execute(),
          base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
        ]);
        return {
          total: Number(count.n),
          purchaseOrders: rows.map((r) => ({
            poId: r.id,
            supplierId: r.supplier_id,
            warehouse: r.warehouse_code,
            currency: r.currency,
            status: r.status,
            statusReason: r.status_reason,
            valueMinor: r.value_minor,
            expectedAt: r.expected_at,
            createdBy: r.created_by,
            createdAt: r.created_at,
          })),
        };
      },
    );

    app.get('/purchase-orders/:id', { schema: { summary: 'A purchase order: its record, receipts, invoices and the state of its process', params } }, async (request) => {
      const poId = request.params.id;
      const record = await db.selectFrom('purchase_orders').selectAll().where('id', '=', poId).executeTakeFirst();
      const { view: process, state: processState } = await liveView(temporal, purchaseOrderWorkflowId(poId), purchaseOrderViewQuery, config.resilience.temporal.queryTimeoutMs);
      if (!record && processState === 'not_found') throw notFound(`purchase order ${poId}`);
      if (!record && !process) throw new DependencyUnavailable({ dependency: 'temporal', reason: 'unavailable' }, `Temporal is unavailable and purchase order ${poId} has no record yet`);
      const [lines, receipts, invoices, units] = await Promise.all([
        db.selectFrom('purchase_order_lines').selectAll().where('po_id', '=', poId).orderBy('line_no').execute(),
        db.selectFrom('purchase_order_receipts').selectAll().where('po_id', '=', poId).orderBy('received_at').execute(),
        db.selectFrom('supplier_invoices').selectAll().where('po_id', '=', poId).orderBy('received_at').execute(),
        db.selectFrom('purchase_unit_quantities').selectAll().where('po_id', '=', poId).orderBy('recorded_at').orderBy('entry').orderBy('line_no').execute(),
      ]);
      return {
        poId,
        status: record?.status ?? process?.status,
        supplierId: record?.supplier_id ?? process?.supplierId,
        warehouse: record?.warehouse_code ?? process?.warehouse,
        valueMinor: record?.value_minor ?? process?.valueMinor,
        expectedAt: record?.expected_at,
        issuedAt: record?.issued_at,
        acknowledgedAt: record?.acknowledged_at,
        closedAt: record?.closed_at,
        lines: lines.map((l) => ({
          lineNo: l.line_no,
          sku: l.sku,
          ordered: l.ordered_qty,
          unitCostMinor: l.unit_cost_minor,
          confirmed: l.confirmed_qty,
          received: l.received_qty,
          accepted: l.accepted_qty,
          rejected: l.rejected_qty,
          cancelled: l.cancelled_qty,
          invoiced: l.invoiced_qty,
        })),
        receipts: receipts.map((r) => ({ receiptId: r.receipt_id, lineNo: r.line_no, sku: r.sku, qty: r.qty, into: r.into_bucket, unitCostMinor: r.unit_cost_minor, landedCostMinor: r.landed_cost_minor, journalEntryId: r.journal_entry_id, receivedAt: r.received_at })),
        // Lines given in a unit other than the base unit: 'order' for the PO's lines, else the receipt id (docs/units.md).
        unitQuantities: units.map((u) => ({ entry: u.entry, lineNo: u.line_no, sku: u.sku, unit: u.unit, unitQty: Number(u.unit_qty), unitsPerUnit: u.units_per_unit, baseQty: u.base_qty })),
        invoices: invoices.map((i) => ({
          invoiceId: i.invoice_id,
          status: i.status,
          totalMinor: i.total_minor,
          chargesMinor: i.charges_minor,
          differences: i.differences,
          journalEntryId: i.journal_entry_id,
          decision: i.decided_by ? { by: i.decided_by, reason: i.decision_reason, at: i.decided_at?.toISOString() } : null,
        })),
        process,
        processState,
      };
    });

    app.post(
      '/purchase-orders/:id/approval',
      {
        config: { roles: ['finance', 'buyer'] },
        schema: { summary: 'Approve or reject a PO waiting for approval (403 beyond your limit, 409 when it is not waiting)', params, body: decisionBody },
      },
      async (request) => {
        const poId = request.params.id;
        let view: PurchaseOrderView;
        try {
          view = await handleOf(poId).query(purchaseOrderViewQuery);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) throw notFound(`purchase order ${poId}`);
          throw error;
        }
        // Limits are a person's: a buyer's own PO approval limit, else the policy's buyer limit; finance has none.
        const limitMinor = request.user!.poApprovalLimitMinor ?? view.approval.buyerLimitMinor;
        if (!mayApprove(request.role!, view.valueMinor, limitMinor)) {
          throw new ApiError(403, 'over_approval_limit', `${request.actor} (${request.role}) may approve purchase orders up to ${limitMinor}; this one is ${view.valueMinor}`, {
            valueMinor: view.valueMinor,
            limitMinor,
          });
        }
        // Four eyes: whoever drafted a PO that waits for approval does not approve it too.
        const draft = await db.selectFrom('purchase_orders').select('created_by').where('id', '=', poId).executeTakeFirst();
        if (draft?.created_by === request.actor) {
          throw new ApiError(409, 'same_person', `${request.actor} drafted purchase order ${poId} and may not also decide its approval: someone else must`);
        }
        return send(poId, approvePurchaseOrderUpdate, [{ ...request.body, actor: request.actor!, userId: request.user!.id }]).then((v) => audited(request, v, () => ({ status: v.status, valueMinor: v.valueMinor })));
      },
    );

    app.post(
      '/purchase-orders/:id/acknowledgement',
      { config: { roles: ['system'] }, schema: { summary: "The supplier's acknowledgement with confirmed quantities and date", params, body: acknowledgementBody } },
      async (request) => {
        const { confirmedDate, lines } = request.body;
        return send(request.params.id, acknowledgePurchaseOrderUpdate, [
          { confirmedDate: confirmedDate ? new Date(confirmedDate).toISOString() : undefined, lines, actor: request.actor! },
        ]);
      },
    );

    app.post(
      '/purchase-orders/:id/receipts',
      { config: { roles: ['system'] }, schema: { summary: 'Goods received against the PO (partial and repeated; idempotent on receiptId)', params, body: receiptBody } },
      async (request) => {
        // A lot-tracked line names its lot and expiry; checked here, so a bad receipt writes nothing.
        const poLines = await db.selectFrom('purchase_order_lines').select(['line_no', 'sku']).where('po_id', '=', request.params.id).execute();
        const problems = await lotLineProblems(
          db,
          request.body.lines.flatMap((l, index) => {
            const sku = poLines.find((p) => p.line_no === l.lineNo)?.sku;
            return sku ? [{ path: ['lines', index], sku, lot: l.lot, expiresOn: l.expiresOn }] : [];
          }),
        );
        if (problems.length) throw badRequest(`invalid body: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, problems.map((p) => ({ in: 'body', ...p })));
        // Quantities in a unit go to base units; short of a pack is a short receipt like any other.
        const converted = await toBaseLines(
          db,
          request.body.lines.map((l, index) => ({ path: ['lines', index], lineNo: l.lineNo, sku: poLines.find((p) => p.line_no === l.lineNo)?.sku ?? '', qty: l.qty, unit: l.unit })),
        );
        throwUnitProblems(converted.problems);
        const lines = request.body.lines.map(({ unit: _unit, ...l }, index) => ({ ...l, qty: converted.lines[index]!.qty }));
        const view = await send(request.params.id, receivePurchaseOrderUpdate, [{ ...request.body, lines, actor: request.actor! }]);
        await recordUnitQuantities(db, request.params.id, request.body.receiptId, converted.records);
        return view;
      },
    );

    app.post(
      '/purchase-orders/:id/receipt-decision',
      {
        config: { roles: ['buyer', 'ops'] },
        schema: { summary: 'Accept or refuse the units of a receipt beyond the over-delivery tolerance', params, body: excessBody },
      },
      async (request) => send(request.params.id, decideExcessUpdate, [{ ...request.body, actor: request.actor! }]),
    );

    app.post(
      '/purchase-orders/:id/inspections',
      { config: { roles: ['system', 'ops'] }, schema: { summary: 'Inspection of quarantined units: accepted to available, rejected to damaged', params, body: inspectionBody } },
      async (request) => send(request.params.id, inspectPurchaseOrderUpdate, [{ ...request.body, actor: request.actor! }]),
    );

    app.post(
      '/purchase-orders/:id/cancel',
      { config: { roles: ['buyer', 'ops'] }, schema: { summary: 'Cancel what is still open on the PO; its inbound units are released', params, body: cancelBody } },
      async (request) => send(request.params.id, cancelPurchaseOrderUpdate, [{ ...request.body, actor: request.actor! }]),
    );

    app.post(
      '/purchase-orders/:id/extend',
      { config: { roles: ['buyer', 'ops'] }, schema: { summary: 'Move the expected date of a PO with open lines; an open late exception is resolved', params, body: extendBody } },
      async (request) =>
        send(request.params.id, extendPurchaseOrderUpdate, [{ expectedAt: new Date(request.body.expectedAt).toISOString(), reason: request.body.reason, actor: request.actor! }]),
    );

    app.post(
      '/purchase-orders/:id/invoices',
      {
        config: { roles: ['finance', 'system'] },
        schema: { summary: 'A supplier invoice, matched three ways: a match posts GRNI against payables, a mismatch opens a task', params, body: invoiceBody },
      },
      async (request) => send(request.params.id, invoicePurchaseOrderUpdate, [{ ...request.body, actor: request.actor! }]),
    );
    app.post(
      '/purchase-orders/:id/invoices/:invoiceId/decision',
      {
        config: { roles: ['finance'] },
        schema: {
          summary:
            'Decide a mismatched invoice: approve takes it into payables as billed (the difference is a price variance; only when every billed unit was received), reject disputes it and the PO waits for a corrected invoice',
          params: z.object({ id: recordId, invoiceId: recordId }),
          body: decisionBody,
        },
      },
      async (request) => send(request.params.id, decideInvoiceUpdate, [{ invoiceId: request.params.invoiceId, ...request.body, actor: request.actor! }]),
    );
    app.get(
      '/suppliers/:id/scorecard',
      { schema: { summary: "A supplier's record on its purchase orders: on-time rate, lead time against stated, fill rate, quality rejects", params } },
      async (request) => {
        const supplierId = request.params.id;
        const supplier = await db.selectFrom('suppliers').select(['id', 'name']).where('id', '=', supplierId).executeTakeFirst();
        if (!supplier) throw notFound(`supplier ${supplierId}`);
        const rows = await purchaseOrderPerformance(db, { supplierId });
        const ratio = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 1000 : null);
        const finished = finishedPurchaseOrders(rows);
        const { delivered, withinStated } = leadTimeAdherence(rows);
        const leadDays = delivered.map(actualLeadDays);
        const fill = purchaseOrderFill(rows);
        const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
        return {
          supplierId,
          name: supplier.name,
          purchaseOrders: rows.length,
          /** Of finished POs that received goods, those whose last receipt came by the expected date. */
          onTimeRate: ratio(finished.filter((r) => r.last_receipt && r.last_receipt <= r.expected_at).length, finished.filter((r) => r.last_receipt).length),
          averageLeadTimeDays: delivered.length ? Math.round((sum(leadDays) / delivered.length) * 10) / 10 : null,
          averageStatedLeadTimeDays: delivered.length ? Math.round((sum(delivered.map((r) => r.stated_days)) / delivered.length) * 10) / 10 : null,
          /** Share of delivered POs whose first goods arrived within the stated lead time. */
          leadTimeAdherence: ratio(withinStated, delivered.length),
          /** Units received (up to the ordered quantity) over units ordered, on finished POs. */
          fillRate: ratio(fill.received, fill.ordered),
          /** Units rejected at inspection over units inspected. */
          rejectRate: ratio(sum(rows.map((r) => r.rejected)), sum(rows.map((r) => r.accepted + r.rejected))),
        };
      },
    );
  };
