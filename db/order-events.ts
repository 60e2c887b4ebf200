/**
 * Order events in the outbox feed, for the channels the orders came from: written in the
 * same transaction as the change they announce, so the feed has an event exactly when the
 * change committed. The payload always names the order and its channel.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export const ORDER_RELEASED = 'order.released';
export const ORDER_CANCELLED = 'order.cancelled';
export const SHIPMENT_SHIPPED = 'shipment.shipped';
export const RETURN_AUTHORIZED = 'return.authorized';
export const RETURN_REFUNDED = 'return.refunded';
export const orderEventTopics = [ORDER_RELEASED, ORDER_CANCELLED, SHIPMENT_SHIPPED, RETURN_AUTHORIZED, RETURN_REFUNDED] as const;
export type OrderEventTopic = (typeof orderEventTopics)[number];

/** Writes one order event keyed by the order id, its payload with the order's id and channel. */
export async function writeOrderEvent(tx: Kysely<Database>, topic: OrderEventTopic, orderId: string, payload: Record<string, unknown>): Promise<void> {
  await sql`
    insert into outbox_events (topic, key, payload)
    select ${topic}, o.id, jsonb_build_object('orderId', o.id, 'channel', o.channel) || ${JSON.stringify(payload)}::jsonb
    from orders o where o.id = ${orderId}`.execute(tx);
}
