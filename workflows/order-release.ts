import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  amendOrderUpdate,
  cancelOrderUpdate,
  holdDecisionUpdate,
  orderPatches,
  OrderStatus,
  orderViewQuery,
  stockArrivedSignal,
  submitOrderUpdate,
  terminalOrderStatuses,
  type AllocationRequest,
  type OrderAmendment,
  type AllocationResult,
  type CapturedOrder,
  type OrderLineState,
  type OrderPolicy,
  type OrderReleaseActivities,
  type OrderStateUpdate,
  type OrderView,
} from '../contracts/order.js';
import { HoldReason, Warehouses } from '../contracts/search-attributes.js';
import type { CancelRequest, TaskActivities } from '../contracts/shared.js';
import type { PaymentActivities } from '../contracts/payment.js';
import { cancelShipmentSignal, shipmentIdOf, shipmentReportSignal, shipmentWorkflowId, type ShipmentReport } from '../contracts/shipment.js';
import { durationMs } from '../domain/duration.js';
import { orderTotalMinor, unplaced, type OrderInput } from '../domain/order.js';
import { screenRisk, type RiskFlag } from '../domain/risk.js';
import { moveTo } from './progress.js';
import { shipment } from './shipment.js';
import { localStepOptions, remoteStepOptions } from './step-options.js';

type Activities = OrderReleaseActivities & TaskActivities;
const remoteActivities = proxyActivities<Activities>(remoteStepOptions);
const localActivities = proxyLocalActivities<Activities>(localStepOptions);
const payments = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** An order from capture to its last shipment: `order-<orderId>`, started by `POST /orders`. */
export async function orderRelease(order: OrderInput, policy: OrderPolicy): Promise<OrderView> {
  // Orders started before local steps existed replay with their remote activities, and end
  // without waiting for their shipments.
  const localSteps = patched(orderPatches.localActivities);
  const process = new OrderRelease(order, policy, localSteps ? localActivities : remoteActivities);
  const view = await process.run();
  // An amendment taken in the last moment of a run that ended otherwise is refused to its caller.
  process.closeAmendments();
  // A parent that completes terminates its children: the order ends after its shipments, so
  // none is cut off before it answers the WMS event that ended it.
  if (localSteps) await Promise.all(process.shipmentResults);
  // A decision or cancel that ended the order answers its caller before the process completes.
  await condition(allHandlersFinished);
  return view;
}

/**
 * The process's state in one place. Handlers validate a message, record it here and wait;
 * `run` and its steps do all the work.
 */
class OrderRelease {
  readonly view: OrderView;
  /** Each shipment child's completion (a failed one has already reported what it could). */
  readonly shipmentResults: Promise<unknown>[] = [];
  private readonly workflowId = workflowInfo().workflowId;
  private captured!: CapturedOrder;
  private cancelRequest?: CancelRequest;
  private stockNudged = false;
  /** The order has answered its submitter: rejected, on hold, or on its way to stock. */
  private screened = false;
  /** From here on no decision is taken: the order is closing. */
  private closing = false;
  private holdTaskClosed = false;
  /** Reservation ids per successful allocation, undone in reverse on cancel. */
  private readonly compensations: number[][] = [];
  /** Reservations not yet handed to fulfillment (they can expire), and since when. */
  private heldReservations: number[] = [];
  private heldSince = 0;
  /** Reservations already handed to a shipment. */
  private readonly dispatched = new Set<number>();
  private readonly reports: ShipmentReport[] = [];
  private attempt = 0;
  private backorderDeadline = 0;
  /** Amendments accepted and not yet on the order; each caller waits for its own. */
  private readonly amendments: PendingAmendment[] = [];
  /** The order as it stands: amendments change its address and lines before release. */
  private readonly order: OrderInput;

