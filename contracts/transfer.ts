/**
 * Inter-warehouse transfer (`transfer-<transferId>`): stock ships through in_transit and arrives.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { TimelineEntry } from './shared.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const transferWorkflowType = 'transfer';
export type TransferWorkflow = (input: TransferInput) => Promise<TransferView>;
export const transferWorkflowId = (transferId: string) => `transfer-${transferId}`;

export const transferPatches = {
  /** A transfer in transit past its deadline raises `transfer_late`. */
  transitDeadline: 'transit-deadline',
} as const;

export interface TransferInput {
  transferId: string;
  sku: string;
  from: string;
  to: string;
  qty: number;
  reason: string;
  requestedBy: string;
  /** In transit longer than this (e.g. `5d`) raises a `transfer_late` exception; absent in transfers started before it existed. */
  transitDeadline?: string;
}

export interface TransferReceipt {
  received: number;
  damaged: number;
  actor: string;
}

export interface ReceivedTransfer {
  received: number;
  damaged: number;
  lost: number;
  lossValueMinor: number;
  journalEntryId: number | null;
}

export const TransferStatus = {
  shipping: 'shipping',
  inTransit: 'in_transit',
  receiving: 'receiving',
  received: 'received',
  refused: 'refused',
} as const;
export type TransferStatus = (typeof TransferStatus)[keyof typeof TransferStatus];

export interface TransferView {
  transferId: string;
  sku: string;
  from: string;
  to: string;
  qty: number;
  status: TransferStatus;
  refusal?: { code: string; message: string };
  receipt?: ReceivedTransfer & { actor: string; at: string };
  /** Set once the transfer has been in transit past its deadline. */
  late?: { since: string; deadline: string };
  timeline: TimelineEntry<TransferStatus>[];
}

/** Answers once the stock has left the origin, or the ledger refused it. */
export const submitTransferUpdate = defineUpdate<TransferView>('submitTransfer');
export const receiveTransferUpdate = defineUpdate<TransferView, [TransferReceipt]>('receiveTransfer');
export const transferViewQuery = defineQuery<TransferView>('transferView');

export interface TransferActivities {
  /** The stock leaves the origin (available → in_transit at the destination) and the transfer is recorded, once. */
  shipTransfer(input: TransferInput): Promise<void>;
  /** The transfer arrives: damaged → damaged, received → available, the rest lost and written off; once per step. */
  receiveTransfer(request: { transferId: string } & TransferReceipt): Promise<ReceivedTransfer>;
}
