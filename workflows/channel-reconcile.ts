import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ChannelReconcileActivities, ChannelReconcileInput, ReconcileReport } from '../contracts/channel-reconcile.js';

const activities = proxyActivities<ChannelReconcileActivities>({
  // A platform's orders of a period are a few pages; the platform may be slow or rate-limit.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 10 },
});

/** Reconciles one channel, or every connected channel, for a period; answers the reports. */
export async function channelReconcile(input: ChannelReconcileInput): Promise<ReconcileReport[]> {
  const to = input.to ?? new Date().toISOString();
  const from = input.from ?? new Date(Date.parse(to) - input.windowMs).toISOString();
  const channels = input.channel ? [input.channel] : await activities.reconcilableChannels();
  const reports: ReconcileReport[] = [];
  for (const channel of channels) {
    reports.push(
      await activities.reconcileChannel({
        reconcileId: `${workflowInfo().workflowId}:${channel}`,
        channel,
        from,
        to,
        requestedBy: input.requestedBy,
        orderPolicy: input.orderPolicy,
        idleMs: input.idleMs,
      }),
    );
  }
  return reports;
}
