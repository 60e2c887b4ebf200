/**
 * Conditions found by looking at the records rather than raised by a process: allocations
 * past their expiry, stock movements the ledger refused, receipts over a PO's tolerance
 * waiting for a buyer, returns past their SLA. The exception sweep raises each as an
 * exception (so it is worked as a case) and resolves those whose condition has gone.
 */
import type { ExceptionInput } from '../contracts/shared.js';
import { orderWorkflowId } from '../contracts/order.js';
import type { Db } from './connection.js';
import { staleReservations } from './ledger.js';
import { returnsPastSla } from './return-kpis.js';

export interface DerivedException extends ExceptionInput {
  since: Date;
}

/** The id prefixes of derived exceptions, by kind; an open exception under one is the sweep's to clear. */
export const derivedKinds = {
  stale_allocation: 'stale-allocation:',
  negative_inventory_refused: 'ledger-refusal:',
  receipt_over_tolerance: 'receipt-over-tolerance:',
  return_past_sla: 'return-past-sla:',
  authorization_expiring: 'authorization-expiring:',
  capture_not_paid_out: 'capture-not-paid-out:',
} as const;

/** A ledger refusal is an event, not a state: it stays a case until a person resolves it. */
export const clearedWhenGone: readonly string[] = [
  derivedKinds.stale_allocation,
  derivedKinds.receipt_over_tolerance,
  derivedKinds.return_past_sla,
  derivedKinds.authorization_expiring,
  derivedKinds.capture_not_paid_out,
];

/** The payment settings of the sweep: how early an expiring authorization shows, how long a capture may wait for its payout. */
export interface PaymentSweepSettings {
  authExpiryLeadMs: number;
  settlementPayoutDays: number;
}

/**
 * Authorizations that expire within the lead (or have expired) while their order is not yet
 * fully shipped, and still hold something not captured or voided.
 */
export async function authorizationsExpiring(db: Db, now: Date, leadMs: number, limit = 1_000) {
  return db
    .selectFrom('order_payments as p')
    .innerJoin('orders as o', 'o.id', 'p.order_id')
    .select(['p.order_id', 'p.gateway', 'p.authorization_id', 'p.currency', 'p.authorized_minor', 'p.captured_minor', 'p.voided_minor', 'p.expires_at', 'o.status', 'o.customer_id'])
    .where('p.kind', '=', 'authorization')
    .where('p.expires_at', 'is not', null)
    .where('p.expires_at', '<=', new Date(now.getTime() + leadMs))
    .where('o.status', 'not in', ['shipped', 'partially_shipped', 'cancelled', 'rejected'])
    .where((eb) => eb(eb('p.captured_minor', '+', eb.ref('p.voided_minor')), '<', eb.ref('p.authorized_minor')))
    .orderBy('p.expires_at')
    .limit(limit)
    .execute();
}

/** Captures older than `days` that no settlement's charge line has matched (paid out). */
export async function capturesNotPaidOut(db: Db, now: Date, days: number, limit = 1_000) {
  return db
    .selectFrom('payment_captures as c')
    .selectAll('c')
    .where('c.created_at', '<=', new Date(now.getTime() - days * 86_400_000))
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('settlement_lines as l').select('l.line_no').where('l.type', '=', 'charge').whereRef('l.source', '=', 'c.capture_id').where('l.outcome', 'in', ['matched', 'differs']))),
    )
    .orderBy('c.created_at')
    .limit(limit)
    .execute();
}

