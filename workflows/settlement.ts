import { proxyActivities } from '@temporalio/workflow';
import type { SettlementActivities, SettlementInput, SettlementSummary } from '../contracts/settlement.js';
import { remoteStepOptions } from './step-options.js';

const activities = proxyActivities<SettlementActivities>(remoteStepOptions);

/** One gateway payout reconciled: one step, idempotent by the settlement's id. */
export async function settlementReconciliation(input: SettlementInput): Promise<SettlementSummary> {
  return activities.reconcileSettlement(input);
}
