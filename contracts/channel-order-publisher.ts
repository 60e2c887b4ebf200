/**
 * Channel order publisher (`channel-order-publisher-<channel>`): one long-lived process per
 * connected channel that sends the order events of the outbox feed (released, cancelled,
 * shipped, return authorized, refunded) to the channel's platform, one at a time, in feed
 * order. It runs beside the channel's availability publisher, with a cursor of its own.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ChannelPublishingPolicy } from './channel-publishing.js';

export const channelOrderPublisherWorkflowType = 'channelOrderPublisher';
export type ChannelOrderPublisherWorkflow = (input: ChannelOrderPublisherInput) => Promise<void>;
export const channelOrderPublisherWorkflowId = (channel: string) => `channel-order-publisher-${channel}`;

export interface ChannelOrderPublisherInput {
  channel: string;
  policy: ChannelPublishingPolicy;
  /** Carried when the publisher continues as new. */
  state?: OrderPublisherState;
}

export interface OrderPublisherState {
  cursor: string | null;
  sent: number;
  phase: 'starting' | 'publishing' | 'sending' | 'paused' | 'not_connected';
  runs: number;
}

/** The connector or pause changed: look again now (with the newest policy when given). */
export const orderPublisherNudgeSignal = defineSignal<[ChannelPublishingPolicy?]>('orderPublisherNudge');
export const orderPublisherStateQuery = defineQuery<OrderPublisherState & { policy: ChannelPublishingPolicy }>('orderPublisherState');

/** One event of the feed for the channel's platform. */
export interface OrderUpdateEvent {
  id: number;
  /** The feed position of the event, and the channel's cursor before it. */
  cursor: string;
  from: string;
  topic: string;
  orderId: string;
  payload: Record<string, unknown>;
}

export type OrderUpdatesRead =
  | { kind: 'events'; events: OrderUpdateEvent[] }
  | { kind: 'caught_up'; cursor: string | null }
  | { kind: 'idle'; cursor: string | null; reason: 'paused' | 'not_connected' };

export type OrderUpdateOutcome =
  | { outcome: 'sent' | 'already' | 'skipped' | 'refused'; cursor: string; action: string }
  /** Paused or disconnected by now: nothing sent, the cursor stays. */
  | { outcome: 'held'; cursor: string | null }
  /** The cursor moved elsewhere meanwhile: read again from it. */
  | { outcome: 'superseded'; cursor: string | null };

export interface ChannelOrderPublishingActivities {
  /** The next order events of the feed that concern the channel's platform, waiting up to `waitMs` for some. */
  readOrderUpdates(input: { channel: string; waitMs: number; pollIntervalMs: number; limit: number }): Promise<OrderUpdatesRead>;
  /**
   * Sends one event to the platform (a retry finds what the platform already has) and moves
   * the cursor past it. 429, 5xx and no answer are thrown for a retry (after Retry-After);
   * another 4xx is the platform refusing this update: recorded, raised, and passed.
   */
  sendOrderUpdate(input: { channel: string; event: OrderUpdateEvent; requestTimeoutMs: number; failureThreshold: number }): Promise<OrderUpdateOutcome>;
}
