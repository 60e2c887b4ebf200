/**
 * Channel publishing's side effects: reading the outbox feed for a channel (a long poll
 * that heartbeats), and delivering a batch to the channel's webhook with the
 * available-to-sell of its skus as the ledger stands at the moment of delivery.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import {
  advanceCursor,
  channelAvailability,
  claimSequence,
  ensurePublication,
  publicationSettings,
  storedCursor,
  type SkuAvailability,
} from '../db/channel-publishing.js';
import { feedHead, readFeed } from '../db/outbox.js';
import { planBatch, shouldRaiseDeliveryException } from '../domain/channel-publishing.js';
import { insertException, resolveExceptionRow } from './tasks.js';
import { type ChannelBatch, channelPublisherWorkflowId, type ChannelRead, type DeliveryOutcome, type ChannelPublishingActivities } from '../contracts/channel-publishing.js';

/** The JSON body a channel's webhook receives. */
export interface AvailabilityMessage {
  channel: string;
  sequence: number;
  idempotencyKey: string;
  snapshot: boolean;
  from: string | null;
  to: string;
  events: number;
  computedAt: string;
  availability: SkuAvailability[];
}

export const idempotencyKeyOf = (channel: string, batch: Pick<ChannelBatch, 'from' | 'to'>) =>
  `${channel}:${batch.from ?? 'start'}..${batch.to}`;

/** `sha256=<hex>` of the body under the channel's secret. */
export const signatureOf = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export const CHANNEL_DELIVERY_FAILING = 'channel_delivery_failing';

export function createChannelPublishingActivities({ db }: { db: Db }): ChannelPublishingActivities {
  return {
    /** Where the channel's publisher starts: its cursor as the database keeps it. */
    async loadChannelPublication(channel: string): Promise<{ cursor: string | null; exists: boolean }> {
      const exists = await ensurePublication(db, channel);
      const settings = exists ? await publicationSettings(db, channel) : undefined;
      return { cursor: settings?.cursor ?? null, exists };
    },

    /**
     * The next range of the feed that concerns the channel, waiting up to `waitMs` for one.
     * Ranges that concern it not at all move its cursor on here. A channel without a cursor
     * gets a snapshot of every sku, up to the head of the feed as it is now.
     */
    async readChannelBatch(input: { channel: string; waitMs: number; pollIntervalMs: number }): Promise<ChannelRead> {
      const context = Context.current();
      const deadline = Date.now() + input.waitMs;
      if (!(await ensurePublication(db, input.channel))) return { kind: 'idle', cursor: null, reason: 'unknown_channel' };
      for (;;) {
        context.heartbeat();
        const settings = (await publicationSettings(db, input.channel))!;
        if (!settings.webhookUrl) return { kind: 'idle', cursor: settings.cursor, reason: 'no_webhook' };
        if (settings.paused) return { kind: 'idle', cursor: settings.cursor, reason: 'paused' };
        if (settings.cursor === null) {
          const head = await feedHead(db);
          const sequence = await claimSequence(db, input.channel);
          return { kind: 'batch', cursor: null, batch: { sequence, from: null, to: head, snapshot: true, skus: [], events: 0 } };
        }
        const events = await readFeed(db, settings.cursor, settings.batchSize);
        if (events.length > 0) {
          const plan = planBatch(input.channel, events);
          const to = events.at(-1)!.cursor;
          if (plan.relevant === 0) {
            const moved = await advanceCursor(db, input.channel, settings.cursor, to);
            if (Date.now() >= deadline) return { kind: 'caught_up', cursor: moved ? to : settings.cursor };
            continue;
          }
          const sequence = await claimSequence(db, input.channel);
          return {
            kind: 'batch',
            cursor: settings.cursor,
            batch: { sequence, from: settings.cursor, to, snapshot: plan.snapshot, skus: plan.skus, events: plan.relevant },
          };
        }
        const left = deadline - Date.now();
        if (left <= 0) return { kind: 'caught_up', cursor: settings.cursor };
        await context.sleep(Math.min(input.pollIntervalMs, left));
      }
    },

    /**
     * POSTs the batch to the channel's webhook with every listed sku's available-to-sell
     * computed now, so a late or retried delivery never carries old figures. A 2xx moves
     * the cursor; anything else is recorded and thrown for the retry policy's backoff, and
     * the failure that reaches `failureThreshold` in a row raises one exception, resolved
     * by the next delivery that succeeds.
     */
    async deliverChannelBatch(input: {
      channel: string;
      batch: ChannelBatch;
      requestTimeoutMs: number;
      failureThreshold: number;
    }): Promise<DeliveryOutcome> {
      const { channel, batch } = input;
      const settings = await publicationSettings(db, channel);
      if (!settings?.webhookUrl || settings.paused) return { outcome: 'held', cursor: settings?.cursor ?? null };
      if (settings.cursor === batch.to && settings.lastDeliveredSequence === batch.sequence) {
        return { outcome: 'delivered', cursor: batch.to, deliveredAt: new Date().toISOString(), skus: 0, status: 200, repeated: true };
      }
      if (settings.cursor !== batch.from) return { outcome: 'superseded', cursor: settings.cursor };

      const idempotencyKey = idempotencyKeyOf(channel, batch);
      // A retry sends the first attempt's body: the receiver may have applied it already and
      // will drop the repeat, so other figures under the same key would never arrive. Later
      // changes reach it in later batches.
      let body = settings.pending?.sequence === batch.sequence ? settings.pending.body : undefined;
      if (body === undefined) {
        const message: AvailabilityMessage = {
          channel,
          sequence: batch.sequence,
          idempotencyKey,
          snapshot: batch.snapshot,
          from: batch.from,
          to: batch.to,
          events: batch.events,
          computedAt: new Date().toISOString(),
          availability: await channelAvailability(db, settings, batch.snapshot ? null : batch.skus),
        };
        body = JSON.stringify(message);
        await db.updateTable('channel_publications').set({ pending_sequence: batch.sequence, pending_body: body }).where('channel', '=', channel).execute();
      }
      const skuCount = (JSON.parse(body) as AvailabilityMessage).availability.length;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
        'x-channel-sequence': String(batch.sequence),
        'user-agent': 'ops-backbone-channel-publisher',
      };
      if (settings.secret) headers['x-signature'] = signatureOf(settings.secret, body);

      let failure: string;
      try {
        const response = await fetch(settings.webhookUrl, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(input.requestTimeoutMs),
          redirect: 'error',
        });
        const text = await response.text().catch(() => '');
        if (response.ok) {
          const moved = await recordDelivery(db, channel, batch, skuCount);
          if (!moved) return { outcome: 'superseded', cursor: (await publicationSettings(db, channel))?.cursor ?? null };
          return { outcome: 'delivered', cursor: batch.to, deliveredAt: new Date().toISOString(), skus: skuCount, status: response.status, repeated: false };
        }
        failure = `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        failure = (error as Error).name === 'TimeoutError' ? `no answer within ${input.requestTimeoutMs} ms` : `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
      }
      const failures = await recordFailure(db, channel, failure, input.failureThreshold, batch);
      throw ApplicationFailure.retryable(`delivery to ${channel} failed (${failures} in a row): ${failure}`, 'channel_delivery_failed');
    },
  };
}

