/**
 * Reconciliation with a channel's platform: its orders of a period, pulled through its admin
 * API, against this product's. A platform order this product lacks, or has an older state
 * of, is handed to its intake as a delivery of its own; a shipment (or cancellation) the
 * platform does not show is written to the feed again, for the order publisher to send
 * (which looks first whether the platform has it, so nothing is sent twice).
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { ORDER_CANCELLED, SHIPMENT_SHIPPED, writeOrderEvent } from '../db/order-events.js';
import { changesBetween, supersedes, type ChannelOrderSnapshot } from '../domain/channel-orders.js';
import { connectorForDelivery } from '../services/channel-connectors.js';
import { handOverDelivery } from '../services/channel-intake.js';
import { arr, obj, str } from '../services/connectors/connector.js';
import { connectors, platformUpdates } from '../services/connectors/index.js';
import { PlatformError } from '../services/connectors/platform-api.js';
import { offlineGeocoder } from '../services/geocode.js';
import type { ChannelReconcileActivities, ReconcileReport } from '../contracts/channel-reconcile.js';

/** Tracking numbers the platform shows on an order (Shopify's fulfillments; WooCommerce shows none in its order JSON). */
const platformTracking = (order: Record<string, unknown>): Set<string> =>
  new Set(arr(order.fulfillments).flatMap((f) => [str(f.tracking_number), ...(Array.isArray(f.tracking_numbers) ? f.tracking_numbers.map(String) : [])].filter((t): t is string => !!t)));

export function createChannelReconcileActivities({ db, temporal }: { db: Db; temporal?: Client }): ChannelReconcileActivities {
  return {
    async reconcilableChannels() {
      const rows = await db.selectFrom('channel_connectors').select('channel').where('api_base_url', 'is not', null).orderBy('channel').execute();
      return rows.map((r) => r.channel);
    },

    async reconcileChannel({ reconcileId, channel, from, to, requestedBy, orderPolicy, idleMs }) {
      if (!temporal) throw ApplicationFailure.nonRetryable('reconciliation needs a Temporal client', 'misconfigured');
      const connector = await db.selectFrom('channel_connectors').select(['platform', 'api_base_url', 'api_token', 'order_id_prefix']).where('channel', '=', channel).executeTakeFirst();
      const settings = await connectorForDelivery(db, channel);
      if (!connector?.api_base_url || !settings) throw ApplicationFailure.nonRetryable(`channel ${channel} has no connector with the platform's admin API`, 'not_connected');
      const api = { baseUrl: connector.api_base_url, token: connector.api_token, timeoutMs: 30_000 };
      let orders: Record<string, unknown>[];
      try {
        orders = await platformUpdates[connector.platform].ordersChanged(api, new Date(from), new Date(to));
      } catch (error) {
        if (error instanceof PlatformError && !error.retryable) throw ApplicationFailure.nonRetryable(error.message, 'platform_refused');
        throw error;
      }
      const inbound = connectors[connector.platform];
      const report: ReconcileReport = { reconcileId, channel, from, to, platformOrders: orders.length, missing: [], behind: [], statusDiffers: [] };
      const intake = { taskQueue: Context.current().info.taskQueue, orderPolicy, idleMs, deadlineMs: 20_000 };
      for (const raw of orders) {
        Context.current().heartbeat();
        const snapshot = inbound.mapOrder(raw, 'reconcile', { mapping: settings.mapping, geocoder: offlineGeocoder });
        if (!snapshot.platformOrderId) continue;
        const ours = await db.selectFrom('channel_orders').select(['order_id', 'snapshot', 'version']).where('channel', '=', channel).where('platform_order_id', '=', snapshot.platformOrderId).executeTakeFirst();
        const handOver = () =>
          handOverDelivery(
            db,
            temporal,
            {
              channel,
              platform: connector.platform,
              // One delivery per reconciliation and platform state: a retried run hands over nothing twice.
              deliveryId: `reconcile:${reconcileId}:${snapshot.platformOrderId}:${snapshot.version}`,
              topic: 'reconcile',
              bodySha256: createHash('sha256').update(JSON.stringify(raw)).digest('hex'),
              snapshot,
              orderIdPrefix: connector.order_id_prefix,
            },
            intake,
          );
        if (!ours) {
          if (snapshot.state === 'not_placed') continue;
          const handed = await handOver();
          report.missing.push({ platformOrderId: snapshot.platformOrderId, reference: snapshot.reference, orderId: handed.orderId });
          continue;
        }
        const known = ours.snapshot as ChannelOrderSnapshot;
        // Newer on the platform in what the order holds (not only its fulfillment or tags): a missed update.
        const differs = snapshot.state !== known.state || Object.values(changesBetween(known, snapshot)).some(Boolean);
        if (differs && Date.parse(snapshot.version) > Date.parse(known.version) && supersedes(snapshot, known)) {
          await handOver();
          report.behind.push({ platformOrderId: snapshot.platformOrderId, orderId: ours.order_id, ours: known.version, platform: snapshot.version });
        }
        const resent = await resendWhatThePlatformLacks(db, ours.order_id, raw, snapshot, connector.platform, reconcileId);
        if (resent.resent.length) report.statusDiffers.push({ platformOrderId: snapshot.platformOrderId, orderId: ours.order_id, ...resent });
      }
      await db
        .insertInto('channel_reconciliations')
        .values({ id: reconcileId, channel, period_from: from, period_to: to, requested_by: requestedBy, platform_orders: orders.length, report: JSON.stringify(report) })
        .onConflict((oc) => oc.column('id').doUpdateSet({ report: JSON.stringify(report), platform_orders: orders.length, finished_at: sql<Date>`now()` }))
        .execute();
      return report;
    },
  };
}

