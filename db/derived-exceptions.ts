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
} as const;

/** A ledger refusal is an event, not a state: it stays a case until a person resolves it. */
export const clearedWhenGone: readonly string[] = [derivedKinds.stale_allocation, derivedKinds.receipt_over_tolerance, derivedKinds.return_past_sla];

/** Every derived condition that holds at `now` (refusals of the last `refusalDays`). */
export async function derivedExceptions(db: Db, options: { now: Date; returnSlaMs: number; returnSla: string; refusalDays?: number; limit?: number }): Promise<DerivedException[]> {
  const { now, limit = 1_000 } = options;
  const [stale, refused, overTolerance, lateReturns] = await Promise.all([
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
  ];
}