/** Every derived condition that holds at `now` (refusals of the last `refusalDays`). */
export async function derivedExceptions(
  db: Db,
  options: { now: Date; returnSlaMs: number; returnSla: string; refusalDays?: number; limit?: number } & Partial<PaymentSweepSettings>,
): Promise<DerivedException[]> {
  const { now, limit = 1_000 } = options;
  const leadMs = options.authExpiryLeadMs ?? 48 * 3_600_000;
  const payoutDays = options.settlementPayoutDays ?? 7;
  const [stale, refused, overTolerance, lateReturns, expiring, notPaidOut] = await Promise.all([
    staleReservations(db, now),
    db
      .selectFrom('ledger_refusals')
      .selectAll()
      .where('refused_at', '>', new Date(now.getTime() - (options.refusalDays ?? 7) * 86_400_000))
      .orderBy('refused_at', 'desc')
      .limit(limit)
      .execute(),
    db.selectFrom('tasks').selectAll().where('status', '=', 'open').where('kind', '=', 'purchase_order_receipt_excess').orderBy('created_at').limit(limit).execute(),
    returnsPastSla(db, options.returnSlaMs, now),
    authorizationsExpiring(db, now, leadMs, limit),
    capturesNotPaidOut(db, now, payoutDays, limit),
  ]);
  return [
    ...stale.map((r) => ({
      id: `${derivedKinds.stale_allocation}${r.id}`,
      kind: 'stale_allocation',
      reference: r.order_id,
      ownerRole: 'ops',
      message: `${r.qty - r.consumed_qty} × ${r.sku} at ${r.warehouse_code} allocated to order ${r.order_id} past its expiry`,
      details: { reservationId: r.id, sku: r.sku, warehouse: r.warehouse_code, expiresAt: r.expires_at },
      since: r.expires_at!,
      workflowId: orderWorkflowId(r.order_id),
    })),
    ...refused.map((r) => ({
      id: `${derivedKinds.negative_inventory_refused}${r.id}`,
      kind: 'negative_inventory_refused',
      reference: r.operation_key,
      ownerRole: 'ops',
      message: `${r.kind} refused: ${r.sku} at ${r.warehouse_code} has ${r.on_hand} ${r.bucket}, ${r.requested} needed`,
      details: { sku: r.sku, warehouse: r.warehouse_code, bucket: r.bucket, requested: r.requested, onHand: r.on_hand, process: r.process },
      since: r.refused_at,
      workflowId: r.process ?? undefined,
    })),
    // Goods beyond a PO's receipt tolerance, waiting for a buyer's decision (the task is the way to act).
    ...overTolerance.map((t) => ({
      id: `${derivedKinds.receipt_over_tolerance}${t.id}`,
      kind: 'receipt_over_tolerance',
      reference: t.reference,
      ownerRole: t.role,
      message: t.title,
      details: t.details as Record<string, unknown>,
      since: t.created_at,
      workflowId: t.workflow_id,
    })),
    // Returns received and not settled within their SLA.
    ...lateReturns.map((r) => ({
      id: `${derivedKinds.return_past_sla}${r.id}`,
      kind: 'return_past_sla',
      reference: r.id,
      ownerRole: 'ops',
      message: `return ${r.id} (order ${r.order_id}) received ${r.first_received_at!.toISOString()} is still ${r.status}, past its SLA of ${options.returnSla}`,
      details: { returnId: r.id, orderId: r.order_id, status: r.status, customerId: r.customer_id, sla: options.returnSla },
      since: r.first_received_at!,
      workflowId: r.workflow_id,
    })),
    // Authorizations about to lapse before their order has shipped: capture or re-authorize.
    ...expiring.map((p) => ({
      id: `${derivedKinds.authorization_expiring}${p.order_id}`,
      kind: 'authorization_expiring',
      reference: p.order_id,
      ownerRole: 'finance',
      message: `the authorization ${p.authorization_id} of order ${p.order_id} (${p.status}) ${p.expires_at!.getTime() <= now.getTime() ? 'expired' : 'expires'} ${p.expires_at!.toISOString()} with ${p.authorized_minor - p.captured_minor - p.voided_minor} ${p.currency} not captured`,
      details: {
        orderId: p.order_id,
        gateway: p.gateway,
        authorizationId: p.authorization_id,
        expiresAt: p.expires_at,
        openMinor: p.authorized_minor - p.captured_minor - p.voided_minor,
        currency: p.currency,
        orderStatus: p.status,
      },
      since: new Date(p.expires_at!.getTime() - leadMs),
      workflowId: orderWorkflowId(p.order_id),
    })),
    // Captured and never seen in a payout: the gateway has not paid it, or its line did not match.
    ...notPaidOut.map((c) => ({
      id: `${derivedKinds.capture_not_paid_out}${c.capture_id}`,
      kind: 'capture_not_paid_out',
      reference: c.order_id,
      ownerRole: 'finance',
      message: `capture ${c.capture_id} of ${c.amount_minor} ${c.currency} (order ${c.order_id}, shipment ${c.shipment_id}) has not been paid out ${payoutDays} days after ${c.created_at.toISOString()}`,
      details: { captureId: c.capture_id, orderId: c.order_id, shipmentId: c.shipment_id, amountMinor: c.amount_minor, currency: c.currency, capturedAt: c.created_at, payoutDays },
      since: c.created_at,
      workflowId: orderWorkflowId(c.order_id),
    })),
  ];
}
