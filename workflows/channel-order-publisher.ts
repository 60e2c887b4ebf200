import { condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  orderPublisherNudgeSignal,
  orderPublisherStateQuery,
  type ChannelOrderPublisherInput,
  type ChannelOrderPublishingActivities,
  type OrderPublisherState,
} from '../contracts/channel-order-publisher.js';
import { Channel, ProcessStatus } from '../contracts/search-attributes.js';

/**
 * One per connected channel: reads the order events of the outbox feed from the channel's
 * cursor and sends each to the platform in feed order. A platform that fails or answers 429
 * is retried by the send activity's own policy (capped backoff, or the platform's
 * Retry-After), so a storm adds nothing to this history and nothing is skipped.
 */
export async function channelOrderPublisher(input: ChannelOrderPublisherInput): Promise<void> {
  const { channel } = input;
  let policy = input.policy;
  const state: OrderPublisherState = input.state ? { ...input.state, runs: input.state.runs + 1 } : { cursor: null, sent: 0, phase: 'starting', runs: 1 };
  let nudged = false;
  setHandler(orderPublisherNudgeSignal, (next) => {
    if (next) policy = next;
    nudged = true;
  });
  setHandler(orderPublisherStateQuery, () => ({ ...state, policy }));
  let shown: string | undefined = input.state?.phase;
  const setPhase = (phase: OrderPublisherState['phase']) => {
    state.phase = phase;
    const lasting = phase === 'sending' ? 'publishing' : phase;
    if (lasting !== shown) {
      shown = lasting;
      upsertSearchAttributes([{ key: ProcessStatus, value: lasting }]);
    }
  };
  if (!input.state) upsertSearchAttributes([{ key: Channel, value: channel }]);

  const reader = () =>
    proxyActivities<ChannelOrderPublishingActivities>({
      startToCloseTimeout: policy.pollWaitMs + 60_000,
      heartbeatTimeout: Math.max(10_000, policy.pollIntervalMs * 5),
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    });
  const sender = () =>
    proxyActivities<ChannelOrderPublishingActivities>({
      // A shipment's update is a few calls to the platform.
      startToCloseTimeout: policy.requestTimeoutMs * 4 + 30_000,
      // No attempt limit: a platform that is down is retried until it recovers or the channel is paused.
      retry: { initialInterval: policy.retryInitialMs, backoffCoefficient: 2, maximumInterval: policy.retryMaxMs },
    });

  for (let reads = 0; ; reads++) {
    if (reads >= policy.readsPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof channelOrderPublisher>({ channel, policy, state });
    }
    nudged = false;
    const read = await reader().readOrderUpdates({ channel, waitMs: policy.pollWaitMs, pollIntervalMs: policy.pollIntervalMs, limit: 100 });
    if (read.kind === 'idle') {
      state.cursor = read.cursor;
      setPhase(read.reason);
      await condition(() => nudged, policy.idleRecheckMs);
      continue;
    }
    if (read.kind === 'caught_up') {
      state.cursor = read.cursor;
      setPhase('publishing');
      continue;
    }
    setPhase('sending');
    for (const event of read.events) {
      const result = await sender().sendOrderUpdate({ channel, event, requestTimeoutMs: policy.requestTimeoutMs, failureThreshold: policy.failureThreshold });
      state.cursor = result.cursor;
      if (result.outcome === 'held' || result.outcome === 'superseded') break;
      state.sent += 1;
    }
    setPhase('publishing');
  }
}
