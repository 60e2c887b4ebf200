/**
 * Order release (`order-<orderId>`): what the API, the workflow and its activities agree on.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderProblem } from '../domain/order-validation.js';
import type { Address, OrderInput, OrderLineInput, ShortagePolicy } from '../domain/order.js';
import type { RiskFacts, RiskFlag, RiskRules } from '../domain/risk.js';
import type { RoutePlan } from '../domain/routing.js';
import type { VoidOutcome } from './payment.js';
import type { CancelRequest, Decision, TimelineEntry } from './shared.js';

export type { OrderInput } from '../domain/order.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const orderWorkflowType = 'orderRelease';
export type OrderReleaseWorkflow = (order: OrderInput, policy: OrderPolicy) => Promise<OrderView>;
export const orderWorkflowId = (orderId: string) => `order-${orderId}`;

/** Patch ids of order release; each names the change that introduced it (docs/patches.md says when each may go). */
export const orderPatches = {
  /** Shipments as child processes after release. */
  shipments: 'shipments',
  /** Database steps as local activities. */
  localActivities: 'local-activities',
  /** Amendments (a storefront's address or line change before release) recorded on the order. */
  amendments: 'amendments',
  /** What is left of the order's payment authorization is voided when it closes. */
  paymentVoid: 'payment-void',
} as const;

export const OrderStatus = {
  received: 'received',
  rejected: 'rejected',
  onHold: 'on_hold',
  allocating: 'allocating',
  backordered: 'backordered',
  released: 'released',
  shipped: 'shipped',
  partiallyShipped: 'partially_shipped',
  cancelled: 'cancelled',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export const terminalOrderStatuses: readonly OrderStatus[] = [OrderStatus.rejected, OrderStatus.cancelled, OrderStatus.shipped, OrderStatus.partiallyShipped];

/** Policies the API passes at start, so a running order keeps the rules it began with. */
export interface OrderPolicy {
  risk: RiskRules;
  priceTolerancePct: number;
  /** A held order's task rises in priority and shows as an exception after this… */
  holdEscalateAfter: string;
  /** …and the order is cancelled when nobody decided by this (from the start of the hold). */
  holdAutoCancelAfter: string;
  /** An allocation held back from fulfillment (the `wait` policy) expires after this. */
  reservationExpiry: string;
  /** How long a backordered line waits for stock before it is cancelled with notice. */
  backorderDeadline: string;
  /** Without news of stock, look again this often while backordered. */
  backorderRecheck: string;
  /** A shipment without a promised date should leave the warehouse within this. */
  shipWithin?: string;
}

export interface Allocation {
  lineNo: number;
  sku: string;
  warehouse: string;
  qty: number;
  reservationId: number;
}

export interface AllocationResult {
  allocations: Allocation[];
  routing: Pick<RoutePlan, 'split' | 'scores' | 'reason'> & { substituted: { lineNo: number; sku: string; substitute: string; qty: number }[] };
}

export interface OrderLineState {
  lineNo: number;
  allocated: number;
  backordered: number;
  cancelled: number;
  shipped: number;
}

export interface OrderLineView extends OrderLineState {
  sku: string;
  ordered: number;
  allocations: Allocation[];
}

export interface OrderView {
  orderId: string;
  status: OrderStatus;
  channel: string;
  customerId: string;
  valueMinor: number;
  lines: OrderLineView[];
  problems?: OrderProblem[];
  hold?: { flags: RiskFlag[]; since: string; escalated: boolean; decision?: Decision & { at: string } };
  routing?: AllocationResult['routing'][];
  cancellation?: CancelRequest & { at: string };
  shipments: { shipmentId: string; warehouse: string; status: 'open' | 'shipped' | 'cancelled' }[];
  timeline: TimelineEntry<OrderStatus>[];
  /** What was left of the payment authorization and released when the order closed. */
  payment?: VoidOutcome;
  /** Changes of address or lines taken before release, with who asked and why. */
  amendments?: { at: string; actor: string; reason: string; changed: ('address' | 'lines')[] }[];
}

/**
 * A change of the order before it is released: a new ship-to address (and billing country),
 * or new lines and freight. Lines change only while nothing is reserved for the order.
 */
export interface OrderAmendment {
  shipTo?: Address;
  billingCountry?: string | null;
  lines?: OrderLineInput[];
  freightMinor?: number;
  reason: string;
  actor: string;
}

/** Answers once the order is checked and screened: rejected, on hold, or on its way to stock. */
export const submitOrderUpdate = defineUpdate<OrderView>('submit');
export const holdDecisionUpdate = defineUpdate<OrderView, [Decision]>('holdDecision');
export const cancelOrderUpdate = defineUpdate<OrderView, [CancelRequest]>('cancel');
/**
 * Answers once the change is on the order. Refused (409) with `already_released` once any
 * unit went to fulfillment, `already_allocated` for new lines once stock is reserved,
 * `not_amendable` for an order that is closed or closing, `not_screened` before it is checked.
 */
export const amendOrderUpdate = defineUpdate<OrderView, [OrderAmendment]>('amend');
/** Stock arrived for a sku the order waits for: look again now. */
export const stockArrivedSignal = defineSignal('stockArrived');
export const orderViewQuery = defineQuery<OrderView>('orderView');

export interface CapturedOrder {
  problems: OrderProblem[];
  facts: RiskFacts;
  shortagePolicy: ShortagePolicy;
}

export interface AllocationRequest {
  orderId: string;
  attempt: number;
  channel: string;
  shipTo: { lat: number; lon: number };
  /** What each line still needs. */
  lines: { lineNo: number; sku: string; qty: number }[];
  /** All or nothing (the `wait` policy), or whatever is there. */
  allowPartial: boolean;
  /** The delivery promised to the customer, which routing weighs against transit time. */
  promisedBy?: string;
  expiresAt?: string;
  actor: string;
}

/** The order record the API reads, mirrored from the process. */
export interface OrderStateUpdate {
  orderId: string;
  status: string;
  reason?: string;
  lines?: OrderLineState[];
  hold?: unknown;
  routing?: unknown;
  problems?: unknown;
  released?: boolean;
  closed?: boolean;
}

export interface OrderReleaseActivities {
  recordOrderState(update: OrderStateUpdate): Promise<void>;
  /** Writes the order once, checks it against the item master, and gathers what the risk rules need. */
  captureOrder(order: OrderInput, velocityWindowHours: number, priceTolerancePct: number): Promise<CapturedOrder>;
  /** Routes what the lines still need and reserves it in one ledger operation; a retry returns the first result. */
  allocateOrder(request: AllocationRequest): Promise<AllocationResult>;
  /** Returns reservations to available: compensation on cancel, or expiry of a held allocation. */
  releaseOrderReservations(request: {
    orderId: string;
    key: string;
    reservationIds: number[];
    outcome: 'released' | 'expired';
    actor: string;
    reason: string;
  }): Promise<{ released: number }>;
  /** Hands allocated units to fulfillment: their reservations no longer expire by timer. */
  releaseToFulfillment(request: { reservationIds: number[]; state: OrderStateUpdate }): Promise<void>;
  /** Stock arrived for these skus: nudge the backordered orders that can now get some, first in line first. */
  wakeBackorders(skus: string[]): Promise<{ woken: string[] }>;
  /** Writes an amendment onto the order record: its address, and its lines while none is allocated. */
  recordOrderAmendment(amendment: { orderId: string; shipTo: Address; billingCountry: string | null; freightMinor: number; lines: OrderLineInput[]; totalMinor: number }): Promise<void>;
}
