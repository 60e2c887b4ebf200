/**
 * Channel publishing as people set it: a channel's webhook, its secret and batch size, pause
 * and resume, and how its publishing stands (cursor, lag, deliveries, failures). Each write
 * sets a value, so the same request again changes nothing, and answers the settings as they
 * were before it, for the audit log. Starting or waking the channel's publisher is the
 * caller's part (runtime/channel-publishers.ts).
 */
import { sql } from 'kysely';
import { publicationLag, publicationSettings, storedCursor, type ChannelPublicationSettings } from '../db/channel-publishing.js';
import type { Db } from '../db/connection.js';
import { CHANNEL_UPDATED } from '../domain/channel-publishing.js';
import { resolveExceptionRow } from '../activities/tasks.js';
import { channelFromRow } from './master-data.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

/** How a channel's publishing stands, as its records say. */
export interface ChannelPublication {
  channel: string;
  webhookUrl: string | null;
  signed: boolean;
  batchSize: number;
  paused: boolean;
  /** Last feed position the webhook accepted; null before the first delivery. */
  cursor: string | null;
  lastSequence: number;
  lag: { eventsBehind: number; capped: boolean; oldestUndeliveredAt: Date | null; oldestUndeliveredAgeSeconds: number | null };
  lastDelivery: { at: Date | null; sequence: number | null };
  delivered: { batches: number; events: number; skus: number };
  failures: { consecutive: number; since: Date | null; lastError: string | null; lastAt: Date | null };
  exception: { id: string; status: string; raisedAt: Date } | null;
}

export interface Webhook {
  url: string;
  /** HMAC key for the signature header; null removes it, undefined keeps it. */
  secret?: string | null;
  /** Feed events per delivery; undefined keeps it (100 for a new publication). */
  batchSize?: number;
}

/** The channels, by reservation priority. */
export async function channelCodes(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('channels').select('code').orderBy('reservation_priority').orderBy('code').execute();
  return rows.map((r) => r.code);
}

/** A channel's publishing as it stands; undefined when there is no such channel. */
export async function findChannelPublication(db: Db, channel: string): Promise<ChannelPublication | undefined> {
  const row = await db
    .selectFrom('channels as c')
    .leftJoin('channel_publications as p', 'p.channel', 'c.code')
    .leftJoin('exceptions as e', 'e.id', 'p.open_exception_id')
    .select([
      'c.code',
      'c.webhook_url',
      sql<boolean>`p.secret is not null`.as('signed'),
      'p.batch_size',
      'p.paused',
      sql<string | null>`p.cursor_tx::text`.as('cursor_tx'),
      'p.cursor_id',
      'p.sequence',
      'p.last_delivered_at',
      'p.last_delivered_sequence',
      'p.delivered_batches',
      'p.delivered_events',
      'p.delivered_skus',
      'p.consecutive_failures',
      'p.failing_since',
      'p.last_error',
      'p.last_failure_at',
      'e.id as exception_id',
      'e.status as exception_status',
      'e.raised_at as exception_raised_at',
    ])
    .where('c.code', '=', channel)
    .executeTakeFirst();
  if (!row) return undefined;
  const cursor = storedCursor(row.cursor_tx, row.cursor_id);
  // A channel that never had a webhook owes nothing; counting the whole feed for it would only cost.
  const lag =
    row.webhook_url !== null || cursor !== null
      ? await publicationLag(db, channel, cursor)
      : { eventsBehind: 0, capped: false, oldestUndeliveredAt: null };
  const now = Date.now();
  return {
    channel: row.code,
    webhookUrl: row.webhook_url,
    signed: row.signed ?? false,
    batchSize: row.batch_size ?? 100,
    paused: row.paused ?? false,
    cursor,
    lastSequence: row.sequence ?? 0,
    lag: {
      ...lag,
      oldestUndeliveredAgeSeconds: lag.oldestUndeliveredAt ? Math.max(0, Math.round((now - lag.oldestUndeliveredAt.getTime()) / 1000)) : null,
    },
    lastDelivery: { at: row.last_delivered_at, sequence: row.last_delivered_sequence },
    delivered: { batches: row.delivered_batches ?? 0, events: row.delivered_events ?? 0, skus: row.delivered_skus ?? 0 },
    failures: {
      consecutive: row.consecutive_failures ?? 0,
      since: row.failing_since,
      lastError: row.last_error,
      lastAt: row.last_failure_at,
    },
    exception:
      row.exception_id && row.exception_status && row.exception_raised_at
        ? { id: row.exception_id, status: row.exception_status, raisedAt: row.exception_raised_at }
        : null,
  };
}

