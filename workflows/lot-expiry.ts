import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { LotExpiryActivities, LotExpiryInput, LotExpiryReport } from '../contracts/lot-expiry.js';

const activities = proxyActivities<LotExpiryActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 10 },
});

const DAY_MS = 86_400_000;

/** One sweep: the run's date (the workflow clock, so a replay judges the same day) and the lots it moves. */
export async function lotExpirySweep(input: LotExpiryInput): Promise<LotExpiryReport> {
  const now = Date.now();
  const asOf = new Date(now).toISOString().slice(0, 10);
  const through = new Date(now + Math.max(0, input.horizonDays) * DAY_MS).toISOString().slice(0, 10);
  return activities.quarantineExpiringLots({ sweepId: workflowInfo().workflowId, asOf, through, actor: input.requestedBy });
}
