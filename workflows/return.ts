import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, ParentClosePolicy, proxyActivities, setHandler, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { orderWorkflowId } from '../contracts/order.js';
import {
  inspectionUpdate,
  parcelReceivedUpdate,
  refundApprovalUpdate,
  ReturnStatus,
  returnViewQuery,
  submitReturnUpdate,
  type InspectedUnit,
  type InspectionReport,
  type ParcelLine,
  type ParcelReceipt,
  type RefundDecision,
  type ReturnActivities,
  type ReturnInput,
  type ReturnProcessPolicy,
  type ReturnStateUpdate,
  type ReturnView,
} from '../contracts/return.js';
import { Channel, CustomerId, ProcessStatus, SkuCount, ValueMinor, Warehouses } from '../contracts/search-attributes.js';
import type { TaskActivities } from '../contracts/shared.js';
import type { OrderInput } from '../domain/order.js';
import { needsApproval, type RefundBreakdown } from '../domain/refund.js';
import { decideDisposition } from '../domain/return-rules.js';
import { orderRelease } from './order-release.js';
import { moveTo } from './progress.js';
import { remoteStepOptions } from './step-options.js';

type Activities = ReturnActivities & TaskActivities;
const activities = proxyActivities<Activities>(remoteStepOptions);
/** The gateway is retried with the same idempotency key until it answers; a refusal does not retry. */
const gateway = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** One return (RMA) from authorization to refund or exchange: `rma-<rmaId>`, started by `POST /returns`. */
export async function returnProcess(input: ReturnInput, policy: ReturnProcessPolicy): Promise<ReturnView> {
  return new ReturnProcess(input, policy).run();
}

/** A parcel or an inspection accepted by its update and waiting for `run` to book it. */
interface QueuedParcel {
  receipt: ParcelReceipt;
  lines: ParcelLine[];
}
interface QueuedInspection {
  report: InspectionReport;
  units: InspectedUnit[];
}

/** Where a disposition's units are counted on the return's line. */
const dispositionField = { restock: 'restocked', refurbish: 'refurbished', damaged: 'damaged', vendor_return: 'vendorReturned' } as const;

/**
 * The process's state in one place. Handlers validate a message, record it here and wait;
 * `run` and its steps do all the work.
 */
class ReturnProcess {
  readonly view: ReturnView;
  private readonly workflowId = workflowInfo().workflowId;
  /** Units accepted per line (booked or queued), for the validators. */
  private readonly acceptedReceived = new Map<number, number>();
  /** Units accepted per line and warehouse (`lineNo|warehouse`): received, and inspected. */
  private readonly acceptedAt = new Map<string, { received: number; inspected: number }>();
  /** Each parcel and inspection taken, by id, with its content (a repeat must match it). */
  private readonly parcelsSeen = new Map<string, string>();
  private readonly inspectionsSeen = new Map<string, string>();
  private readonly parcelQueue: QueuedParcel[] = [];
  private readonly inspectionQueue: QueuedInspection[] = [];
  private decision?: RefundDecision;
  /** The last inspected unit's number; each unit's ledger movement is keyed by it. */
  private unitSeq = 0;

  constructor(
    private readonly input: ReturnInput,
    private readonly policy: ReturnProcessPolicy,
  ) {
    this.view = {
      rmaId: input.rmaId,
      orderId: input.orderId,
      status: ReturnStatus.authorized,
      channel: input.channel,
      customerId: input.customerId,
      currency: input.currency,
      reasonCode: input.reasonCode,
      resolution: input.resolution,
      expiresAt: input.expiresAt,
      receiptWindowClosed: false,
      lines: input.lines.map((l) => ({
        lineNo: l.lineNo,
        sku: l.sku,
        authorized: l.qty,
        received: 0,
        inspected: 0,
        restocked: 0,
        refurbished: 0,
        damaged: 0,
        vendorReturned: 0,
        ...(l.replacementSku ? { replacementSku: l.replacementSku } : {}),
      })),
      parcels: [],
      inspections: [],
      timeline: [{ at: new Date().toISOString(), status: ReturnStatus.authorized, note: `${input.reasonCode}, ${input.resolution}` }],
    };
    this.listen();
  }

