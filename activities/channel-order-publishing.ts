/**
 * Order updates back to a channel's platform: reading the order events of the outbox feed
 * that concern the channel's storefront orders, and sending each to the platform
 * (fulfillments with tracking, cancellations, refund records), once.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { readFeed } from '../db/outbox.js';
import { orderEventTopics, ORDER_CANCELLED, RETURN_AUTHORIZED, RETURN_REFUNDED, SHIPMENT_SHIPPED } from '../db/order-events.js';
import { storedCursor } from '../db/channel-publishing.js';
import type { ChannelOrderSnapshot } from '../domain/channel-orders.js';
import { shouldRaiseDeliveryException } from '../domain/channel-publishing.js';
import { platformUpdates } from '../services/connectors/index.js';
import { PlatformError, type OrderLineRef, type PlatformApi, type UpdateResult } from '../services/connectors/platform-api.js';
import { insertException, resolveExceptionRow } from './tasks.js';
import { CHANNEL_DELIVERY_FAILING } from './channel-publishing.js';
import { channelOrderPublisherWorkflowId, type ChannelOrderPublishingActivities, type OrderUpdateEvent, type OrderUpdateOutcome } from '../contracts/channel-order-publisher.js';

export const CHANNEL_UPDATE_REFUSED = 'channel_update_refused';

interface Publication {
  cursor: string | null;
  paused: boolean;
  platform: 'shopify' | 'woocommerce';
  api: { baseUrl: string; token: string | null } | null;
}

async function publication(db: Db, channel: string): Promise<Publication | undefined> {
  const row = await db
    .selectFrom('channel_order_publications as p')
    .innerJoin('channel_connectors as c', 'c.channel', 'p.channel')
    .select([sql<string | null>`p.cursor_tx::text`.as('cursor_tx'), 'p.cursor_id', 'p.paused', 'c.platform', 'c.api_base_url', 'c.api_token'])
    .where('p.channel', '=', channel)
    .executeTakeFirst();
  if (!row) return undefined;
  return { cursor: storedCursor(row.cursor_tx, row.cursor_id), paused: row.paused, platform: row.platform, api: row.api_base_url ? { baseUrl: row.api_base_url, token: row.api_token } : null };
}

/** Moves the cursor from `from` to `to` when it still stands at `from`; true when it moved. */
async function advance(tx: Db, channel: string, from: string | null, to: string): Promise<boolean> {
  const [txId, id] = to.split('-') as [string, string];
  const where = from === null ? sql`cursor_tx is null` : sql`(cursor_tx::text || '-' || cursor_id::text) = ${from}`;
  const { rows } = await sql<{ moved: boolean }>`
    update channel_order_publications set cursor_tx = ${txId}::xid8, cursor_id = ${Number(id)}, updated_at = now()
    where channel = ${channel} and ${where} returning true as moved`.execute(tx);
  return rows.length > 0;
}