/** The webhook accepted the batch: the cursor moves, failures reset, an open exception resolves. */
async function recordDelivery(db: Db, channel: string, batch: ChannelBatch, skus: number): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const before = await tx
      .selectFrom('channel_publications')
      .select(['open_exception_id', sql<string | null>`cursor_tx::text`.as('cursor_tx'), 'cursor_id'])
      .where('channel', '=', channel)
      .forUpdate()
      .executeTakeFirst();
    if (!before || storedCursor(before.cursor_tx, before.cursor_id) !== batch.from) return false;
    const [txId, id] = batch.to.split('-') as [string, string];
    await tx
      .updateTable('channel_publications')
      .set((eb) => ({
        cursor_tx: sql<string>`${txId}::xid8`,
        cursor_id: Number(id),
        delivered_batches: eb('delivered_batches', '+', 1),
        delivered_events: eb('delivered_events', '+', batch.events),
        delivered_skus: eb('delivered_skus', '+', skus),
        last_delivered_at: sql<Date>`now()`,
        last_delivered_sequence: batch.sequence,
        pending_sequence: null,
        pending_body: null,
        consecutive_failures: 0,
        failing_since: null,
        open_exception_id: null,
        updated_at: sql<Date>`now()`,
      }))
      .where('channel', '=', channel)
      .execute();
    if (before.open_exception_id) await resolveExceptionRow(tx, before.open_exception_id);
    return true;
  });
}

/** One more failure in a row; the one that reaches the threshold opens the episode's exception. */
async function recordFailure(db: Db, channel: string, error: string, threshold: number, batch: ChannelBatch): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable('channel_publications')
      .set((eb) => ({
        consecutive_failures: eb('consecutive_failures', '+', 1),
        failing_since: sql<Date>`coalesce(failing_since, now())`,
        last_error: error,
        last_failure_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
      }))
      .where('channel', '=', channel)
      .returning(['consecutive_failures', 'failing_since', 'open_exception_id'])
      .executeTakeFirstOrThrow();
    const details = {
      channel,
      consecutiveFailures: row.consecutive_failures,
      failingSince: row.failing_since,
      lastError: error,
      undeliveredFrom: batch.from,
      sequence: batch.sequence,
    };
    if (shouldRaiseDeliveryException({ consecutiveFailures: row.consecutive_failures, exceptionOpen: row.open_exception_id !== null }, threshold)) {
      const id = `${CHANNEL_DELIVERY_FAILING}:${channel}:${row.failing_since!.getTime()}`;
      await insertException(tx, {
        id,
        kind: CHANNEL_DELIVERY_FAILING,
        reference: channel,
        workflowId: channelPublisherWorkflowId(channel),
        ownerRole: 'ops',
        message: `Channel ${channel} has refused ${row.consecutive_failures} deliveries in a row: ${error}`,
        details,
      });
      await tx.updateTable('channel_publications').set({ open_exception_id: id }).where('channel', '=', channel).execute();
    } else if (row.open_exception_id) {
      await tx
        .updateTable('exceptions')
        .set({ details: JSON.stringify(details) })
        .where('id', '=', row.open_exception_id)
        .where('status', '=', 'open')
        .execute();
    }
    return row.consecutive_failures;
  });
}
