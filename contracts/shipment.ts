/**
 * Shipment (`shipment-<orderId>-<n>`), a child of its order: one warehouse's part of an order
 * from release to the carrier.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ShipmentAmounts } from '../domain/postings.js';
import type { CaptureOutcome } from './payment.js';
import type { CancelRequest, TimelineEntry } from './shared.js';

/** The workflow type the worker registers, and its signature: clients start it by name with this type. */
export const shipmentWorkflowType = 'shipment';
export type ShipmentWorkflow = (input: ShipmentInput) => Promise<ShipmentView>;
export const shipmentWorkflowId = (shipmentId: string) => `shipment-${shipmentId}`;
/** The n-th shipment of an order (from 1). */
export const shipmentIdOf = (orderId: string, n: number) => `${orderId}-${n}`;

export const shipmentPatches = {
  /** Database steps as local activities. */
  localActivities: 'local-activities',
  /** The order's authorization captured for the shipment's share once it is confirmed. */
  paymentCapture: 'payment-capture',
} as const;

export const ShipmentStatus = {
  released: 'released',
  picked: 'picked',
  packed: 'packed',
  shipped: 'shipped',
  cancelled: 'cancelled',
} as const;
export type ShipmentStatus = (typeof ShipmentStatus)[keyof typeof ShipmentStatus];

export interface ShipmentLineInput {
  lineNo: number;
  sku: string;
  qty: number;
  reservationId: number;
}

export interface ShipmentInput {
  shipmentId: string;
  orderId: string;
  warehouse: string;
  shipBy?: string;
  lines: ShipmentLineInput[];
}

export interface UnitsOfLine {
  lineNo: number;
  sku: string;
  qty: number;
}

/** Events from the warehouse system, in the order they happen. */
export type WmsEvent =
  | { type: 'picked' }
  | { type: 'short_pick'; found: UnitsOfLine[] }
  | { type: 'packed' }
  | { type: 'shipped'; carrier: string; tracking: string; freightCostMinor: number };

export interface ShipmentView {
  shipmentId: string;
  orderId: string;
  warehouse: string;
  status: ShipmentStatus;
  lines: (UnitsOfLine & { picked?: number; shipped: number })[];
  shipBy?: string;
  late: boolean;
  carrier?: string;
  tracking?: string;
  journalEntryId?: number;
  /** The capture of the order's authorization for this shipment, once confirmed. */
  payment?: CaptureOutcome;
  missing: UnitsOfLine[];
  timeline: TimelineEntry<ShipmentStatus>[];
}

/** What a shipment tells its order: units missing at picking, units shipped, or units given back. */
export type ShipmentReport =
  | { shipmentId: string; type: 'short'; missing: UnitsOfLine[] }
  | { shipmentId: string; type: 'shipped'; shipped: UnitsOfLine[] }
  | { shipmentId: string; type: 'cancelled'; released: UnitsOfLine[] };

export const wmsEventUpdate = defineUpdate<ShipmentView, [WmsEvent]>('wmsEvent');
export const cancelShipmentSignal = defineSignal<[CancelRequest]>('cancelShipment');
/** Sent by a shipment to its order. */
export const shipmentReportSignal = defineSignal<[ShipmentReport]>('shipmentReport');
export const shipmentViewQuery = defineQuery<ShipmentView>('shipmentView');

export interface ShipmentActivities {
  /** The shipment and its lines, once. */
  recordShipment(input: ShipmentInput): Promise<void>;
  recordShipmentStatus(update: { shipmentId: string; status: string; carrier?: string; tracking?: string }): Promise<void>;
  /** A short pick: units not on the shelf leave the books and are written off. Returns what is missing per line. */
  recordShortPick(request: { shipmentId: string; found: UnitsOfLine[] }): Promise<UnitsOfLine[]>;
  /** The carrier has it: the units leave for the customer and the shipment posts once. */
  confirmShipment(request: {
    shipmentId: string;
    orderId: string;
    carrier: string;
    tracking: string;
    freightCostMinor: number;
  }): Promise<{ journalEntryId: number; shipped: UnitsOfLine[]; amounts?: ShipmentAmounts }>;
  /** A shipment that will not go: its unshipped units return to available. */
  releaseShipment(request: { shipmentId: string; reason: string; actor: string }): Promise<UnitsOfLine[]>;
}