export function createChannelOrderPublishingActivities({ db }: { db: Db }): ChannelOrderPublishingActivities {
  return {
    async readOrderUpdates({ channel, waitMs, pollIntervalMs, limit }) {
      const context = Context.current();
      const deadline = Date.now() + waitMs;
      for (;;) {
        context.heartbeat();
        const pub = await publication(db, channel);
        if (!pub || !pub.api) return { kind: 'idle', cursor: pub?.cursor ?? null, reason: 'not_connected' };
        if (pub.paused) return { kind: 'idle', cursor: pub.cursor, reason: 'paused' };
        const feed = await readFeed(db, pub.cursor ?? '0-0', limit);
        if (feed.length) {
          const keys = [...new Set(feed.filter((e) => (orderEventTopics as readonly string[]).includes(e.topic)).map((e) => e.key))];
          const ours = new Set(
            keys.length ? (await db.selectFrom('channel_orders').select('order_id').where('channel', '=', channel).where('order_id', 'in', keys).execute()).map((r) => r.order_id) : [],
          );
          const events: OrderUpdateEvent[] = [];
          let from = pub.cursor ?? '0-0';
          let passed = from;
          for (const event of feed) {
            if ((orderEventTopics as readonly string[]).includes(event.topic) && ours.has(event.key)) {
              events.push({ id: event.id, cursor: event.cursor, from, topic: event.topic, orderId: event.key, payload: event.payload as Record<string, unknown> });
              from = event.cursor;
            } else if (events.length === 0) {
              passed = event.cursor;
              from = event.cursor;
            }
          }
          // What concerns the channel not at all is passed over here, without a call to the platform.
          if (events.length === 0) {
            await advance(db, channel, pub.cursor, passed);
            if (Date.now() >= deadline) return { kind: 'caught_up', cursor: passed };
            continue;
          }
          if (passed !== (pub.cursor ?? '0-0')) await advance(db, channel, pub.cursor, passed);
          return { kind: 'events', events };
        }
        const left = deadline - Date.now();
        if (left <= 0) return { kind: 'caught_up', cursor: pub.cursor };
        await context.sleep(Math.min(pollIntervalMs, left));
      }
    },

    async sendOrderUpdate({ channel, event, requestTimeoutMs, failureThreshold }): Promise<OrderUpdateOutcome> {
      const pub = await publication(db, channel);
      if (!pub?.api || pub.paused) return { outcome: 'held', cursor: pub?.cursor ?? null };
      if (pub.cursor === event.cursor) return { outcome: 'already', cursor: event.cursor, action: 'repeat' };
      if ((pub.cursor ?? '0-0') !== event.from) return { outcome: 'superseded', cursor: pub.cursor };
      const order = await db.selectFrom('channel_orders').select(['platform_order_id', 'snapshot', 'applied']).where('channel', '=', channel).where('order_id', '=', event.orderId).executeTakeFirstOrThrow();
      const held = (order.applied ?? order.snapshot) as ChannelOrderSnapshot;
      const api: PlatformApi = { ...pub.api, timeoutMs: requestTimeoutMs };
      const updates = platformUpdates[pub.platform];
      const lines = (value: unknown): OrderLineRef[] =>
        (Array.isArray(value) ? (value as { lineNo: number; qty: number }[]) : []).map((l) => ({ lineNo: l.lineNo, qty: l.qty, platformLineId: held.lines.find((h) => h.lineNo === l.lineNo)?.platformLineId ?? String(l.lineNo) }));
      const p = event.payload;
      const ref = { platformOrderId: order.platform_order_id, currency: held.currency };
      let result: UpdateResult;
      try {
        if (event.topic === SHIPMENT_SHIPPED) {
          result = await updates.shipped(api, ref, { shipmentId: String(p.shipmentId), carrier: String(p.carrier), tracking: String(p.tracking), lines: lines(p.lines), orderComplete: p.orderComplete === true });
        } else if (event.topic === ORDER_CANCELLED) {
          result = await updates.cancelled(api, ref, String(p.reason ?? 'cancelled'));
        } else if (event.topic === RETURN_REFUNDED) {
          result = await updates.refunded(api, ref, { returnId: String(p.returnId), amountMinor: Number(p.amountMinor), lines: lines(p.lines) });
        } else if (event.topic === RETURN_AUTHORIZED) {
          result = await updates.returnAuthorized(api, ref, { returnId: String(p.returnId), lines: lines(p.lines) });
        } else {
          result = { action: 'none' };
        }
      } catch (error) {
        if (!(error instanceof PlatformError)) throw error;
        if (!error.retryable) return refuse(db, channel, event, error.message);
        const failures = await recordFailure(db, channel, error.message, failureThreshold, event);
        throw ApplicationFailure.create({
          message: `order update to ${channel} failed (${failures} in a row): ${error.message}`,
          type: 'channel_update_failed',
          ...(error.retryAfterMs !== undefined ? { nextRetryDelay: Math.max(100, error.retryAfterMs) } : {}),
        });
      }
      const outcome = result.action === 'none' ? 'skipped' : result.already ? 'already' : 'sent';
      const moved = await db.transaction().execute(async (tx) => {
        const before = await tx.selectFrom('channel_order_publications').select('open_exception_id').where('channel', '=', channel).forUpdate().executeTakeFirstOrThrow();
        if (!(await advance(tx, channel, event.from, event.cursor))) return false;
        await tx
          .updateTable('channel_order_publications')
          .set((eb) => ({
            ...(outcome === 'skipped' ? { skipped_events: eb('skipped_events', '+', 1) } : { sent_events: eb('sent_events', '+', 1), last_sent_at: sql<Date>`now()` }),
            consecutive_failures: 0,
            failing_since: null,
            open_exception_id: null,
          }))
          .where('channel', '=', channel)
          .execute();
        await tx
          .insertInto('channel_order_updates')
          .values({ channel, event_id: event.id, order_id: event.orderId, topic: event.topic, outcome, action: result.action, reference: result.reference ?? null })
          .onConflict((oc) => oc.columns(['channel', 'event_id']).doNothing())
          .execute();
        if (before.open_exception_id) await resolveExceptionRow(tx, before.open_exception_id);
        return true;
      });
      if (!moved) return { outcome: 'superseded', cursor: (await publication(db, channel))?.cursor ?? null };
      return { outcome, cursor: event.cursor, action: result.action };
    },
  };
}