/**
 * Shipments the platform does not show (Shopify: no fulfillment with their tracking;
 * WooCommerce: an order shipped here and not `completed` there), and a cancellation it did
 * not get, written to the feed again in one transaction; a retried run writes them once. A
 * shipment the platform refused outright is not sent again: ops have its exception.
 */
async function resendWhatThePlatformLacks(
  db: Db,
  orderId: string,
  raw: Record<string, unknown>,
  snapshot: ChannelOrderSnapshot,
  platform: 'shopify' | 'woocommerce',
  reconcileId: string,
): Promise<{ ours: string; platform: string; resent: string[] }> {
  return db.transaction().execute(async (tx) => {
    const order = await tx.selectFrom('orders').select(['status']).where('id', '=', orderId).forUpdate().executeTakeFirst();
    if (!order) return { ours: 'not captured', platform: snapshot.platformStatus, resent: [] };
    const already = await sql<{ id: string }>`
      select payload->>'resendOf' as id from outbox_events where key = ${orderId} and payload->>'resentBy' = ${reconcileId}`.execute(tx);
    const done = new Set(already.rows.map((r) => r.id));
    // A shipment whose update the platform refused outright is with ops already (a channel_update_refused exception).
    const refused = await sql<{ id: string }>`
      select e.payload->>'shipmentId' as id from channel_order_updates u join outbox_events e on e.id = u.event_id
      where u.order_id = ${orderId} and u.topic = ${SHIPMENT_SHIPPED} and u.outcome = 'refused'`.execute(tx);
    for (const r of refused.rows) done.add(r.id);
    const resent: string[] = [];
    const shipments = await tx.selectFrom('shipments').select(['id', 'carrier', 'tracking']).where('order_id', '=', orderId).where('status', '=', 'shipped').orderBy('id').execute();
    const tracked = platformTracking(raw);
    const lacking =
      platform === 'shopify'
        ? shipments.filter((s) => s.tracking && !tracked.has(s.tracking))
        : order.status === 'shipped' && str(obj(raw).status) !== 'completed'
          ? shipments.slice(-1)
          : [];
    for (const shipment of lacking) {
      if (done.has(shipment.id)) continue;
      const lines = await tx.selectFrom('shipment_lines').select(['line_no', 'sku', 'shipped_qty']).where('shipment_id', '=', shipment.id).orderBy('line_no').execute();
      await writeOrderEvent(tx, SHIPMENT_SHIPPED, orderId, {
        shipmentId: shipment.id,
        carrier: shipment.carrier,
        tracking: shipment.tracking,
        lines: lines.filter((l) => Number(l.shipped_qty) > 0).map((l) => ({ lineNo: l.line_no, sku: l.sku, qty: Number(l.shipped_qty) })),
        orderComplete: order.status === 'shipped',
        resentBy: reconcileId,
        resendOf: shipment.id,
      });
      resent.push(`shipment ${shipment.id}`);
    }
    if (order.status === 'cancelled' && snapshot.state === 'open' && !done.has('cancellation')) {
      await writeOrderEvent(tx, ORDER_CANCELLED, orderId, { status: 'cancelled', reason: 'reconciliation: the platform still had it open', resentBy: reconcileId, resendOf: 'cancellation' });
      resent.push('cancellation');
    }
    return { ours: order.status, platform: snapshot.platformStatus, resent };
  });
}
