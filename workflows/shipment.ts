import { allHandlersFinished, ApplicationFailure, condition, getExternalWorkflowHandle, patched, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { localStepOptions } from './step-options.js';
import type { ShipmentInput, ShipmentActivities } from '../contracts/shipment.js';
import { ProcessStatus, Warehouses } from '../contracts/search-attributes.js';
import { cancelShipmentSignal, type ShipmentReport, shipmentReportSignal, ShipmentStatus, type ShipmentView, shipmentViewQuery, type WmsEvent, wmsEventUpdate } from '../contracts/shipment.js';
import type { TaskActivities } from '../contracts/shared.js';

const remoteActivities = proxyActivities<ShipmentActivities & TaskActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
});
const localActivities = proxyLocalActivities<ShipmentActivities & TaskActivities>(localStepOptions);

/** Which state each event moves a shipment to, and from which states it may come. */
const transitions: Record<WmsEvent['type'], { to: ShipmentStatus; from: ShipmentStatus[] }> = {
  picked: { to: ShipmentStatus.picked, from: [ShipmentStatus.released] },
  short_pick: { to: ShipmentStatus.picked, from: [ShipmentStatus.released] },
  packed: { to: ShipmentStatus.packed, from: [ShipmentStatus.picked] },
  shipped: { to: ShipmentStatus.shipped, from: [ShipmentStatus.packed] },
};

