/**
 * Channel order intake (`channel-order-<channel>-<platformOrderId>`): one process per
 * storefront order that puts the platform's deliveries about it in order. The webhook route
 * records each delivery and signals it here (starting the process when it is not running),
 * so the platform gets its answer without waiting; this process starts the order's
 * release, changes it or cancels it, and writes each delivery's outcome.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ChannelOrderSnapshot, Platform } from '../domain/channel-orders.js';
import type { OrderProblem } from '../domain/order-validation.js';
import type { ChannelName, OrderInput } from '../domain/order.js';
import type { OrderAmendment, OrderPolicy } from './order.js';
import type { TaskActivities } from './shared.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const channelOrderWorkflowType = 'channelOrderIntake';
export type ChannelOrderWorkflow = (input: ChannelOrderInput) => Promise<ChannelOrderView>;
export const channelOrderWorkflowId = (channel: string, platformOrderId: string) => `channel-order-${channel}-${platformOrderId}`;

export interface ChannelOrderInput {
  channel: ChannelName;
  platform: Platform;
  platformOrderId: string;
  /** The order this product makes of it (`order-<orderId>`). */
  orderId: string;
  /** The order policy the order's release starts with. */
  orderPolicy: OrderPolicy;
  /** With no delivery for this long the process ends; the next delivery starts it again from its record. */
  idleMs: number;
}

/** One recorded delivery, as the webhook route hands it over. */
export interface ChannelDeliveryNotice {
  /** `channel_deliveries.id` */
  rowId: number;
  deliveryId: string;
  topic: string;
  snapshot: ChannelOrderSnapshot;
}

export const DeliveryOutcome = {
  received: 'received',
  ignored: 'ignored',
  notPlaced: 'not_placed',
  orderCreated: 'order_created',
  orderRejected: 'order_rejected',
  updateApplied: 'update_applied',
  updateRefused: 'update_refused',
  needsReview: 'needs_review',
  orderCancelled: 'order_cancelled',
  cancelRefused: 'cancel_refused',
  paymentRecorded: 'payment_recorded',
  noChange: 'no_change',
  superseded: 'superseded',
} as const;
export type DeliveryOutcome = (typeof DeliveryOutcome)[keyof typeof DeliveryOutcome];

export const channelDeliverySignal = defineSignal<[ChannelDeliveryNotice]>('channelDelivery');

export interface ChannelOrderView {
  channel: string;
  platformOrderId: string;
  orderId: string;
  orderStarted: boolean;
  cancelled: boolean;
  /** The platform's newest state seen, and the one the order holds. */
  latestVersion: string | null;
  appliedVersion: string | null;
  handled: { deliveryId: string; topic: string; outcome: DeliveryOutcome; at: string }[];
}
export const channelOrderViewQuery = defineQuery<ChannelOrderView>('channelOrderView');

/** What the records know of a platform order when its intake process starts. */
export interface ChannelOrderRecord {
  orderStarted: boolean;
  cancelled: boolean;
  latest: ChannelOrderSnapshot | null;
  applied: ChannelOrderSnapshot | null;
}

/** A decision a process answered: taken, or refused with its code. */
export type ProcessAnswer = { accepted: true; status: string } | { accepted: false; code: string; message: string; status: string | null };

export interface ChannelOrderActivities extends TaskActivities {
  loadChannelOrder(input: { channel: string; platformOrderId: string }): Promise<ChannelOrderRecord>;
  /**
   * Records the platform order as this order's (before the order exists, so every event the
   * order writes is known as the channel's), starts the order's release (once: a repeat
   * answers the running process) and waits until it is checked and screened.
   */
  startChannelOrder(input: { orderId: string; order: OrderInput; policy: OrderPolicy; channel: string; platformOrderId: string; snapshot: ChannelOrderSnapshot }): Promise<{ status: string; problems: OrderProblem[] }>;
  amendChannelOrder(input: { orderId: string; amendment: OrderAmendment }): Promise<ProcessAnswer>;
  cancelChannelOrder(input: { orderId: string; reason: string; actor: string }): Promise<ProcessAnswer>;
  /**
   * A delivery's outcome and the platform order's record, in one transaction. An outcome
   * already written is kept (a delivery handed over twice is decided once).
   */
  settleChannelDelivery(input: {
    rowId: number;
    outcome: DeliveryOutcome;
    detail: Record<string, unknown>;
    channel: string;
    platformOrderId: string;
    orderId: string;
    latest: ChannelOrderSnapshot | null;
    applied: ChannelOrderSnapshot | null;
    orderStarted: boolean;
    cancelled: boolean;
  }): Promise<void>;
}
