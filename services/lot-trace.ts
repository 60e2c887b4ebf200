/**
 * Trace and recall of a lot: where it came from, where it went, what is left, and a hold
 * that takes it off the shelf and opens a recall task.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { move } from '../db/ledger.js';
import { createTaskActivities } from '../activities/tasks.js';

export interface LotTrace {
  sku: string;
  lot: string;
  expiresOn: string;
  held: boolean;
  heldReason: string | null;
  heldAt: Date | null;
  /** Units that came in: PO receipts with their supplier, and any other arrival (an adjustment, an opening receipt). */
  received: { warehouse: string; qty: number; at: Date; poId: string | null; receiptId: string | null; supplierId: string | null; supplierName: string | null; operation: string }[];
  /** Units shipped, per shipment, with the order and its customer. */
  shipped: { shipmentId: string; orderId: string; customerId: string; channel: string; warehouse: string; qty: number; shippedAt: Date | null }[];
  /** Units of the lot held by open orders' reservations. */
  allocated: { orderId: string; customerId: string | null; channel: string; warehouse: string; qty: number }[];
  /** What is in each warehouse's stock buckets now. */
  onHand: { warehouse: string; bucket: string; qty: number }[];
  customers: string[];
}

/** The whole trace of one lot, or undefined when the lot is unknown. */
export async function traceLot(db: Db, sku: string, lot: string): Promise<LotTrace | undefined> {
  const row = await db
    .selectFrom('lots')
    .select(['sku', 'lot', sql<string>`expires_on::text`.as('expires_on'), 'held', 'held_reason', 'held_at'])
    .where('sku', '=', sku)
    .where('lot', '=', lot)
    .executeTakeFirst();
  if (!row) return undefined;
  const [received, shipped, allocated, onHand] = await Promise.all([
    sql<{ warehouse: string; qty: number; at: Date; po_id: string | null; receipt_id: string | null; supplier_id: string | null; supplier_name: string | null; operation: string }>`
      select m.to_warehouse as warehouse, sum(m.qty)::bigint as qty, min(m.created_at) as at, r.po_id, r.receipt_id,
        p.supplier_id, s.name as supplier_name, o.kind as operation
      from inventory_movements m
      join inventory_operations o on o.idempotency_key = m.operation_key
      left join purchase_order_receipts r on r.operation_key = m.operation_key
      left join purchase_orders p on p.id = r.po_id
      left join suppliers s on s.id = p.supplier_id
      where m.sku = ${sku} and m.lot = ${lot} and m.from_bucket in ('supplier', 'inbound', 'adjustment')
      group by m.operation_key, m.to_warehouse, r.po_id, r.receipt_id, p.supplier_id, s.name, o.kind
      order by min(m.created_at), m.operation_key`.execute(db),
    sql<{ shipment_id: string; order_id: string; customer_id: string; channel: string; warehouse: string; qty: number; shipped_at: Date | null }>`
      select sl.shipment_id, s.order_id, o.customer_id, o.channel, s.warehouse_code as warehouse, sum(sl.qty)::bigint as qty, s.shipped_at
      from shipment_lots sl join shipments s on s.id = sl.shipment_id join orders o on o.id = s.order_id
      where sl.sku = ${sku} and sl.lot = ${lot}
      group by sl.shipment_id, s.order_id, o.customer_id, o.channel, s.warehouse_code, s.shipped_at
      order by s.shipped_at nulls last, sl.shipment_id`.execute(db),
    sql<{ order_id: string; customer_id: string | null; channel: string; warehouse: string; qty: number }>`
      select r.order_id, o.customer_id, r.channel, r.warehouse_code as warehouse, sum(l.qty - l.consumed_qty)::bigint as qty
      from reservation_lots l join reservations r on r.id = l.reservation_id left join orders o on o.id = r.order_id
      where l.sku = ${sku} and l.lot = ${lot} and r.status = 'active' and l.qty > l.consumed_qty
      group by r.order_id, o.customer_id, r.channel, r.warehouse_code
      order by r.order_id`.execute(db),
    db
      .selectFrom('inventory_lot_balances')
      .select(['warehouse_code', 'bucket', 'qty'])
      .where('sku', '=', sku)
      .where('lot', '=', lot)
      .where('bucket', 'in', ['available', 'allocated', 'quarantine', 'damaged', 'return_pending', 'in_transit'])
      .where('qty', '>', 0)
      .orderBy('warehouse_code')
      .orderBy('bucket')
      .execute(),
  ]);
  const customers = [...new Set([...shipped.rows.map((s) => s.customer_id), ...allocated.rows.flatMap((a) => (a.customer_id ? [a.customer_id] : []))])].sort();
  return {
    sku: row.sku,
    lot: row.lot,
    expiresOn: row.expires_on,
    held: row.held,
    heldReason: row.held_reason,
    heldAt: row.held_at,
    received: received.rows.map((r) => ({
      warehouse: r.warehouse,
      qty: Number(r.qty),
      at: r.at,
      poId: r.po_id,
      receiptId: r.receipt_id,
      supplierId: r.supplier_id,
      supplierName: r.supplier_name,
      operation: r.operation,
    })),
    shipped: shipped.rows.map((s) => ({ shipmentId: s.shipment_id, orderId: s.order_id, customerId: s.customer_id, channel: s.channel, warehouse: s.warehouse, qty: Number(s.qty), shippedAt: s.shipped_at })),
    allocated: allocated.rows.map((a) => ({ orderId: a.order_id, customerId: a.customer_id, channel: a.channel, warehouse: a.warehouse, qty: Number(a.qty) })),
    onHand: onHand.map((b) => ({ warehouse: b.warehouse_code, bucket: b.bucket, qty: b.qty })),
    customers,
  };
}