/** One warehouse's part of an order, from release to the carrier. A child of the order's process. */
export async function shipment(input: ShipmentInput): Promise<ShipmentView> {
  // Shipments started before local steps existed replay with their remote activities.
  const activities = patched('local-activities') ? localActivities : remoteActivities;
  const view: ShipmentView = {
    shipmentId: input.shipmentId,
    orderId: input.orderId,
    warehouse: input.warehouse,
    status: ShipmentStatus.released,
    lines: input.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.qty, shipped: 0 })),
    shipBy: input.shipBy,
    late: false,
    missing: [],
    timeline: [{ at: new Date().toISOString(), status: ShipmentStatus.released }],
  };
  const events: WmsEvent[] = [];
  let cancel: { reason: string; actor: string } | undefined;
  const parent = workflowInfo().parent;
  /**
   * Tells the order. A final report is the shipment's last act: the order may finish on
   * it and end this child, so a late shipment's task and exception are closed first.
   */
  const report = async (message: ShipmentReport) => {
    const final = message.type !== 'short';
    if (final && view.late) {
      await activities.closeTask(`${workflowInfo().workflowId}:late`, 'system', view.status);
      await activities.resolveException(`${workflowInfo().workflowId}:late`);
    }
    if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(shipmentReportSignal, message);
  };

  setHandler(shipmentViewQuery, () => view);
  setHandler(cancelShipmentSignal, (request) => {
    cancel ??= request;
  });
  setHandler(
    wmsEventUpdate,
    async (event) => {
      const target = transitions[event.type].to;
      // A repeat of the event that made the current state changes nothing.
      if (view.status === target && !events.length) return view;
      events.push(event);
      await condition(() => events.length === 0);
      return view;
    },
    {
      validator: (event) => {
        const type: string = event.type;
        const rule = (transitions as Record<string, (typeof transitions)[WmsEvent['type']] | undefined>)[type];
        if (!rule) throw ApplicationFailure.nonRetryable(`unknown event ${type}`, 'unknown_event');
        if (view.status === ShipmentStatus.shipped || view.status === ShipmentStatus.cancelled) {
          throw ApplicationFailure.nonRetryable(`shipment ${input.shipmentId} is ${view.status}`, 'shipment_finished');
        }
        if (events.length) throw ApplicationFailure.nonRetryable(`shipment ${input.shipmentId} is processing an event`, 'busy');
        if (view.status === rule.to) return;
        if (!rule.from.includes(view.status)) {
          throw ApplicationFailure.nonRetryable(`${event.type} cannot follow ${view.status}`, 'out_of_order');
        }
        if (event.type === 'short_pick') {
          for (const f of event.found) {
            const line = view.lines.find((l) => l.lineNo === f.lineNo && l.sku === f.sku);
            if (!line) throw ApplicationFailure.nonRetryable(`line ${f.lineNo} ${f.sku} is not in this shipment`, 'unknown_line');
            if (!Number.isInteger(f.qty) || f.qty < 0 || f.qty > line.qty) {
              throw ApplicationFailure.nonRetryable(`found ${f.qty} of line ${f.lineNo}: must be 0 to ${line.qty}`, 'bad_quantity');
            }
          }
        }
      },
    },
  );

  const moveTo = (status: ShipmentStatus, note?: string) => {
    view.status = status;
    view.timeline.push({ at: new Date().toISOString(), status, note });
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
  };

  upsertSearchAttributes([{ key: Warehouses, value: [input.warehouse] }]);
  await activities.recordShipment(input);

  const shipByMs = input.shipBy ? Date.parse(input.shipBy) : undefined;
  while (view.status !== ShipmentStatus.shipped && view.status !== ShipmentStatus.cancelled) {
    const waitMs = shipByMs !== undefined && !view.late ? Math.max(0, shipByMs - Date.now()) : undefined;
    const ready = () => events.length > 0 || cancel !== undefined;
    const woke = waitMs === undefined ? (await condition(ready), true) : await condition(ready, waitMs);
    if (!woke) {
      if (!view.late && shipByMs !== undefined && Date.now() >= shipByMs) {
        view.late = true;
        await activities.raiseException({
          id: `${workflowInfo().workflowId}:late`,
          kind: 'late_shipment',
          reference: input.shipmentId,
          workflowId: workflowInfo().workflowId,
          ownerRole: 'ops',
          message: `shipment ${input.shipmentId} from ${input.warehouse} missed its ship-by ${input.shipBy} (${view.status})`,
        });
        await activities.openTask({
          id: `${workflowInfo().workflowId}:late`,
          kind: 'late_shipment',
          reference: input.shipmentId,
          workflowId: workflowInfo().workflowId,
          role: 'ops',
          title: `Chase late shipment ${input.shipmentId} at ${input.warehouse}`,
          reason: `ship-by ${input.shipBy} passed while ${view.status}`,
        });
      }
      continue;
    }
    if (cancel && events.length === 0) {
      const released = await activities.releaseShipment({ shipmentId: input.shipmentId, reason: cancel.reason, actor: cancel.actor });
      await activities.recordShipmentStatus({ shipmentId: input.shipmentId, status: ShipmentStatus.cancelled });
      moveTo(ShipmentStatus.cancelled, cancel.reason);
      await report({ shipmentId: input.shipmentId, type: 'cancelled', released });
      break;
    }
    const event = events[0]!;
    if (event.type === 'short_pick') {
      const missing = await activities.recordShortPick({ shipmentId: input.shipmentId, found: event.found });
      view.missing = missing;
      for (const line of view.lines) line.picked = line.qty - (missing.find((m) => m.lineNo === line.lineNo && m.sku === line.sku)?.qty ?? 0);
      await activities.recordShipmentStatus({ shipmentId: input.shipmentId, status: ShipmentStatus.picked });
      moveTo(ShipmentStatus.picked, `short pick: ${missing.map((m) => `${m.qty} × ${m.sku}`).join(', ') || 'nothing missing'}`);
      if (missing.length) await report({ shipmentId: input.shipmentId, type: 'short', missing });
      if (view.lines.every((l) => l.picked === 0)) {
        // Nothing was found: there is nothing to pack.
        await activities.recordShipmentStatus({ shipmentId: input.shipmentId, status: ShipmentStatus.cancelled });
        moveTo(ShipmentStatus.cancelled, 'nothing found at picking');
        await report({ shipmentId: input.shipmentId, type: 'cancelled', released: [] });
      }
    } else if (event.type === 'shipped') {
      const confirmed = await activities.confirmShipment({
        shipmentId: input.shipmentId,
        orderId: input.orderId,
        carrier: event.carrier,
        tracking: event.tracking,
        freightCostMinor: event.freightCostMinor,
      });
      Object.assign(view, { carrier: event.carrier, tracking: event.tracking, journalEntryId: confirmed.journalEntryId });
      for (const line of view.lines) line.shipped = confirmed.shipped.find((s) => s.lineNo === line.lineNo && s.sku === line.sku)?.qty ?? 0;
      moveTo(ShipmentStatus.shipped, `${event.carrier} ${event.tracking}`);
      await report({ shipmentId: input.shipmentId, type: 'shipped', shipped: confirmed.shipped.filter((s) => s.qty > 0) });
    } else {
      const status = transitions[event.type].to;
      await activities.recordShipmentStatus({ shipmentId: input.shipmentId, status });
      moveTo(status);
    }
    events.shift();
  }
  // The WMS event that ended the shipment hears back before the process completes.
  await condition(allHandlersFinished);
  return view;
}
