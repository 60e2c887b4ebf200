/**
 * Settlement reconciliation (`settlement-<gateway>-<payoutId>`): a gateway payout report,
 * recorded by `POST /settlements`, matched line by line against captures and refunds, and
 * posted once.
 */
import type { LineResult } from '../domain/settlement.js';

export const settlementWorkflowType = 'settlementReconciliation';
export type SettlementWorkflow = (input: SettlementInput) => Promise<SettlementSummary>;
export const settlementId = (gateway: string, payoutId: string) => `${gateway}-${payoutId}`;
export const settlementWorkflowId = (id: string) => `settlement-${id}`;

export interface SettlementInput {
  settlementId: string;
}

export interface SettlementSummary {
  settlementId: string;
  journalEntryId: number;
  lines: LineResult[];
  exceptions: number;
  disputes: number;
}

export interface SettlementActivities {
  /** Matches every line, posts the payout's entry and raises exceptions and dispute tasks, once. */
  reconcileSettlement(input: SettlementInput): Promise<SettlementSummary>;
}
