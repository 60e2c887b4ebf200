import { allHandlersFinished, ApplicationFailure, condition, getExternalWorkflowHandle, patched, proxyActivities, proxyLocalActivities, setHandler, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { localStepOptions } from './step-options.js';
import { durationMs } from '../domain/duration.js';
import { orderTotalMinor, type OrderInput } from '../domain/order.js';
import { screenRisk } from '../domain/risk.js';
import { shipment } from './shipment.js';
import type { OrderLineState, OrderReleaseActivities } from '../contracts/order.js';
import { HoldReason, ProcessStatus, Warehouses } from '../contracts/search-attributes.js';
import { cancelShipmentSignal, shipmentIdOf, shipmentReportSignal, shipmentWorkflowId, type ShipmentReport } from '../contracts/shipment.js';
import { cancelOrderUpdate, holdDecisionUpdate, type OrderPolicy, OrderStatus, type OrderView, orderViewQuery, stockArrivedSignal, submitOrderUpdate } from '../contracts/order.js';
import type { CancelRequest, TaskActivities } from '../contracts/shared.js';

const remoteActivities = proxyActivities<OrderReleaseActivities & TaskActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
});
const localActivities = proxyLocalActivities<OrderReleaseActivities & TaskActivities>(localStepOptions);

const terminal: OrderStatus[] = [OrderStatus.rejected, OrderStatus.cancelled, OrderStatus.shipped, OrderStatus.partiallyShipped];

export async function orderRelease(order: OrderInput, policy: OrderPolicy): Promise<OrderView> {
  // Orders started before local steps existed replay with their remote activities, and end
  // without waiting for their shipments.
  const localSteps = patched('local-activities');
  const shipments: Promise<unknown>[] = [];
  const view = await releaseOrder(order, policy, localSteps ? localActivities : remoteActivities, shipments);
  // A parent that completes terminates its children: the order ends after its shipments, so
  // none is cut off before it answers the WMS event that ended it.
  if (localSteps) await Promise.all(shipments);
  // A decision or cancel that ended the order answers its caller before the process completes.
  await condition(allHandlersFinished);
  return view;
}