  private listen(): void {
    const { view } = this;
    setHandler(returnViewQuery, () => view);
    setHandler(submitReturnUpdate, () => view);
    setHandler(parcelReceivedUpdate, (receipt) => this.acceptParcel(receipt), { validator: (receipt) => this.checkParcel(receipt) });
    setHandler(inspectionUpdate, (report) => this.acceptInspection(report), { validator: (report) => this.checkInspection(report) });
    setHandler(
      refundApprovalUpdate,
      async (request) => {
        this.decision = request;
        await condition(() => view.status !== ReturnStatus.awaitingRefundApproval);
        return view;
      },
      {
        validator: (request) => {
          if (view.status !== ReturnStatus.awaitingRefundApproval || this.decision) {
            throw refusal(`return ${this.input.rmaId} is ${view.status}, not waiting for a refund approval`, 'not_awaiting_approval');
          }
          if (!request.reason.trim()) throw refusal('a decision needs a reason', 'reason_required');
        },
      },
    );
  }

  private checkParcel(receipt: ParcelReceipt): void {
    const seen = this.parcelsSeen.get(receipt.parcelId);
    if (seen !== undefined) {
      if (seen !== parcelContent(receipt)) throw refusal(`parcel ${receipt.parcelId} was already received with other content`, 'parcel_conflict');
      return;
    }
    const { view } = this;
    if (!this.receiving()) throw refusal(`return ${this.input.rmaId} is ${view.status}${view.receiptWindowClosed ? ' (its receipt window closed)' : ''}, not waiting for parcels`, 'not_receiving');
    const resolved = this.resolveParcel(receipt);
    if (typeof resolved === 'string') throw refusal(resolved, 'unexpected_units');
  }

  /** Takes a parcel (a repeat changes nothing) and answers once `run` has booked it. */
  private async acceptParcel(receipt: ParcelReceipt): Promise<ReturnView> {
    const booked = () => !this.parcelQueue.some((p) => p.receipt.parcelId === receipt.parcelId);
    if (this.parcelsSeen.has(receipt.parcelId)) {
      await condition(booked);
      return this.view;
    }
    const lines = this.resolveParcel(receipt) as ParcelLine[];
    this.parcelsSeen.set(receipt.parcelId, parcelContent(receipt));
    for (const line of lines) {
      this.acceptedReceived.set(line.lineNo, (this.acceptedReceived.get(line.lineNo) ?? 0) + line.qty);
      this.accepted(line.lineNo, receipt.warehouse).received += line.qty;
    }
    this.parcelQueue.push({ receipt, lines });
    await condition(booked);
    return this.view;
  }

  private checkInspection(report: InspectionReport): void {
    const seen = this.inspectionsSeen.get(report.inspectionId);
    if (seen !== undefined) {
      if (seen !== inspectionContent(report)) throw refusal(`inspection ${report.inspectionId} was already recorded with other content`, 'inspection_conflict');
      return;
    }
    if (!this.receiving() && this.view.status !== ReturnStatus.inspecting) throw refusal(`return ${this.input.rmaId} is ${this.view.status}, not waiting for an inspection`, 'not_inspecting');
    const resolved = this.resolveInspection(report);
    if (typeof resolved === 'string') throw refusal(resolved, 'not_inspectable');
  }

  /** Takes an inspection (a repeat changes nothing) and answers once `run` has booked it. */
  private async acceptInspection(report: InspectionReport): Promise<ReturnView> {
    const booked = () => !this.inspectionQueue.some((i) => i.report.inspectionId === report.inspectionId);
    if (this.inspectionsSeen.has(report.inspectionId)) {
      await condition(booked);
      return this.view;
    }
    const units = this.resolveInspection(report) as InspectedUnit[];
    this.unitSeq += units.length;
    this.inspectionsSeen.set(report.inspectionId, inspectionContent(report));
    for (const unit of units) this.accepted(unit.lineNo, unit.warehouse).inspected += unit.qty;
    this.inspectionQueue.push({ report, units });
    await condition(booked);
    return this.view;
  }

  /** The units accepted for a line at a warehouse. */
  private accepted(lineNo: number, warehouse: string): { received: number; inspected: number } {
    const key = `${lineNo}|${warehouse}`;
    if (!this.acceptedAt.has(key)) this.acceptedAt.set(key, { received: 0, inspected: 0 });
    return this.acceptedAt.get(key)!;
  }

