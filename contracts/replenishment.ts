/**
 * Replenishment planner (`replenishment-<runId>`): one planning run, started by a Temporal Schedule or on demand.
 */

export interface ReplenishmentParams {
  historyDays: number;
  /** Days between planning runs: the order covers them too. */
  reviewPeriodDays: number;
  /** Demand multiplier for a promotion or season ahead (1 = none). */
  uplift: number;
}

/** The Temporal Schedule that starts the planner; its runs get `replenishment-<scheduled time>`. */
export const REPLENISHMENT_SCHEDULE_ID = 'replenishment-planner';
export const REPLENISHMENT_WORKFLOW_PREFIX = 'replenishment-';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const replenishmentWorkflowType = 'replenishmentPlanner';
export type ReplenishmentWorkflow = (input?: ReplenishmentPlannerInput) => Promise<ReplenishmentRunSummary>;
export const replenishmentWorkflowId = (runId: string) => `${REPLENISHMENT_WORKFLOW_PREFIX}${runId}`;

export interface ReplenishmentPlannerInput extends Partial<ReplenishmentParams> {
  /** Absent when the schedule starts the run: the run id is then the scheduled time in the workflow id. */
  runId?: string;
  requestedBy?: string;
}

export interface ReplenishmentRunInput extends ReplenishmentParams {
  runId: string;
  workflowId: string;
  trigger: 'schedule' | 'manual';
  requestedBy: string;
}

export interface ReplenishmentRunSummary {
  runId: string;
  placesCount: number;
  reorderCount: number;
  transferCount: number;
  purchaseQty: number;
  transferQty: number;
}

export interface ReplenishmentActivities {
  /** Records that the run has begun, once. */
  startReplenishmentRun(input: ReplenishmentRunInput): Promise<void>;
  /** Marks a run whose steps failed every attempt as failed, once, with an exception for buyers. */
  failReplenishmentRun(input: { runId: string; workflowId: string; reason: string }): Promise<void>;
  /** Computes and stores every suggestion with the run's counts in one transaction; a finished run answers its counts. */
  recordReplenishmentSuggestions(input: ReplenishmentRunInput): Promise<ReplenishmentRunSummary>;
}
