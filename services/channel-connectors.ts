/**
 * Storefront connectors as people set them and as webhooks use them: a channel's platform,
 * shop, webhook secret (rotated with a grace period for the previous one), mapping choices
 * and admin API; and the record of every authenticated delivery with its outcome. Secrets
 * leave this module only for checking a signature, never in a view.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { feedHead } from '../db/outbox.js';
import { parseCursor } from '../domain/channel-publishing.js';
import type { ChannelMapping, Platform } from '../domain/channel-orders.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export interface ConnectorSettings {
  platform: Platform;
  /** Shopify: the shop's myshopify.com domain; WooCommerce: the site's URL. */
  shop: string;
  webhookSecret: string;
  mapping: ChannelMapping;
  /** Orders from this channel are `<prefix>-<platform order id>`. */
  orderIdPrefix?: string;
  /** The platform's admin API for what goes back (fulfillments, refunds) and reconciliation. */
  api?: { baseUrl: string; token?: string } | null;
}

/** A connector as any GET shows it: no secret, no token, only whether they are set. */
export interface ConnectorView {
  channel: string;
  platform: Platform;
  shop: string;
  webhookPath: string;
  mapping: ChannelMapping;
  orderIdPrefix: string;
  secret: { set: true; previousAcceptedUntil: Date | null };
  api: { baseUrl: string | null; tokenSet: boolean };
  updatedBy: string;
  updatedAt: Date;
}

/** What checking and reading a delivery needs: the secrets still accepted, the shop, the mapping. */
export interface ConnectorForDelivery {
  platform: Platform;
  shop: string;
  secrets: string[];
  mapping: ChannelMapping;
  orderIdPrefix: string;
}

const defaultPrefix = (channel: string, platform: Platform) => `${channel}-${platform === 'shopify' ? 'SH' : 'WC'}`;

async function connectorRow(db: Db, channel: string) {
  return db.selectFrom('channel_connectors').selectAll().where('channel', '=', channel).executeTakeFirst();
}

export async function findConnector(db: Db, channel: string): Promise<ConnectorView | undefined> {
  const row = await connectorRow(db, channel);
  if (!row) return undefined;
  const rotating = row.previous_secret_until && row.previous_secret_until.getTime() > Date.now() ? row.previous_secret_until : null;
  return {
    channel: row.channel,
    platform: row.platform,
    shop: row.shop,
    webhookPath: `/channels/${row.channel}/webhooks/${row.platform}`,
    mapping: { skuPrefixMap: row.sku_prefix_map, currencies: row.currencies },
    orderIdPrefix: row.order_id_prefix,
    secret: { set: true, previousAcceptedUntil: rotating },
    api: { baseUrl: row.api_base_url, tokenSet: row.api_token !== null },
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  };
}

export async function connectorForDelivery(db: Db, channel: string): Promise<ConnectorForDelivery | undefined> {
  const row = await connectorRow(db, channel);
  if (!row) return undefined;
  const previous = row.previous_secret && row.previous_secret_until && row.previous_secret_until.getTime() > Date.now() ? [row.previous_secret] : [];
  return {
    platform: row.platform,
    shop: row.shop,
    secrets: [row.webhook_secret, ...previous],
    mapping: { skuPrefixMap: row.sku_prefix_map, currencies: row.currencies },
    orderIdPrefix: row.order_id_prefix,
  };
}

/**
 * Sets a channel's connector. A new webhook secret replaces the old one, which is still
 * accepted for `graceMs` (so the platform's side can be changed without losing a
 * delivery); the same secret again changes nothing. A token left out is kept.
 * Answers the connector as it was before (for the audit log), or null when it is new.
 */
export async function setConnector(db: Db, channel: string, settings: ConnectorSettings, actor: string, graceMs: number): Promise<{ before: ConnectorView | null } | Refusal> {
  if (!(await db.selectFrom('channels').select('code').where('code', '=', channel).executeTakeFirst())) return refuse.notFound(`channel ${channel}`);
  const before = (await findConnector(db, channel)) ?? null;
  const values = {
    platform: settings.platform,
    shop: settings.shop,
    sku_prefix_map: JSON.stringify(settings.mapping.skuPrefixMap),
    currencies: settings.mapping.currencies,
    order_id_prefix: settings.orderIdPrefix ?? before?.orderIdPrefix ?? defaultPrefix(channel, settings.platform),
    api_base_url: settings.api?.baseUrl ?? null,
    updated_by: actor,
  };
  await db.transaction().execute(async (tx) => {
    const current = await tx.selectFrom('channel_connectors').select(['webhook_secret', 'api_token']).where('channel', '=', channel).forUpdate().executeTakeFirst();
    const token = settings.api === null ? null : settings.api?.token !== undefined ? settings.api.token : (current?.api_token ?? null);
    // Order updates go back from here on: the publisher's cursor starts at the head of the feed.
    const head = parseCursor(await feedHead(tx));
    await tx
      .insertInto('channel_order_publications')
      .values({ channel, cursor_tx: head ? head.txId.toString() : null, cursor_id: head ? head.id : null })
      .onConflict((oc) => oc.column('channel').doNothing())
      .execute();
    if (!current) {
      await tx.insertInto('channel_connectors').values({ channel, ...values, webhook_secret: settings.webhookSecret, api_token: token }).execute();
      return;
    }
    const rotated = current.webhook_secret !== settings.webhookSecret;
    await tx
      .updateTable('channel_connectors')
      .set({
        ...values,
        api_token: token,
        updated_at: sql<Date>`now()`,
        ...(rotated
          ? {
              webhook_secret: settings.webhookSecret,
              previous_secret: current.webhook_secret,
              previous_secret_until: sql<Date>`now() + make_interval(secs => ${graceMs / 1000})`,
            }
          : {}),
      })
      .where('channel', '=', channel)
      .execute();
  });
  return { before };
}

