/**
 * Purchase order (`po-<poId>`), procure to pay: what the API, the workflow and its activities agree on.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { InvoiceDifference } from '../domain/purchase-order.js';
import type { CancelRequest, Decision, TimelineEntry } from './shared.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const purchaseOrderWorkflowType = 'purchaseOrder';
export type PurchaseOrderWorkflow = (input: PurchaseOrderInput) => Promise<PurchaseOrderView>;
export const purchaseOrderWorkflowId = (poId: string) => `po-${poId}`;

export const purchaseOrderPatches = {
  /** A PO closes only once finance has decided every mismatched invoice. */
  invoiceDecisions: 'invoice-decisions',
} as const;

export interface PurchaseOrderLineInput {
  lineNo: number;
  sku: string;
  qty: number;
  unitCostMinor: number;
}

export interface PurchaseOrderDraft {
  poId: string;
  supplierId: string;
  warehouse: string;
  currency: string;
  /** ISO time the goods are expected. */
  expectedAt: string;
  lines: PurchaseOrderLineInput[];
  createdBy: string;
  creatorRole: 'buyer' | 'ops';
}

export interface DraftProblem {
  path: string;
  message: string;
}

export const PurchaseOrderStatus = {
  draft: 'draft',
  rejected: 'rejected',
  awaitingApproval: 'awaiting_approval',
  issued: 'issued',
  acknowledged: 'acknowledged',
  receiving: 'receiving',
  closed: 'closed',
  cancelled: 'cancelled',
} as const;
export type PurchaseOrderStatus = (typeof PurchaseOrderStatus)[keyof typeof PurchaseOrderStatus];

/** Policies the API passes at start, so a running PO keeps the rules it began with. */
export interface PurchaseOrderPolicy {
  /** A buyer's PO up to this value proceeds without approval; above it, finance approves. */
  buyerApprovalLimitMinor: number;
  /** Receipts within this percentage over (or short of) the ordered quantity are accepted. */
  receiptTolerancePct: number;
  /** A supplier that has not acknowledged within this raises an exception. */
  ackDeadline: string;
  /** Invoice unit prices may differ from the PO price by this much. */
  invoicePriceTolerancePct: number;
  /** An approval nobody decides rises in priority after this. */
  approvalEscalateAfter: string;
}

export interface PurchaseOrderInput extends PurchaseOrderDraft {
  policy: PurchaseOrderPolicy;
}

/** A buyer's or finance's answer on a PO above the buyer's limit. */
export type ApprovalDecision = Decision;

export interface Acknowledgement {
  /** ISO date the supplier promises; it becomes the expected date. */
  confirmedDate?: string;
  lines: { lineNo: number; confirmedQty: number }[];
  actor: string;
}

export interface Receipt {
  receiptId: string;
  /** A lot-tracked item's line names its lot and expiry (ISO date); the API checks this before it reaches the process. */
  lines: { lineNo: number; qty: number; lot?: string; expiresOn?: string }[];
  /** Freight, duty and the like for this receipt, spread over its lines. */
  landedCostMinor: number;
  landedCostBasis: 'value' | 'quantity';
  actor: string;
}

export interface ExcessDecision {
  receiptId: string;
  decision: 'accept' | 'reject';
  reason: string;
  actor: string;
}

export interface Inspection {
  inspectionId: string;
  lines: { lineNo: number; accepted: number; rejected: number }[];
  actor: string;
}

export interface SupplierInvoice {
  invoiceId: string;
  lines: { lineNo: number; qty: number; unitCostMinor: number }[];
  chargesMinor: number;
  actor: string;
}

/** Finance's answer to an invoice that did not match. */
export interface InvoiceDecision extends ApprovalDecision {
  invoiceId: string;
}

export interface ExtendRequest {
  /** ISO time of the new expected arrival. */
  expectedAt: string;
  reason: string;
  actor: string;
}

export interface PurchaseOrderLineView {
  lineNo: number;
  sku: string;
  ordered: number;
  unitCostMinor: number;
  requiresInspection: boolean;
  confirmed?: number;
  received: number;
  /** Received into quarantine and not yet inspected. */
  quarantined: number;
  accepted: number;
  rejected: number;
  cancelled: number;
  invoiced: number;
  /** Units still shown as inbound in the ledger for this line. */
  inbound: number;
}

export interface PendingExcess {
  receiptId: string;
  lines: (ReceiptPosting & { lineNo: number })[];
  decision?: ExcessDecision & { at: string };
}

