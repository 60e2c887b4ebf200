import { condition, continueAsNew, proxyLocalActivities, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  channelDeliverySignal,
  channelOrderViewQuery,
  DeliveryOutcome,
  type ChannelDeliveryNotice,
  type ChannelOrderActivities,
  type ChannelOrderInput,
  type ChannelOrderRecord,
  type ChannelOrderView,
  type ProcessAnswer,
} from '../contracts/channel-order.js';
import type { OrderAmendment } from '../contracts/order.js';
import { Channel } from '../contracts/search-attributes.js';
import { changesBetween, orderInputOf, supersedes, type ChannelOrderSnapshot } from '../domain/channel-orders.js';
import { localStepOptions } from './step-options.js';

/** Database steps run locally; messaging the order's process waits for it, so it is a remote step. */
const records = proxyLocalActivities<ChannelOrderActivities>(localStepOptions);
const orders = proxyActivities<ChannelOrderActivities>({ startToCloseTimeout: '2 minutes', retry: { maximumInterval: '1 minute' } });

/** Deliveries handled per run before it continues as new with its record. */
const DELIVERIES_PER_RUN = 200;

/** Statuses of an order a platform's cancellation comes too late for: a person must see to it. */
const pastCancelling = new Set(['shipped', 'partially_shipped']);

/**
 * One storefront order's deliveries, in order: the newest state the platform told wins
 * (an update that arrives before its create, twice, or out of order converges on it), and
 * each delivery's outcome is written once.
 */
export async function channelOrderIntake(input: ChannelOrderInput): Promise<ChannelOrderView> {
  const intake = new ChannelOrderIntake(input);
  return intake.run();
}

class ChannelOrderIntake {
  private readonly inbox: ChannelDeliveryNotice[] = [];
  private readonly seen = new Set<string>();
  private record: ChannelOrderRecord = { orderStarted: false, cancelled: false, latest: null, applied: null };
  readonly view: ChannelOrderView;

  constructor(private readonly input: ChannelOrderInput) {
    this.view = {
      channel: input.channel,
      platformOrderId: input.platformOrderId,
      orderId: input.orderId,
      orderStarted: false,
      cancelled: false,
      latestVersion: null,
      appliedVersion: null,
      handled: [],
    };
    setHandler(channelDeliverySignal, (notice) => {
      // A delivery handed over again (the route crashed before it noted the hand-over) is decided once.
      if (this.seen.has(notice.deliveryId)) return;
      this.seen.add(notice.deliveryId);
      this.inbox.push(notice);
    });
    setHandler(channelOrderViewQuery, () => this.view);
  }

  async run(): Promise<ChannelOrderView> {
    const { channel, platformOrderId } = this.input;
    upsertSearchAttributes([{ key: Channel, value: channel }]);
    this.record = await records.loadChannelOrder({ channel, platformOrderId });
    this.show();
    for (let handled = 0; ; handled++) {
      // Between deliveries only, so nothing in the inbox is left behind; the next run reads the record.
      if ((handled >= DELIVERIES_PER_RUN || workflowInfo().continueAsNewSuggested) && this.inbox.length === 0) {
        await continueAsNew<typeof channelOrderIntake>(this.input);
      }
      if (!(await condition(() => this.inbox.length > 0, this.input.idleMs)) && this.inbox.length === 0) break;
      await this.handle(this.inbox.shift()!);
      this.show();
    }
    return this.view;
  }

  /** What one delivery means for the order, done and written. */
  private async handle(notice: ChannelDeliveryNotice): Promise<void> {
    const { snapshot } = notice;
    if (!supersedes(snapshot, this.record.latest)) {
      return this.settle(notice, DeliveryOutcome.superseded, { newerVersion: this.record.latest?.version, version: snapshot.version });
    }
    this.record.latest = snapshot;
    if (!this.record.orderStarted) return this.firstOrder(notice, snapshot);
    if (snapshot.state === 'cancelled') return this.cancelOrder(notice, snapshot, {});
    return this.changeOrder(notice, snapshot);
  }

  /** No order yet: a placed order starts its release (and a cancelled one is then cancelled, as it would have been in order). */
  private async firstOrder(notice: ChannelDeliveryNotice, snapshot: ChannelOrderSnapshot): Promise<void> {
    const { orderId, channel, orderPolicy } = this.input;
    if (snapshot.state === 'not_placed') {
      return this.settle(notice, DeliveryOutcome.notPlaced, { platformStatus: snapshot.platformStatus });
    }
    const started = await orders.startChannelOrder({ orderId, order: orderInputOf(snapshot, orderId, channel), policy: orderPolicy, channel, platformOrderId: this.input.platformOrderId, snapshot });
    this.record.orderStarted = true;
    this.record.applied = snapshot;
    const created = { status: started.status, ...(started.problems.length ? { problems: started.problems } : {}), coordinates: snapshot.coordinates };
    // A rejected order is closed already: a cancellation that came with it changes nothing.
    if (snapshot.state === 'cancelled' && started.status !== 'rejected') return this.cancelOrder(notice, snapshot, { created });
    return this.settle(notice, started.status === 'rejected' ? DeliveryOutcome.orderRejected : DeliveryOutcome.orderCreated, created);
  }