  private receiving(): boolean {
    return this.view.status === ReturnStatus.authorized || this.view.status === ReturnStatus.receiving;
  }

  /** Spreads a parcel's units over the return's lines of each sku, in line order; a problem when they do not fit. */
  private resolveParcel(receipt: ParcelReceipt): ParcelLine[] | string {
    const { view } = this;
    const lines: ParcelLine[] = [];
    for (const item of receipt.lines) {
      let left = item.qty;
      for (const line of view.lines.filter((l) => l.sku === item.sku)) {
        const room = line.authorized - (this.acceptedReceived.get(line.lineNo) ?? 0) - lines.filter((p) => p.lineNo === line.lineNo).reduce((n, p) => n + p.qty, 0);
        const qty = Math.min(left, room);
        if (qty > 0) {
          lines.push({ lineNo: line.lineNo, sku: line.sku, qty });
          left -= qty;
        }
      }
      if (!view.lines.some((l) => l.sku === item.sku)) return `${item.sku} is not on return ${this.input.rmaId}`;
      if (left > 0) return `${item.qty} × ${item.sku} is more than the ${item.qty - left} still expected`;
    }
    return lines;
  }

  /** Spreads inspected units over lines and warehouses holding uninspected units, each with its disposition. */
  private resolveInspection(report: InspectionReport): InspectedUnit[] | string {
    const { view, input } = this;
    const units: InspectedUnit[] = [];
    let seq = this.unitSeq;
    for (const item of report.lines) {
      if (!view.lines.some((l) => l.sku === item.sku)) return `${item.sku} is not on return ${input.rmaId}`;
      const decided = decideDisposition(
        { condition: item.condition, ...(item.disposition ? { override: { disposition: item.disposition, reason: item.overrideReason ?? '' } } : {}) },
        { hasSupplier: input.returnableToSupplier.includes(item.sku) },
      );
      if ('problem' in decided) return `${item.sku}: ${decided.problem}`;
      let left = item.qty;
      const places = [...this.acceptedAt.entries()]
        .map(([key, counts]) => ({ lineNo: Number(key.split('|')[0]), warehouse: key.split('|')[1]!, counts }))
        .filter((p) => view.lines.find((l) => l.lineNo === p.lineNo)?.sku === item.sku && (!item.warehouse || p.warehouse === item.warehouse))
        .sort((a, b) => a.lineNo - b.lineNo || a.warehouse.localeCompare(b.warehouse));
      const warehouses = new Set(places.filter((p) => p.counts.received > p.counts.inspected).map((p) => p.warehouse));
      if (!item.warehouse && warehouses.size > 1) return `${item.sku} waits for inspection at ${[...warehouses].join(' and ')}: say which warehouse`;
      for (const place of places) {
        const taken = units.filter((u) => u.lineNo === place.lineNo && u.warehouse === place.warehouse).reduce((n, u) => n + u.qty, 0);
        const qty = Math.min(left, place.counts.received - place.counts.inspected - taken);
        if (qty <= 0) continue;
        units.push({
          seq: ++seq,
          lineNo: place.lineNo,
          sku: item.sku,
          warehouse: place.warehouse,
          qty,
          condition: item.condition,
          disposition: decided.disposition,
          ruleDisposition: decided.ruleDisposition,
          ...(item.disposition ? { overrideReason: item.overrideReason } : {}),
        });
        left -= qty;
      }
      if (left > 0) return `${item.qty} × ${item.sku} is more than the ${item.qty - left} received and not yet inspected${item.warehouse ? ` at ${item.warehouse}` : ''}`;
    }
    return units;
  }