export interface PurchaseOrderView {
  poId: string;
  status: PurchaseOrderStatus;
  supplierId: string;
  warehouse: string;
  valueMinor: number;
  expectedAt: string;
  lines: PurchaseOrderLineView[];
  problems?: DraftProblem[];
  approval: { needed: boolean; approverRole: 'buyer' | 'finance'; buyerLimitMinor: number; escalated?: boolean; decision?: ApprovalDecision & { at: string } };
  acknowledgement?: Acknowledgement & { at: string };
  receipts: { receiptId: string; at: string; accepted: { lineNo: number; qty: number; landedCostMinor: number; averageCostMinor?: number }[] }[];
  excess: PendingExcess[];
  inspections: string[];
  invoices: {
    invoiceId: string;
    matched: boolean;
    differences: InvoiceDifference[];
    totalMinor: number;
    chargesMinor: number;
    /** The part of the charges taken against landed cost received, once matched or approved. */
    chargesRelievedMinor?: number;
    lines?: SupplierInvoice['lines'];
    decision?: Omit<InvoiceDecision, 'invoiceId'> & { at: string };
  }[];
  /** Exceptions raised, by id suffix (`po_ack_missing`, `po_late`, `po_late-2`, …). */
  exceptions: string[];
  extensions: (ExtendRequest & { at: string; from: string })[];
  cancellation?: CancelRequest & { at: string };
  timeline: TimelineEntry<PurchaseOrderStatus>[];
}

/** Answers once the draft is checked and its approval settled: issued, waiting for approval, or rejected. */
export const submitPurchaseOrderUpdate = defineUpdate<PurchaseOrderView>('submit');
export const approvePurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [ApprovalDecision]>('approve');
export const acknowledgePurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [Acknowledgement]>('acknowledge');
export const receivePurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [Receipt]>('receive');
export const decideExcessUpdate = defineUpdate<PurchaseOrderView, [ExcessDecision]>('decideExcess');
export const inspectPurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [Inspection]>('inspect');
export const invoicePurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [SupplierInvoice]>('invoice');
export const decideInvoiceUpdate = defineUpdate<PurchaseOrderView, [InvoiceDecision]>('decideInvoice');
export const cancelPurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [CancelRequest]>('cancel');
export const extendPurchaseOrderUpdate = defineUpdate<PurchaseOrderView, [ExtendRequest]>('extend');
export const purchaseOrderViewQuery = defineQuery<PurchaseOrderView>('view');

export interface ReceiptPosting {
  lineNo: number;
  sku: string;
  qty: number;
  /** Of qty, how many were expected (inbound shrinks by this much). */
  fromInbound: number;
  into: 'available' | 'quarantine';
  unitCostMinor: number;
  landedCostMinor: number;
  /** The lot received, for a lot-tracked item. */
  lot?: { lot: string; expiresOn: string };
}

export interface PurchaseOrderLineState {
  lineNo: number;
  confirmed?: number;
  received: number;
  accepted: number;
  rejected: number;
  cancelled: number;
  invoiced: number;
}

export interface PurchaseOrderActivities {
  /** Checks the draft against the supplier's approvals and records it once; a draft with problems records nothing. */
  draftPurchaseOrder(draft: PurchaseOrderDraft & { workflowId: string; valueMinor: number }): Promise<{
    problems: DraftProblem[];
    inspection: { lineNo: number; requiresInspection: boolean }[];
  }>;
  /** Tells the supplier (an outbox event) and makes the ordered units visible as inbound. */
  issuePurchaseOrder(input: { poId: string; workflowId: string; supplierId: string; warehouse: string; expectedAt: string; lines: PurchaseOrderLineInput[] }): Promise<void>;
  /** Receives goods into available or quarantine, updates average cost, posts inventory against GRNI; once per receipt. */
  receivePurchaseOrderLines(input: {
    poId: string;
    workflowId: string;
    receiptId: string;
    warehouse: string;
    actor: string;
    lines: ReceiptPosting[];
  }): Promise<{ lineNo: number; averageCostMinor: number; journalEntryId: number | null }[]>;
  /** Inspection of quarantined units: accepted → available, rejected → damaged. */
  inspectPurchaseOrderLines(input: {
    workflowId: string;
    inspectionId: string;
    warehouse: string;
    actor: string;
    lines: { lineNo: number; sku: string; accepted: number; rejected: number }[];
  }): Promise<void>;
  /** Expected units that will not come go back out of inbound. */
  releasePurchaseOrderInbound(input: { workflowId: string; step: string; warehouse: string; actor: string; lines: { lineNo: number; sku: string; qty: number }[] }): Promise<void>;
  /** Records a supplier invoice; a matched one posts GRNI against payables in the same transaction. */
  recordSupplierInvoice(input: {
    poId: string;
    workflowId: string;
    invoiceId: string;
    supplierId: string;
    actor: string;
    lines: { lineNo: number; qty: number; unitCostMinor: number }[];
    chargesMinor: number;
    matched: boolean;
    differences: unknown[];
    grniMinor: number;
    totalMinor: number;
  }): Promise<{ journalEntryId: number | null }>;
  /** Finance's decision on a mismatched invoice: approved into payables as billed, or disputed. */
  decideSupplierInvoice(input: {
    poId: string;
    workflowId: string;
    invoiceId: string;
    supplierId: string;
    decision: 'approve' | 'reject';
    reason: string;
    actor: string;
    grniMinor: number;
    totalMinor: number;
  }): Promise<{ journalEntryId: number | null }>;
  /** Mirrors the process's figures on the PO record (absolute values, so a retry writes the same). */
  recordPurchaseOrderState(input: {
    poId: string;
    status: string;
    reason?: string;
    lines: PurchaseOrderLineState[];
    approval?: unknown;
    acknowledgedAt?: string;
    confirmedAt?: string;
    closed?: boolean;
  }): Promise<void>;
}
