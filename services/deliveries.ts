/**
 * A carrier's delivery of a shipment. It comes after the shipment's process has ended (the
 * process ends at `shipped`), so it is written to the shipment's record directly: once, the
 * same report again answers the first, and a shipment not yet shipped cannot be delivered.
 */
import type { Db } from '../db/connection.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export interface Delivery {
  shipmentId: string;
  deliveredAt: Date;
  reportedAt: Date;
  reportedBy: string;
  /** False when this repeats a delivery already recorded. */
  recorded: boolean;
}

export async function recordDelivery(db: Db, input: { shipmentId: string; deliveredAt: Date; actor: string }): Promise<Delivery | Refusal> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('shipments').select(['id', 'status', 'shipped_at', 'delivered_at', 'delivery_reported_at', 'delivery_reported_by']).where('id', '=', input.shipmentId).forUpdate().executeTakeFirst();
    if (!row) return refuse.notFound(`shipment ${input.shipmentId}`);
    if (row.delivered_at) {
      if (row.delivered_at.getTime() === input.deliveredAt.getTime()) {
        return { shipmentId: row.id, deliveredAt: row.delivered_at, reportedAt: row.delivery_reported_at!, reportedBy: row.delivery_reported_by ?? 'unknown', recorded: false };
      }
      return refuse.conflict('already_delivered', `shipment ${row.id} was reported delivered at ${row.delivered_at.toISOString()}; a different time is refused`);
    }
    if (row.status !== 'shipped' || !row.shipped_at) return refuse.conflict('not_shipped', `shipment ${row.id} is ${row.status}: only a shipped shipment can be delivered`);
    if (input.deliveredAt.getTime() < row.shipped_at.getTime() - 60_000) {
      return refuse.invalid('delivered_before_shipped', `delivered at ${input.deliveredAt.toISOString()}, before it shipped at ${row.shipped_at.toISOString()}`, [{ path: 'deliveredAt', message: 'before the shipment shipped', code: 'delivered_before_shipped' }]);
    }
    if (input.deliveredAt.getTime() > Date.now() + 5 * 60_000) {
      return refuse.invalid('delivered_in_future', 'a delivery cannot be in the future', [{ path: 'deliveredAt', message: 'in the future', code: 'delivered_in_future' }]);
    }
    const now = new Date();
    await tx.updateTable('shipments').set({ delivered_at: input.deliveredAt, delivery_reported_at: now, delivery_reported_by: input.actor }).where('id', '=', row.id).execute();
    return { shipmentId: row.id, deliveredAt: input.deliveredAt, reportedAt: now, reportedBy: input.actor, recorded: true };
  });
}