  async run(): Promise<ReturnView> {
    const { view, input, policy } = this;
    // 1. Parcels and inspections until every expected unit is in and inspected, or the window closes.
    const returned = await this.receiveAndInspect();
    if (!returned) return this.finish();

    // 2. The refund (or the exchange credit), computed once from what arrived.
    const breakdown = await this.computeRefund();
    if (needsApproval(breakdown.totalMinor, policy.returns)) {
      const approved = await this.approveRefund(breakdown);
      if (!approved) return this.finish();
    }

    // 3a. The replacement goes through order release as a child; what it ships is paid by the credit.
    let cashMinor = breakdown.totalMinor;
    let appliedMinor = 0;
    if (input.resolution === 'exchange') {
      const receivable = await this.sendReplacement();
      appliedMinor = Math.min(breakdown.totalMinor, receivable);
      cashMinor = breakdown.totalMinor - appliedMinor;
      if (receivable > breakdown.totalMinor) view.balanceDueMinor = receivable - breakdown.totalMinor;
    }

    // 3b. Money through the gateway (retried with one key), then the posting.
    if (cashMinor > 0) {
      const paid = await this.payRefund(cashMinor);
      if (!paid) return this.finish();
    }
    await this.postRefund(cashMinor, appliedMinor);
    return this.finish();
  }

  /**
   * Books accepted parcels and inspections in turn until every expected unit is in and
   * inspected, or the receipt window has closed and what came is inspected. Answers false
   * when the window closed with nothing received: the return has expired.
   */
  private async receiveAndInspect(): Promise<boolean> {
    const { view } = this;
    // The expiry the authorization gave the customer (and the record shows), not the process's own start.
    const windowEnds = Date.parse(this.input.expiresAt);
    for (;;) {
      while (this.parcelQueue.length) {
        await this.receiveParcel(this.parcelQueue[0]!);
        this.parcelQueue.shift();
      }
      while (this.inspectionQueue.length) {
        await this.inspectUnits(this.inspectionQueue[0]!);
        this.inspectionQueue.shift();
      }
      const allInspected = view.lines.every((l) => l.inspected === l.received);
      const allReceived = view.lines.every((l) => l.received === l.authorized);
      if (allInspected && (allReceived || view.receiptWindowClosed)) return true;
      const ready = () => this.parcelQueue.length > 0 || this.inspectionQueue.length > 0;
      const woke = view.receiptWindowClosed ? (await condition(ready), true) : await condition(ready, Math.max(0, windowEnds - Date.now()));
      if (!woke) {
        const received = await this.closeReceiptWindow();
        if (!received) return false;
      }
    }
  }

  /** A parcel's units go to return_pending; the return receives until every authorized unit is in. */
  private async receiveParcel({ receipt, lines }: QueuedParcel): Promise<void> {
    const { view } = this;
    await activities.receiveReturnParcel({ rmaId: this.input.rmaId, parcelId: receipt.parcelId, warehouse: receipt.warehouse, actor: receipt.actor, lines });
    for (const line of lines) view.lines.find((l) => l.lineNo === line.lineNo)!.received += line.qty;
    view.parcels.push({ parcelId: receipt.parcelId, warehouse: receipt.warehouse, actor: receipt.actor, at: new Date().toISOString(), lines });
    upsertSearchAttributes([{ key: Warehouses, value: [...new Set(view.parcels.map((p) => p.warehouse))].sort() }]);
    const missing = this.missing();
    moveTo(
      view,
      missing === 0 || view.receiptWindowClosed ? ReturnStatus.inspecting : ReturnStatus.receiving,
      `parcel ${receipt.parcelId} at ${receipt.warehouse}: ${lines.map((l) => `${l.qty} × ${l.sku}`).join(', ')}${missing ? `; ${missing} still expected` : ''}`,
    );
    await this.record();
  }

  /** Inspected units leave return_pending by their disposition. */
  private async inspectUnits({ report, units }: QueuedInspection): Promise<void> {
    const { view } = this;
    await activities.inspectReturnedUnits({ rmaId: this.input.rmaId, inspectionId: report.inspectionId, actor: report.actor, units });
    for (const unit of units) {
      const line = view.lines.find((l) => l.lineNo === unit.lineNo)!;
      line.inspected += unit.qty;
      line[dispositionField[unit.disposition]] += unit.qty;
    }
    view.inspections.push({ inspectionId: report.inspectionId, actor: report.actor, at: new Date().toISOString(), units });
    view.timeline.push({ at: new Date().toISOString(), status: view.status, note: `inspection ${report.inspectionId}: ${units.map((u) => `${u.qty} × ${u.sku} ${u.disposition}`).join(', ')}` });
  }

