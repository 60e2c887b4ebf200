import { allHandlersFinished, ApplicationFailure, condition, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { acceptableDifferences, allocateLandedCost, approvalNeeded, lineComplete, matchInvoice, purchaseOrderValue, splitReceipt } from '../domain/purchase-order.js';
import { durationMs } from '../domain/duration.js';
import type { ReceiptPosting, PurchaseOrderActivities } from '../contracts/purchase-order.js';
import { SkuCount, ValueMinor, Warehouses } from '../contracts/search-attributes.js';
import { type Acknowledgement, acknowledgePurchaseOrderUpdate, approvePurchaseOrderUpdate, cancelPurchaseOrderUpdate, decideExcessUpdate, decideInvoiceUpdate, type ExcessDecision, extendPurchaseOrderUpdate, type ExtendRequest, type Inspection, inspectPurchaseOrderUpdate, type InvoiceDecision, invoicePurchaseOrderUpdate, type PurchaseOrderInput, purchaseOrderPatches, PurchaseOrderStatus, type PurchaseOrderView, purchaseOrderViewQuery, type Receipt, receivePurchaseOrderUpdate, submitPurchaseOrderUpdate, type SupplierInvoice } from '../contracts/purchase-order.js';
import type { CancelRequest, TaskActivities } from '../contracts/shared.js';
import type { OrderReleaseActivities } from '../contracts/order.js';
import { moveTo as moveViewTo } from './progress.js';
import { remoteStepOptions } from './step-options.js';

const activities = proxyActivities<PurchaseOrderActivities & TaskActivities & Pick<OrderReleaseActivities, 'wakeBackorders'>>(remoteStepOptions);

type Command =
  | { kind: 'acknowledge'; ack: Acknowledgement }
  | { kind: 'receipt'; receipt: Receipt }
  | { kind: 'excess'; decision: ExcessDecision }
  | { kind: 'inspection'; inspection: Inspection }
  | { kind: 'invoice'; invoice: SupplierInvoice }
  | { kind: 'invoiceDecision'; decision: InvoiceDecision }
  | { kind: 'cancel'; request: CancelRequest }
  | { kind: 'extend'; request: ExtendRequest };

const notWaiting = (message: string) => ApplicationFailure.nonRetryable(message, 'not_waiting');
const badCommand = (message: string) => ApplicationFailure.nonRetryable(message, 'invalid_command');

export async function purchaseOrder(input: PurchaseOrderInput): Promise<PurchaseOrderView> {
  const workflowId = workflowInfo().workflowId;
  const { policy } = input;
  /** From this version on, a PO closes only once finance has decided every mismatched invoice. */
  const invoiceDecisions = patched(purchaseOrderPatches.invoiceDecisions);
  const valueMinor = purchaseOrderValue(input.lines);
  const view: PurchaseOrderView = {
    poId: input.poId,
    status: PurchaseOrderStatus.draft,
    supplierId: input.supplierId,
    warehouse: input.warehouse,
    valueMinor,
    expectedAt: input.expectedAt,
    lines: input.lines.map((l) => ({
      lineNo: l.lineNo,
      sku: l.sku,
      ordered: l.qty,
      unitCostMinor: l.unitCostMinor,
      requiresInspection: false,
      received: 0,
      quarantined: 0,
      accepted: 0,
      rejected: 0,
      cancelled: 0,
      invoiced: 0,
      inbound: 0,
    })),
    approval: { ...approvalNeeded(valueMinor, input.creatorRole, policy.buyerApprovalLimitMinor), buyerLimitMinor: policy.buyerApprovalLimitMinor },
    receipts: [],
    excess: [],
    inspections: [],
    invoices: [],
    exceptions: [],
    extensions: [],
    timeline: [{ at: new Date().toISOString(), status: PurchaseOrderStatus.draft }],
  };
  /** Commands from the API, handled one at a time in arrival order by the main loop. */
  const queue: { seq: number; command: Command }[] = [];
  let received = 0;
  let handled = 0;
  let processed = 0;
  let remainderCancelled = false;
  /** Late-PO exceptions raised so far, and whether the latest is still open (an extension resolves it). */
  let lateRaised = 0;
  let lateOpen = false;
  /** Set when the PO starts closing: from then on it takes no more commands. */
  let closing = false;
  const line = (lineNo: number) => view.lines.find((l) => l.lineNo === lineNo);
  /** Three-way match against what has been received and not yet invoiced. */
  const matchAgainstReceipts = (invoice: Pick<SupplierInvoice, 'lines' | 'chargesMinor'>) => {
    const landedReceived = view.receipts.flatMap((r) => r.accepted).reduce((n, a) => n + a.landedCostMinor, 0);
    const chargesInvoiced = view.invoices.reduce((n, i) => n + (i.chargesRelievedMinor ?? (i.matched ? i.chargesMinor : 0)), 0);
    return matchInvoice(
      view.lines.map((l) => ({ lineNo: l.lineNo, unitCostMinor: l.unitCostMinor, received: l.received, invoiced: l.invoiced })),
      invoice,
      landedReceived - chargesInvoiced,
      policy.invoicePriceTolerancePct,
    );
  };
  const rematch = (invoice: PurchaseOrderView['invoices'][number]) => matchAgainstReceipts({ lines: invoice.lines ?? [], chargesMinor: invoice.chargesMinor });
  const openLines = () => view.lines.filter((l) => !lineComplete(l, policy.receiptTolerancePct));
  const issued = () => ![PurchaseOrderStatus.draft, PurchaseOrderStatus.awaitingApproval, PurchaseOrderStatus.rejected].includes(view.status as never);
  const ended = () => closing || view.status === PurchaseOrderStatus.closed || view.status === PurchaseOrderStatus.cancelled || view.status === PurchaseOrderStatus.rejected;
  /** The command the main loop is working on: a repeat of it is not new, though it has left the queue. */
  let inProgress: Command | undefined;
  const queued = <K extends Command['kind']>(kind: K) =>
    [...(inProgress ? [inProgress] : []), ...queue.map((q) => q.command)].filter((c): c is Extract<Command, { kind: K }> => c.kind === kind);
  const enqueue = async (command: Command) => {
    const seq = ++received;
    queue.push({ seq, command });
    await condition(() => handled >= seq);
    return view;
  };

  setHandler(purchaseOrderViewQuery, () => view);
  setHandler(submitPurchaseOrderUpdate, async () => {
    await condition(() => view.status !== PurchaseOrderStatus.draft);
    return view;
  });
  setHandler(
    approvePurchaseOrderUpdate,
    async (decision) => {
      view.approval.decision = { ...decision, at: new Date().toISOString() };
      await condition(() => view.status !== PurchaseOrderStatus.awaitingApproval);
      return view;
    },
    {
      validator: (_decision) => {
        if (view.status !== PurchaseOrderStatus.awaitingApproval || view.approval.decision || queued('cancel').length) {
          throw notWaiting(`purchase order ${input.poId} is ${view.status}, not awaiting approval`);
        }
      },
    },
  );
  setHandler(acknowledgePurchaseOrderUpdate, (ack) => enqueue({ kind: 'acknowledge', ack }), {
    validator: (ack) => {
      if (!issued() || ended() || view.acknowledgement || queued('acknowledge').length) {
        throw notWaiting(`purchase order ${input.poId} is ${view.status}${view.acknowledgement ? ' and acknowledged' : ''}, not awaiting acknowledgement`);
      }
      for (const l of ack.lines) if (!line(l.lineNo)) throw badCommand(`purchase order ${input.poId} has no line ${l.lineNo}`);
    },
  });
  setHandler(
    receivePurchaseOrderUpdate,
    // A receipt id seen before is a retry: it answers with the PO as it is.
    (receipt) => (view.receipts.some((r) => r.receiptId === receipt.receiptId) ? Promise.resolve(view) : enqueue({ kind: 'receipt', receipt })),
    {
      validator: (receipt) => {
        if (view.receipts.some((r) => r.receiptId === receipt.receiptId)) return;
        if (!issued() || ended() || remainderCancelled || queued('cancel').length) {
          throw notWaiting(`purchase order ${input.poId} is ${view.status}${remainderCancelled ? ' with its remainder cancelled' : ''}, not receiving`);
        }
        if (queued('receipt').some((r) => r.receipt.receiptId === receipt.receiptId)) throw notWaiting(`receipt ${receipt.receiptId} is being posted`);
        for (const l of receipt.lines) if (!line(l.lineNo)) throw badCommand(`purchase order ${input.poId} has no line ${l.lineNo}`);
      },
    },
  );
  setHandler(decideExcessUpdate, (decision) => enqueue({ kind: 'excess', decision }), {
    validator: (decision) => {
      const pending = view.excess.find((e) => e.receiptId === decision.receiptId);
      if (!pending || pending.decision || queued('excess').some((e) => e.decision.receiptId === decision.receiptId)) {
        throw notWaiting(`purchase order ${input.poId} has no receipt excess ${decision.receiptId} waiting for a decision`);
      }
    },
  });
  setHandler(inspectPurchaseOrderUpdate, (inspection) => (view.inspections.includes(inspection.inspectionId) ? Promise.resolve(view) : enqueue({ kind: 'inspection', inspection })), {
    validator: (inspection) => {
      if (view.inspections.includes(inspection.inspectionId)) return;
      if (queued('inspection').length) throw notWaiting('another inspection is being posted; send again');
      for (const l of inspection.lines) {
        const target = line(l.lineNo);
        if (!target) throw badCommand(`purchase order ${input.poId} has no line ${l.lineNo}`);
        if (l.accepted + l.rejected > target.quarantined) {
          throw notWaiting(`line ${l.lineNo} has ${target.quarantined} units waiting for inspection, ${l.accepted + l.rejected} inspected`);
        }
      }
    },
  });
  setHandler(invoicePurchaseOrderUpdate, (invoice) => (view.invoices.some((i) => i.invoiceId === invoice.invoiceId) ? Promise.resolve(view) : enqueue({ kind: 'invoice', invoice })), {
    validator: (invoice) => {
      if (view.invoices.some((i) => i.invoiceId === invoice.invoiceId)) return;
      if (!issued() || ended()) throw notWaiting(`purchase order ${input.poId} is ${view.status}, not taking invoices`);
      if (queued('invoice').some((i) => i.invoice.invoiceId === invoice.invoiceId)) throw notWaiting(`invoice ${invoice.invoiceId} is being matched`);
    },
  });
  setHandler(
    decideInvoiceUpdate,
    async (decision) => {
      await enqueue({ kind: 'invoiceDecision', decision });
      const invoice = view.invoices.find((i) => i.invoiceId === decision.invoiceId)!;
      // Receipts or invoices handled before this decision can leave the invoice billing units not received.
      if (!invoice.decision) throw notWaiting(`invoice ${decision.invoiceId} still bills units not received and not invoiced; it can only be rejected`);
      return view;
    },
    {
      validator: (decision) => {
        const invoice = view.invoices.find((i) => i.invoiceId === decision.invoiceId);
        if (!invoice && queued('invoice').some((q) => q.invoice.invoiceId === decision.invoiceId)) {
          throw notWaiting(`invoice ${decision.invoiceId} is being matched; decide it once it shows as mismatched`);
        }
        if (!invoice) throw ApplicationFailure.nonRetryable(`purchase order ${input.poId} has no invoice ${decision.invoiceId}`, 'invoice_not_found');
        if (invoice.matched || invoice.decision || !invoice.lines || ended() || queued('invoiceDecision').some((q) => q.decision.invoiceId === decision.invoiceId)) {
          throw notWaiting(`purchase order ${input.poId} has no mismatched invoice ${decision.invoiceId} waiting for a decision`);
        }
        if (decision.decision === 'approve' && !acceptableDifferences(rematch(invoice).differences)) {
          throw notWaiting(`invoice ${decision.invoiceId} bills units not received and not invoiced; it can only be rejected`);
        }
      },
    },
  );
  setHandler(cancelPurchaseOrderUpdate, (request) => enqueue({ kind: 'cancel', request }), {
    validator: (_request) => {
      const open = view.lines.some((l) => l.ordered - l.received - l.cancelled > 0 && !lineComplete(l, policy.receiptTolerancePct));
      if (ended() || remainderCancelled || queued('cancel').length || !open) {
        throw notWaiting(`purchase order ${input.poId} is ${view.status} with nothing open to cancel`);
      }
    },
  });

  setHandler(extendPurchaseOrderUpdate, (request) => enqueue({ kind: 'extend', request }), {
    validator: (request) => {
      if (!issued() || ended() || remainderCancelled || openLines().length === 0) {
        throw notWaiting(`purchase order ${input.poId} is ${view.status} with nothing open to extend`);
      }
      if (!(Date.parse(request.expectedAt) > Date.now())) throw badCommand(`the new expected date ${request.expectedAt} is not in the future`);
    },
  });

  const lineStates = () =>
    view.lines.map(({ lineNo, confirmed, received, accepted, rejected, cancelled, invoiced }) => ({ lineNo, confirmed, received, accepted, rejected, cancelled, invoiced }));
  const record = async (extra: { reason?: string; closed?: boolean } = {}) =>
    activities.recordPurchaseOrderState({
      poId: input.poId,
      status: view.status,
      reason: extra.reason,
      lines: lineStates(),
      approval: view.approval,
      acknowledgedAt: view.acknowledgement?.at,
      confirmedAt: view.acknowledgement?.confirmedDate,
      closed: extra.closed,
    });
  const moveTo = (status: PurchaseOrderStatus, note?: string) => moveViewTo(view, status, note);
  const markAllHandled = () => {
    queue.length = 0;
    handled = received;
  };
  upsertSearchAttributes([
    { key: Warehouses, value: [input.warehouse] },
    { key: SkuCount, value: new Set(input.lines.map((l) => l.sku)).size },
    { key: ValueMinor, value: valueMinor },
  ]);

  // 1. Draft: only approved suppliers and their approved items.
  const drafted = await activities.draftPurchaseOrder({ ...input, workflowId, valueMinor });
  if (drafted.problems.length) {
    view.problems = drafted.problems;
    moveTo(PurchaseOrderStatus.rejected, drafted.problems.map((p) => p.message).join('; '));
    return view;
  }
  for (const facts of drafted.inspection) line(facts.lineNo)!.requiresInspection = facts.requiresInspection;

  // 2. Approval by value.
  const approvalTask = `${workflowId}:approval`;
  if (view.approval.needed) {
    await activities.openTask({
      id: approvalTask,
      kind: 'purchase_order_approval',
      reference: input.poId,
      workflowId,
      role: view.approval.approverRole,
      title: `Approve purchase order ${input.poId} to ${input.supplierId} (${valueMinor} ${input.currency} minor units)`,
      reason: `value ${valueMinor} needs approval by ${view.approval.approverRole} (buyer limit ${policy.buyerApprovalLimitMinor})`,
      details: { supplierId: input.supplierId, warehouse: input.warehouse, valueMinor, lines: input.lines },
    });
    moveTo(PurchaseOrderStatus.awaitingApproval);
    await record();
    const decided = () => view.approval.decision !== undefined || queued('cancel').length > 0;
    if (!(await condition(decided, policy.approvalEscalateAfter))) {
      view.approval.escalated = true;
      await activities.escalateTask(approvalTask);
      await condition(decided);
    }
    const cancel = queued('cancel')[0];
    if (cancel && !view.approval.decision) {
      await activities.closeTask(approvalTask, cancel.request.actor, 'cancelled');
      view.cancellation = { ...cancel.request, at: new Date().toISOString() };
      for (const l of view.lines) l.cancelled = l.ordered;
      moveTo(PurchaseOrderStatus.cancelled, cancel.request.reason);
      await record({ reason: cancel.request.reason, closed: true });
      markAllHandled();
      await condition(allHandlersFinished);
      return view;
    }
    const decision = view.approval.decision!;
    await activities.closeTask(approvalTask, decision.actor, decision.decision);
    if (decision.decision === 'reject') {
      for (const l of view.lines) l.cancelled = l.ordered;
      moveTo(PurchaseOrderStatus.rejected, `rejected by ${decision.actor}: ${decision.reason}`);
      await record({ reason: decision.reason, closed: true });
      markAllHandled();
      await condition(allHandlersFinished);
      return view;
    }
  }

  // 3. Issue: the supplier is told (outbox) and the ordered units show as inbound.
  await activities.issuePurchaseOrder({ poId: input.poId, workflowId, supplierId: input.supplierId, warehouse: input.warehouse, expectedAt: input.expectedAt, lines: input.lines });
  for (const l of view.lines) l.inbound = l.ordered;
  moveTo(PurchaseOrderStatus.issued, view.approval.decision ? `approved by ${view.approval.decision.actor}` : 'within the buyer limit');
  await record();
  const ackDueAt = Date.now() + durationMs(policy.ackDeadline);

  const raise = async (kind: string, message: string, suffix = kind) => {
    view.exceptions.push(suffix);
    await activities.raiseException({
      id: `${workflowId}:${suffix}`,
      kind,
      reference: input.poId,
      workflowId,
      ownerRole: 'buyer',
      message,
      details: { supplierId: input.supplierId, lines: lineStates() },
    });
  };
  const settled = () =>
    openLines().length === 0 &&
    (!invoiceDecisions || view.invoices.every((i) => i.matched || i.decision)) &&
    view.lines.every((l) => l.quarantined === 0 && l.invoiced >= l.received) &&
    view.excess.every((e) => e.decision);

  const handlers: { [K in Command['kind']]: (command: Extract<Command, { kind: K }>) => Promise<void> } = {
    acknowledge: async ({ ack }) => {
      view.acknowledgement = { ...ack, at: new Date().toISOString() };
      for (const l of ack.lines) line(l.lineNo)!.confirmed = l.confirmedQty;
      if (ack.confirmedDate) view.expectedAt = ack.confirmedDate;
      if (view.exceptions.includes('po_ack_missing')) await activities.resolveException(`${workflowId}:po_ack_missing`);
      if (view.status === PurchaseOrderStatus.issued) moveTo(PurchaseOrderStatus.acknowledged, `acknowledged by ${ack.actor}`);
      await record();
    },

    receipt: async ({ receipt }) => {
      const shares = allocateLandedCost(
        receipt.lines.map((r) => ({ qty: r.qty, unitCostMinor: line(r.lineNo)!.unitCostMinor })),
        receipt.landedCostMinor,
        receipt.landedCostBasis,
      );
      const postings: ReceiptPosting[] = [];
      const excess: ReceiptPosting[] = [];
      receipt.lines.forEach((r, index) => {
        const target = line(r.lineNo)!;
        const pending = postings.filter((p) => p.lineNo === r.lineNo).reduce((n, p) => n + p.qty, 0);
        const { accepted, excess: over } = splitReceipt({ ordered: target.ordered, received: target.received + pending, cancelled: target.cancelled }, r.qty, policy.receiptTolerancePct);
        const landedAccepted = Math.floor((shares[index]! * accepted) / r.qty);
        const base = { lineNo: r.lineNo, sku: target.sku, into: target.requiresInspection ? ('quarantine' as const) : ('available' as const), unitCostMinor: target.unitCostMinor };
        if (accepted > 0) postings.push({ ...base, qty: accepted, fromInbound: 0, landedCostMinor: landedAccepted });
        if (over > 0) excess.push({ ...base, qty: over, fromInbound: 0, landedCostMinor: shares[index]! - landedAccepted });
      });
      await postReceipt(receipt.receiptId, receipt.actor, postings);
      if (excess.length) {
        view.excess.push({ receiptId: receipt.receiptId, lines: excess });
        await activities.openTask({
          id: `${workflowId}:excess:${receipt.receiptId}`,
          kind: 'purchase_order_receipt_excess',
          reference: input.poId,
          workflowId,
          role: 'buyer',
          title: `Over-delivery on purchase order ${input.poId}, receipt ${receipt.receiptId}: accept or refuse the excess`,
          reason: excess.map((e) => `line ${e.lineNo}: ${e.qty} × ${e.sku} beyond the ${policy.receiptTolerancePct}% tolerance`).join('; '),
          details: { receiptId: receipt.receiptId, excess },
        });
      }
    },

    excess: async ({ decision }) => {
      const pending = view.excess.find((e) => e.receiptId === decision.receiptId)!;
      pending.decision = { ...decision, at: new Date().toISOString() };
      if (decision.decision === 'accept') await postReceipt(`${decision.receiptId}-excess`, decision.actor, pending.lines);
      await activities.closeTask(`${workflowId}:excess:${decision.receiptId}`, decision.actor, decision.decision);
      await record({ reason: `excess of receipt ${decision.receiptId}: ${decision.decision} (${decision.reason})` });
    },

    inspection: async ({ inspection }) => {
      await activities.inspectPurchaseOrderLines({
        workflowId,
        inspectionId: inspection.inspectionId,
        warehouse: input.warehouse,
        actor: inspection.actor,
        lines: inspection.lines.map((l) => ({ ...l, sku: line(l.lineNo)!.sku })),
      });
      for (const l of inspection.lines) {
        const target = line(l.lineNo)!;
        target.quarantined -= l.accepted + l.rejected;
        target.accepted += l.accepted;
        target.rejected += l.rejected;
      }
      view.inspections.push(inspection.inspectionId);
      await record();
      const skus = inspection.lines.filter((l) => l.accepted > 0).map((l) => line(l.lineNo)!.sku);
      if (skus.length) await activities.wakeBackorders([...new Set(skus)]);
    },

    invoice: async ({ invoice }) => {
      const match = matchAgainstReceipts(invoice);
      await activities.recordSupplierInvoice({
        poId: input.poId,
        workflowId,
        invoiceId: invoice.invoiceId,
        supplierId: input.supplierId,
        actor: invoice.actor,
        lines: invoice.lines,
        chargesMinor: invoice.chargesMinor,
        matched: match.matched,
        differences: match.differences,
        grniMinor: match.grniMinor,
        totalMinor: match.totalMinor,
      });
      view.invoices.push({
        invoiceId: invoice.invoiceId,
        matched: match.matched,
        differences: match.differences,
        totalMinor: match.totalMinor,
        chargesMinor: invoice.chargesMinor,
        ...(match.matched ? { chargesRelievedMinor: match.chargesRelievedMinor } : { lines: invoice.lines }),
      });
      if (match.matched) {
        for (const l of invoice.lines) line(l.lineNo)!.invoiced += l.qty;
        await record();
      } else {
        await activities.openTask({
          id: `${workflowId}:invoice:${invoice.invoiceId}`,
          kind: 'supplier_invoice_mismatch',
          reference: input.poId,
          workflowId,
          role: 'finance',
          title: `Invoice ${invoice.invoiceId} from ${input.supplierId} does not match purchase order ${input.poId}`,
          reason: match.differences.map((d) => `${d.lineNo ? `line ${d.lineNo} ` : ''}${d.kind}: expected ${d.expected}, invoiced ${d.invoiced}`).join('; '),
          details: { invoiceId: invoice.invoiceId, differences: match.differences, totalMinor: match.totalMinor },
        });
      }
    },

    invoiceDecision: async ({ decision }) => {
      const invoice = view.invoices.find((i) => i.invoiceId === decision.invoiceId)!;
      const match = rematch(invoice);
      if (decision.decision === 'approve' && !acceptableDifferences(match.differences)) return;
      await activities.decideSupplierInvoice({
        poId: input.poId,
        workflowId,
        invoiceId: invoice.invoiceId,
        supplierId: input.supplierId,
        decision: decision.decision,
        reason: decision.reason,
        actor: decision.actor,
        grniMinor: match.grniMinor,
        totalMinor: match.totalMinor,
      });
      invoice.decision = { decision: decision.decision, reason: decision.reason, actor: decision.actor, at: new Date().toISOString() };
      if (decision.decision === 'approve') {
        invoice.chargesRelievedMinor = match.chargesRelievedMinor;
        for (const l of invoice.lines!) line(l.lineNo)!.invoiced += l.qty;
      }
      await activities.closeTask(`${workflowId}:invoice:${invoice.invoiceId}`, decision.actor, decision.decision === 'approve' ? 'approved' : 'rejected');
      await record({ reason: `invoice ${invoice.invoiceId} ${decision.decision === 'approve' ? 'approved' : 'rejected'} by ${decision.actor}: ${decision.reason}` });
    },

    extend: async ({ request }) => {
      view.extensions.push({ ...request, at: new Date().toISOString(), from: view.expectedAt });
      view.expectedAt = request.expectedAt;
      if (lateOpen) {
        lateOpen = false;
        await activities.resolveException(`${workflowId}:${view.exceptions.filter((e) => e.startsWith('po_late')).at(-1)!}`);
      }
      await record({ reason: `expected date moved to ${request.expectedAt}: ${request.reason}` });
    },

    cancel: async ({ request }) => {
      remainderCancelled = true;
      for (const l of view.lines) l.cancelled += Math.max(0, l.ordered - l.received - l.cancelled);
      await releaseInbound('cancel', request.actor);
      view.cancellation = { ...request, at: new Date().toISOString() };
      await record({ reason: `remainder cancelled: ${request.reason}` });
    },
  };

  /** Posts accepted receipt lines (stock, average cost, journal), then nudges backorders when stock became sellable. */
  async function postReceipt(receiptId: string, actor: string, postings: ReceiptPosting[]) {
    for (const p of postings) {
      const target = line(p.lineNo)!;
      const reserved = postings.filter((q) => q !== p && q.lineNo === p.lineNo && q.fromInbound > 0).reduce((n, q) => n + q.fromInbound, 0);
      p.fromInbound = Math.min(p.qty, Math.max(0, target.inbound - reserved));
    }
    const posted = postings.length
      ? await activities.receivePurchaseOrderLines({ poId: input.poId, workflowId, receiptId, warehouse: input.warehouse, actor, lines: postings })
      : [];
    for (const p of postings) {
      const target = line(p.lineNo)!;
      target.received += p.qty;
      target.inbound -= p.fromInbound;
      if (p.into === 'quarantine') target.quarantined += p.qty;
    }
    view.receipts.push({
      receiptId,
      at: new Date().toISOString(),
      accepted: postings.map((p) => ({ lineNo: p.lineNo, qty: p.qty, landedCostMinor: p.landedCostMinor, averageCostMinor: posted.find((x) => x.lineNo === p.lineNo)?.averageCostMinor })),
    });
    if (view.status !== PurchaseOrderStatus.receiving && postings.length) moveTo(PurchaseOrderStatus.receiving);
    await record();
    const sellable = postings.filter((p) => p.into === 'available').map((p) => p.sku);
    if (sellable.length) await activities.wakeBackorders([...new Set(sellable)]);
  }

  async function releaseInbound(step: string, actor: string) {
    const lines = view.lines.filter((l) => l.inbound > 0).map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.inbound }));
    if (!lines.length) return;
    await activities.releasePurchaseOrderInbound({ workflowId, step, warehouse: input.warehouse, actor, lines });
    for (const l of view.lines) l.inbound = 0;
  }

  // 4–8. Acknowledgement, receipts, inspections, invoices and cancel, one at a time; the
  // missing-ack and late-PO timers raise exceptions while the PO waits.
  for (;;) {
    const next = queue.shift();
    if (next) {
      inProgress = next.command;
      await (handlers[next.command.kind] as (command: Command) => Promise<void>)(next.command);
      inProgress = undefined;
      processed = next.seq;
      continue;
    }
    if (settled()) break;
    // Callers hear back once the PO is at rest, so the last invoice answers with the PO closed.
    handled = processed;
    const now = Date.now();
    const ackDue = !view.acknowledgement && !remainderCancelled && !view.exceptions.includes('po_ack_missing');
    const lateDue = !lateOpen && !remainderCancelled && openLines().length > 0;
    if (ackDue && now >= ackDueAt) {
      await raise('po_ack_missing', `supplier ${input.supplierId} has not acknowledged purchase order ${input.poId} within ${policy.ackDeadline}`);
      continue;
    }
    const expectedAtMs = Date.parse(view.expectedAt);
    if (lateDue && now >= expectedAtMs) {
      const open = openLines().map((l) => `line ${l.lineNo}: ${l.ordered - l.received - l.cancelled} × ${l.sku}`);
      lateRaised += 1;
      lateOpen = true;
      await raise('po_late', `purchase order ${input.poId} passed its expected date ${view.expectedAt} with open lines: ${open.join('; ')}`, lateRaised === 1 ? 'po_late' : `po_late-${lateRaised}`);
      continue;
    }
    const wakeAt = Math.min(ackDue ? ackDueAt : Infinity, lateDue ? expectedAtMs : Infinity);
    if (wakeAt === Infinity) await condition(() => queue.length > 0);
    else await condition(() => queue.length > 0, Math.max(1, wakeAt - now));
  }

  // 9. Close: units the supplier will not send leave inbound; open exceptions are resolved.
  closing = true;
  await releaseInbound('close', 'system');
  for (const kind of view.exceptions) await activities.resolveException(`${workflowId}:${kind}`);
  const nothingCame = view.lines.every((l) => l.received === 0);
  moveTo(nothingCame ? PurchaseOrderStatus.cancelled : PurchaseOrderStatus.closed);
  await record({ closed: true });
  markAllHandled();
  await condition(allHandlersFinished);
  return view;
}
