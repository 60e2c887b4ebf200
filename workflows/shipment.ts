import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { Warehouses } from '../contracts/search-attributes.js';
import type { PaymentActivities } from '../contracts/payment.js';
import type { CancelRequest, TaskActivities } from '../contracts/shared.js';
import {
  cancelShipmentSignal,
  shipmentPatches,
  shipmentReportSignal,
  ShipmentStatus,
  shipmentViewQuery,
  wmsEventUpdate,
  type ShipmentActivities,
  type ShipmentInput,
  type ShipmentReport,
  type ShipmentView,
  type WmsEvent,
} from '../contracts/shipment.js';
import { moveTo } from './progress.js';
import { localStepOptions, remoteStepOptions } from './step-options.js';

type Activities = ShipmentActivities & TaskActivities;
const remoteActivities = proxyActivities<Activities>(remoteStepOptions);
/** The gateway: retried with one key; the activity itself gives up after its attempts and asks finance. */
const payments = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const localActivities = proxyLocalActivities<Activities>(localStepOptions);

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
  const activities = patched(shipmentPatches.localActivities) ? localActivities : remoteActivities;
  return new Shipment(input, activities).run();
}

/** State in one place; handlers validate and queue WMS events, `run` acts on them in order. */
class Shipment {
  readonly view: ShipmentView;
  /** WMS events accepted and not yet acted on (at most one: the update waits for it). */
  private readonly events: WmsEvent[] = [];
  private cancelRequest?: CancelRequest;
  private readonly workflowId = workflowInfo().workflowId;
  private readonly parent = workflowInfo().parent;

