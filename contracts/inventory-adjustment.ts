/**
 * Stock adjustment or cycle count (`adjustment-<adjustmentId>`), with approval by a second person above the limits.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { AdjustmentPolicy } from '../domain/adjustment.js';
import type { Decision } from './shared.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const adjustmentWorkflowType = 'inventoryAdjustment';
export type AdjustmentWorkflow = (input: AdjustmentWorkflowInput) => Promise<AdjustmentView>;
export const adjustmentWorkflowId = (adjustmentId: string) => `adjustment-${adjustmentId}`;

export interface AdjustmentInput {
  adjustmentId: string;
  sku: string;
  warehouse: string;
  reasonCode: string;
  /** Either a change in units… */
  delta?: number;
  /** …or what was counted on the shelf (available + allocated). */
  countedQty?: number;
  /** A lot-tracked item: the lot the difference is booked against, and its expiry when the lot is new. */
  lot?: string;
  expiresOn?: string;
  requestedBy: string;
  /** The requesting user's id: four-eyes compares it with the approver's (absent before named users). */
  requestedByUserId?: string;
  policy: AdjustmentPolicy;
}

export interface AdjustmentEvaluation {
  expected: number;
  delta: number;
  valueMinor: number;
  needsApproval: boolean;
  reasons: string[];
}

export const AdjustmentStatus = {
  evaluating: 'evaluating',
  awaitingApproval: 'awaiting_approval',
  posted: 'posted',
  rejected: 'rejected',
  refused: 'refused',
  expired: 'expired',
} as const;
export type AdjustmentStatus = (typeof AdjustmentStatus)[keyof typeof AdjustmentStatus];

export interface AdjustmentView {
  adjustmentId: string;
  status: AdjustmentStatus;
  expected?: number;
  delta?: number;
  valueMinor?: number;
  approvalReasons: string[];
  decision?: Decision & { at: string };
  refusal?: string;
  journalEntryId?: number | null;
}

export interface AdjustmentWorkflowInput extends AdjustmentInput {
  /** How long an approval may wait before the adjustment lapses. */
  approvalTimeout: string;
}

/** Answers once the adjustment is evaluated: posted at once, or waiting for approval. */
export const submitAdjustmentUpdate = defineUpdate<AdjustmentView>('submit');
export const decideAdjustmentUpdate = defineUpdate<AdjustmentView, [Decision]>('decide');
export const adjustmentViewQuery = defineQuery<AdjustmentView>('view');

export interface InventoryAdjustmentActivities {
  /** Works out the variance against the books and whether it needs approval; records the request once. */
  evaluateAdjustment(input: AdjustmentInput): Promise<AdjustmentEvaluation>;
  /** Posts the adjustment through the ledger (movement and journal entry, once per adjustment id). */
  postAdjustment(input: { adjustmentId: string; sku: string; warehouse: string; delta: number; reasonCode: string; actor: string; lot?: string; expiresOn?: string }): Promise<{ valueMinor: number; journalEntryId: number | null }>;
  recordAdjustmentStatus(input: { adjustmentId: string; status: string; decidedBy?: string; decisionReason?: string; decidedAt?: string; posted?: boolean }): Promise<void>;
}