  private async cancelOrder(notice: ChannelDeliveryNotice, snapshot: ChannelOrderSnapshot, detail: Record<string, unknown>): Promise<void> {
    if (this.record.cancelled) return this.settle(notice, DeliveryOutcome.noChange, { ...detail, already: 'cancelled' });
    const { orderId, platform } = this.input;
    const reason = `cancelled on ${platform}${snapshot.cancelReason ? ` (${snapshot.cancelReason})` : ''}, ${snapshot.reference}`;
    const answer = await orders.cancelChannelOrder({ orderId, reason, actor: `channel:${this.input.channel}` });
    if (answer.accepted) {
      this.record.cancelled = true;
      return this.settle(notice, DeliveryOutcome.orderCancelled, { ...detail, status: answer.status });
    }
    if (answer.status === 'cancelled' || answer.status === 'rejected') {
      this.record.cancelled = answer.status === 'cancelled';
      return this.settle(notice, DeliveryOutcome.noChange, { ...detail, already: answer.status });
    }
    if (answer.status && pastCancelling.has(answer.status)) {
      const taskId = await this.openReview(notice, 'channel_cancel_after_shipment', `${platform} cancelled order ${orderId} after it shipped`, answer);
      return this.settle(notice, DeliveryOutcome.cancelRefused, { ...detail, code: answer.code, message: answer.message, taskId });
    }
    return this.settle(notice, DeliveryOutcome.cancelRefused, { ...detail, code: answer.code, message: answer.message });
  }

  /** An order under way: a new address or new lines go to its process; after release they are a person's to see to. */
  private async changeOrder(notice: ChannelDeliveryNotice, snapshot: ChannelOrderSnapshot): Promise<void> {
    const applied = this.record.applied!;
    const changes = changesBetween(applied, snapshot);
    if (!changes.address && !changes.lines) {
      if (!changes.payment) return this.settle(notice, DeliveryOutcome.noChange, {});
      this.record.applied = { ...applied, payment: snapshot.payment, version: snapshot.version };
      return this.settle(notice, DeliveryOutcome.paymentRecorded, { payment: snapshot.payment });
    }
    const order = orderInputOf(snapshot, this.input.orderId, this.input.channel);
    const amendment: OrderAmendment = {
      ...(changes.address ? { shipTo: order.shipTo, billingCountry: order.billingCountry ?? null } : {}),
      ...(changes.lines ? { lines: order.lines, freightMinor: order.freightMinor } : {}),
      reason: `changed on ${this.input.platform} (${snapshot.reference})`,
      actor: `channel:${this.input.channel}`,
    };
    const changed = { address: changes.address, lines: changes.lines };
    const answer = await orders.amendChannelOrder({ orderId: this.input.orderId, amendment });
    if (answer.accepted) {
      this.record.applied = snapshot;
      return this.settle(notice, DeliveryOutcome.updateApplied, { changed, status: answer.status });
    }
    if (answer.code === 'already_released' || answer.code === 'already_allocated') {
      const taskId = await this.openReview(notice, 'channel_order_changed', `${this.input.platform} changed order ${this.input.orderId} after ${answer.code === 'already_released' ? 'release' : 'stock was reserved'}`, answer, changed);
      return this.settle(notice, DeliveryOutcome.needsReview, { changed, code: answer.code, taskId });
    }
    return this.settle(notice, DeliveryOutcome.updateRefused, { changed, code: answer.code, message: answer.message });
  }

  private async openReview(notice: ChannelDeliveryNotice, kind: string, title: string, answer: ProcessAnswer, changed?: object): Promise<string> {
    const id = `${workflowInfo().workflowId}:${kind}:${notice.deliveryId}`;
    await records.openTask({
      id,
      kind,
      reference: this.input.orderId,
      workflowId: workflowInfo().workflowId,
      role: 'ops',
      title,
      reason: answer.accepted ? '' : answer.message,
      details: { deliveryId: notice.deliveryId, topic: notice.topic, platformOrderId: this.input.platformOrderId, version: notice.snapshot.version, ...(changed ? { changed } : {}) },
    });
    return id;
  }

  private async settle(notice: ChannelDeliveryNotice, outcome: DeliveryOutcome, detail: Record<string, unknown>): Promise<void> {
    const { channel, platformOrderId, orderId } = this.input;
    await records.settleChannelDelivery({ rowId: notice.rowId, outcome, detail, channel, platformOrderId, orderId, ...this.record });
    this.view.handled = [...this.view.handled, { deliveryId: notice.deliveryId, topic: notice.topic, outcome, at: new Date().toISOString() }].slice(-20);
  }

  private show(): void {
    Object.assign(this.view, {
      orderStarted: this.record.orderStarted,
      cancelled: this.record.cancelled,
      latestVersion: this.record.latest?.version ?? null,
      appliedVersion: this.record.applied?.version ?? null,
    });
  }
}
