/**
 * Channel publisher (`channel-publisher-<channel>`): one long-lived process per channel that
 * delivers available-to-sell from the outbox feed to the channel's webhook.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const CHANNEL_PUBLISHER_PREFIX = 'channel-publisher-';
/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const channelPublisherWorkflowType = 'channelPublisher';
export type ChannelPublisherWorkflow = (input: ChannelPublisherInput) => Promise<void>;
export const channelPublisherWorkflowId = (channel: string) => `${CHANNEL_PUBLISHER_PREFIX}${channel}`;

export interface ChannelPublishingPolicy {
  /** How long one read of the feed waits for news before it answers "caught up". */
  pollWaitMs: number;
  /** How often that read looks at the feed while it waits. */
  pollIntervalMs: number;
  /** How long the channel's webhook may take to answer one delivery. */
  requestTimeoutMs: number;
  /** Deliveries failed in a row before a `channel_delivery_failing` exception is raised. */
  failureThreshold: number;
  /** Backoff between failed deliveries: starts here, doubles, and stops growing at `retryMaxMs`. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** A paused or unconfigured channel looks again this often (a settings change wakes it at once). */
  idleRecheckMs: number;
  /** Reads of the feed per run before the publisher continues as new with its cursor. */
  readsPerRun: number;
}

export const PublisherPhase = {
  starting: 'starting',
  publishing: 'publishing',
  delivering: 'delivering',
  paused: 'paused',
  noWebhook: 'no_webhook',
} as const;
export type PublisherPhase = (typeof PublisherPhase)[keyof typeof PublisherPhase];

/** Carried from run to run when the publisher continues as new. */
export interface ChannelPublisherState {
  /** Last feed position the channel accepted (`<tx_id>-<id>`); the database row is the authority. */
  cursor: string | null;
  deliveredBatches: number;
  deliveredEvents: number;
  lastSequence: number | null;
  lastDeliveredAt: string | null;
  phase: PublisherPhase;
  /** Runs so far, counting this one. */
  runs: number;
}

export interface ChannelPublisherInput {
  channel: string;
  policy: ChannelPublishingPolicy;
  state?: ChannelPublisherState;
}

/** Settings changed (webhook, pause, policy): look again now. Carries the newest policy when it has one. */
export const channelSettingsChangedSignal = defineSignal<[ChannelPublishingPolicy?]>('channelSettingsChanged');
export const channelPublisherStateQuery = defineQuery<ChannelPublisherState & { policy: ChannelPublishingPolicy }>('state');

/** A range of the feed to deliver to one channel. */
export interface ChannelBatch {
  /** Grows with every batch handed out; a receiver applies a message only when it is above the last it applied. */
  sequence: number;
  /** Cursor before the range (null: nothing delivered yet) and at its end. */
  from: string | null;
  to: string;
  /** Every sku is sent: the first delivery, or the channel's settings changed. */
  snapshot: boolean;
  /** The skus whose available-to-sell may have moved (empty when `snapshot`). */
  skus: string[];
  /** Events in the range that concern the channel. */
  events: number;
}

export type ChannelRead =
  | { kind: 'batch'; cursor: string | null; batch: ChannelBatch }
  | { kind: 'caught_up'; cursor: string | null }
  | { kind: 'idle'; cursor: string | null; reason: 'paused' | 'no_webhook' | 'unknown_channel' };

export type DeliveryOutcome =
  | { outcome: 'delivered'; cursor: string; deliveredAt: string; skus: number; status: number; repeated: boolean }
  /** Paused or without a webhook by now: nothing sent, the cursor stays. */
  | { outcome: 'held'; cursor: string | null }
  /** The cursor moved elsewhere meanwhile (a publisher of an earlier run): read again from it. */
  | { outcome: 'superseded'; cursor: string | null };

export interface ChannelPublishingActivities {
  /** Where the channel's publisher starts: its cursor as the database keeps it. */
  loadChannelPublication(channel: string): Promise<{ cursor: string | null; exists: boolean }>;
  /** The next range of the feed that concerns the channel, waiting up to `waitMs` for one. */
  readChannelBatch(input: { channel: string; waitMs: number; pollIntervalMs: number }): Promise<ChannelRead>;
  /** POSTs the batch with available-to-sell computed now; a 2xx moves the cursor, anything else is retried. */
  deliverChannelBatch(input: { channel: string; batch: ChannelBatch; requestTimeoutMs: number; failureThreshold: number }): Promise<DeliveryOutcome>;
}
