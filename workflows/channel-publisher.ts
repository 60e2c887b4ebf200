import { condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ChannelBatch } from '../activities/channel-publishing.js';
import { Channel, ProcessStatus } from './search-attributes.js';

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

export const CHANNEL_PUBLISHER_PREFIX = 'channel-publisher-';
export function channelPublisherWorkflowId(channel: string): string {
  return `${CHANNEL_PUBLISHER_PREFIX}${channel}`;
}

/**
 * One per channel, for as long as the channel exists: reads the outbox feed from the
 * channel's cursor and delivers available-to-sell to its webhook, one batch at a time, in
 * feed order. A failing webhook is retried by the delivery activity's own retry policy
 * (capped exponential backoff), so an outage adds nothing to this history.
 */
export async function channelPublisher(input: ChannelPublisherInput): Promise<void> {
  const { channel } = input;
  let policy = input.policy;
  const state: ChannelPublisherState = input.state
    ? { ...input.state, runs: input.state.runs + 1 }
    : { cursor: null, deliveredBatches: 0, deliveredEvents: 0, lastSequence: null, lastDeliveredAt: null, phase: PublisherPhase.starting, runs: 1 };
  let nudged = false;
  setHandler(channelSettingsChangedSignal, (next) => {
    if (next) policy = next;
    nudged = true;
  });
  setHandler(channelPublisherStateQuery, () => ({ ...state, policy }));

  let shownPhase: PublisherPhase | undefined = input.state?.phase;
  const setPhase = (phase: PublisherPhase) => {
    state.phase = phase;
    // `delivering` flips with every batch; the search attribute only tells the lasting states.
    const shown = phase === PublisherPhase.delivering ? PublisherPhase.publishing : phase;
    if (shown !== shownPhase) {
      shownPhase = shown;
      upsertSearchAttributes([{ key: ProcessStatus, value: shown }]);
    }
  };
  if (!input.state) upsertSearchAttributes([{ key: Channel, value: channel }]);

  const reader = () =>
    proxyActivities<Activities>({
      startToCloseTimeout: policy.pollWaitMs + 60_000,
      heartbeatTimeout: Math.max(10_000, policy.pollIntervalMs * 5),
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    });
  const deliverer = () =>
    proxyActivities<Activities>({
      startToCloseTimeout: policy.requestTimeoutMs + 30_000,
      // No attempt limit: a channel that is down is retried until it recovers or is paused.
      retry: { initialInterval: policy.retryInitialMs, backoffCoefficient: 2, maximumInterval: policy.retryMaxMs },
    });

  if (!input.state) state.cursor = (await reader().loadChannelPublication(channel)).cursor;

  for (let reads = 0; ; reads++) {
    if (reads >= policy.readsPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof channelPublisher>({ channel, policy, state });
    }
    // A change that arrives while the read runs must still wake an idle wait after it.
    nudged = false;
    const read = await reader().readChannelBatch({ channel, waitMs: policy.pollWaitMs, pollIntervalMs: policy.pollIntervalMs });
    state.cursor = read.cursor;
    if (read.kind === 'idle') {
      setPhase(read.reason === 'paused' ? PublisherPhase.paused : PublisherPhase.noWebhook);
      await condition(() => nudged, policy.idleRecheckMs);
      continue;
    }
    if (read.kind === 'caught_up') {
      setPhase(PublisherPhase.publishing);
      continue;
    }
    setPhase(PublisherPhase.delivering);
    const result = await deliverer().deliverChannelBatch({
      channel,
      batch: read.batch satisfies ChannelBatch,
      requestTimeoutMs: policy.requestTimeoutMs,
      failureThreshold: policy.failureThreshold,
    });
    state.cursor = result.cursor;
    if (result.outcome === 'delivered') {
      state.deliveredBatches += 1;
      state.deliveredEvents += read.batch.events;
      state.lastSequence = read.batch.sequence;
      state.lastDeliveredAt = result.deliveredAt;
      setPhase(PublisherPhase.publishing);
    }
  }
}