  constructor(
    private readonly input: ShipmentInput,
    private readonly activities: Activities,
  ) {
    this.view = {
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
    this.listen();
  }

  private listen(): void {
    setHandler(shipmentViewQuery, () => this.view);
    setHandler(cancelShipmentSignal, (request) => {
      this.cancelRequest ??= request;
    });
    setHandler(
      wmsEventUpdate,
      async (event) => {
        // A repeat of the event that made the current state changes nothing.
        if (this.view.status === transitions[event.type].to && !this.events.length) return this.view;
        this.events.push(event);
        await condition(() => this.events.length === 0);
        return this.view;
      },
      { validator: (event) => this.checkEvent(event) },
    );
  }

  private checkEvent(event: WmsEvent): void {
    const { view } = this;
    const type: string = event.type;
    const rule = (transitions as Record<string, (typeof transitions)[WmsEvent['type']] | undefined>)[type];
    if (!rule) throw refusal(`unknown event ${type}`, 'unknown_event');
    if (view.status === ShipmentStatus.shipped || view.status === ShipmentStatus.cancelled) throw refusal(`shipment ${this.input.shipmentId} is ${view.status}`, 'shipment_finished');
    if (this.events.length) throw refusal(`shipment ${this.input.shipmentId} is processing an event`, 'busy');
    if (view.status === rule.to) return;
    if (!rule.from.includes(view.status)) throw refusal(`${event.type} cannot follow ${view.status}`, 'out_of_order');
    if (event.type !== 'short_pick') return;
    for (const f of event.found) {
      const line = view.lines.find((l) => l.lineNo === f.lineNo && l.sku === f.sku);
      if (!line) throw refusal(`line ${f.lineNo} ${f.sku} is not in this shipment`, 'unknown_line');
      if (!Number.isInteger(f.qty) || f.qty < 0 || f.qty > line.qty) throw refusal(`found ${f.qty} of line ${f.lineNo}: must be 0 to ${line.qty}`, 'bad_quantity');
    }
  }

  async run(): Promise<ShipmentView> {
    const { view, input } = this;
    upsertSearchAttributes([{ key: Warehouses, value: [input.warehouse] }]);
    await this.activities.recordShipment(input);
    const shipByMs = input.shipBy ? Date.parse(input.shipBy) : undefined;
    while (view.status !== ShipmentStatus.shipped && view.status !== ShipmentStatus.cancelled) {
      const waitMs = shipByMs !== undefined && !view.late ? Math.max(0, shipByMs - Date.now()) : undefined;
      const ready = () => this.events.length > 0 || this.cancelRequest !== undefined;
      const woke = waitMs === undefined ? (await condition(ready), true) : await condition(ready, waitMs);
      if (!woke) {
        if (!view.late && shipByMs !== undefined && Date.now() >= shipByMs) await this.raiseLate();
        continue;
      }
      if (this.cancelRequest && this.events.length === 0) {
        await this.cancel(this.cancelRequest);
        break;
      }
      await this.handle(this.events[0]!);
      this.events.shift();
    }
    // The WMS event that ended the shipment hears back before the process completes.
    await condition(allHandlersFinished);
    return view;
  }

  private async handle(event: WmsEvent): Promise<void> {
    if (event.type === 'short_pick') return this.shortPick(event.found);
    if (event.type === 'shipped') return this.ship(event);
    const status = transitions[event.type].to;
    await this.activities.recordShipmentStatus({ shipmentId: this.input.shipmentId, status });
    moveTo(this.view, status);
  }

  private async shortPick(found: Extract<WmsEvent, { type: 'short_pick' }>['found']): Promise<void> {
    const { view, input } = this;
    const missing = await this.activities.recordShortPick({ shipmentId: input.shipmentId, found });
    view.missing = missing;
    for (const line of view.lines) line.picked = line.qty - (missing.find((m) => m.lineNo === line.lineNo && m.sku === line.sku)?.qty ?? 0);
    await this.activities.recordShipmentStatus({ shipmentId: input.shipmentId, status: ShipmentStatus.picked });
    moveTo(view, ShipmentStatus.picked, `short pick: ${missing.map((m) => `${m.qty} × ${m.sku}`).join(', ') || 'nothing missing'}`);
    if (missing.length) await this.report({ shipmentId: input.shipmentId, type: 'short', missing });
    if (view.lines.every((l) => l.picked === 0)) {
      // Nothing was found: there is nothing to pack.
      await this.activities.recordShipmentStatus({ shipmentId: input.shipmentId, status: ShipmentStatus.cancelled });
      moveTo(view, ShipmentStatus.cancelled, 'nothing found at picking');
      await this.report({ shipmentId: input.shipmentId, type: 'cancelled', released: [] });
    }
  }

  private async ship(event: Extract<WmsEvent, { type: 'shipped' }>): Promise<void> {
    const { view, input } = this;
    const confirmed = await this.activities.confirmShipment({
      shipmentId: input.shipmentId,
      orderId: input.orderId,
      carrier: event.carrier,
      tracking: event.tracking,
      freightCostMinor: event.freightCostMinor,
    });
    Object.assign(view, { carrier: event.carrier, tracking: event.tracking, journalEntryId: confirmed.journalEntryId });
    for (const line of view.lines) line.shipped = confirmed.shipped.find((s) => s.lineNo === line.lineNo && s.sku === line.sku)?.qty ?? 0;
    // The money follows the goods: the shipment's share of the authorization; a failure leaves the postings standing.
    if (patched(shipmentPatches.paymentCapture)) {
      view.payment = await payments.capturePayment({ shipmentId: input.shipmentId, orderId: input.orderId });
    }
    moveTo(view, ShipmentStatus.shipped, `${event.carrier} ${event.tracking}`);
    await this.report({ shipmentId: input.shipmentId, type: 'shipped', shipped: confirmed.shipped.filter((s) => s.qty > 0) });
  }

  private async cancel(request: CancelRequest): Promise<void> {
    const { input } = this;
    const released = await this.activities.releaseShipment({ shipmentId: input.shipmentId, reason: request.reason, actor: request.actor });
    await this.activities.recordShipmentStatus({ shipmentId: input.shipmentId, status: ShipmentStatus.cancelled });
    moveTo(this.view, ShipmentStatus.cancelled, request.reason);
    await this.report({ shipmentId: input.shipmentId, type: 'cancelled', released });
  }

  private async raiseLate(): Promise<void> {
    const { view, input, workflowId } = this;
    view.late = true;
    await this.activities.raiseException({
      id: `${workflowId}:late`,
      kind: 'late_shipment',
      reference: input.shipmentId,
      workflowId,
      ownerRole: 'ops',
      message: `shipment ${input.shipmentId} from ${input.warehouse} missed its ship-by ${input.shipBy} (${view.status})`,
    });
    await this.activities.openTask({
      id: `${workflowId}:late`,
      kind: 'late_shipment',
      reference: input.shipmentId,
      workflowId,
      role: 'ops',
      title: `Chase late shipment ${input.shipmentId} at ${input.warehouse}`,
      reason: `ship-by ${input.shipBy} passed while ${view.status}`,
    });
  }

  /**
   * Tells the order. A final report is the shipment's last act: the order may finish on
   * it and end this child, so a late shipment's task and exception are closed first.
   */
  private async report(message: ShipmentReport): Promise<void> {
    if (message.type !== 'short' && this.view.late) {
      await this.activities.closeTask(`${this.workflowId}:late`, 'system', this.view.status);
      await this.activities.resolveException(`${this.workflowId}:late`);
    }
    if (this.parent) await getExternalWorkflowHandle(this.parent.workflowId).signal(shipmentReportSignal, message);
  }
}

const refusal = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);
