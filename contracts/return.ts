/**
 * Return to refund (`rma-<rmaId>`): what the API, the workflow and its activities agree on.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ChannelName, OrderInput } from '../domain/order.js';
import type { RefundBreakdown, ReturnPolicy } from '../domain/refund.js';
import type { ReturnDisposition, ReturnReason, ReturnResolution, UnitCondition } from '../domain/return-rules.js';
import type { OrderPolicy } from './order.js';
import type { Decision, TimelineEntry } from './shared.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const returnWorkflowType = 'returnProcess';
export type ReturnWorkflow = (input: ReturnInput, policy: ReturnProcessPolicy) => Promise<ReturnView>;
export const returnWorkflowId = (rmaId: string) => `rma-${rmaId}`;
/** The replacement order an exchange sends, a child of the return. */
export const replacementOrderId = (rmaId: string) => `${rmaId}-r1`;

export interface ReturnLineInput {
  /** The order line returned. */
  lineNo: number;
  sku: string;
  /** Units authorized. */
  qty: number;
  unitPriceMinor: number;
  /** On an exchange: another sku to send instead (else the same one). */
  replacementSku?: string;
}

/** What a return process starts with: the authorization as written. */
export interface ReturnInput {
  rmaId: string;
  orderId: string;
  channel: ChannelName;
  customerId: string;
  currency: string;
  reasonCode: ReturnReason;
  resolution: ReturnResolution;
  lines: ReturnLineInput[];
  requestedBy: string;
  authorizedAt: string;
  expiresAt: string;
  /** Skus that an approved supplier takes back (the vendor-return disposition is possible). */
  returnableToSupplier: string[];
}

export const ReturnStatus = {
  authorized: 'authorized',
  receiving: 'receiving',
  inspecting: 'inspecting',
  awaitingRefundApproval: 'awaiting_refund_approval',
  refunding: 'refunding',
  replacing: 'replacing',
  refunded: 'refunded',
  exchanged: 'exchanged',
  expired: 'expired',
  rejected: 'rejected',
  closed: 'closed',
} as const;
export type ReturnStatus = (typeof ReturnStatus)[keyof typeof ReturnStatus];

/** Policies the API passes at start, so a running return keeps the rules it began with. */
export interface ReturnProcessPolicy {
  returns: ReturnPolicy;
  /** For the replacement order of an exchange. */
  order: OrderPolicy;
}

/** A parcel as the warehouse reports it. */
export interface ParcelReceipt {
  parcelId: string;
  warehouse: string;
  lines: { sku: string; qty: number }[];
  actor: string;
}

/** What the inspector found, per sku (and warehouse when the units are in several). */
export interface InspectionReport {
  inspectionId: string;
  actor: string;
  lines: { sku: string; qty: number; condition: UnitCondition; warehouse?: string; disposition?: ReturnDisposition; overrideReason?: string }[];
}

/** Finance's answer on a refund above the approval limit. */
export type RefundDecision = Decision;

export interface ReturnLineView {
  lineNo: number;
  sku: string;
  authorized: number;
  received: number;
  inspected: number;
  restocked: number;
  refurbished: number;
  damaged: number;
  vendorReturned: number;
  replacementSku?: string;
}

export interface ReturnView {
  rmaId: string;
  orderId: string;
  status: ReturnStatus;
  channel: string;
  customerId: string;
  currency: string;
  reasonCode: string;
  resolution: 'refund' | 'exchange';
  expiresAt: string;
  /** The receipt window closed; units not received by then are no longer expected. */
  receiptWindowClosed: boolean;
  lines: ReturnLineView[];
  parcels: { parcelId: string; warehouse: string; actor: string; at: string; lines: ParcelLine[] }[];
  inspections: { inspectionId: string; actor: string; at: string; units: InspectedUnit[] }[];
  refund?: RefundBreakdown & { cashMinor?: number; appliedMinor?: number; gatewayRefundId?: string; journalEntryId?: number | null };
  approval?: { limitMinor: number; decision?: RefundDecision & { at: string } };
  replacement?: { orderId: string; workflowId: string; status?: string; receivableMinor?: number };
  /** On an exchange for something dearer: what the customer still owes. */
  balanceDueMinor?: number;
  timeline: TimelineEntry<ReturnStatus>[];
}

/** Answers once the process runs (the authorization itself was made before it started). */
export const submitReturnUpdate = defineUpdate<ReturnView>('submit');
export const parcelReceivedUpdate = defineUpdate<ReturnView, [ParcelReceipt]>('parcelReceived');
export const inspectionUpdate = defineUpdate<ReturnView, [InspectionReport]>('inspection');
export const refundApprovalUpdate = defineUpdate<ReturnView, [RefundDecision]>('refundApproval');
export const returnViewQuery = defineQuery<ReturnView>('returnView');

export interface ParcelLine {
  lineNo: number;
  sku: string;
  qty: number;
}

export interface InspectedUnit {
  seq: number;
  lineNo: number;
  sku: string;
  warehouse: string;
  qty: number;
  condition: UnitCondition;
  disposition: ReturnDisposition;
  ruleDisposition: ReturnDisposition;
  overrideReason?: string;
}

export interface ReturnStateUpdate {
  rmaId: string;
  status: string;
  reason?: string;
  closed?: boolean;
  approval?: unknown;
  replacementOrderId?: string;
}

export interface ReturnActivities {
  recordReturnState(update: ReturnStateUpdate): Promise<void>;
  /** A parcel arrives: customer → return_pending, and its cost from COGS back to inventory (one entry per parcel). */
  receiveReturnParcel(input: { rmaId: string; parcelId: string; warehouse: string; actor: string; lines: ParcelLine[] }): Promise<{ costMinor: number; journalEntryId: number | null }>;
  /** Inspected units leave return_pending by their disposition. */
  inspectReturnedUnits(input: { rmaId: string; inspectionId: string; actor: string; units: InspectedUnit[] }): Promise<{ restockedMinor: number; writtenOffMinor: number }>;
  /** What the return gives back, once. */
  computeReturnRefund(input: { rmaId: string; policy: Pick<ReturnPolicy, 'restockingFeePct' | 'restockingFeeReasons' | 'freightRefundReasons'> }): Promise<RefundBreakdown>;
  /** Money back through the payment gateway, once per key; a refusal does not retry (`gateway_*` failure types). */
  issueRefund(input: { rmaId: string; key: string; amountMinor: number; currency: string }): Promise<{ refundId: string; replayed: boolean }>;
  /** The refund (or exchange credit) in the journal, once. */
  postReturnRefund(input: { rmaId: string; cashMinor: number; appliedMinor: number; actor: string }): Promise<{ journalEntryId: number | null }>;
  /** The replacement order of an exchange. */
  replacementOrderInput(input: { rmaId: string }): Promise<OrderInput>;
  /** What the replacement's shipments put on the customer's receivable. */
  replacementReceivable(input: { orderId: string }): Promise<number>;
}