/** The platform refused this update for good (a 4xx other than 429): recorded, raised for ops, and passed. */
async function refuse(db: Db, channel: string, event: OrderUpdateEvent, reason: string): Promise<OrderUpdateOutcome> {
  await db.transaction().execute(async (tx) => {
    if (!(await advance(tx, channel, event.from, event.cursor))) return;
    await tx.updateTable('channel_order_publications').set((eb) => ({ refused_events: eb('refused_events', '+', 1), consecutive_failures: 0, failing_since: null })).where('channel', '=', channel).execute();
    await tx
      .insertInto('channel_order_updates')
      .values({ channel, event_id: event.id, order_id: event.orderId, topic: event.topic, outcome: 'refused', action: event.topic, detail: reason.slice(0, 1000) })
      .onConflict((oc) => oc.columns(['channel', 'event_id']).doNothing())
      .execute();
    await insertException(tx, {
      id: `${CHANNEL_UPDATE_REFUSED}:${channel}:${event.id}`,
      kind: CHANNEL_UPDATE_REFUSED,
      reference: event.orderId,
      workflowId: channelOrderPublisherWorkflowId(channel),
      ownerRole: 'ops',
      message: `${channel}'s platform refused ${event.topic} of order ${event.orderId}: ${reason}`,
      details: { channel, eventId: event.id, topic: event.topic, payload: event.payload },
    });
  });
  return { outcome: 'refused', cursor: event.cursor, action: event.topic };
}

/** One more failure in a row; the one that reaches the threshold opens the episode's `channel_delivery_failing` exception. */
async function recordFailure(db: Db, channel: string, error: string, threshold: number, event: OrderUpdateEvent): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable('channel_order_publications')
      .set((eb) => ({
        consecutive_failures: eb('consecutive_failures', '+', 1),
        failing_since: sql<Date>`coalesce(failing_since, now())`,
        last_error: error.slice(0, 1000),
        last_failure_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
      }))
      .where('channel', '=', channel)
      .returning(['consecutive_failures', 'failing_since', 'open_exception_id'])
      .executeTakeFirstOrThrow();
    if (shouldRaiseDeliveryException({ consecutiveFailures: row.consecutive_failures, exceptionOpen: row.open_exception_id !== null }, threshold)) {
      const id = `${CHANNEL_DELIVERY_FAILING}:orders:${channel}:${row.failing_since!.getTime()}`;
      await insertException(tx, {
        id,
        kind: CHANNEL_DELIVERY_FAILING,
        reference: channel,
        workflowId: channelOrderPublisherWorkflowId(channel),
        ownerRole: 'ops',
        message: `Channel ${channel}'s platform has refused ${row.consecutive_failures} order updates in a row: ${error}`,
        details: { channel, feed: 'orders', consecutiveFailures: row.consecutive_failures, failingSince: row.failing_since, lastError: error, eventId: event.id, topic: event.topic },
      });
      await tx.updateTable('channel_order_publications').set({ open_exception_id: id }).where('channel', '=', channel).execute();
    }
    return row.consecutive_failures;
  });
}