async function releaseOrder(
  order: OrderInput,
  policy: OrderPolicy,
  activities: typeof remoteActivities,
  /** Filled with each shipment child's completion. */
  shipments: Promise<unknown>[],
): Promise<OrderView> {
  const workflowId = workflowInfo().workflowId;
  const view: OrderView = {
    orderId: order.orderId,
    status: OrderStatus.received,
    channel: order.channel,
    customerId: order.customerId,
    valueMinor: orderTotalMinor(order),
    lines: order.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, ordered: l.qty, allocated: 0, backordered: 0, cancelled: 0, shipped: 0, allocations: [] })),
    shipments: [],
    timeline: [{ at: new Date().toISOString(), status: OrderStatus.received }],
  };
  let cancelRequest: CancelRequest | undefined;
  let stockNudged = false;
  /** Reservation ids per successful allocation, undone in reverse on cancel. */
  const compensations: number[][] = [];
  /** Reservations not yet handed to fulfillment (they can expire). */
  let heldReservations: number[] = [];
  let screened = false;
  let closing = false;
  let holdTaskClosed = false;
  const reports: ShipmentReport[] = [];
  /** Reservations already handed to a shipment. */
  const dispatched = new Set<number>();

  setHandler(orderViewQuery, () => view);
  setHandler(shipmentReportSignal, (report) => {
    reports.push(report);
  });
  setHandler(submitOrderUpdate, async () => {
    await condition(() => screened);
    return view;
  });
  setHandler(stockArrivedSignal, () => {
    stockNudged = true;
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
        if (view.status !== OrderStatus.onHold || view.hold?.decision || cancelRequest || closing) {
          throw ApplicationFailure.nonRetryable(`order ${order.orderId} is ${closing || cancelRequest ? 'being cancelled' : view.status}, not on hold`, 'not_on_hold');
        }
        if (!decision.reason.trim()) throw ApplicationFailure.nonRetryable('a decision needs a reason', 'reason_required');
      },
    },
  );
  setHandler(
    cancelOrderUpdate,
    async (request) => {
      cancelRequest = request;
      await condition(() => terminal.includes(view.status));
      return view;
    },
    {
      validator: (request) => {
        if (!request.reason.trim()) throw ApplicationFailure.nonRetryable('a cancellation needs a reason', 'reason_required');
        if (terminal.includes(view.status)) {
          throw ApplicationFailure.nonRetryable(`order ${order.orderId} is already ${view.status}`, 'not_cancellable');
        }
        if (view.lines.every((l) => l.shipped + l.cancelled >= l.ordered)) {
          throw ApplicationFailure.nonRetryable(`order ${order.orderId} has shipped`, 'already_shipped');
        }
        if (cancelRequest || closing) throw ApplicationFailure.nonRetryable(`order ${order.orderId} is being cancelled`, 'not_cancellable');
      },
    },
  );

  const lineStates = (): OrderLineState[] =>
    view.lines.map(({ lineNo, allocated, backordered, cancelled, shipped }) => ({ lineNo, allocated, backordered, cancelled, shipped }));
  const moveTo = (status: OrderStatus, note?: string) => {
    view.status = status;
    view.timeline.push({ at: new Date().toISOString(), status, note });
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
  };

  /** Compensation: every reservation of the order back to available, newest first. */
  const cancelOrder = async (request: CancelRequest): Promise<OrderView> => {
    // From here on no decision is taken: the order is closing.
    closing = true;
    // Open shipments stop first and say what they gave back (or shipped, if the carrier was faster).
    for (const open of view.shipments.filter((x) => x.status === 'open')) {
      await getExternalWorkflowHandle(shipmentWorkflowId(open.shipmentId)).signal(cancelShipmentSignal, request);
    }
    while (view.shipments.some((x) => x.status === 'open')) {
      await condition(() => reports.length > 0);
      applyReports();
    }
    for (const [index, reservationIds] of [...compensations.entries()].reverse()) {
      await activities.releaseOrderReservations({
        orderId: order.orderId,
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
    if (view.hold && !holdTaskClosed) await activities.closeTask(`${workflowId}:hold`, request.actor, 'cancelled');
    const final = view.lines.some((l) => l.shipped > 0) ? OrderStatus.partiallyShipped : OrderStatus.cancelled;
    // The record is written before the status moves, so whoever waited for the cancel reads it done.
    await activities.recordOrderState({ orderId: order.orderId, status: final, reason: request.reason, lines: lineStates(), hold: view.hold, closed: true });
    moveTo(final, request.reason);
    return view;
  };

  /** Shipments report units shipped, missing at picking, or given back. */
  const applyReports = () => {
    for (const report of reports.splice(0)) {
      const line = (lineNo: number) => view.lines.find((l) => l.lineNo === lineNo)!;
      const entry = view.shipments.find((x) => x.shipmentId === report.shipmentId);
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
  };

  /** Released allocations not yet in a shipment: one child process per warehouse. */
  const dispatchShipments = async () => {
    const ready = view.lines.flatMap((l) => l.allocations).filter((a) => !dispatched.has(a.reservationId) && !heldReservations.includes(a.reservationId));
    const shipBy = order.promisedBy ?? new Date(Date.now() + durationMs(policy.shipWithin ?? '2d')).toISOString();
    for (const warehouse of [...new Set(ready.map((a) => a.warehouse))].sort()) {
      const shipmentId = shipmentIdOf(order.orderId, view.shipments.length + 1);
      const units = ready.filter((a) => a.warehouse === warehouse);
      const child = await startChild(shipment, {
        workflowId: shipmentWorkflowId(shipmentId),
        args: [{ shipmentId, orderId: order.orderId, warehouse, shipBy, lines: units.map((a) => ({ lineNo: a.lineNo, sku: a.sku, qty: a.qty, reservationId: a.reservationId })) }],
      });
      // A shipment that fails has already reported what it could; the order does not fail with it.
      shipments.push(child.result().catch(() => undefined));
      units.forEach((a) => dispatched.add(a.reservationId));
      view.shipments.push({ shipmentId, warehouse, status: 'open' });
    }
  };

  // 1. Capture and validate.
  const captured = await activities.captureOrder(order, policy.risk.velocityWindowHours, policy.priceTolerancePct);
  if (captured.problems.length) {
    view.problems = captured.problems;
    for (const line of view.lines) line.cancelled = line.ordered;
    moveTo(OrderStatus.rejected, captured.problems.map((p) => p.detail).join('; '));
    screened = true;
    await activities.recordOrderState({ orderId: order.orderId, status: view.status, reason: view.timeline.at(-1)!.note, problems: view.problems, lines: lineStates(), closed: true });
    return view;
  }

  // 2. Risk screen; a flagged order waits for a person.
  const flags = screenRisk(order, captured.facts, policy.risk);
  if (flags.length) {
    view.hold = { flags, since: new Date().toISOString(), escalated: false };
    moveTo(OrderStatus.onHold, flags.map((f) => f.rule).join(', '));
    upsertSearchAttributes([{ key: HoldReason, value: flags.map((f) => f.rule).join(',') }]);
    await activities.openTask({
      id: `${workflowId}:hold`,
      kind: 'order_hold',
      reference: order.orderId,
      workflowId,
      role: 'ops',
      title: `Review order ${order.orderId} (${view.valueMinor} ${order.currency} minor units, customer ${order.customerId})`,
      reason: flags.map((f) => f.detail).join('; '),
      details: { flags, channel: order.channel, customerId: order.customerId, valueMinor: view.valueMinor },
    });
    await activities.recordOrderState({ orderId: order.orderId, status: view.status, reason: view.timeline.at(-1)!.note, hold: view.hold });
    screened = true;

    const decided = () => view.hold!.decision !== undefined || cancelRequest !== undefined;
    const holdStarted = Date.now();
    if (!(await condition(decided, policy.holdEscalateAfter))) {
      view.hold.escalated = true;
      await activities.escalateTask(`${workflowId}:hold`);
      await activities.raiseException({
        id: `${workflowId}:hold-escalated`,
        kind: 'hold_escalated',
        reference: order.orderId,
        workflowId,
        ownerRole: 'ops',
        message: `order ${order.orderId} has waited on hold since ${view.hold.since} without a decision`,
        details: { flags },
      });
      const left = Math.max(0, holdStarted + durationMs(policy.holdAutoCancelAfter) - Date.now());
      if (!(await condition(decided, left))) {
        return cancelOrder({ reason: `hold not decided within ${policy.holdAutoCancelAfter}: cancelled automatically`, actor: 'system' });
      }
    }
    if (view.hold.escalated) await activities.resolveException(`${workflowId}:hold-escalated`);
    if (cancelRequest) return cancelOrder(cancelRequest);
    const decision = view.hold.decision!;
    await activities.closeTask(`${workflowId}:hold`, decision.actor, decision.decision);
    holdTaskClosed = true;
    if (decision.decision === 'reject') {
      for (const line of view.lines) line.cancelled = line.ordered;
      await activities.recordOrderState({ orderId: order.orderId, status: OrderStatus.rejected, reason: decision.reason, hold: view.hold, lines: lineStates(), closed: true });
      moveTo(OrderStatus.rejected, `hold rejected by ${decision.actor}: ${decision.reason}`);
      return view;
    }
    await activities.recordOrderState({ orderId: order.orderId, status: OrderStatus.allocating, reason: `hold approved: ${decision.reason}`, hold: view.hold });
  }
  screened = true;
  if (cancelRequest) return cancelOrder(cancelRequest);

  // 3. Route and reserve; short lines follow the channel's shortage policy.
  moveTo(OrderStatus.allocating, view.hold ? `hold approved by ${view.hold.decision!.actor}` : undefined);
  const backorderDeadline = Date.now() + durationMs(policy.backorderDeadline);
  const releaseWhole = captured.shortagePolicy === 'wait';
  let heldSince = 0;
  let attempt = 0;
  /** After a held allocation expired, others get a turn: no new reservation until stock news or the next look. */
  let allocateNow = true;
  for (;;) {
    const needs = view.lines
      .map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.ordered - l.allocated - l.cancelled - l.shipped }))
      .filter((l) => l.qty > 0);
    if (needs.length === 0) break;

    const result = allocateNow
      ? await activities.allocateOrder({
          orderId: order.orderId,
          attempt: ++attempt,
          channel: order.channel,
          shipTo: order.shipTo,
          promisedBy: order.promisedBy,
          lines: needs,
          allowPartial: true,
          expiresAt: new Date(Date.now() + durationMs(policy.reservationExpiry)).toISOString(),
          actor: 'system',
        })
      : { allocations: [], routing: undefined };
    allocateNow = true;
    if (result.routing) view.routing = [...(view.routing ?? []), result.routing];
    if (result.allocations.length) {
      compensations.push(result.allocations.map((a) => a.reservationId));
      heldReservations.push(...result.allocations.map((a) => a.reservationId));
      if (heldSince === 0) heldSince = Date.now();
    }
    for (const allocation of result.allocations) {
      const line = view.lines.find((l) => l.lineNo === allocation.lineNo)!;
      line.allocated += allocation.qty;
      line.allocations.push(allocation);
    }
    if (result.allocations.length) {
      upsertSearchAttributes([{ key: Warehouses, value: [...new Set(view.lines.flatMap((l) => l.allocations.map((a) => a.warehouse)))] }]);
    }
    if (cancelRequest) return cancelOrder(cancelRequest);
    for (const line of view.lines) line.backordered = line.ordered - line.allocated - line.cancelled - line.shipped;
    const short = view.lines.reduce((n, l) => n + l.backordered, 0);
    if (short === 0) break;

    if (captured.shortagePolicy === 'cancel_remainder') {
      for (const line of view.lines) {
        line.cancelled += line.backordered;
        line.backordered = 0;
      }
      if (view.lines.every((l) => l.cancelled === l.ordered)) {
        return cancelOrder({ reason: 'no stock for any line; channel policy cancels the remainder', actor: 'system' });
      }
      break;
    }

    // Backorder: the allocated part goes to fulfillment now; `wait`: it is held until the order is whole.
    if (!releaseWhole && heldReservations.length) {
      await activities.releaseToFulfillment({
        reservationIds: heldReservations,
        state: { orderId: order.orderId, status: OrderStatus.backordered, reason: `${short} units wait for stock`, lines: lineStates(), routing: view.routing, released: true },
      });
      heldReservations = [];
      heldSince = 0;
      if (patched('shipments')) await dispatchShipments();
    }
    if (view.status !== OrderStatus.backordered) {
      moveTo(OrderStatus.backordered, `${short} units wait for stock`);
      await activities.recordOrderState({ orderId: order.orderId, status: view.status, reason: view.timeline.at(-1)!.note, lines: lineStates(), routing: view.routing });
    }

    const heldUntil = heldSince ? heldSince + durationMs(policy.reservationExpiry) : Infinity;
    const wakeAt = Math.min(Date.now() + durationMs(policy.backorderRecheck), backorderDeadline, heldUntil);
    stockNudged = false;
    await condition(() => stockNudged || cancelRequest !== undefined, Math.max(0, wakeAt - Date.now()));
    if (cancelRequest) return cancelOrder(cancelRequest);

    if (Date.now() >= heldUntil) {
      // A held partial allocation expired: give the units back and wait for the whole order again.
      await activities.releaseOrderReservations({
        orderId: order.orderId,
        key: `${workflowId}:expire:${attempt}`,
        reservationIds: heldReservations,
        outcome: 'expired',
        actor: 'system',
        reason: `allocation held longer than ${policy.reservationExpiry}`,
      });
      for (const line of view.lines) {
        line.allocations = line.allocations.filter((a) => !heldReservations.includes(a.reservationId));
        line.allocated = line.allocations.reduce((n, a) => n + a.qty, 0);
        line.backordered = line.ordered - line.allocated - line.cancelled - line.shipped;
      }
      heldReservations = [];
      heldSince = 0;
      view.timeline.push({ at: new Date().toISOString(), status: view.status, note: 'held allocation expired and was released' });
      allocateNow = stockNudged;
      await activities.recordOrderState({ orderId: order.orderId, status: view.status, reason: 'held allocation expired', lines: lineStates() });
    }
    if (Date.now() >= backorderDeadline) {
      const cancelled = view.lines.reduce((n, l) => n + (l.ordered - l.allocated - l.cancelled - l.shipped), 0);
      for (const line of view.lines) {
        line.cancelled = line.ordered - line.allocated - line.shipped;
        line.backordered = 0;
      }
      await activities.raiseException({
        id: `${workflowId}:backorder-cancelled`,
        kind: 'backorder_cancelled',
        reference: order.orderId,
        workflowId,
        ownerRole: 'ops',
        message: `${cancelled} backordered units of order ${order.orderId} cancelled: no stock within ${policy.backorderDeadline}`,
        details: { lines: lineStates() },
      });
      if (view.lines.every((l) => l.allocated === 0 && l.shipped === 0)) {
        return cancelOrder({ reason: `no stock within ${policy.backorderDeadline}`, actor: 'system' });
      }
      break;
    }
  }

  // 4. Release to fulfillment.
  await activities.releaseToFulfillment({
    reservationIds: heldReservations,
    state: { orderId: order.orderId, status: OrderStatus.released, lines: lineStates(), routing: view.routing, released: true },
  });
  moveTo(OrderStatus.released);
  heldReservations = [];

  if (!patched('shipments')) {
    // Orders released before shipments existed wait, cancellable, as they always did.
    await condition(() => cancelRequest !== undefined);
    return cancelOrder(cancelRequest!);
  }

  // 5. Fulfillment: shipments report back; units missing at picking are routed again.
  await dispatchShipments();
  let reroute = false;
  for (;;) {
    applyReports();
    const missing = () => view.lines.reduce((n, l) => n + Math.max(0, l.ordered - l.allocated - l.cancelled - l.shipped), 0);
    if (view.lines.some((l) => l.allocated < 0)) throw ApplicationFailure.nonRetryable('allocated below zero', 'internal');
    if (reroute && missing() > 0) {
      reroute = false;
      const result = await activities.allocateOrder({
        orderId: order.orderId,
        attempt: ++attempt,
        channel: order.channel,
        shipTo: order.shipTo,
        promisedBy: order.promisedBy,
        lines: view.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.ordered - l.allocated - l.cancelled - l.shipped })).filter((l) => l.qty > 0),
        allowPartial: true,
        actor: 'system',
      });
      view.routing = [...(view.routing ?? []), result.routing];
      if (result.allocations.length) compensations.push(result.allocations.map((a) => a.reservationId));
      for (const allocation of result.allocations) {
        const line = view.lines.find((l) => l.lineNo === allocation.lineNo)!;
        line.allocated += allocation.qty;
        line.allocations.push(allocation);
      }
      await activities.releaseToFulfillment({ reservationIds: result.allocations.map((a) => a.reservationId), state: { orderId: order.orderId, status: view.status, lines: lineStates(), routing: view.routing } });
      await dispatchShipments();
      if (missing() > 0 && captured.shortagePolicy === 'cancel_remainder') {
        for (const line of view.lines) line.cancelled += Math.max(0, line.ordered - line.allocated - line.cancelled - line.shipped);
      }
    }
    for (const line of view.lines) line.backordered = Math.max(0, line.ordered - line.allocated - line.cancelled - line.shipped);
    const open = view.shipments.some((x) => x.status === 'open');
    if (!open && missing() === 0) break;
    if (!open && Date.now() >= backorderDeadline) {
      for (const line of view.lines) line.cancelled += line.backordered;
      break;
    }
    await activities.recordOrderState({ orderId: order.orderId, status: view.status, lines: lineStates(), routing: view.routing });
    stockNudged = false;
    const waiting = missing() > 0;
    const woke = await condition(
      () => reports.length > 0 || cancelRequest !== undefined || (waiting && stockNudged),
      waiting ? Math.max(0, Math.min(durationMs(policy.backorderRecheck), backorderDeadline - Date.now())) : undefined,
    );
    if (cancelRequest) return cancelOrder(cancelRequest);
    if (reports.some((r) => r.type === 'short') || stockNudged || (waiting && !woke)) reroute = true;
  }
  for (const line of view.lines) line.backordered = 0;
  const final = view.lines.every((l) => l.shipped === l.ordered) ? OrderStatus.shipped : view.lines.some((l) => l.shipped > 0) ? OrderStatus.partiallyShipped : OrderStatus.cancelled;
  await activities.recordOrderState({ orderId: order.orderId, status: final, lines: lineStates(), routing: view.routing, closed: true });
  moveTo(final);
  return view;
}
