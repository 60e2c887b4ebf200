import { ActivityFailure, CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ReplenishmentRunSummary, ReplenishmentActivities } from '../contracts/replenishment.js';
import { REPLENISHMENT_WORKFLOW_PREFIX, type ReplenishmentPlannerInput } from '../contracts/replenishment.js';

const activities = proxyActivities<ReplenishmentActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** One planning run: computes every sku and warehouse's suggestion and stores them under the run. */
export async function replenishmentPlanner(input: ReplenishmentPlannerInput = {}): Promise<ReplenishmentRunSummary> {
  const { workflowId } = workflowInfo();
  const run = {
    runId: input.runId ?? (workflowId.startsWith(REPLENISHMENT_WORKFLOW_PREFIX) ? workflowId.slice(REPLENISHMENT_WORKFLOW_PREFIX.length) : workflowId),
    workflowId,
    trigger: input.runId ? ('manual' as const) : ('schedule' as const),
    requestedBy: input.requestedBy ?? 'schedule',
    historyDays: input.historyDays ?? 90,
    reviewPeriodDays: input.reviewPeriodDays ?? 7,
    uplift: input.uplift ?? 1,
  };
  await activities.startReplenishmentRun(run);
  try {
    return await activities.recordReplenishmentSuggestions(run);
  } catch (error) {
    // Every attempt failed (or someone cancelled the run): the run says so, buyers see an
    // exception, and the workflow fails. Not cancellable, so a cancelled run is not left 'running'.
    const reason = error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
    await CancellationScope.nonCancellable(() => activities.failReplenishmentRun({ runId: run.runId, workflowId, reason }));
    throw error;
  }
}
