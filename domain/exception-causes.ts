/**
 * How exceptions are worked: the root causes a person may give when resolving one, per kind
 * of exception, and how long each kind may stay open (its SLA). Pure data and rules.
 */

/** Causes anyone may give, whatever the kind. */
export const commonCauses = ['data_entry_error', 'system_fault', 'duplicate', 'other'] as const;

export const causesByKind: Record<string, readonly string[]> = {
  short_pick: ['bin_error', 'count_error', 'damaged', 'theft', 'receiving_error'],
  late_shipment: ['carrier_delay', 'warehouse_capacity', 'stock_missing', 'address_problem'],
  po_late: ['supplier_delay', 'transit_delay', 'wrong_expected_date', 'customs'],
  po_ack_missing: ['supplier_unresponsive', 'wrong_contact', 'portal_outage'],
  transfer_late: ['carrier_delay', 'lost_in_transit', 'wrong_expected_date'],
  hold_escalated: ['understaffed', 'customer_unreachable', 'risk_rule_too_strict'],
  backorder_cancelled: ['supplier_delay', 'forecast_miss', 'policy'],
  refund_refused: ['gateway_error', 'card_expired', 'fraud_suspected'],
  channel_delivery_failing: ['channel_outage', 'credentials_expired', 'endpoint_changed'],
  replenishment_run_failed: ['bad_master_data', 'system_fault'],
  supplier_invoice_mismatch: ['price_change', 'quantity_error', 'freight_charge'],
  // Raised by the exception sweep from what the records show.
  stale_allocation: ['wave_not_released', 'stuck_process', 'warehouse_capacity'],
  negative_inventory_refused: ['count_error', 'receiving_error', 'unrecorded_movement', 'duplicate_event'],
  receipt_over_tolerance: ['supplier_over_shipped', 'wrong_po', 'tolerance_too_tight'],
  return_past_sla: ['understaffed', 'awaiting_inspection', 'awaiting_refund_approval', 'customer_unreachable'],
  lot_expired: ['slow_sales', 'over_ordered', 'short_dated_receipt'],
  authorization_expiring: ['fulfilment_delay', 'backorder', 'short_authorization_window', 'reauthorization_needed'],
  capture_not_paid_out: ['gateway_payout_delay', 'settlement_not_imported', 'settlement_line_unmatched', 'capture_reversed'],
};

/** The causes a person may resolve an exception of this kind with. */
export function causesFor(kind: string): string[] {
  return [...(causesByKind[kind] ?? []), ...commonCauses];
}

/** The cause recorded when a process clears its own exception (the late PO arrived). */
export const clearedByProcess = 'cleared_by_process';

const hour = 3_600_000;
/** How long an exception of each kind may stay unresolved; others one day. */
export const slaByKind: Record<string, number> = {
  short_pick: 4 * hour,
  late_shipment: 4 * hour,
  hold_escalated: 4 * hour,
  channel_delivery_failing: 1 * hour,
  refund_refused: 24 * hour,
  po_ack_missing: 24 * hour,
  po_late: 48 * hour,
  transfer_late: 48 * hour,
  replenishment_run_failed: 8 * hour,
  stale_allocation: 4 * hour,
  negative_inventory_refused: 24 * hour,
  receipt_over_tolerance: 24 * hour,
  return_past_sla: 24 * hour,
  authorization_expiring: 8 * hour,
  capture_not_paid_out: 48 * hour,
};
export const defaultSlaMs = 24 * hour;
export const slaMsFor = (kind: string) => slaByKind[kind] ?? defaultSlaMs;

/** Where an exception stands against its SLA, `now` against when it was opened. */
export function slaOf(kind: string, openedAt: Date, now: Date, resolvedAt: Date | null = null): { slaMs: number; dueAt: Date; breached: boolean; ageMs: number } {
  const slaMs = slaMsFor(kind);
  const dueAt = new Date(openedAt.getTime() + slaMs);
  const end = resolvedAt ?? now;
  return { slaMs, dueAt, breached: end.getTime() > dueAt.getTime(), ageMs: Math.max(0, end.getTime() - openedAt.getTime()) };
}

/** Age buckets for the summary. */
export const ageBuckets = [
  { label: 'under_1h', upToMs: hour },
  { label: '1h_to_4h', upToMs: 4 * hour },
  { label: '4h_to_24h', upToMs: 24 * hour },
  { label: '1d_to_7d', upToMs: 7 * 24 * hour },
  { label: 'over_7d', upToMs: Number.POSITIVE_INFINITY },
] as const;

export function ageBucketOf(ageMs: number): string {
  return ageBuckets.find((b) => ageMs < b.upToMs)!.label;
}