  /**
   * The receipt window closed: units not in by now are no longer expected. Answers whether
   * anything was received; a return with nothing received expires.
   */
  private async closeReceiptWindow(): Promise<boolean> {
    const { view } = this;
    view.receiptWindowClosed = true;
    const received = view.lines.reduce((n, l) => n + l.received, 0);
    if (received === 0) {
      moveTo(view, ReturnStatus.expired, `nothing received within ${this.policy.returns.receiptExpiry}`);
      await this.record({ closed: true });
      return false;
    }
    moveTo(view, ReturnStatus.inspecting, `receipt window closed: ${this.missing()} authorized units never arrived`);
    await this.record();
    return true;
  }

  /** Authorized units not received. */
  private missing(): number {
    return this.view.lines.reduce((n, l) => n + l.authorized - l.received, 0);
  }

  /** What the return gives back, from what arrived (`domain/refund.ts`, in its activity). */
  private async computeRefund(): Promise<RefundBreakdown> {
    const breakdown = await activities.computeReturnRefund({ rmaId: this.input.rmaId, policy: this.policy.returns });
    this.view.refund = { ...breakdown };
    upsertSearchAttributes([{ key: ValueMinor, value: breakdown.totalMinor }]);
    return breakdown;
  }

  /** A refund above the limit waits for finance. Answers whether it was approved. */
  private async approveRefund(breakdown: RefundBreakdown): Promise<boolean> {
    const { view, input, workflowId } = this;
    const { refundApprovalLimitMinor } = this.policy.returns;
    const taskId = `${workflowId}:refund-approval`;
    view.approval = { limitMinor: refundApprovalLimitMinor };
    moveTo(view, ReturnStatus.awaitingRefundApproval, `${breakdown.totalMinor} above the approval limit of ${refundApprovalLimitMinor}`);
    await activities.openTask({
      id: taskId,
      kind: 'refund_approval',
      reference: input.rmaId,
      workflowId,
      role: 'finance',
      title: `Approve ${input.resolution === 'exchange' ? 'the exchange credit' : 'the refund'} of ${breakdown.totalMinor} ${input.currency} minor units for return ${input.rmaId} (order ${input.orderId})`,
      reason: `above the refund approval limit of ${refundApprovalLimitMinor} (${input.reasonCode})`,
      details: { orderId: input.orderId, reasonCode: input.reasonCode, resolution: input.resolution, refund: breakdown },
    });
    await this.record();
    await condition(() => this.decision !== undefined);
    const decided = this.decision!;
    view.approval.decision = { ...decided, at: new Date().toISOString() };
    await activities.closeTask(taskId, decided.actor, decided.decision);
    if (decided.decision === 'reject') {
      moveTo(view, ReturnStatus.rejected, `refund rejected by ${decided.actor}: ${decided.reason}`);
      await this.record({ closed: true, approval: view.approval });
      return false;
    }
    moveTo(view, input.resolution === 'exchange' ? ReturnStatus.replacing : ReturnStatus.refunding, `approved by ${decided.actor}: ${decided.reason}`);
    await this.record({ approval: view.approval });
    return true;
  }

