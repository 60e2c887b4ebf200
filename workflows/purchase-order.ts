import { allHandlersFinished, ApplicationFailure, condition, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrderReleaseActivities } from '../contracts/order.js';
import {
  type Acknowledgement,
  acknowledgePurchaseOrderUpdate,
  type ApprovalDecision,
  approvePurchaseOrderUpdate,
  cancelPurchaseOrderUpdate,
  decideExcessUpdate,
  decideInvoiceUpdate,
  type ExcessDecision,
  extendPurchaseOrderUpdate,
  type ExtendRequest,
  type Inspection,
  inspectPurchaseOrderUpdate,
  type InvoiceDecision,
  invoicePurchaseOrderUpdate,
  type PurchaseOrderActivities,
  type PurchaseOrderInput,
  type PurchaseOrderLineView,
  purchaseOrderPatches,
  type PurchaseOrderPolicy,
  PurchaseOrderStatus,
  type PurchaseOrderView,
  purchaseOrderViewQuery,
  type Receipt,
  type ReceiptPosting,
  receivePurchaseOrderUpdate,
  submitPurchaseOrderUpdate,
  type SupplierInvoice,
} from '../contracts/purchase-order.js';
import { SkuCount, ValueMinor, Warehouses } from '../contracts/search-attributes.js';
import type { CancelRequest, TaskActivities } from '../contracts/shared.js';
import { durationMs } from '../domain/duration.js';
import { acceptableDifferences, allocateLandedCost, approvalNeeded, lineComplete, matchInvoice, purchaseOrderValue, splitReceipt } from '../domain/purchase-order.js';
import { moveTo } from './progress.js';
import { remoteStepOptions } from './step-options.js';

const activities = proxyActivities<PurchaseOrderActivities & TaskActivities & Pick<OrderReleaseActivities, 'wakeBackorders'>>(remoteStepOptions);

/** A request from the API, waiting in the queue until run() acts on it. */
type Command =
  | { kind: 'acknowledge'; ack: Acknowledgement }
  | { kind: 'receipt'; receipt: Receipt }
  | { kind: 'excess'; decision: ExcessDecision }
  | { kind: 'inspection'; inspection: Inspection }
  | { kind: 'invoice'; invoice: SupplierInvoice }
  | { kind: 'invoiceDecision'; decision: InvoiceDecision }
  | { kind: 'cancel'; request: CancelRequest }
  | { kind: 'extend'; request: ExtendRequest };

type InvoiceView = PurchaseOrderView['invoices'][number];
type Overdue = 'acknowledgement' | 'delivery';

const notWaiting = (message: string) => ApplicationFailure.nonRetryable(message, 'not_waiting');
const badCommand = (message: string) => ApplicationFailure.nonRetryable(message, 'invalid_command');

const unissuedStatuses: PurchaseOrderStatus[] = [PurchaseOrderStatus.draft, PurchaseOrderStatus.awaitingApproval, PurchaseOrderStatus.rejected];
const endedStatuses: PurchaseOrderStatus[] = [PurchaseOrderStatus.closed, PurchaseOrderStatus.cancelled, PurchaseOrderStatus.rejected];

/** Procure to pay: a drafted PO is approved when its value asks for it, issued, acknowledged, received, inspected, invoiced and closed. */
export async function purchaseOrder(input: PurchaseOrderInput): Promise<PurchaseOrderView> {
  return new PurchaseOrderProcess(input).run();
}

/** The PO's state in one place; the API's messages wait in one queue and run() acts on them one at a time, in arrival order. */
class PurchaseOrderProcess {
  readonly view: PurchaseOrderView;
  private readonly workflowId = workflowInfo().workflowId;
  private readonly policy: PurchaseOrderPolicy;
  /** From this version on, a PO closes only once finance has decided every mismatched invoice. */
  private readonly invoiceDecisions: boolean;
  private readonly approvalTask: string;
  private readonly queue: { seq: number; command: Command }[] = [];
  /** The command run() is working on: a repeat of it is not new, though it has left the queue. */
  private inProgress: Command | undefined;
  /** Sequence numbers of commands: the last received, the last acted on, the last whose caller has its answer. */
  private received = 0;
  private processed = 0;
  private handled = 0;
  private remainderCancelled = false;
  /** When a supplier that has not acknowledged becomes an exception; set at issue. */
  private ackDueAt = 0;
  /** Late-PO exceptions raised so far, and whether the latest is still open (an extension resolves it). */
  private lateRaised = 0;
  private lateOpen = false;
  /** Set when the PO starts closing: from then on it takes no more commands. */
  private closing = false;

