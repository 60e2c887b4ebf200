import { ApplicationFailure } from '@temporalio/common';
import { LedgerError } from '../db/ledger.js';

/**
 * Runs a ledger call from an activity: a refusal by the ledger is a business outcome,
 * so it fails without retrying, typed by the ledger's code for the workflow to branch on.
 */
export async function ledgerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof LedgerError) {
      throw ApplicationFailure.nonRetryable(error.message, error.code, error.details);
    }
    throw error;
  }
}