  /**
   * An exchange's replacement order, run by order release as a child to its end. Answers
   * what its shipments put on the customer's receivable.
   */
  private async sendReplacement(): Promise<number> {
    const { view } = this;
    const order = await activities.replacementOrderInput({ rmaId: this.input.rmaId });
    const childId = orderWorkflowId(order.orderId);
    view.replacement = { orderId: order.orderId, workflowId: childId };
    if (view.status !== ReturnStatus.replacing) moveTo(view, ReturnStatus.replacing, `replacement order ${order.orderId}`);
    await this.record({ replacementOrderId: order.orderId });
    const child = await startChild(orderRelease, {
      workflowId: childId,
      args: [order, this.policy.order],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: ProcessStatus, value: 'received' },
        { key: Channel, value: order.channel },
        { key: CustomerId, value: order.customerId },
        { key: SkuCount, value: new Set(order.lines.map((l) => l.sku)).size },
        { key: ValueMinor, value: merchandiseMinor(order) },
      ],
    });
    const result = await child.result();
    const receivable = await activities.replacementReceivable({ orderId: order.orderId });
    view.replacement.status = result.status;
    view.replacement.receivableMinor = receivable;
    return receivable;
  }

  /**
   * Money back through the payment gateway, retried with one key until it answers. Answers
   * false when the gateway refused: the return closes and finance takes it from there.
   */
  private async payRefund(cashMinor: number): Promise<boolean> {
    const { view, input } = this;
    if (view.status !== ReturnStatus.refunding) moveTo(view, ReturnStatus.refunding, `${cashMinor} to pay back`);
    await this.record();
    let refund: { refundId: string };
    try {
      refund = await gateway.issueRefund({ rmaId: input.rmaId, key: `${this.workflowId}:refund`, amountMinor: cashMinor, currency: input.currency });
    } catch (error) {
      // A refusal (not a transient failure: those are retried): nothing was paid or posted.
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
      if (!cause?.type?.startsWith('gateway_')) throw error;
      await this.closeRefused(cashMinor, cause);
      return false;
    }
    view.refund!.gatewayRefundId = refund.refundId;
    return true;
  }

  /** The gateway refused the refund: an exception for finance, and the return closes. */
  private async closeRefused(cashMinor: number, cause: ApplicationFailure): Promise<void> {
    const { input, workflowId } = this;
    // A declined refund paid nothing; a key conflict means the gateway already holds another refund under our key.
    const outcome = cause.type === 'gateway_declined' ? 'nothing paid or posted' : 'the gateway holds another refund under this key: check what was paid; nothing posted';
    await activities.raiseException({
      id: `${workflowId}:refund-refused`,
      kind: 'refund_refused',
      reference: input.rmaId,
      workflowId,
      ownerRole: 'finance',
      message: `the payment gateway refused the refund of ${cashMinor} ${input.currency} minor units for return ${input.rmaId} (order ${input.orderId}): ${cause.message}; ${outcome}`,
      details: { orderId: input.orderId, amountMinor: cashMinor, type: cause.type },
    });
    moveTo(this.view, ReturnStatus.closed, `refund refused by the payment gateway: ${cause.message}; ${outcome}`);
    await this.record({ closed: true });
  }

  /** The refund (or exchange credit) in the journal, and the return ends: refunded, exchanged or closed. */
  private async postRefund(cashMinor: number, appliedMinor: number): Promise<void> {
    const { view, input } = this;
    const posted = await activities.postReturnRefund({ rmaId: input.rmaId, cashMinor, appliedMinor, actor: 'system' });
    Object.assign(view.refund!, { cashMinor, appliedMinor, journalEntryId: posted.journalEntryId });
    const final = input.resolution === 'exchange' && appliedMinor > 0 ? ReturnStatus.exchanged : cashMinor > 0 ? ReturnStatus.refunded : ReturnStatus.closed;
    const notes = [
      cashMinor > 0 ? `refunded ${cashMinor}` : '',
      appliedMinor > 0 ? `${appliedMinor} applied to replacement ${view.replacement!.orderId}` : '',
      view.balanceDueMinor ? `${view.balanceDueMinor} due from the customer` : '',
    ];
    moveTo(view, final, notes.filter(Boolean).join('; ') || 'nothing to pay back');
    await this.record({ closed: true });
  }

  /** Mirrors the return on its record; the reason defaults to the last timeline note. */
  private record(extra: Omit<ReturnStateUpdate, 'rmaId' | 'status'> = {}): Promise<void> {
    return activities.recordReturnState({ rmaId: this.input.rmaId, status: this.view.status, reason: extra.reason ?? this.view.timeline.at(-1)!.note, ...extra });
  }

  /** The process ends only after every update it accepted has answered (else the caller would see it fail). */
  private async finish(): Promise<ReturnView> {
    await condition(allHandlersFinished);
    return this.view;
  }
}

const refusal = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);
const parcelContent = (r: ParcelReceipt) => JSON.stringify([r.warehouse, [...r.lines].sort((a, b) => a.sku.localeCompare(b.sku))]);
const inspectionContent = (r: InspectionReport) => JSON.stringify(r.lines);
/** What the replacement's lines are worth, as its search attribute says (it ships free). */
const merchandiseMinor = (order: OrderInput) => order.lines.reduce((n, l) => n + l.qty * l.unitPriceMinor - l.discountMinor + l.taxMinor, 0);