  constructor(
    order: OrderInput,
    private readonly policy: OrderPolicy,
    private readonly activities: Activities,
  ) {
    this.order = { ...order, lines: [...order.lines] };
    this.view = {
      orderId: order.orderId,
      status: OrderStatus.received,
      channel: order.channel,
      customerId: order.customerId,
      valueMinor: orderTotalMinor(order),
      lines: order.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, ordered: l.qty, allocated: 0, backordered: 0, cancelled: 0, shipped: 0, allocations: [] })),
      shipments: [],
      timeline: [{ at: new Date().toISOString(), status: OrderStatus.received }],
    };
    this.listen();
  }

  private listen(): void {
    const { view } = this;
    setHandler(orderViewQuery, () => view);
    setHandler(shipmentReportSignal, (report) => void this.reports.push(report));
    setHandler(stockArrivedSignal, () => void (this.stockNudged = true));
    setHandler(submitOrderUpdate, async () => {
      await condition(() => this.screened);
      return view;
    });
    setHandler(
      holdDecisionUpdate,
      async (decision) => {
        view.hold!.decision = { ...decision, at: new Date().toISOString() };
        await condition(() => view.status !== OrderStatus.onHold);
        return view;
      },
      {
        validator: (decision) => {
          if (view.status !== OrderStatus.onHold || view.hold?.decision || this.cancelRequest || this.closing) {
            throw refusal(`order ${this.order.orderId} is ${this.closing || this.cancelRequest ? 'being cancelled' : view.status}, not on hold`, 'not_on_hold');
          }
          if (!decision.reason.trim()) throw refusal('a decision needs a reason', 'reason_required');
        },
      },
    );
    setHandler(
      amendOrderUpdate,
      async (request) => {
        const entry: PendingAmendment = { request, state: 'pending' };
        this.amendments.push(entry);
        await condition(() => entry.state !== 'pending');
        if (entry.state === 'dropped') throw refusal(`order ${this.order.orderId}: ${entry.why}`, entry.code ?? 'not_amendable');
        return view;
      },
      { validator: (request) => this.checkAmendable(request) },
    );
    setHandler(
      cancelOrderUpdate,
      async (request) => {
        this.cancelRequest = request;
        await condition(() => terminalOrderStatuses.includes(view.status));
        return view;
      },
      { validator: (request) => this.checkCancellable(request) },
    );
  }

  private checkCancellable(request: CancelRequest): void {
    const { orderId } = this.order;
    if (!request.reason.trim()) throw refusal('a cancellation needs a reason', 'reason_required');
    if (terminalOrderStatuses.includes(this.view.status)) throw refusal(`order ${orderId} is already ${this.view.status}`, 'not_cancellable');
    if (this.view.lines.every((l) => l.shipped + l.cancelled >= l.ordered)) throw refusal(`order ${orderId} has shipped`, 'already_shipped');
    if (this.cancelRequest || this.closing) throw refusal(`order ${orderId} is being cancelled`, 'not_cancellable');
  }

  /** An amendment is taken before release only; new lines only while nothing is reserved. */
  private checkAmendable(request: OrderAmendment): void {
    const { view } = this;
    const { orderId } = this.order;
    if (!request.reason.trim()) throw refusal('an amendment needs a reason', 'reason_required');
    if (terminalOrderStatuses.includes(view.status) || this.closing || this.cancelRequest) throw refusal(`order ${orderId} is ${view.status}${this.cancelRequest ? ' and being cancelled' : ''}`, 'not_amendable');
    if (!this.screened) throw refusal(`order ${orderId} is still being checked`, 'not_screened');
    if (view.status === OrderStatus.released || view.shipments.length > 0 || view.lines.some((l) => l.shipped > 0)) {
      throw refusal(`order ${orderId} has gone to fulfillment`, 'already_released');
    }
    if (request.lines) {
      if (request.lines.length === 0) throw refusal('an amendment cannot take every line away; cancel the order', 'bad_quantity');
      if (view.status === OrderStatus.allocating || view.lines.some((l) => l.allocated > 0) || this.heldReservations.length > 0) {
        throw refusal(`order ${orderId} has stock reserved; its lines can no longer change`, 'already_allocated');
      }
    }
  }

  private hasPendingAmendment(): boolean {
    return this.amendments.some((a) => a.state === 'pending');
  }

  /** Puts accepted amendments on the order and its record; the callers' updates answer once it is done. */
  private async applyAmendments(): Promise<void> {
    const pending = this.amendments.filter((a) => a.state === 'pending');
    if (pending.length === 0) return;
    const { order, view } = this;
    for (const { request } of pending) {
      const changed: ('address' | 'lines')[] = [];
      if (request.shipTo) {
        order.shipTo = request.shipTo;
        changed.push('address');
      }
      if (request.billingCountry !== undefined) order.billingCountry = request.billingCountry ?? undefined;
      if (request.freightMinor !== undefined) order.freightMinor = request.freightMinor;
      if (request.lines) {
        order.lines = request.lines;
        view.lines = request.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, ordered: l.qty, allocated: 0, backordered: 0, cancelled: 0, shipped: 0, allocations: [] }));
        changed.push('lines');
      }
      view.valueMinor = orderTotalMinor(order);
      const at = new Date().toISOString();
      view.amendments = [...(view.amendments ?? []), { at, actor: request.actor, reason: request.reason, changed }];
      view.timeline.push({ at, status: view.status, note: `amended (${changed.join(', ') || 'billing'}) by ${request.actor}: ${request.reason}` });
    }
    if (patched(orderPatches.amendments)) {
      await this.activities.recordOrderAmendment({
        orderId: order.orderId,
        shipTo: order.shipTo,
        billingCountry: order.billingCountry ?? null,
        freightMinor: order.freightMinor,
        lines: order.lines,
        totalMinor: view.valueMinor,
      });
    }
    for (const entry of pending) entry.state = 'applied';
  }

  closeAmendments(): void {
    this.dropAmendments(`is ${this.view.status}`, 'not_amendable');
  }

  /** Amendments the order will not take any more (it is closing, or went to fulfillment) are refused to their callers. */
  private dropAmendments(why: string, code: string): void {
    for (const entry of this.amendments.filter((a) => a.state === 'pending')) Object.assign(entry, { state: 'dropped', why, code });
  }

  /** Waits for `done` up to `timeoutMs`, putting amendments on the order as they come. True when `done`. */
  private async waitAmending(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const woke = await condition(() => done() || this.hasPendingAmendment(), Math.max(0, until - Date.now()));
      if (this.hasPendingAmendment()) await this.applyAmendments();
      if (done()) return true;
      if (!woke || Date.now() >= until) return false;
    }
  }

  async run(): Promise<OrderView> {
    // 1. Capture and validate.
    this.captured = await this.activities.captureOrder(this.order, this.policy.risk.velocityWindowHours, this.policy.priceTolerancePct);
    if (this.captured.problems.length) return this.rejectInvalid();
    // 2. Risk screen; a flagged order waits for a person.
    const flags = screenRisk(this.order, this.captured.facts, this.policy.risk);
    if (flags.length) {
      const outcome = await this.hold(flags);
      if (outcome === 'rejected') return this.view;
      if (outcome !== 'approved') return this.cancel(outcome);
    }
    this.screened = true;
    if (this.cancelRequest) return this.cancel(this.cancelRequest);
    // 3. Route and reserve; short lines follow the channel's shortage policy.
    moveTo(this.view, OrderStatus.allocating, this.view.hold ? `hold approved by ${this.view.hold.decision!.actor}` : undefined);
    this.backorderDeadline = Date.now() + durationMs(this.policy.backorderDeadline);
    const stop = await this.allocate();
    if (stop) return this.cancel(stop);
    // An address change taken while the stock was being reserved goes on the order before it is released.
    if (this.hasPendingAmendment()) await this.applyAmendments();
    // 4. Release to fulfillment.
    await this.activities.releaseToFulfillment({ reservationIds: this.heldReservations, state: this.state(OrderStatus.released, { routing: this.view.routing, released: true }) });
    moveTo(this.view, OrderStatus.released);
    this.heldReservations = [];
    if (!patched(orderPatches.shipments)) {
      // Orders released before shipments existed wait, cancellable, as they always did.
      await condition(() => this.cancelRequest !== undefined);
      return this.cancel(this.cancelRequest!);
    }
    // 5. Fulfillment: shipments report back; units missing at picking are routed again.
    return this.fulfil();
  }

  private async rejectInvalid(): Promise<OrderView> {
    this.view.problems = this.captured.problems;
    for (const line of this.view.lines) line.cancelled = line.ordered;
    moveTo(this.view, OrderStatus.rejected, this.captured.problems.map((p) => p.detail).join('; '));
    this.screened = true;
    await this.record({ reason: this.lastNote(), problems: this.view.problems, lines: this.lineStates(), closed: true });
    await this.voidPayment({ reason: 'the order was rejected', actor: 'system' });
    return this.view;
  }

  /** Waits for a person's decision, escalating and at last cancelling when nobody decides. */
  private async hold(flags: RiskFlag[]): Promise<'approved' | 'rejected' | CancelRequest> {
    const { view, order, workflowId, policy } = this;
    const taskId = `${workflowId}:hold`;
    view.hold = { flags, since: new Date().toISOString(), escalated: false };
    moveTo(view, OrderStatus.onHold, flags.map((f) => f.rule).join(', '));
    upsertSearchAttributes([{ key: HoldReason, value: flags.map((f) => f.rule).join(',') }]);
    await this.activities.openTask({
      id: taskId,
      kind: 'order_hold',
      reference: order.orderId,
      workflowId,
      role: 'ops',
      title: `Review order ${order.orderId} (${view.valueMinor} ${order.currency} minor units, customer ${order.customerId})`,
      reason: flags.map((f) => f.detail).join('; '),
      details: { flags, channel: order.channel, customerId: order.customerId, valueMinor: view.valueMinor },
    });
    await this.record({ reason: this.lastNote(), hold: view.hold });
    this.screened = true;

    const decided = () => view.hold!.decision !== undefined || this.cancelRequest !== undefined;
    const holdStarted = Date.now();
    if (!(await this.waitAmending(decided, durationMs(policy.holdEscalateAfter)))) {
      await this.escalateHold(flags);
      const left = Math.max(0, holdStarted + durationMs(policy.holdAutoCancelAfter) - Date.now());
      if (!(await this.waitAmending(decided, left))) return { reason: `hold not decided within ${policy.holdAutoCancelAfter}: cancelled automatically`, actor: 'system' };
    }
    if (view.hold.escalated) await this.activities.resolveException(`${workflowId}:hold-escalated`);
    if (this.cancelRequest) return this.cancelRequest;
    const decision = view.hold.decision!;
    await this.activities.closeTask(taskId, decision.actor, decision.decision);
    this.holdTaskClosed = true;
    if (decision.decision === 'reject') {
      for (const line of view.lines) line.cancelled = line.ordered;
      await this.record({ status: OrderStatus.rejected, reason: decision.reason, hold: view.hold, lines: this.lineStates(), closed: true });
      moveTo(view, OrderStatus.rejected, `hold rejected by ${decision.actor}: ${decision.reason}`);
      await this.voidPayment({ reason: decision.reason, actor: decision.actor });
      return 'rejected';
    }
    await this.record({ status: OrderStatus.allocating, reason: `hold approved: ${decision.reason}`, hold: view.hold });
    return 'approved';
  }

  private async escalateHold(flags: RiskFlag[]): Promise<void> {
    const { view, order, workflowId } = this;
    view.hold!.escalated = true;
    await this.activities.escalateTask(`${workflowId}:hold`);
    await this.activities.raiseException({
      id: `${workflowId}:hold-escalated`,
      kind: 'hold_escalated',
      reference: order.orderId,
      workflowId,
      ownerRole: 'ops',
      message: `order ${order.orderId} has waited on hold since ${view.hold!.since} without a decision`,
      details: { flags },
    });
  }

  /**
   * Reserves until every line is placed, or the channel's shortage policy ends the wait:
   * `cancel_remainder` cancels what is short, `backorder` releases what is there and waits
   * for stock, `wait` holds what is there (it may expire) until the order is whole.
   */
  private async allocate(): Promise<CancelRequest | undefined> {
    const releaseWhole = this.captured.shortagePolicy === 'wait';
    /** After a held allocation expired, others get a turn: no new reservation until stock news or the next look. */
    let allocateNow = true;
    for (;;) {
      const needs = this.needs();
      if (needs.length === 0) return undefined;
      const expiresAt = new Date(Date.now() + durationMs(this.policy.reservationExpiry)).toISOString();
      const result = allocateNow ? await this.reserve(needs, expiresAt) : { allocations: [], routing: undefined };
      allocateNow = true;
      this.take(result, true);
      if (this.cancelRequest) return this.cancelRequest;
      for (const line of this.view.lines) line.backordered = unplaced(line);
      const short = this.view.lines.reduce((n, l) => n + l.backordered, 0);
      if (short === 0) return undefined;
      if (this.captured.shortagePolicy === 'cancel_remainder') return this.cancelRemainder();

      if (!releaseWhole && this.heldReservations.length) await this.releaseHeldPart(short);
      if (this.view.status !== OrderStatus.backordered) {
        moveTo(this.view, OrderStatus.backordered, `${short} units wait for stock`);
        await this.record({ reason: this.lastNote(), lines: this.lineStates(), routing: this.view.routing });
      }
      const heldUntil = this.heldSince ? this.heldSince + durationMs(this.policy.reservationExpiry) : Infinity;
      const wakeAt = Math.min(Date.now() + durationMs(this.policy.backorderRecheck), this.backorderDeadline, heldUntil);
      this.stockNudged = false;
      await condition(() => this.stockNudged || this.cancelRequest !== undefined || this.hasPendingAmendment(), Math.max(0, wakeAt - Date.now()));
      if (this.cancelRequest) return this.cancelRequest;
      if (this.hasPendingAmendment()) await this.applyAmendments();
      if (Date.now() >= heldUntil) allocateNow = await this.expireHeld();
      if (Date.now() >= this.backorderDeadline) return this.cancelBackorders();
    }
  }

  /** What each line still needs. */
  private needs(): AllocationRequest['lines'] {
    return this.view.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: unplaced(l) })).filter((l) => l.qty > 0);
  }

  private reserve(lines: AllocationRequest['lines'], expiresAt?: string): Promise<AllocationResult> {
    const { order } = this;
    return this.activities.allocateOrder({
      orderId: order.orderId,
      attempt: ++this.attempt,
      channel: order.channel,
      shipTo: order.shipTo,
      promisedBy: order.promisedBy,
      lines,
      allowPartial: true,
      ...(expiresAt ? { expiresAt } : {}),
      actor: 'system',
    });
  }

  /** Books what an allocation reserved on the lines; `held` when it waits to be released. */
  private take(result: { allocations: AllocationResult['allocations']; routing?: AllocationResult['routing'] }, held: boolean): void {
    const { view } = this;
    if (result.routing) view.routing = [...(view.routing ?? []), result.routing];
    if (result.allocations.length) {
      this.compensations.push(result.allocations.map((a) => a.reservationId));
      if (held) {
        this.heldReservations.push(...result.allocations.map((a) => a.reservationId));
        if (this.heldSince === 0) this.heldSince = Date.now();
      }
    }
    for (const allocation of result.allocations) {
      const line = view.lines.find((l) => l.lineNo === allocation.lineNo)!;
      line.allocated += allocation.qty;
      line.allocations.push(allocation);
    }
    if (held && result.allocations.length) {
      upsertSearchAttributes([{ key: Warehouses, value: [...new Set(view.lines.flatMap((l) => l.allocations.map((a) => a.warehouse)))] }]);
    }
  }

  /** `cancel_remainder`: what is short is cancelled; an order with nothing left is cancelled whole. */
  private cancelRemainder(): CancelRequest | undefined {
    for (const line of this.view.lines) {
      line.cancelled += line.backordered;
      line.backordered = 0;
    }
    if (this.view.lines.every((l) => l.cancelled === l.ordered)) return { reason: 'no stock for any line; channel policy cancels the remainder', actor: 'system' };
    return undefined;
  }

  /** `backorder`: the allocated part goes to fulfillment now, the rest waits. */
  private async releaseHeldPart(short: number): Promise<void> {
    await this.activities.releaseToFulfillment({
      reservationIds: this.heldReservations,
      state: this.state(OrderStatus.backordered, { reason: `${short} units wait for stock`, routing: this.view.routing, released: true }),
    });
    this.heldReservations = [];
    this.heldSince = 0;
    if (patched(orderPatches.shipments)) await this.dispatchShipments();
  }

  /**
   * A held partial allocation expired: the units go back, and the order waits for the whole
   * again. Answers whether stock news came meanwhile (then it may reserve at once).
   */
  private async expireHeld(): Promise<boolean> {
    const { view } = this;
    await this.activities.releaseOrderReservations({
      orderId: this.order.orderId,
      key: `${this.workflowId}:expire:${this.attempt}`,
      reservationIds: this.heldReservations,
      outcome: 'expired',
      actor: 'system',
      reason: `allocation held longer than ${this.policy.reservationExpiry}`,
    });
    for (const line of view.lines) {
      line.allocations = line.allocations.filter((a) => !this.heldReservations.includes(a.reservationId));
      line.allocated = line.allocations.reduce((n, a) => n + a.qty, 0);
      line.backordered = unplaced(line);
    }
    this.heldReservations = [];
    this.heldSince = 0;
    view.timeline.push({ at: new Date().toISOString(), status: view.status, note: 'held allocation expired and was released' });
    const nudged = this.stockNudged;
    await this.record({ reason: 'held allocation expired', lines: this.lineStates() });
    return nudged;
  }

  /** The backorder deadline passed: what never came is cancelled, with notice. */
  private async cancelBackorders(): Promise<CancelRequest | undefined> {
    const { view, order, workflowId, policy } = this;
    const cancelled = view.lines.reduce((n, l) => n + unplaced(l), 0);
    for (const line of view.lines) {
      line.cancelled = line.ordered - line.allocated - line.shipped;
      line.backordered = 0;
    }
    await this.activities.raiseException({
      id: `${workflowId}:backorder-cancelled`,
      kind: 'backorder_cancelled',
      reference: order.orderId,
      workflowId,
      ownerRole: 'ops',
      message: `${cancelled} backordered units of order ${order.orderId} cancelled: no stock within ${policy.backorderDeadline}`,
      details: { lines: this.lineStates() },
    });
    if (view.lines.every((l) => l.allocated === 0 && l.shipped === 0)) return { reason: `no stock within ${policy.backorderDeadline}`, actor: 'system' };
    return undefined;
  }

  /** Released allocations not yet in a shipment: one child process per warehouse. */
  private async dispatchShipments(): Promise<void> {
    const { order, view } = this;
    const ready = view.lines.flatMap((l) => l.allocations).filter((a) => !this.dispatched.has(a.reservationId) && !this.heldReservations.includes(a.reservationId));
    const shipBy = order.promisedBy ?? new Date(Date.now() + durationMs(this.policy.shipWithin ?? '2d')).toISOString();
    for (const warehouse of [...new Set(ready.map((a) => a.warehouse))].sort()) {
      const shipmentId = shipmentIdOf(order.orderId, view.shipments.length + 1);
      const units = ready.filter((a) => a.warehouse === warehouse);
      const child = await startChild(shipment, {
        workflowId: shipmentWorkflowId(shipmentId),
        args: [{ shipmentId, orderId: order.orderId, warehouse, shipBy, lines: units.map((a) => ({ lineNo: a.lineNo, sku: a.sku, qty: a.qty, reservationId: a.reservationId })) }],
      });
      // A shipment that fails has already reported what it could; the order does not fail with it.
      this.shipmentResults.push(child.result().catch(() => undefined));
      units.forEach((a) => this.dispatched.add(a.reservationId));
      view.shipments.push({ shipmentId, warehouse, status: 'open' });
    }
  }

  /** Follows the shipments to the end; a short pick, stock news or the next look routes what is missing again. */
  private async fulfil(): Promise<OrderView> {
    const { view } = this;
    this.dropAmendments('has gone to fulfillment', 'already_released');
    await this.dispatchShipments();
    let reroute = false;
    for (;;) {
      this.applyReports();
      if (view.lines.some((l) => l.allocated < 0)) throw ApplicationFailure.nonRetryable('allocated below zero', 'internal');
      if (reroute && this.missing() > 0) {
        reroute = false;
        await this.routeAgain();
      }
      for (const line of view.lines) line.backordered = Math.max(0, unplaced(line));
      const open = view.shipments.some((x) => x.status === 'open');
      if (!open && this.missing() === 0) break;
      if (!open && Date.now() >= this.backorderDeadline) {
        for (const line of view.lines) line.cancelled += line.backordered;
        break;
      }
      await this.record({ lines: this.lineStates(), routing: view.routing });
      this.stockNudged = false;
      const waiting = this.missing() > 0;
      const woke = await condition(
        () => this.reports.length > 0 || this.cancelRequest !== undefined || (waiting && this.stockNudged),
        waiting ? Math.max(0, Math.min(durationMs(this.policy.backorderRecheck), this.backorderDeadline - Date.now())) : undefined,
      );
      if (this.cancelRequest) return this.cancel(this.cancelRequest);
      if (this.reports.some((r) => r.type === 'short') || this.stockNudged || (waiting && !woke)) reroute = true;
    }
    for (const line of view.lines) line.backordered = 0;
    const final = view.lines.every((l) => l.shipped === l.ordered) ? OrderStatus.shipped : view.lines.some((l) => l.shipped > 0) ? OrderStatus.partiallyShipped : OrderStatus.cancelled;
    if (final !== OrderStatus.shipped) await this.voidPayment({ reason: 'the order closed with units not shipped', actor: 'system' });
    await this.record({ status: final, lines: this.lineStates(), routing: view.routing, closed: true });
    moveTo(view, final);
    return view;
  }

  private missing(): number {
    return this.view.lines.reduce((n, l) => n + Math.max(0, unplaced(l)), 0);
  }

  /** Units missing after a short pick (or still backordered) are reserved elsewhere and shipped. */
  private async routeAgain(): Promise<void> {
    const { view } = this;
    const result = await this.reserve(this.needs());
    view.routing = [...(view.routing ?? []), result.routing];
    this.take({ allocations: result.allocations }, false);
    await this.activities.releaseToFulfillment({ reservationIds: result.allocations.map((a) => a.reservationId), state: this.state(view.status, { routing: view.routing }) });
    await this.dispatchShipments();
    if (this.missing() > 0 && this.captured.shortagePolicy === 'cancel_remainder') {
      for (const line of view.lines) line.cancelled += Math.max(0, unplaced(line));
    }
  }

  /** Shipments report units shipped, missing at picking, or given back. */
  private applyReports(): void {
    for (const report of this.reports.splice(0)) {
      const line = (lineNo: number) => this.view.lines.find((l) => l.lineNo === lineNo)!;
      const entry = this.view.shipments.find((x) => x.shipmentId === report.shipmentId);
      if (report.type === 'shipped') {
        for (const u of report.shipped) {
          line(u.lineNo).shipped += u.qty;
          line(u.lineNo).allocated -= u.qty;
        }
        if (entry) entry.status = 'shipped';
      } else if (report.type === 'short') {
        for (const u of report.missing) line(u.lineNo).allocated -= u.qty;
      } else {
        for (const u of report.released) line(u.lineNo).allocated -= u.qty;
        if (entry) entry.status = 'cancelled';
      }
    }
  }

  /** Compensation: open shipments stop, then every reservation of the order goes back to available, newest first. */
  private async cancel(request: CancelRequest): Promise<OrderView> {
    const { view, workflowId } = this;
    this.closing = true;
    this.dropAmendments(`is being cancelled: ${request.reason}`, 'not_amendable');
    // Open shipments say what they gave back (or shipped, if the carrier was faster).
    for (const open of view.shipments.filter((x) => x.status === 'open')) {
      await getExternalWorkflowHandle(shipmentWorkflowId(open.shipmentId)).signal(cancelShipmentSignal, request);
    }
    while (view.shipments.some((x) => x.status === 'open')) {
      await condition(() => this.reports.length > 0);
      this.applyReports();
    }
    for (const [index, reservationIds] of [...this.compensations.entries()].reverse()) {
      await this.activities.releaseOrderReservations({
        orderId: this.order.orderId,
        key: `${workflowId}:compensate:${index + 1}`,
        reservationIds,
        outcome: 'released',
        actor: request.actor,
        reason: request.reason,
      });
    }
    for (const line of view.lines) {
      line.cancelled = line.ordered - line.shipped;
      line.allocated = 0;
      line.backordered = 0;
    }
    view.cancellation = { ...request, at: new Date().toISOString() };
    // A hold still waiting (or decided but not yet acted on) ends with the order.
    if (view.hold && !this.holdTaskClosed) await this.activities.closeTask(`${workflowId}:hold`, request.actor, 'cancelled');
    const final = view.lines.some((l) => l.shipped > 0) ? OrderStatus.partiallyShipped : OrderStatus.cancelled;
    // Every shipment has answered (and captured its share): what is left of the authorization goes back.
    await this.voidPayment(request);
    // The record is written before the status moves, so whoever waited for the cancel reads it done.
    await this.record({ status: final, reason: request.reason, lines: this.lineStates(), hold: view.hold, closed: true });
    moveTo(view, final, request.reason);
    return view;
  }

  /** Releases what is left of the order's payment authorization (orders without one: nothing to do). */
  private async voidPayment(request: CancelRequest): Promise<void> {
    if (this.order.payment?.kind !== 'authorization' || !patched(orderPatches.paymentVoid)) return;
    this.view.payment = await payments.voidPayment({ orderId: this.order.orderId, reason: request.reason, actor: request.actor });
  }

  private lineStates(): OrderLineState[] {
    return this.view.lines.map(({ lineNo, allocated, backordered, cancelled, shipped }) => ({ lineNo, allocated, backordered, cancelled, shipped }));
  }

  /** The order record as it stands, for a step that writes it with its own change. */
  private state(status: OrderStateUpdate['status'], extra: Omit<OrderStateUpdate, 'orderId' | 'status' | 'lines'>): OrderStateUpdate {
    return { orderId: this.order.orderId, status, lines: this.lineStates(), ...extra };
  }

  /** Mirrors the order on its record; the status defaults to the process's own. */
  private record(update: Omit<OrderStateUpdate, 'orderId' | 'status'> & { status?: OrderStateUpdate['status'] }): Promise<void> {
    return this.activities.recordOrderState({ orderId: this.order.orderId, status: this.view.status, ...update });
  }

  private lastNote(): string | undefined {
    return this.view.timeline.at(-1)!.note;
  }
}

const refusal = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);

interface PendingAmendment {
  request: OrderAmendment;
  state: 'pending' | 'applied' | 'dropped';
  why?: string;
  code?: string;
}
