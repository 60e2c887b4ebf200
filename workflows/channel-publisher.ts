import { condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ChannelBatch, ChannelPublishingActivities } from '../contracts/channel-publishing.js';
import { Channel, ProcessStatus } from '../contracts/search-attributes.js';
import { type ChannelPublisherInput, type ChannelPublisherState, channelPublisherStateQuery, channelSettingsChangedSignal, PublisherPhase } from '../contracts/channel-publishing.js';

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
    proxyActivities<ChannelPublishingActivities>({
      startToCloseTimeout: policy.pollWaitMs + 60_000,
      heartbeatTimeout: Math.max(10_000, policy.pollIntervalMs * 5),
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    });
  const deliverer = () =>
    proxyActivities<ChannelPublishingActivities>({
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
