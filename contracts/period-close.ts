/**
 * Period close (`period-close-<YYYY-MM>`): the checks of a month's books, a finance task when
 * something blocks, and the lock. Started by `POST /periods/:period/close`; run again after
 * what blocked is mended.
 */
export const periodCloseWorkflowType = 'periodClose';
export type PeriodCloseWorkflow = (input: PeriodCloseInput) => Promise<PeriodCloseResult>;
export const periodCloseWorkflowId = (period: string) => `period-close-${period}`;

export interface PeriodCloseInput {
  period: string;
  actor: string;
}

export interface PeriodChecks {
  /** The ledger check's problems (blocking). */
  ledgerProblems: { check: string; detail: Record<string, unknown> }[];
  /** Shipments that left in the period without their posting (blocking). */
  unpostedShipments: string[];
  /** Open exceptions of payments and settlements: listed, not blocking. */
  openReconciliationExceptions: { id: string; kind: string; message: string }[];
}

export interface PeriodCloseResult {
  period: string;
  status: 'closed' | 'blocked';
  checks: PeriodChecks;
  /** The finance task that says what blocks, when blocked. */
  taskId?: string;
}

export interface PeriodCloseActivities {
  checkPeriod(input: { period: string }): Promise<PeriodChecks>;
  lockPeriod(input: { period: string; actor: string; checks: PeriodChecks }): Promise<void>;
}
