/**
 * The exception sweep (`exception-sweep-…`): every EXCEPTION_SWEEP_EVERY the
 * `exception-sweep` schedule raises the conditions found by looking at the records (stale
 * allocations, ledger refusals, receipts over tolerance, returns past their SLA, authorizations about to expire, captures not paid out) as
 * exceptions, so each is worked as a case, and resolves those whose condition has gone.
 */
export const exceptionSweepWorkflowType = 'exceptionSweep';
export type ExceptionSweepWorkflow = (input: ExceptionSweepInput) => Promise<ExceptionSweepReport>;
export const EXCEPTION_SWEEP_SCHEDULE_ID = 'exception-sweep';
export const EXCEPTION_SWEEP_PREFIX = 'exception-sweep-';

export interface ExceptionSweepInput {
  /** The returns SLA (RETURN_SLA), as written and in milliseconds. */
  returnSla: string;
  returnSlaMs: number;
  /** An authorization expiring within this (PAYMENT_AUTH_EXPIRY_LEAD) before its order has shipped is raised; default 48h. */
  authExpiryLeadMs?: number;
  /** A capture no settlement line matched after this many days (SETTLEMENT_PAYOUT_DAYS) is raised; default 7. */
  settlementPayoutDays?: number;
}

export interface ExceptionSweepReport {
  /** Conditions found, by kind. */
  found: Record<string, number>;
  /** Exceptions raised by this sweep (the rest were raised before). */
  raised: number;
  /** Open derived exceptions whose condition has gone, resolved (their cases cleared). */
  cleared: number;
}

export interface ExceptionSweepActivities {
  sweepDerivedExceptions(input: ExceptionSweepInput & { now: string }): Promise<ExceptionSweepReport>;
}