  constructor(private readonly input: PurchaseOrderInput) {
    this.policy = input.policy;
    this.invoiceDecisions = patched(purchaseOrderPatches.invoiceDecisions);
    this.approvalTask = `${this.workflowId}:approval`;
    this.view = draftView(input);
    this.listen();
  }

  /** Messages: a handler validates, records the request in the queue (an approval in the view), and waits for run() to act. */
  private listen(): void {
    setHandler(purchaseOrderViewQuery, () => this.view);
    setHandler(submitPurchaseOrderUpdate, async () => {
      await condition(() => this.view.status !== PurchaseOrderStatus.draft);
      return this.view;
    });
    setHandler(approvePurchaseOrderUpdate, (decision) => this.recordApproval(decision), { validator: (_decision) => this.validateApproval() });
    setHandler(acknowledgePurchaseOrderUpdate, (ack) => this.enqueue({ kind: 'acknowledge', ack }), { validator: (ack) => this.validateAcknowledgement(ack) });
    setHandler(receivePurchaseOrderUpdate, (receipt) => this.enqueueNew(this.receiptSeen(receipt.receiptId), { kind: 'receipt', receipt }), {
      validator: (receipt) => this.validateReceipt(receipt),
    });
    setHandler(decideExcessUpdate, (decision) => this.enqueue({ kind: 'excess', decision }), { validator: (decision) => this.validateExcessDecision(decision) });
    setHandler(inspectPurchaseOrderUpdate, (inspection) => this.enqueueNew(this.view.inspections.includes(inspection.inspectionId), { kind: 'inspection', inspection }), {
      validator: (inspection) => this.validateInspection(inspection),
    });
    setHandler(invoicePurchaseOrderUpdate, (invoice) => this.enqueueNew(this.invoiceOf(invoice.invoiceId) !== undefined, { kind: 'invoice', invoice }), {
      validator: (invoice) => this.validateInvoice(invoice),
    });
    setHandler(decideInvoiceUpdate, (decision) => this.requestInvoiceDecision(decision), { validator: (decision) => this.validateInvoiceDecision(decision) });
    setHandler(cancelPurchaseOrderUpdate, (request) => this.enqueue({ kind: 'cancel', request }), { validator: (_request) => this.validateCancel() });
    setHandler(extendPurchaseOrderUpdate, (request) => this.enqueue({ kind: 'extend', request }), { validator: (request) => this.validateExtension(request) });
  }