// ---------------------------------------------------------------- deliveries

export interface DeliveryRecord {
  rowId: number;
  /** Recorded before (a retry of the same delivery), and whether its intake process was told of it. */
  repeated: boolean;
  handedOver: boolean;
  outcome: string;
}

/** Records an authenticated delivery once; a retry of it finds the first record. */
export async function recordDelivery(
  db: Db,
  delivery: { channel: string; platform: Platform; deliveryId: string; topic: string; platformOrderId: string | null; bodySha256: string; snapshot: unknown; outcome?: 'ignored'; detail?: unknown },
): Promise<DeliveryRecord> {
  const inserted = await db
    .insertInto('channel_deliveries')
    .values({
      channel: delivery.channel,
      platform: delivery.platform,
      delivery_id: delivery.deliveryId,
      topic: delivery.topic,
      platform_order_id: delivery.platformOrderId,
      body_sha256: delivery.bodySha256,
      snapshot: delivery.snapshot === null ? null : JSON.stringify(delivery.snapshot),
      ...(delivery.outcome ? { outcome: delivery.outcome, decided_at: sql<Date>`now()`, detail: JSON.stringify(delivery.detail ?? {}) } : {}),
    })
    .onConflict((oc) => oc.columns(['channel', 'platform', 'delivery_id']).doNothing())
    .returning(['id', 'outcome'])
    .executeTakeFirst();
  if (inserted) return { rowId: inserted.id, repeated: false, handedOver: false, outcome: inserted.outcome };
  const row = await db
    .selectFrom('channel_deliveries')
    .select(['id', 'handed_over_at', 'outcome'])
    .where('channel', '=', delivery.channel)
    .where('platform', '=', delivery.platform)
    .where('delivery_id', '=', delivery.deliveryId)
    .executeTakeFirstOrThrow();
  return { rowId: row.id, repeated: true, handedOver: row.handed_over_at !== null, outcome: row.outcome };
}

export async function markHandedOver(db: Db, rowId: number, orderId: string): Promise<void> {
  await db.updateTable('channel_deliveries').set({ handed_over_at: sql<Date>`coalesce(handed_over_at, now())`, order_id: orderId }).where('id', '=', rowId).execute();
}

export interface DeliveryView {
  id: number;
  deliveryId: string;
  topic: string;
  platformOrderId: string | null;
  orderId: string | null;
  receivedAt: Date;
  handedOverAt: Date | null;
  outcome: string;
  detail: unknown;
  decidedAt: Date | null;
  /** What the delivery said, in short. */
  summary: { reference: string; state: string; version: string; totalMinor: number; currency: string; lines: number; coordinates: string } | null;
}

/** Outcomes that mean the platform's order did not become the order it asked for. */
export const rejectedOutcomes = ['order_rejected', 'update_refused', 'cancel_refused', 'needs_review'] as const;

export async function listDeliveries(
  db: Db,
  channel: string,
  filter: { outcome?: string; rejected?: boolean; platformOrderId?: string; before?: number; limit: number },
): Promise<{ deliveries: DeliveryView[]; nextBefore: number | null } | Refusal> {
  if (!(await db.selectFrom('channels').select('code').where('code', '=', channel).executeTakeFirst())) return refuse.notFound(`channel ${channel}`);
  let query = db.selectFrom('channel_deliveries').selectAll().where('channel', '=', channel).orderBy('id', 'desc').limit(filter.limit + 1);
  if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
  if (filter.rejected) query = query.where('outcome', 'in', [...rejectedOutcomes]);
  if (filter.platformOrderId) query = query.where('platform_order_id', '=', filter.platformOrderId);
  if (filter.before) query = query.where('id', '<', filter.before);
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  return {
    deliveries: page.map((r) => {
      const s = r.snapshot as { reference: string; state: string; version: string; totalMinor: number; currency: string; lines: unknown[]; coordinates: string } | null;
      return {
        id: r.id,
        deliveryId: r.delivery_id,
        topic: r.topic,
        platformOrderId: r.platform_order_id,
        orderId: r.order_id,
        receivedAt: r.received_at,
        handedOverAt: r.handed_over_at,
        outcome: r.outcome,
        detail: r.detail ?? null,
        decidedAt: r.decided_at,
        summary: s ? { reference: s.reference, state: s.state, version: s.version, totalMinor: s.totalMinor, currency: s.currency, lines: s.lines.length, coordinates: s.coordinates } : null,
      };
    }),
    nextBefore: rows.length > filter.limit ? page.at(-1)!.id : null,
  };
}

