/**
 * Channel reconciliation (`channel-reconcile-…`): pulls a period of a platform's orders
 * through its admin API and compares them with this product's: orders the platform has and
 * this product does not (a missed webhook) are imported; orders the platform changed since
 * are brought up to date; shipments or cancellations the platform never got are sent again.
 * Started by `POST /channels/:channel/reconcile`, and daily for every connected channel by
 * the `channel-reconcile` schedule.
 */
import type { OrderPolicy } from './order.js';

export const channelReconcileWorkflowType = 'channelReconcile';
export type ChannelReconcileWorkflow = (input: ChannelReconcileInput) => Promise<ReconcileReport[]>;
export const CHANNEL_RECONCILE_SCHEDULE_ID = 'channel-reconcile';
export const CHANNEL_RECONCILE_PREFIX = 'channel-reconcile-';

export interface ChannelReconcileInput {
  /** One channel, or every channel with a connector and an admin API (the schedule). */
  channel: string | null;
  /** The period; without it, the `windowMs` before now. */
  from?: string;
  to?: string;
  windowMs: number;
  requestedBy: string;
  /** What an imported order starts its release with, and how long its intake waits idle. */
  orderPolicy: OrderPolicy;
  idleMs: number;
}

export interface ReconcileReport {
  reconcileId: string;
  channel: string;
  from: string;
  to: string;
  platformOrders: number;
  /** Platform orders this product did not have: imported (their delivery's outcome follows in the deliveries). */
  missing: { platformOrderId: string; reference: string; orderId: string }[];
  /** Platform orders changed after the state this product has: their newest state handed to their order. */
  behind: { platformOrderId: string; orderId: string; ours: string; platform: string }[];
  /** Orders whose state differs on the platform: what was sent again. */
  statusDiffers: { platformOrderId: string; orderId: string; ours: string; platform: string; resent: string[] }[];
}

export interface ChannelReconcileActivities {
  /** Channels with a connector that has the platform's admin API. */
  reconcilableChannels(): Promise<string[]>;
  /** Pulls, compares, imports and re-sends for one channel and period, and keeps the report. */
  reconcileChannel(input: { reconcileId: string; channel: string; from: string; to: string; requestedBy: string; orderPolicy: OrderPolicy; idleMs: number }): Promise<ReconcileReport>;
}
