/**
 * The outbox feed, as `GET /events` and the channel publishers read it: in (transaction id,
 * id) order, and only from transactions older than every one still running, so an event
 * that commits late can never land behind a cursor a reader already holds.
 */
import { sql } from 'kysely';
import { formatCursor, parseCursor, type FeedEvent } from '../domain/channel-publishing.js';
import type { Db } from './connection.js';

export interface OutboxEvent extends FeedEvent {
  id: number;
  payload: unknown;
  createdAt: Date;
}

/** Up to `limit` events after `cursor` (from the start when null). */
export async function readFeed(db: Db, cursor: string | null, limit: number): Promise<OutboxEvent[]> {
  const after = cursor === null ? undefined : parseCursor(cursor);
  if (cursor !== null && !after) throw new Error(`not a feed cursor: ${cursor}`);
  // The statement's own snapshot: every transaction below its xmin has finished, and those
  // that committed are visible to this same statement. The transaction id's text gets its
  // own name: ORDER BY a name matches an output column first, and text order puts "1000"
  // before "999".
  const { rows } = await sql<{ tx_text: string; id: number; topic: string; key: string; payload: unknown; created_at: Date }>`
    select tx_id::text as tx_text, id, topic, key, payload, created_at from outbox_events
    where tx_id < pg_snapshot_xmin(pg_current_snapshot())
      ${after ? sql`and (tx_id, id) > (${after.txId.toString()}::xid8, ${after.id}::bigint)` : sql``}
    order by tx_id, id
    limit ${limit}`.execute(db);
  return rows.map((r) => ({
    cursor: formatCursor({ txId: BigInt(r.tx_text), id: r.id }),
    id: r.id,
    topic: r.topic,
    key: r.key,
    payload: r.payload,
    createdAt: r.created_at,
  }));
}

/** The last event every reader can already see (`0-0` when there is none). */
export async function feedHead(db: Db): Promise<string> {
  const { rows } = await sql<{ tx_text: string; id: number }>`
    select tx_id::text as tx_text, id from outbox_events
    where tx_id < pg_snapshot_xmin(pg_current_snapshot())
    order by tx_id desc, id desc
    limit 1`.execute(db);
  const head = rows[0];
  return head ? formatCursor({ txId: BigInt(head.tx_text), id: head.id }) : '0-0';
}
