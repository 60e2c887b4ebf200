import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { AnomalyScanActivities, AnomalyScanInput, AnomalyScanSummary } from '../contracts/anomaly-scan.js';

const activities = proxyActivities<AnomalyScanActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** One scan: every anomaly check as of the scheduled time (or `at`), alerts raised as exceptions once. */
export async function anomalyScan(input: AnomalyScanInput = {}): Promise<AnomalyScanSummary> {
  const at = input.at ?? workflowInfo().startTime.toISOString();
  return activities.scanAnomalies({ at, thresholds: input.thresholds });
}
