/**
 * The SQL behind channel publishing: a channel's settings and cursor, available-to-sell per
 * sku as the ledger says now, and how far a channel is behind. The feed itself is read
 * through `db/outbox.ts`, as `GET /events` reads it.
 */
import { sql } from 'kysely';
import { availableToSell } from '../domain/availability.js';
import { AVAILABILITY_CHANGED, CHANNEL_UPDATED, formatCursor, parseCursor } from '../domain/channel-publishing.js';
import type { Db } from './connection.js';

export interface ChannelPublicationSettings {
  channel: string;
  webhookUrl: string | null;
  bufferQty: number;
  bufferPct: number;
  secret: string | null;
  batchSize: number;
  paused: boolean;
  /** Last position delivered; null before the first delivery. */
  cursor: string | null;
  sequence: number;
  lastDeliveredSequence: number | null;
  consecutiveFailures: number;
  openExceptionId: string | null;
  /** The batch under delivery and its body, sent again unchanged on a retry. */
  pending: { sequence: number; body: string } | null;
}

/** Creates the channel's publication row when it has none; true when the channel exists. */
export async function ensurePublication(db: Db, channel: string): Promise<boolean> {
  const { rows } = await sql<{ code: string }>`
    insert into channel_publications (channel) select code from channels where code = ${channel}
    on conflict (channel) do nothing returning channel as code`.execute(db);
  if (rows.length) return true;
  return (await db.selectFrom('channels').select('code').where('code', '=', channel).executeTakeFirst()) !== undefined;
}

/** A channel's stored cursor as feed text; null when nothing was delivered yet. */
export const storedCursor = (txId: string | null | undefined, id: number | null | undefined): string | null =>
  txId != null && id != null ? formatCursor({ txId: BigInt(txId), id }) : null;

export async function publicationSettings(db: Db, channel: string): Promise<ChannelPublicationSettings | undefined> {
  const row = await db
    .selectFrom('channels as c')
    .leftJoin('channel_publications as p', 'p.channel', 'c.code')
    .select([
      'c.code',
      'c.webhook_url',
      'c.ats_buffer_qty',
      'c.ats_buffer_pct',
      'p.secret',
      'p.batch_size',
      'p.paused',
      sql<string | null>`p.cursor_tx::text`.as('cursor_tx'),
      'p.cursor_id',
      'p.sequence',
      'p.last_delivered_sequence',
      'p.consecutive_failures',
      'p.open_exception_id',
      'p.pending_sequence',
      'p.pending_body',
    ])
    .where('c.code', '=', channel)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    channel: row.code,
    webhookUrl: row.webhook_url,
    bufferQty: row.ats_buffer_qty,
    bufferPct: row.ats_buffer_pct,
    secret: row.secret,
    batchSize: row.batch_size ?? 100,
    paused: row.paused ?? false,
    cursor: storedCursor(row.cursor_tx, row.cursor_id),
    sequence: row.sequence ?? 0,
    lastDeliveredSequence: row.last_delivered_sequence,
    consecutiveFailures: row.consecutive_failures ?? 0,
    openExceptionId: row.open_exception_id,
    pending: row.pending_sequence !== null && row.pending_body !== null ? { sequence: row.pending_sequence, body: row.pending_body } : null,
  };
}

const position = (cursor: string) => {
  const parsed = parseCursor(cursor);
  if (!parsed) throw new Error(`not a feed cursor: ${cursor}`);
  return parsed;
};

/**
 * Moves the cursor from `from` to `to` when it still stands at `from`; true when it moved
 * (or already stood at `to`). Used to pass over a range that holds nothing for the channel.
 */
export async function advanceCursor(db: Db, channel: string, from: string | null, to: string): Promise<boolean> {
  const next = position(to);
  const previous = from === null ? null : position(from);
  const { rows } = await sql<{ moved: boolean }>`
    update channel_publications set cursor_tx = ${next.txId.toString()}::xid8, cursor_id = ${next.id}, updated_at = now()
    where channel = ${channel}
      and (${previous === null ? sql`cursor_tx is null` : sql`(cursor_tx, cursor_id) = (${previous.txId.toString()}::xid8, ${previous.id}::bigint)`}
        or (cursor_tx, cursor_id) = (${next.txId.toString()}::xid8, ${next.id}::bigint))
    returning true as moved`.execute(db);
  return rows.length > 0;
}

/** The next batch number of a channel; numbers only grow, and a message carries its own. */
export async function claimSequence(db: Db, channel: string): Promise<number> {
  const row = await db
    .updateTable('channel_publications')
    .set((eb) => ({ sequence: eb('sequence', '+', 1) }))
    .where('channel', '=', channel)
    .returning('sequence')
    .executeTakeFirstOrThrow();
  return row.sequence;
}

export interface SkuAvailability {
  sku: string;
  /** Available-to-sell for the channel: available across warehouses less safety stock and the channel buffer, never negative. */
  ats: number;
}

/**
 * Available-to-sell per sku for a channel as the ledger stands now (every sku when `skus`
 * is null), summed over warehouses in one statement so it is one consistent reading.
 */
export async function channelAvailability(
  db: Db,
  buffer: { bufferQty: number; bufferPct: number },
  skus: readonly string[] | null,
): Promise<SkuAvailability[]> {
  if (skus !== null && skus.length === 0) return [];
  let query = db
    .selectFrom('items as i')
    .leftJoin('inventory_balances as b', (join) => join.onRef('b.sku', '=', 'i.sku').on('b.bucket', '=', 'available'))
    .select(['i.sku', 'i.safety_stock', sql<number>`coalesce(sum(b.qty), 0)::bigint`.as('available')])
    .groupBy(['i.sku', 'i.safety_stock'])
    .orderBy('i.sku');
  if (skus !== null) query = query.where('i.sku', 'in', skus);
  const rows = await query.execute();
  return rows.map((r) => ({ sku: r.sku, ats: availableToSell(r.available, r.safety_stock, buffer) }));
}

export interface PublicationLag {
  /** Committed events after the cursor that concern the channel (counted up to `cap`). */
  eventsBehind: number;
  capped: boolean;
  oldestUndeliveredAt: Date | null;
}

/** How far a channel is behind its cursor; from the start of the feed when it has none. */
export async function publicationLag(db: Db, channel: string, cursor: string | null, cap = 10_000): Promise<PublicationLag> {
  const after = cursor === null ? { txId: 0n, id: 0 } : position(cursor);
  const { rows } = await sql<{ behind: number; oldest: Date | null }>`
    select count(*)::bigint as behind, min(created_at) as oldest from (
      select created_at from outbox_events
      where (tx_id, id) > (${after.txId.toString()}::xid8, ${after.id}::bigint)
        and (topic = ${AVAILABILITY_CHANGED} or (topic = ${CHANNEL_UPDATED} and key = ${channel}))
      order by tx_id, id
      limit ${cap + 1}
    ) pending`.execute(db);
  const behind = rows[0]?.behind ?? 0;
  return { eventsBehind: Math.min(behind, cap), capped: behind > cap, oldestUndeliveredAt: rows[0]?.oldest ?? null };
}