/** How a channel's inbound webhooks fare, for the console: last received, counts by outcome in the last day. */
export async function deliveryHealth(db: Db, channel: string): Promise<{ lastReceivedAt: Date | null; lastDay: Record<string, number>; waitingForProcess: number }> {
  const [last, counts, waiting] = await Promise.all([
    db.selectFrom('channel_deliveries').select('received_at').where('channel', '=', channel).orderBy('id', 'desc').limit(1).executeTakeFirst(),
    db
      .selectFrom('channel_deliveries')
      .select(['outcome', sql<number>`count(*)::int`.as('n')])
      .where('channel', '=', channel)
      .where('received_at', '>', sql<Date>`now() - interval '1 day'`)
      .groupBy('outcome')
      .execute(),
    db.selectFrom('channel_deliveries').select(sql<number>`count(*)::int`.as('n')).where('channel', '=', channel).where('decided_at', 'is', null).executeTakeFirstOrThrow(),
  ]);
  return { lastReceivedAt: last?.received_at ?? null, lastDay: Object.fromEntries(counts.map((c) => [c.outcome, c.n])), waitingForProcess: waiting.n };
}

/** The platform order behind an order of this product, for its record: platform, payment as the platform says it, where its coordinates came from. */
export async function channelOrderOf(db: Db, orderId: string) {
  const row = await db.selectFrom('channel_orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
  if (!row) return null;
  const s = row.snapshot as { reference: string; platformStatus: string; customer: unknown; billing?: unknown; shipTo: unknown; payment: unknown; notes: string[]; totalMinor: number; platformTotalMinor: number | null };
  return {
    channel: row.channel,
    platform: row.platform,
    platformOrderId: row.platform_order_id,
    reference: s.reference,
    platformStatus: s.platformStatus,
    version: row.version,
    payment: s.payment,
    customer: s.customer,
    billing: s.billing ?? null,
    shipTo: s.shipTo,
    coordinates: row.coordinates,
    totals: { mappedMinor: s.totalMinor, platformMinor: s.platformTotalMinor },
    notes: s.notes,
    cancelledAt: row.cancelled_at,
  };
}

// ---------------------------------------------------------------- order updates back

/** How a channel's order updates to its platform stand: cursor, lag, what was sent, failures. Null when it has no connector. */
export async function findOrderPublication(db: Db, channel: string) {
  const row = await db
    .selectFrom('channel_order_publications as p')
    .innerJoin('channel_connectors as c', 'c.channel', 'p.channel')
    .leftJoin('exceptions as e', 'e.id', 'p.open_exception_id')
    .select([
      sql<string | null>`p.cursor_tx::text`.as('cursor_tx'),
      'p.cursor_id',
      'p.paused',
      'p.sent_events',
      'p.skipped_events',
      'p.refused_events',
      'p.last_sent_at',
      'p.consecutive_failures',
      'p.failing_since',
      'p.last_error',
      'p.last_failure_at',
      'c.api_base_url',
      'e.id as exception_id',
      'e.status as exception_status',
      'e.raised_at as exception_raised_at',
    ])
    .where('p.channel', '=', channel)
    .executeTakeFirst();
  if (!row) return null;
  const cursor = row.cursor_tx !== null && row.cursor_id !== null ? `${row.cursor_tx}-${row.cursor_id}` : '0-0';
  const [txId, id] = cursor.split('-') as [string, string];
  const { rows } = await sql<{ behind: number; oldest: Date | null }>`
    select count(*)::int as behind, min(e.created_at) as oldest from (
      select created_at, key from outbox_events
      where (tx_id, id) > (${txId}::xid8, ${Number(id)}::bigint) and topic in ('order.released', 'order.cancelled', 'shipment.shipped', 'return.authorized', 'return.refunded')
      order by tx_id, id limit 10001
    ) e join channel_orders co on co.order_id = e.key and co.channel = ${channel}`.execute(db);
  const oldest = rows[0]?.oldest ?? null;
  return {
    connected: row.api_base_url !== null,
    paused: row.paused,
    cursor: row.cursor_tx !== null ? cursor : null,
    lag: {
      eventsBehind: Math.min(rows[0]?.behind ?? 0, 10_000),
      oldestUndeliveredAt: oldest,
      oldestUndeliveredAgeSeconds: oldest ? Math.max(0, Math.round((Date.now() - oldest.getTime()) / 1000)) : null,
    },
    lastSentAt: row.last_sent_at,
    updates: { sent: Number(row.sent_events), skipped: Number(row.skipped_events), refused: Number(row.refused_events) },
    failures: { consecutive: row.consecutive_failures, since: row.failing_since, lastError: row.last_error, lastAt: row.last_failure_at },
    exception: row.exception_id && row.exception_status && row.exception_raised_at ? { id: row.exception_id, status: row.exception_status, raisedAt: row.exception_raised_at } : null,
  };
}
