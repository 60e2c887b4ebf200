import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, ParentClosePolicy, proxyActivities, setHandler, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { needsApproval } from '../domain/refund.js';
import { decideDisposition } from '../domain/return-rules.js';
import { orderRelease } from './order-release.js';
import type { InspectedUnit, ParcelLine, ReturnInput, ReturnActivities } from '../contracts/return.js';
import { Channel, CustomerId, ProcessStatus, SkuCount, ValueMinor, Warehouses } from '../contracts/search-attributes.js';
import { type InspectionReport, inspectionUpdate, type ParcelReceipt, parcelReceivedUpdate, refundApprovalUpdate, type RefundDecision, type ReturnProcessPolicy, ReturnStatus, type ReturnView, returnViewQuery, submitReturnUpdate } from '../contracts/return.js';
import type { TaskActivities } from '../contracts/shared.js';
import { orderWorkflowId } from '../contracts/order.js';

const activities = proxyActivities<ReturnActivities & TaskActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
});
/** The gateway is retried with the same idempotency key until it answers; a refusal does not retry. */
const gateway = proxyActivities<ReturnActivities & TaskActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const fail = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);

/** One return (RMA) from authorization to refund or exchange: `rma-<rmaId>`, started by `POST /returns`. */
export async function returnProcess(input: ReturnInput, policy: ReturnProcessPolicy): Promise<ReturnView> {
  const workflowId = workflowInfo().workflowId;
  const view: ReturnView = {
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

  // What has been accepted (processed or queued), for the validators: per line, and per line and warehouse.
  const acceptedReceived = new Map<number, number>();
  const acceptedAt = new Map<string, { received: number; inspected: number }>();
  const at = (lineNo: number, warehouse: string) => {
    const key = `${lineNo}|${warehouse}`;
    if (!acceptedAt.has(key)) acceptedAt.set(key, { received: 0, inspected: 0 });
    return acceptedAt.get(key)!;
  };
  const parcelsSeen = new Map<string, string>();
  const inspectionsSeen = new Map<string, string>();
  const parcelQueue: { receipt: ParcelReceipt; lines: ParcelLine[] }[] = [];
  const inspectionQueue: { report: InspectionReport; units: InspectedUnit[] }[] = [];
  let decision: RefundDecision | undefined;
  let unitSeq = 0;

  const moveTo = (status: ReturnStatus, note?: string) => {
    view.status = status;
    view.timeline.push({ at: new Date().toISOString(), status, note });
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
  };
  const record = (extra: { closed?: boolean; reason?: string; approval?: unknown; replacementOrderId?: string } = {}) =>
    activities.recordReturnState({ rmaId: input.rmaId, status: view.status, reason: extra.reason ?? view.timeline.at(-1)!.note, ...extra });
  /** The process ends only after every update it accepted has answered (else the caller would see it fail). */
  const finish = async () => {
    await condition(allHandlersFinished);
    return view;
  };
  const receiving = () => view.status === ReturnStatus.authorized || view.status === ReturnStatus.receiving;

  /** Spreads a parcel's units over the return's lines of each sku, in line order; a problem when they do not fit. */
  const resolveParcel = (receipt: ParcelReceipt): ParcelLine[] | string => {
    const lines: ParcelLine[] = [];
    for (const item of receipt.lines) {
      let left = item.qty;
      for (const line of view.lines.filter((l) => l.sku === item.sku)) {
        const room = line.authorized - (acceptedReceived.get(line.lineNo) ?? 0) - lines.filter((p) => p.lineNo === line.lineNo).reduce((n, p) => n + p.qty, 0);
        const qty = Math.min(left, room);
        if (qty > 0) {
          lines.push({ lineNo: line.lineNo, sku: line.sku, qty });
          left -= qty;
        }
      }
      if (!view.lines.some((l) => l.sku === item.sku)) return `${item.sku} is not on return ${input.rmaId}`;
      if (left > 0) return `${item.qty} × ${item.sku} is more than the ${item.qty - left} still expected`;
    }
    return lines;
  };

  /** Spreads inspected units over lines and warehouses holding uninspected units, each with its disposition. */
  const resolveInspection = (report: InspectionReport): InspectedUnit[] | string => {
    const units: InspectedUnit[] = [];
    let seq = unitSeq;
    for (const item of report.lines) {
      if (!view.lines.some((l) => l.sku === item.sku)) return `${item.sku} is not on return ${input.rmaId}`;
      const decided = decideDisposition(
        { condition: item.condition, ...(item.disposition ? { override: { disposition: item.disposition, reason: item.overrideReason ?? '' } } : {}) },
        { hasSupplier: input.returnableToSupplier.includes(item.sku) },
      );
      if ('problem' in decided) return `${item.sku}: ${decided.problem}`;
      let left = item.qty;
      const places = [...acceptedAt.entries()]
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
  };

  setHandler(returnViewQuery, () => view);
  setHandler(submitReturnUpdate, () => view);
  setHandler(
    parcelReceivedUpdate,
    async (receipt) => {
      // A repeat of a parcel already taken changes nothing.
      if (parcelsSeen.has(receipt.parcelId)) {
        await condition(() => !parcelQueue.some((p) => p.receipt.parcelId === receipt.parcelId));
        return view;
      }
      const lines = resolveParcel(receipt) as ParcelLine[];
      parcelsSeen.set(receipt.parcelId, parcelContent(receipt));
      for (const line of lines) {
        acceptedReceived.set(line.lineNo, (acceptedReceived.get(line.lineNo) ?? 0) + line.qty);
        at(line.lineNo, receipt.warehouse).received += line.qty;
      }
      parcelQueue.push({ receipt, lines });
      await condition(() => !parcelQueue.some((p) => p.receipt.parcelId === receipt.parcelId));
      return view;
    },
    {
      validator: (receipt) => {
        const seen = parcelsSeen.get(receipt.parcelId);
        if (seen !== undefined) {
          if (seen !== parcelContent(receipt)) throw fail(`parcel ${receipt.parcelId} was already received with other content`, 'parcel_conflict');
          return;
        }
        if (!receiving()) throw fail(`return ${input.rmaId} is ${view.status}${view.receiptWindowClosed ? ' (its receipt window closed)' : ''}, not waiting for parcels`, 'not_receiving');
        const resolved = resolveParcel(receipt);
        if (typeof resolved === 'string') throw fail(resolved, 'unexpected_units');
      },
    },
  );
  setHandler(
    inspectionUpdate,
    async (report) => {
      if (inspectionsSeen.has(report.inspectionId)) {
        await condition(() => !inspectionQueue.some((i) => i.report.inspectionId === report.inspectionId));
        return view;
      }
      const units = resolveInspection(report) as InspectedUnit[];
      unitSeq += units.length;
      inspectionsSeen.set(report.inspectionId, inspectionContent(report));
      for (const unit of units) at(unit.lineNo, unit.warehouse).inspected += unit.qty;
      inspectionQueue.push({ report, units });
      await condition(() => !inspectionQueue.some((i) => i.report.inspectionId === report.inspectionId));
      return view;
    },
    {
      validator: (report) => {
        const seen = inspectionsSeen.get(report.inspectionId);
        if (seen !== undefined) {
          if (seen !== inspectionContent(report)) throw fail(`inspection ${report.inspectionId} was already recorded with other content`, 'inspection_conflict');
          return;
        }
        if (!receiving() && view.status !== ReturnStatus.inspecting) throw fail(`return ${input.rmaId} is ${view.status}, not waiting for an inspection`, 'not_inspecting');
        const resolved = resolveInspection(report);
        if (typeof resolved === 'string') throw fail(resolved, 'not_inspectable');
      },
    },
  );
  setHandler(
    refundApprovalUpdate,
    async (request) => {
      decision = request;
      await condition(() => view.status !== ReturnStatus.awaitingRefundApproval);
      return view;
    },
    {
      validator: (request) => {
        if (view.status !== ReturnStatus.awaitingRefundApproval || decision) {
          throw fail(`return ${input.rmaId} is ${view.status}, not waiting for a refund approval`, 'not_awaiting_approval');
        }
        if (!request.reason.trim()) throw fail('a decision needs a reason', 'reason_required');
      },
    },
  );

  // 1. Parcels and inspections until every expected unit is in and inspected, or the window closes.
  // The expiry the authorization gave the customer (and the record shows), not the process's own start.
  const windowEnds = Date.parse(input.expiresAt);
  for (;;) {
    while (parcelQueue.length) {
      const { receipt, lines } = parcelQueue[0]!;
      await activities.receiveReturnParcel({ rmaId: input.rmaId, parcelId: receipt.parcelId, warehouse: receipt.warehouse, actor: receipt.actor, lines });
      for (const line of lines) view.lines.find((l) => l.lineNo === line.lineNo)!.received += line.qty;
      view.parcels.push({ parcelId: receipt.parcelId, warehouse: receipt.warehouse, actor: receipt.actor, at: new Date().toISOString(), lines });
      upsertSearchAttributes([{ key: Warehouses, value: [...new Set(view.parcels.map((p) => p.warehouse))].sort() }]);
      const missing = view.lines.reduce((n, l) => n + l.authorized - l.received, 0);
      moveTo(
        missing === 0 || view.receiptWindowClosed ? ReturnStatus.inspecting : ReturnStatus.receiving,
        `parcel ${receipt.parcelId} at ${receipt.warehouse}: ${lines.map((l) => `${l.qty} × ${l.sku}`).join(', ')}${missing ? `; ${missing} still expected` : ''}`,
      );
      await record();
      parcelQueue.shift();
    }
    while (inspectionQueue.length) {
      const { report, units } = inspectionQueue[0]!;
      await activities.inspectReturnedUnits({ rmaId: input.rmaId, inspectionId: report.inspectionId, actor: report.actor, units });
      for (const unit of units) {
        const line = view.lines.find((l) => l.lineNo === unit.lineNo)!;
        line.inspected += unit.qty;
        const field = ({ restock: 'restocked', refurbish: 'refurbished', damaged: 'damaged', vendor_return: 'vendorReturned' } as const)[unit.disposition];
        line[field] += unit.qty;
      }
      view.inspections.push({ inspectionId: report.inspectionId, actor: report.actor, at: new Date().toISOString(), units });
      view.timeline.push({ at: new Date().toISOString(), status: view.status, note: `inspection ${report.inspectionId}: ${units.map((u) => `${u.qty} × ${u.sku} ${u.disposition}`).join(', ')}` });
      inspectionQueue.shift();
    }
    const allInspected = view.lines.every((l) => l.inspected === l.received);
    const allReceived = view.lines.every((l) => l.received === l.authorized);
    if (allInspected && (allReceived || view.receiptWindowClosed)) break;
    const ready = () => parcelQueue.length > 0 || inspectionQueue.length > 0;
    const woke = view.receiptWindowClosed ? (await condition(ready), true) : await condition(ready, Math.max(0, windowEnds - Date.now()));
    if (!woke) {
      view.receiptWindowClosed = true;
      const received = view.lines.reduce((n, l) => n + l.received, 0);
      if (received === 0) {
        moveTo(ReturnStatus.expired, `nothing received within ${policy.returns.receiptExpiry}`);
        await record({ closed: true });
        return finish();
      }
      const missing = view.lines.reduce((n, l) => n + l.authorized - l.received, 0);
      moveTo(ReturnStatus.inspecting, `receipt window closed: ${missing} authorized units never arrived`);
      await record();
    }
  }

  // 2. The refund (or the exchange credit), computed once from what arrived.
  const breakdown = await activities.computeReturnRefund({ rmaId: input.rmaId, policy: policy.returns });
  view.refund = { ...breakdown };
  upsertSearchAttributes([{ key: ValueMinor, value: breakdown.totalMinor }]);

  if (needsApproval(breakdown.totalMinor, policy.returns)) {
    view.approval = { limitMinor: policy.returns.refundApprovalLimitMinor };
    moveTo(ReturnStatus.awaitingRefundApproval, `${breakdown.totalMinor} above the approval limit of ${policy.returns.refundApprovalLimitMinor}`);
    await activities.openTask({
      id: `${workflowId}:refund-approval`,
      kind: 'refund_approval',
      reference: input.rmaId,
      workflowId,
      role: 'finance',
      title: `Approve ${input.resolution === 'exchange' ? 'the exchange credit' : 'the refund'} of ${breakdown.totalMinor} ${input.currency} minor units for return ${input.rmaId} (order ${input.orderId})`,
      reason: `above the refund approval limit of ${policy.returns.refundApprovalLimitMinor} (${input.reasonCode})`,
      details: { orderId: input.orderId, reasonCode: input.reasonCode, resolution: input.resolution, refund: breakdown },
    });
    await record();
    await condition(() => decision !== undefined);
    const decided = decision!;
    view.approval.decision = { ...decided, at: new Date().toISOString() };
    await activities.closeTask(`${workflowId}:refund-approval`, decided.actor, decided.decision);
    if (decided.decision === 'reject') {
      moveTo(ReturnStatus.rejected, `refund rejected by ${decided.actor}: ${decided.reason}`);
      await record({ closed: true, approval: view.approval });
      return finish();
    }
    moveTo(input.resolution === 'exchange' ? ReturnStatus.replacing : ReturnStatus.refunding, `approved by ${decided.actor}: ${decided.reason}`);
    await record({ approval: view.approval });
  }

  let cashMinor = breakdown.totalMinor;
  let appliedMinor = 0;
  if (input.resolution === 'exchange') {
    // 3a. The replacement goes through order release as a child; what it ships is paid by the credit.
    const order = await activities.replacementOrderInput({ rmaId: input.rmaId });
    const childId = orderWorkflowId(order.orderId);
    view.replacement = { orderId: order.orderId, workflowId: childId };
    if (view.status !== ReturnStatus.replacing) moveTo(ReturnStatus.replacing, `replacement order ${order.orderId}`);
    await record({ replacementOrderId: order.orderId });
    const child = await startChild(orderRelease, {
      workflowId: childId,
      args: [order, policy.order],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: ProcessStatus, value: 'received' },
        { key: Channel, value: order.channel },
        { key: CustomerId, value: order.customerId },
        { key: SkuCount, value: new Set(order.lines.map((l) => l.sku)).size },
        { key: ValueMinor, value: order.lines.reduce((n, l) => n + l.qty * l.unitPriceMinor - l.discountMinor + l.taxMinor, 0) },
      ],
    });
    const result = await child.result();
    const receivable = await activities.replacementReceivable({ orderId: order.orderId });
    view.replacement.status = result.status;
    view.replacement.receivableMinor = receivable;
    appliedMinor = Math.min(breakdown.totalMinor, receivable);
    cashMinor = breakdown.totalMinor - appliedMinor;
    if (receivable > breakdown.totalMinor) view.balanceDueMinor = receivable - breakdown.totalMinor;
  }

  // 3b. Money through the gateway (retried with one key), then the posting.
  if (cashMinor > 0) {
    if (view.status !== ReturnStatus.refunding) moveTo(ReturnStatus.refunding, `${cashMinor} to pay back`);
    await record();
    let refund: { refundId: string };
    try {
      refund = await gateway.issueRefund({ rmaId: input.rmaId, key: `${workflowId}:refund`, amountMinor: cashMinor, currency: input.currency });
    } catch (error) {
      // A refusal (not a transient failure: those are retried): nothing was paid or posted; finance takes it from here.
      const cause = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
      if (!cause?.type?.startsWith('gateway_')) throw error;
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
      moveTo(ReturnStatus.closed, `refund refused by the payment gateway: ${cause.message}; ${outcome}`);
      await record({ closed: true });
      return finish();
    }
    view.refund.gatewayRefundId = refund.refundId;
  }
  const posted = await activities.postReturnRefund({ rmaId: input.rmaId, cashMinor, appliedMinor, actor: 'system' });
  Object.assign(view.refund, { cashMinor, appliedMinor, journalEntryId: posted.journalEntryId });
  const final = input.resolution === 'exchange' && appliedMinor > 0 ? ReturnStatus.exchanged : cashMinor > 0 ? ReturnStatus.refunded : ReturnStatus.closed;
  moveTo(
    final,
    [cashMinor > 0 ? `refunded ${cashMinor}` : '', appliedMinor > 0 ? `${appliedMinor} applied to replacement ${view.replacement!.orderId}` : '', view.balanceDueMinor ? `${view.balanceDueMinor} due from the customer` : '']
      .filter(Boolean)
      .join('; ') || 'nothing to pay back',
  );
  await record({ closed: true });
  return finish();
}

const parcelContent = (r: ParcelReceipt) => JSON.stringify([r.warehouse, [...r.lines].sort((a, b) => a.sku.localeCompare(b.sku))]);
const inspectionContent = (r: InspectionReport) => JSON.stringify(r.lines);