/**
 * Puts a lot on hold: no reservation takes it from now on, its units on the shelf or awaiting
 * a return decision move to quarantine (one ledger operation per warehouse and bucket, keyed
 * by the lot, so a second hold moves nothing), and a recall task for ops lists the open orders
 * holding it and every customer it reached. Units already allocated stay with their orders:
 * the task names them, for ops to cancel or reallocate.
 */
export async function holdLot(db: Db, request: { sku: string; lot: string; reason: string; actor: string }): Promise<{ trace: LotTrace; moved: { warehouse: string; from: string; qty: number }[]; taskId: string } | undefined> {
  const held = await db
    .updateTable('lots')
    .set({ held: true, held_reason: request.reason, held_by: request.actor, held_at: new Date() })
    .where('sku', '=', request.sku)
    .where('lot', '=', request.lot)
    .where('held', '=', false)
    .returning('lot')
    .executeTakeFirst();
  const exists = held ?? (await db.selectFrom('lots').select('lot').where('sku', '=', request.sku).where('lot', '=', request.lot).executeTakeFirst());
  if (!exists) return undefined;
  const onShelf = await db
    .selectFrom('inventory_lot_balances')
    .select(['warehouse_code', 'bucket', 'qty'])
    .where('sku', '=', request.sku)
    .where('lot', '=', request.lot)
    .where('bucket', 'in', ['available', 'return_pending'])
    .where('qty', '>', 0)
    .orderBy('warehouse_code')
    .orderBy('bucket')
    .execute();
  const moved: { warehouse: string; from: string; qty: number }[] = [];
  for (const b of onShelf) {
    // Keyed by the quantity too: units that come back to the shelf after a hold (a release) are moved by the next hold.
    await move(
      db,
      { key: `lot-hold:${request.sku}:${request.lot}:${b.warehouse_code}:${b.bucket}:${b.qty}`, actor: request.actor, process: `lot-hold:${request.sku}:${request.lot}`, step: 'quarantine', reason: request.reason },
      'lot_hold',
      [{ sku: request.sku, qty: b.qty, lot: request.lot, from: { warehouse: b.warehouse_code, bucket: b.bucket as 'available' }, to: { warehouse: b.warehouse_code, bucket: 'quarantine' } }],
    );
    moved.push({ warehouse: b.warehouse_code, from: b.bucket, qty: b.qty });
  }
  const trace = (await traceLot(db, request.sku, request.lot))!;
  const taskId = `lot-recall:${request.sku}:${request.lot}`;
  await createTaskActivities({ db }).openTask({
    id: taskId,
    kind: 'lot_recall',
    reference: `${request.sku}/${request.lot}`,
    workflowId: taskId,
    role: 'ops',
    title: `Recall lot ${request.lot} of ${request.sku}: ${trace.allocated.length} open order(s), ${trace.customers.length} customer(s)`,
    reason: request.reason,
    details: {
      sku: request.sku,
      lot: request.lot,
      openOrders: trace.allocated,
      shipped: trace.shipped,
      customers: trace.customers,
      onHand: trace.onHand,
    },
  });
  return { trace, moved, taskId };
}
