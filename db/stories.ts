/** The records an order's or a return's story is told from (domain/story.ts tells it). */
import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { StoryHold, StoryOrder, StoryReturn } from '../domain/story.js';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

async function returnFacts(db: Db, filter: { returnId: string } | { orderId: string }): Promise<StoryReturn[]> {
  let query = db
    .selectFrom('returns as r')
    .selectAll('r')
    .select((eb) => [
      eb.selectFrom('return_lines as l').whereRef('l.return_id', '=', 'r.id').select(sql<number>`coalesce(sum(l.qty), 0)::int`.as('n')).as('units'),
      eb.selectFrom('return_lines as l').whereRef('l.return_id', '=', 'r.id').select(sql<number>`coalesce(sum(l.received_qty), 0)::int`.as('n')).as('received_units'),
    ]);
  query = 'returnId' in filter ? query.where('r.id', '=', filter.returnId) : query.where('r.order_id', '=', filter.orderId);
  const rows = await query.orderBy('r.authorized_at').orderBy('r.id').execute();
  return rows.map((r) => ({
    returnId: r.id,
    orderId: r.order_id,
    status: r.status,
    statusReason: r.status_reason,
    reasonCode: r.reason_code,
    resolution: r.resolution,
    currency: r.currency,
    units: Number(r.units ?? 0),
    receivedUnits: Number(r.received_units ?? 0),
    authorizedAt: r.authorized_at.toISOString(),
    requestedBy: r.requested_by,
    firstReceivedAt: iso(r.first_received_at),
    inspectedAt: iso(r.inspected_at),
    refundedAt: iso(r.refunded_at),
    refundMinor: r.refund_minor,
    creditMinor: r.credit_minor,
    replacementOrderId: r.replacement_order_id,
    closedAt: iso(r.closed_at),
  }));
}

/** One return's facts, or undefined when there is no such return. */
export async function returnStoryFacts(db: Db, returnId: string): Promise<StoryReturn | undefined> {
  return (await returnFacts(db, { returnId }))[0];
}

/** An order's facts: its record, hold (with the audit row of who decided), routing, shipments and returns. */
export async function orderStoryFacts(db: Db, orderId: string): Promise<StoryOrder | undefined> {
  const order = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
  if (!order) return undefined;
  const [lines, shipments, decided, returns] = await Promise.all([
    db.selectFrom('order_lines').selectAll().where('order_id', '=', orderId).execute(),
    db
      .selectFrom('shipments as s')
      .selectAll('s')
      .select((eb) => eb.selectFrom('shipment_lines as l').whereRef('l.shipment_id', '=', 's.id').select(sql<number>`coalesce(sum(l.qty), 0)::int`.as('n')).as('units'))
      .where('s.order_id', '=', orderId)
      .orderBy('s.created_at')
      .orderBy('s.id')
      .execute(),
    db
      .selectFrom('audit_log')
      .select(['actor', 'role', 'at'])
      .where('subject_type', '=', 'order')
      .where('subject_id', '=', orderId)
      .where('action', 'like', 'order.hold_decision%')
      .where('outcome', '=', 'accepted')
      .where('status_code', '<', 300)
      .orderBy('at', 'desc')
      .limit(1)
      .executeTakeFirst(),
    returnFacts(db, { orderId }),
  ]);
  const storedHold = order.hold as Omit<StoryHold, 'audit'> | null;
  const hold: StoryHold | null = storedHold
    ? { ...storedHold, ...(decided && storedHold.decision ? { audit: { actor: decided.actor, role: decided.role, at: decided.at.toISOString() } } : {}) }
    : null;
  const routing = Array.isArray(order.routing) ? (order.routing as { split?: boolean; reason?: string }[]) : [];
  return {
    orderId: order.id,
    channel: order.channel,
    customerId: order.customer_id,
    currency: order.currency,
    totalMinor: order.total_minor,
    status: order.status,
    statusReason: order.status_reason,
    createdAt: order.created_at.toISOString(),
    releasedAt: iso(order.released_at),
    closedAt: iso(order.closed_at),
    units: lines.reduce((n, l) => n + l.qty, 0),
    cancelledUnits: lines.reduce((n, l) => n + l.cancelled_qty, 0),
    backorderedUnits: lines.reduce((n, l) => n + l.backordered_qty, 0),
    hold,
    routing: routing.map((r) => ({ split: r.split === true, reason: r.reason ?? '' })),
    shipments: shipments.map((s) => ({
      shipmentId: s.id,
      warehouse: s.warehouse_code,
      status: s.status,
      units: Number(s.units ?? 0),
      carrier: s.carrier,
      tracking: s.tracking,
      shippedAt: iso(s.shipped_at),
      deliveredAt: iso(s.delivered_at),
    })),
    returns,
  };
}