  async run(): Promise<PurchaseOrderView> {
    upsertSearchAttributes([
      { key: Warehouses, value: [this.input.warehouse] },
      { key: SkuCount, value: new Set(this.input.lines.map((l) => l.sku)).size },
      { key: ValueMinor, value: this.view.valueMinor },
    ]);
    if (!(await this.draft())) return this.view;
    if (this.view.approval.needed && !(await this.awaitApproval())) return this.answerWaitingCallers();
    await this.issue();

    // Acknowledgement, receipts, inspections, invoices, extensions and cancel, one at a time;
    // the missing-ack and late-PO deadlines raise exceptions while the PO waits.
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        this.inProgress = next.command;
        await this.act(next.command);
        this.inProgress = undefined;
        this.processed = next.seq;
        continue;
      }
      if (this.settled()) break;
      // Callers hear back once the PO is at rest, so the last invoice answers with the PO closed.
      this.handled = this.processed;
      const overdue = this.overdue();
      if (overdue) await this.raiseOverdue(overdue);
      else await this.waitForCommandOrDeadline();
    }

    await this.close();
    return this.answerWaitingCallers();
  }

  /** Only approved suppliers and their approved items; false when the draft is rejected. */
  private async draft(): Promise<boolean> {
    const drafted = await activities.draftPurchaseOrder({ ...this.input, workflowId: this.workflowId, valueMinor: this.view.valueMinor });
    if (drafted.problems.length) {
      this.view.problems = drafted.problems;
      moveTo(this.view, PurchaseOrderStatus.rejected, drafted.problems.map((p) => p.message).join('; '));
      return false;
    }
    for (const facts of drafted.inspection) this.line(facts.lineNo)!.requiresInspection = facts.requiresInspection;
    return true;
  }

  /** Approval by value: a task for the approver, escalated when nobody decides in time. False when the PO ends here. */
  private async awaitApproval(): Promise<boolean> {
    const { poId, supplierId, warehouse, currency, lines } = this.input;
    const { valueMinor, approval } = this.view;
    await activities.openTask({
      id: this.approvalTask,
      kind: 'purchase_order_approval',
      reference: poId,
      workflowId: this.workflowId,
      role: approval.approverRole,
      title: `Approve purchase order ${poId} to ${supplierId} (${valueMinor} ${currency} minor units)`,
      reason: `value ${valueMinor} needs approval by ${approval.approverRole} (buyer limit ${this.policy.buyerApprovalLimitMinor})`,
      details: { supplierId, warehouse, valueMinor, lines },
    });
    moveTo(this.view, PurchaseOrderStatus.awaitingApproval);
    await this.record();
    const decided = () => approval.decision !== undefined || this.queued('cancel').length > 0;
    if (!(await condition(decided, this.policy.approvalEscalateAfter))) {
      approval.escalated = true;
      await activities.escalateTask(this.approvalTask);
      await condition(decided);
    }
    const cancel = this.queued('cancel')[0];
    if (cancel && !approval.decision) {
      await this.cancelUnissued(cancel.request);
      return false;
    }
    const decision = approval.decision!;
    await activities.closeTask(this.approvalTask, decision.actor, decision.decision);
    if (decision.decision === 'reject') {
      for (const l of this.view.lines) l.cancelled = l.ordered;
      moveTo(this.view, PurchaseOrderStatus.rejected, `rejected by ${decision.actor}: ${decision.reason}`);
      await this.record({ reason: decision.reason, closed: true });
      return false;
    }
    return true;
  }

  /** Cancelled before anyone approved it: nothing was issued, so every line is cancelled whole. */
  private async cancelUnissued(request: CancelRequest): Promise<void> {
    await activities.closeTask(this.approvalTask, request.actor, 'cancelled');
    this.view.cancellation = { ...request, at: new Date().toISOString() };
    for (const l of this.view.lines) l.cancelled = l.ordered;
    moveTo(this.view, PurchaseOrderStatus.cancelled, request.reason);
    await this.record({ reason: request.reason, closed: true });
  }

  /** The supplier is told (outbox) and the ordered units show as inbound. */
  private async issue(): Promise<void> {
    const { poId, supplierId, warehouse, expectedAt, lines } = this.input;
    await activities.issuePurchaseOrder({ poId, workflowId: this.workflowId, supplierId, warehouse, expectedAt, lines });
    for (const l of this.view.lines) l.inbound = l.ordered;
    const decision = this.view.approval.decision;
    moveTo(this.view, PurchaseOrderStatus.issued, decision ? `approved by ${decision.actor}` : 'within the buyer limit');
    await this.record();
    this.ackDueAt = Date.now() + durationMs(this.policy.ackDeadline);
  }

  private act(command: Command): Promise<void> {
    switch (command.kind) {
      case 'acknowledge':
        return this.acknowledge(command.ack);
      case 'receipt':
        return this.receive(command.receipt);
      case 'excess':
        return this.decideExcess(command.decision);
      case 'inspection':
        return this.inspect(command.inspection);
      case 'invoice':
        return this.invoice(command.invoice);
      case 'invoiceDecision':
        return this.decideInvoice(command.decision);
      case 'extend':
        return this.extend(command.request);
      case 'cancel':
        return this.cancelRemainder(command.request);
    }
  }

  /** The supplier confirms quantities, and perhaps a date that becomes the expected one. */
  private async acknowledge(ack: Acknowledgement): Promise<void> {
    this.view.acknowledgement = { ...ack, at: new Date().toISOString() };
    for (const l of ack.lines) this.line(l.lineNo)!.confirmed = l.confirmedQty;
    if (ack.confirmedDate) this.view.expectedAt = ack.confirmedDate;
    if (this.view.exceptions.includes('po_ack_missing')) await activities.resolveException(`${this.workflowId}:po_ack_missing`);
    if (this.view.status === PurchaseOrderStatus.issued) moveTo(this.view, PurchaseOrderStatus.acknowledged, `acknowledged by ${ack.actor}`);
    await this.record();
  }

  /** Goods arrive: what is within the tolerance is posted at once; units beyond it wait for the buyer. */
  private async receive(receipt: Receipt): Promise<void> {
    const { postings, excess } = this.postingsOf(receipt);
    await this.postReceipt(receipt.receiptId, receipt.actor, postings);
    if (!excess.length) return;
    this.view.excess.push({ receiptId: receipt.receiptId, lines: excess });
    await activities.openTask({
      id: `${this.workflowId}:excess:${receipt.receiptId}`,
      kind: 'purchase_order_receipt_excess',
      reference: this.input.poId,
      workflowId: this.workflowId,
      role: 'buyer',
      title: `Over-delivery on purchase order ${this.input.poId}, receipt ${receipt.receiptId}: accept or refuse the excess`,
      reason: excess.map((e) => `line ${e.lineNo}: ${e.qty} × ${e.sku} beyond the ${this.policy.receiptTolerancePct}% tolerance`).join('; '),
      details: { receiptId: receipt.receiptId, excess },
    });
  }

  /** Each receipt line split into units within the tolerance and beyond it, each part with its share of the landed cost. */
  private postingsOf(receipt: Receipt): { postings: ReceiptPosting[]; excess: ReceiptPosting[] } {
    const shares = allocateLandedCost(
      receipt.lines.map((r) => ({ qty: r.qty, unitCostMinor: this.line(r.lineNo)!.unitCostMinor })),
      receipt.landedCostMinor,
      receipt.landedCostBasis,
    );
    const postings: ReceiptPosting[] = [];
    const excess: ReceiptPosting[] = [];
    receipt.lines.forEach((r, index) => {
      const target = this.line(r.lineNo)!;
      const pending = postings.filter((p) => p.lineNo === r.lineNo).reduce((n, p) => n + p.qty, 0);
      const { accepted, excess: over } = splitReceipt({ ordered: target.ordered, received: target.received + pending, cancelled: target.cancelled }, r.qty, this.policy.receiptTolerancePct);
      const landedAccepted = Math.floor((shares[index]! * accepted) / r.qty);
      const base = {
        lineNo: r.lineNo,
        sku: target.sku,
        into: target.requiresInspection ? ('quarantine' as const) : ('available' as const),
        unitCostMinor: target.unitCostMinor,
        ...(r.lot && r.expiresOn ? { lot: { lot: r.lot, expiresOn: r.expiresOn } } : {}),
      };
      if (accepted > 0) postings.push({ ...base, qty: accepted, fromInbound: 0, landedCostMinor: landedAccepted });
      if (over > 0) excess.push({ ...base, qty: over, fromInbound: 0, landedCostMinor: shares[index]! - landedAccepted });
    });
    return { postings, excess };
  }

  /** The buyer accepts the units beyond the tolerance (posted as a receipt of their own) or refuses them. */
  private async decideExcess(decision: ExcessDecision): Promise<void> {
    const pending = this.view.excess.find((e) => e.receiptId === decision.receiptId)!;
    pending.decision = { ...decision, at: new Date().toISOString() };
    if (decision.decision === 'accept') await this.postReceipt(`${decision.receiptId}-excess`, decision.actor, pending.lines);
    await activities.closeTask(`${this.workflowId}:excess:${decision.receiptId}`, decision.actor, decision.decision);
    await this.record({ reason: `excess of receipt ${decision.receiptId}: ${decision.decision} (${decision.reason})` });
  }

  /** Quarantined units inspected: accepted ones become sellable, rejected ones damaged. */
  private async inspect(inspection: Inspection): Promise<void> {
    await activities.inspectPurchaseOrderLines({
      workflowId: this.workflowId,
      inspectionId: inspection.inspectionId,
      warehouse: this.input.warehouse,
      actor: inspection.actor,
      lines: inspection.lines.map((l) => ({ ...l, sku: this.line(l.lineNo)!.sku })),
    });
    for (const l of inspection.lines) {
      const target = this.line(l.lineNo)!;
      target.quarantined -= l.accepted + l.rejected;
      target.accepted += l.accepted;
      target.rejected += l.rejected;
    }
    this.view.inspections.push(inspection.inspectionId);
    await this.record();
    const skus = inspection.lines.filter((l) => l.accepted > 0).map((l) => this.line(l.lineNo)!.sku);
    if (skus.length) await activities.wakeBackorders([...new Set(skus)]);
  }

  /** A supplier invoice, matched three ways: a match is booked, a mismatch waits for finance. */
  private async invoice(invoice: SupplierInvoice): Promise<void> {
    const match = this.matchAgainstReceipts(invoice);
    const { matched, differences, totalMinor } = match;
    await activities.recordSupplierInvoice({
      poId: this.input.poId,
      workflowId: this.workflowId,
      invoiceId: invoice.invoiceId,
      supplierId: this.input.supplierId,
      actor: invoice.actor,
      lines: invoice.lines,
      chargesMinor: invoice.chargesMinor,
      matched,
      differences,
      grniMinor: match.grniMinor,
      totalMinor,
    });
    this.view.invoices.push({
      invoiceId: invoice.invoiceId,
      matched,
      differences,
      totalMinor,
      chargesMinor: invoice.chargesMinor,
      ...(matched ? { chargesRelievedMinor: match.chargesRelievedMinor } : { lines: invoice.lines }),
    });
    if (matched) {
      for (const l of invoice.lines) this.line(l.lineNo)!.invoiced += l.qty;
      await this.record();
      return;
    }
    await activities.openTask({
      id: `${this.workflowId}:invoice:${invoice.invoiceId}`,
      kind: 'supplier_invoice_mismatch',
      reference: this.input.poId,
      workflowId: this.workflowId,
      role: 'finance',
      title: `Invoice ${invoice.invoiceId} from ${this.input.supplierId} does not match purchase order ${this.input.poId}`,
      reason: differences.map((d) => `${d.lineNo ? `line ${d.lineNo} ` : ''}${d.kind}: expected ${d.expected}, invoiced ${d.invoiced}`).join('; '),
      details: { invoiceId: invoice.invoiceId, differences, totalMinor },
    });
  }

  /** Finance approves a mismatched invoice into payables as billed, or disputes it. */
  private async decideInvoice(decision: InvoiceDecision): Promise<void> {
    const invoice = this.invoiceOf(decision.invoiceId)!;
    const match = this.rematch(invoice);
    // Commands handled since it was asked can leave the invoice billing units not received:
    // no approval then, and the caller hears so (requestInvoiceDecision).
    if (decision.decision === 'approve' && !acceptableDifferences(match.differences)) return;
    await activities.decideSupplierInvoice({
      poId: this.input.poId,
      workflowId: this.workflowId,
      invoiceId: invoice.invoiceId,
      supplierId: this.input.supplierId,
      decision: decision.decision,
      reason: decision.reason,
      actor: decision.actor,
      grniMinor: match.grniMinor,
      totalMinor: match.totalMinor,
    });
    invoice.decision = { decision: decision.decision, reason: decision.reason, actor: decision.actor, at: new Date().toISOString() };
    if (decision.decision === 'approve') {
      invoice.chargesRelievedMinor = match.chargesRelievedMinor;
      for (const l of invoice.lines!) this.line(l.lineNo)!.invoiced += l.qty;
    }
    const outcome = decision.decision === 'approve' ? 'approved' : 'rejected';
    await activities.closeTask(`${this.workflowId}:invoice:${invoice.invoiceId}`, decision.actor, outcome);
    await this.record({ reason: `invoice ${invoice.invoiceId} ${outcome} by ${decision.actor}: ${decision.reason}` });
  }

  /** The buyer moves the expected date; an open late exception is resolved. */
  private async extend(request: ExtendRequest): Promise<void> {
    this.view.extensions.push({ ...request, at: new Date().toISOString(), from: this.view.expectedAt });
    this.view.expectedAt = request.expectedAt;
    if (this.lateOpen) {
      this.lateOpen = false;
      await activities.resolveException(`${this.workflowId}:${this.view.exceptions.filter((e) => e.startsWith('po_late')).at(-1)!}`);
    }
    await this.record({ reason: `expected date moved to ${request.expectedAt}: ${request.reason}` });
  }

  /** What has not come will not come: it is cancelled and leaves inbound. */
  private async cancelRemainder(request: CancelRequest): Promise<void> {
    this.remainderCancelled = true;
    for (const l of this.view.lines) l.cancelled += this.outstanding(l);
    await this.releaseInbound('cancel', request.actor);
    this.view.cancellation = { ...request, at: new Date().toISOString() };
    await this.record({ reason: `remainder cancelled: ${request.reason}` });
  }

  /** Which deadline has passed with no exception raised for it yet. */
  private overdue(): Overdue | undefined {
    const now = Date.now();
    if (this.ackDue() && now >= this.ackDueAt) return 'acknowledgement';
    if (this.lateDue() && now >= Date.parse(this.view.expectedAt)) return 'delivery';
    return undefined;
  }

  private ackDue(): boolean {
    return !this.view.acknowledgement && !this.remainderCancelled && !this.view.exceptions.includes('po_ack_missing');
  }

  private lateDue(): boolean {
    return !this.lateOpen && !this.remainderCancelled && this.openLines().length > 0;
  }

  /** An exception for the buyer: the supplier has not acknowledged, or the PO is late (again after each extension). */
  private async raiseOverdue(overdue: Overdue): Promise<void> {
    const { poId, supplierId } = this.input;
    if (overdue === 'acknowledgement') {
      await this.raise('po_ack_missing', `supplier ${supplierId} has not acknowledged purchase order ${poId} within ${this.policy.ackDeadline}`);
      return;
    }
    const open = this.openLines().map((l) => `line ${l.lineNo}: ${this.outstanding(l)} × ${l.sku}`);
    this.lateRaised += 1;
    this.lateOpen = true;
    const suffix = this.lateRaised === 1 ? 'po_late' : `po_late-${this.lateRaised}`;
    await this.raise('po_late', `purchase order ${poId} passed its expected date ${this.view.expectedAt} with open lines: ${open.join('; ')}`, suffix);
  }

  private async waitForCommandOrDeadline(): Promise<void> {
    const wakeAt = Math.min(this.ackDue() ? this.ackDueAt : Infinity, this.lateDue() ? Date.parse(this.view.expectedAt) : Infinity);
    if (wakeAt === Infinity) await condition(() => this.queue.length > 0);
    else await condition(() => this.queue.length > 0, Math.max(1, wakeAt - Date.now()));
  }

  /** Units the supplier will not send leave inbound; open exceptions are resolved. */
  private async close(): Promise<void> {
    this.closing = true;
    await this.releaseInbound('close', 'system');
    for (const kind of this.view.exceptions) await activities.resolveException(`${this.workflowId}:${kind}`);
    const nothingCame = this.view.lines.every((l) => l.received === 0);
    moveTo(this.view, nothingCame ? PurchaseOrderStatus.cancelled : PurchaseOrderStatus.closed);
    await this.record({ closed: true });
  }

  /** The PO has ended: every caller still waiting hears back, and the process ends once their handlers have. */
  private async answerWaitingCallers(): Promise<PurchaseOrderView> {
    this.queue.length = 0;
    this.handled = this.received;
    await condition(allHandlersFinished);
    return this.view;
  }

  /** Nothing left to do: every line done, every quarantined unit inspected, every received unit invoiced, every decision made. */
  private settled(): boolean {
    return (
      this.openLines().length === 0 &&
      (!this.invoiceDecisions || this.view.invoices.every((i) => i.matched || i.decision)) &&
      this.view.lines.every((l) => l.quarantined === 0 && l.invoiced >= l.received) &&
      this.view.excess.every((e) => e.decision)
    );
  }

  /** Posts accepted receipt lines (stock, average cost, journal), then nudges backorders when stock became sellable. */
  private async postReceipt(receiptId: string, actor: string, postings: ReceiptPosting[]): Promise<void> {
    for (const p of postings) {
      const reserved = postings.filter((q) => q !== p && q.lineNo === p.lineNo && q.fromInbound > 0).reduce((n, q) => n + q.fromInbound, 0);
      p.fromInbound = Math.min(p.qty, Math.max(0, this.line(p.lineNo)!.inbound - reserved));
    }
    const { poId, warehouse } = this.input;
    const posted = postings.length ? await activities.receivePurchaseOrderLines({ poId, workflowId: this.workflowId, receiptId, warehouse, actor, lines: postings }) : [];
    for (const p of postings) {
      const target = this.line(p.lineNo)!;
      target.received += p.qty;
      target.inbound -= p.fromInbound;
      if (p.into === 'quarantine') target.quarantined += p.qty;
    }
    this.view.receipts.push({
      receiptId,
      at: new Date().toISOString(),
      accepted: postings.map((p) => ({ lineNo: p.lineNo, qty: p.qty, landedCostMinor: p.landedCostMinor, averageCostMinor: posted.find((x) => x.lineNo === p.lineNo)?.averageCostMinor })),
    });
    if (this.view.status !== PurchaseOrderStatus.receiving && postings.length) moveTo(this.view, PurchaseOrderStatus.receiving);
    await this.record();
    const sellable = postings.filter((p) => p.into === 'available').map((p) => p.sku);
    if (sellable.length) await activities.wakeBackorders([...new Set(sellable)]);
  }

  private async releaseInbound(step: string, actor: string): Promise<void> {
    const lines = this.view.lines.filter((l) => l.inbound > 0).map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.inbound }));
    if (!lines.length) return;
    await activities.releasePurchaseOrderInbound({ workflowId: this.workflowId, step, warehouse: this.input.warehouse, actor, lines });
    for (const l of this.view.lines) l.inbound = 0;
  }

  /** Mirrors the PO's figures on its record. */
  private async record(extra: { reason?: string; closed?: boolean } = {}): Promise<void> {
    const { status, approval, acknowledgement } = this.view;
    await activities.recordPurchaseOrderState({
      poId: this.input.poId,
      status,
      reason: extra.reason,
      lines: this.lineStates(),
      approval,
      acknowledgedAt: acknowledgement?.at,
      confirmedAt: acknowledgement?.confirmedDate,
      closed: extra.closed,
    });
  }

  private async raise(kind: string, message: string, suffix = kind): Promise<void> {
    this.view.exceptions.push(suffix);
    await activities.raiseException({
      id: `${this.workflowId}:${suffix}`,
      kind,
      reference: this.input.poId,
      workflowId: this.workflowId,
      ownerRole: 'buyer',
      message,
      details: { supplierId: this.input.supplierId, lines: this.lineStates() },
    });
  }

  private lineStates() {
    return this.view.lines.map(({ lineNo, confirmed, received, accepted, rejected, cancelled, invoiced }) => ({ lineNo, confirmed, received, accepted, rejected, cancelled, invoiced }));
  }

  /** Three-way match against what has been received and not yet invoiced. */
  private matchAgainstReceipts(invoice: Pick<SupplierInvoice, 'lines' | 'chargesMinor'>) {
    const landedReceived = this.view.receipts.flatMap((r) => r.accepted).reduce((n, a) => n + a.landedCostMinor, 0);
    const chargesInvoiced = this.view.invoices.reduce((n, i) => n + (i.chargesRelievedMinor ?? (i.matched ? i.chargesMinor : 0)), 0);
    return matchInvoice(
      this.view.lines.map((l) => ({ lineNo: l.lineNo, unitCostMinor: l.unitCostMinor, received: l.received, invoiced: l.invoiced })),
      invoice,
      landedReceived - chargesInvoiced,
      this.policy.invoicePriceTolerancePct,
    );
  }

  /** A mismatched invoice matched again, against what has been received and invoiced by now. */
  private rematch(invoice: InvoiceView) {
    return this.matchAgainstReceipts({ lines: invoice.lines ?? [], chargesMinor: invoice.chargesMinor });
  }

  // Messages: validators refuse what the PO is not waiting for; handlers queue the rest.

  private validateApproval(): void {
    if (this.view.status !== PurchaseOrderStatus.awaitingApproval || this.view.approval.decision || this.queued('cancel').length) {
      throw notWaiting(`purchase order ${this.input.poId} is ${this.view.status}, not awaiting approval`);
    }
  }

  /** Records an approver's answer; awaitApproval() acts on it. */
  private async recordApproval(decision: ApprovalDecision): Promise<PurchaseOrderView> {
    this.view.approval.decision = { ...decision, at: new Date().toISOString() };
    await condition(() => this.view.status !== PurchaseOrderStatus.awaitingApproval);
    return this.view;
  }

  private validateAcknowledgement(ack: Acknowledgement): void {
    if (!this.issued() || this.ended() || this.view.acknowledgement || this.queued('acknowledge').length) {
      throw notWaiting(`purchase order ${this.input.poId} is ${this.view.status}${this.view.acknowledgement ? ' and acknowledged' : ''}, not awaiting acknowledgement`);
    }
    this.requireLines(ack.lines);
  }

  private validateReceipt(receipt: Receipt): void {
    if (this.receiptSeen(receipt.receiptId)) return;
    if (!this.issued() || this.ended() || this.remainderCancelled || this.queued('cancel').length) {
      throw notWaiting(`purchase order ${this.input.poId} is ${this.view.status}${this.remainderCancelled ? ' with its remainder cancelled' : ''}, not receiving`);
    }
    if (this.queued('receipt').some((r) => r.receipt.receiptId === receipt.receiptId)) throw notWaiting(`receipt ${receipt.receiptId} is being posted`);
    this.requireLines(receipt.lines);
  }

  private validateExcessDecision(decision: ExcessDecision): void {
    const pending = this.view.excess.find((e) => e.receiptId === decision.receiptId);
    if (!pending || pending.decision || this.queued('excess').some((e) => e.decision.receiptId === decision.receiptId)) {
      throw notWaiting(`purchase order ${this.input.poId} has no receipt excess ${decision.receiptId} waiting for a decision`);
    }
  }

  private validateInspection(inspection: Inspection): void {
    if (this.view.inspections.includes(inspection.inspectionId)) return;
    if (this.queued('inspection').length) throw notWaiting('another inspection is being posted; send again');
    for (const l of inspection.lines) {
      const target = this.line(l.lineNo);
      if (!target) throw badCommand(`purchase order ${this.input.poId} has no line ${l.lineNo}`);
      if (l.accepted + l.rejected > target.quarantined) {
        throw notWaiting(`line ${l.lineNo} has ${target.quarantined} units waiting for inspection, ${l.accepted + l.rejected} inspected`);
      }
    }
  }

  private validateInvoice(invoice: SupplierInvoice): void {
    if (this.invoiceOf(invoice.invoiceId)) return;
    if (!this.issued() || this.ended()) throw notWaiting(`purchase order ${this.input.poId} is ${this.view.status}, not taking invoices`);
    if (this.queued('invoice').some((i) => i.invoice.invoiceId === invoice.invoiceId)) throw notWaiting(`invoice ${invoice.invoiceId} is being matched`);
  }

  private validateInvoiceDecision(decision: InvoiceDecision): void {
    const invoice = this.invoiceOf(decision.invoiceId);
    if (!invoice && this.queued('invoice').some((q) => q.invoice.invoiceId === decision.invoiceId)) {
      throw notWaiting(`invoice ${decision.invoiceId} is being matched; decide it once it shows as mismatched`);
    }
    if (!invoice) throw ApplicationFailure.nonRetryable(`purchase order ${this.input.poId} has no invoice ${decision.invoiceId}`, 'invoice_not_found');
    if (invoice.matched || invoice.decision || !invoice.lines || this.ended() || this.queued('invoiceDecision').some((q) => q.decision.invoiceId === decision.invoiceId)) {
      throw notWaiting(`purchase order ${this.input.poId} has no mismatched invoice ${decision.invoiceId} waiting for a decision`);
    }
    if (decision.decision === 'approve' && !acceptableDifferences(this.rematch(invoice).differences)) {
      throw notWaiting(`invoice ${decision.invoiceId} bills units not received and not invoiced; it can only be rejected`);
    }
  }

  private async requestInvoiceDecision(decision: InvoiceDecision): Promise<PurchaseOrderView> {
    await this.enqueue({ kind: 'invoiceDecision', decision });
    if (!this.invoiceOf(decision.invoiceId)!.decision) {
      throw notWaiting(`invoice ${decision.invoiceId} still bills units not received and not invoiced; it can only be rejected`);
    }
    return this.view;
  }

  private validateCancel(): void {
    if (this.ended() || this.remainderCancelled || this.queued('cancel').length || this.openLines().length === 0) {
      throw notWaiting(`purchase order ${this.input.poId} is ${this.view.status} with nothing open to cancel`);
    }
  }

  private validateExtension(request: ExtendRequest): void {
    if (!this.issued() || this.ended() || this.remainderCancelled || this.openLines().length === 0) {
      throw notWaiting(`purchase order ${this.input.poId} is ${this.view.status} with nothing open to extend`);
    }
    if (!(Date.parse(request.expectedAt) > Date.now())) throw badCommand(`the new expected date ${request.expectedAt} is not in the future`);
  }

  private requireLines(lines: { lineNo: number }[]): void {
    for (const l of lines) if (!this.line(l.lineNo)) throw badCommand(`purchase order ${this.input.poId} has no line ${l.lineNo}`);
  }

  /** Queues a command; its caller hears back once run() has acted on it and the PO is at rest. */
  private async enqueue(command: Command): Promise<PurchaseOrderView> {
    const seq = ++this.received;
    this.queue.push({ seq, command });
    await condition(() => this.handled >= seq);
    return this.view;
  }

  /** A receipt, inspection or invoice seen before is a retry: it answers with the PO as it is. */
  private enqueueNew(seenBefore: boolean, command: Command): Promise<PurchaseOrderView> {
    return seenBefore ? Promise.resolve(this.view) : this.enqueue(command);
  }

  /** Commands of one kind not yet acted on, the one in progress included. */
  private queued<K extends Command['kind']>(kind: K): Extract<Command, { kind: K }>[] {
    return [...(this.inProgress ? [this.inProgress] : []), ...this.queue.map((q) => q.command)].filter((c): c is Extract<Command, { kind: K }> => c.kind === kind);
  }

  private line(lineNo: number): PurchaseOrderLineView | undefined {
    return this.view.lines.find((l) => l.lineNo === lineNo);
  }

  private openLines(): PurchaseOrderLineView[] {
    return this.view.lines.filter((l) => !lineComplete(l, this.policy.receiptTolerancePct));
  }

  /** Units of a line neither received nor cancelled. */
  private outstanding(line: PurchaseOrderLineView): number {
    return Math.max(0, line.ordered - line.received - line.cancelled);
  }

  private receiptSeen(receiptId: string): boolean {
    return this.view.receipts.some((r) => r.receiptId === receiptId);
  }

  private invoiceOf(invoiceId: string): InvoiceView | undefined {
    return this.view.invoices.find((i) => i.invoiceId === invoiceId);
  }

  private issued(): boolean {
    return !unissuedStatuses.includes(this.view.status);
  }

  private ended(): boolean {
    return this.closing || endedStatuses.includes(this.view.status);
  }
}

/** The view of a PO just drafted: nothing approved, issued, received or invoiced yet. */
function draftView(input: PurchaseOrderInput): PurchaseOrderView {
  const { policy } = input;
  const valueMinor = purchaseOrderValue(input.lines);
  return {
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
}