/** The channel's publishing settings before a change; a refusal when there is no such channel. */
async function settingsBefore(db: Db, channel: string): Promise<ChannelPublicationSettings | Refusal> {
  return (await publicationSettings(db, channel)) ?? refuse.notFound(`channel ${channel}`);
}

/**
 * Where the channel's available-to-sell is delivered. A new URL writes a `channel.updated`
 * event in the same transaction, the one a change of the channel's settings writes, so that
 * the publisher sends every sku again.
 */
export async function setChannelWebhook(db: Db, channel: string, webhook: Webhook, actor: string): Promise<ChannelPublicationSettings | Refusal> {
  const before = await settingsBefore(db, channel);
  if (refuse.isRefusal(before)) return before;
  const { url, secret, batchSize } = webhook;
  await db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable('channels')
      .set({ webhook_url: url, updated_at: sql<Date>`now()` })
      .where('code', '=', channel)
      .where(sql<boolean>`webhook_url is distinct from ${url}`)
      .returningAll()
      .executeTakeFirst();
    if (row) await tx.insertInto('outbox_events').values({ topic: CHANNEL_UPDATED, key: channel, payload: JSON.stringify(channelFromRow(row)) }).execute();
    await tx
      .insertInto('channel_publications')
      .values({ channel, secret: secret ?? null, batch_size: batchSize ?? 100, updated_by: actor })
      .onConflict((oc) =>
        oc.column('channel').doUpdateSet({
          ...(secret !== undefined ? { secret } : {}),
          ...(batchSize !== undefined ? { batch_size: batchSize } : {}),
          updated_by: actor,
          updated_at: sql<Date>`now()`,
        }),
      )
      .execute();
  });
  return before;
}

/**
 * Stops delivering to the channel, keeping its cursor. Nobody is left to deliver to, so a
 * failing episode ends with it: the failures stop counting and their open exception is resolved.
 */
export async function removeChannelWebhook(db: Db, channel: string, actor: string): Promise<ChannelPublicationSettings | Refusal> {
  const before = await settingsBefore(db, channel);
  if (refuse.isRefusal(before)) return before;
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('channels').set({ webhook_url: null, updated_at: sql<Date>`now()` }).where('code', '=', channel).execute();
    const publication = await tx.selectFrom('channel_publications').select('open_exception_id').where('channel', '=', channel).forUpdate().executeTakeFirst();
    if (!publication) return;
    await tx
      .updateTable('channel_publications')
      .set({ consecutive_failures: 0, failing_since: null, open_exception_id: null, updated_by: actor, updated_at: sql<Date>`now()` })
      .where('channel', '=', channel)
      .execute();
    if (publication.open_exception_id) await resolveExceptionRow(tx, publication.open_exception_id);
  });
  return before;
}

/** Holds deliveries to the channel (changes wait behind its cursor), or lets them go again. */
export async function setChannelPaused(db: Db, channel: string, paused: boolean, actor: string): Promise<ChannelPublicationSettings | Refusal> {
  const before = await settingsBefore(db, channel);
  if (refuse.isRefusal(before)) return before;
  await db
    .insertInto('channel_publications')
    .values({ channel, paused, updated_by: actor })
    .onConflict((oc) => oc.column('channel').doUpdateSet({ paused, updated_by: actor, updated_at: sql<Date>`now()` }))
    .execute();
  // Order updates to the channel's platform (when it has a connector) pause and resume with it.
  await db.updateTable('channel_order_publications').set({ paused, updated_at: sql<Date>`now()` }).where('channel', '=', channel).execute();
  return before;
}
