/**
 * Channel publishing: where each channel's webhook is, how far its publisher is behind the
 * outbox feed, and pause / resume. Setting a webhook starts the channel's publisher.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { publicationLag, publicationSettings, storedCursor, type ChannelPublicationSettings } from '../db/channel-publishing.js';
import type { Db } from '../db/connection.js';
import { CHANNEL_UPDATED } from '../domain/channel-publishing.js';
import { ensureChannelPublisher } from '../runtime/channel-publishers.js';
import { resolveExceptionRow } from '../activities/tasks.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { anyRole } from './auth.js';
import { notFound } from './errors.js';
import { channelFromRow } from '../services/master-data.js';
import { channelInPath, webhookUrl } from './schemas.js';
import { channelPublisherWorkflowId } from '../contracts/channel-publishing.js';

const params = z.object({ channel: channelInPath });

const webhookBody = z.object({
  url: webhookUrl,
  secret: z.string().min(16).max(200).nullable().optional().describe('HMAC-SHA256 key for the X-Signature header; null removes it, absent keeps it'),
  batchSize: z.number().int().min(1).max(1_000).optional().describe('feed events per delivery (default 100)'),
});

const publishingView = z.object({
  channel: z.string(),
  webhookUrl: z.string().nullable(),
  signed: z.boolean(),
  batchSize: z.number(),
  paused: z.boolean(),
  cursor: z.string().nullable().describe('last feed position the webhook accepted (a GET /events cursor); null before the first delivery'),
  lastSequence: z.number().describe('the last batch number handed out'),
  lag: z.object({
    eventsBehind: z.number().describe('committed feed events after the cursor that concern this channel'),
    capped: z.boolean(),
    oldestUndeliveredAt: z.date().nullable(),
    oldestUndeliveredAgeSeconds: z.number().nullable(),
  }),
  lastDelivery: z.object({ at: z.date().nullable(), sequence: z.number().nullable() }),
  delivered: z.object({ batches: z.number(), events: z.number(), skus: z.number() }),
  failures: z.object({
    consecutive: z.number(),
    since: z.date().nullable(),
    lastError: z.string().nullable(),
    lastAt: z.date().nullable(),
  }),
  exception: z.object({ id: z.string(), status: z.string(), raisedAt: z.date() }).nullable(),
  publisher: z.object({ workflowId: z.string(), status: z.string(), temporalUiUrl: z.string() }),
});
type PublishingView = z.infer<typeof publishingView>;

/** The publishing settings an audit row shows before and after a change (never the secret itself). */
const auditedSettings = (s: Pick<ChannelPublicationSettings, 'webhookUrl' | 'batchSize' | 'paused'> & { signed: boolean }) => ({
  webhookUrl: s.webhookUrl,
  signed: s.signed,
  batchSize: s.batchSize,
  paused: s.paused,
});

/** The channel's publishing settings as they are now; 404 when there is no such channel. */
async function settingsBefore(db: Db, channel: string) {
  const settings = await publicationSettings(db, channel);
  if (!settings) throw notFound(`channel ${channel}`);
  return auditedSettings({ ...settings, signed: settings.secret !== null });
}

export const channelPublishingRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const publisherStatus = async (channel: string) => {
      const workflowId = channelPublisherWorkflowId(channel);
      const status = await temporal.workflow
        .getHandle(workflowId)
        .describe()
        .then((d) => d.status.name.toLowerCase())
        .catch((error) => {
          if (error instanceof WorkflowNotFoundError) return 'not_started';
          throw error;
        });
      return { workflowId, status, temporalUiUrl: `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}` };
    };

    const view = async (channel: string): Promise<PublishingView> => {
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
      if (!row) throw notFound(`channel ${channel}`);
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
        publisher: await publisherStatus(channel),
      };
    };

    const startPublisher = (channel: string) =>
      ensureChannelPublisher(temporal, channel, { taskQueue: config.taskQueue, policy: config.channelPublishing });

    app.get(
      '/channels/publishing',
      {
        config: { roles: anyRole },
        schema: {
          summary: "Every channel's publishing: webhook, cursor, lag, last delivery, failures, open exception",
          response: { 200: z.object({ channels: z.array(publishingView) }) },
        },
      },
      async () => {
        const rows = await db.selectFrom('channels').select('code').orderBy('reservation_priority').orderBy('code').execute();
        return { channels: await Promise.all(rows.map((r) => view(r.code))) };
      },
    );

    app.get(
      '/channels/:channel/publishing',
      {
        config: { roles: anyRole },
        schema: {
          summary: "A channel's publishing: webhook, cursor, lag (events behind, oldest undelivered), last delivery, failures",
          params,
          response: { 200: publishingView },
        },
      },
      (request) => view(request.params.channel),
    );

    app.put(
      '/channels/:channel/webhook',
      {
        config: { roles: ['ops'] },
        schema: {
          summary:
            "Where the channel's available-to-sell is delivered (POST, JSON, in feed order); starts its publisher. A new URL gets every sku again.",
          params,
          body: webhookBody,
          response: { 200: publishingView },
        },
      },
      async (request) => {
        const { channel } = request.params;
        const { url, secret, batchSize } = request.body;
        const before = await settingsBefore(db, channel);
        await db.transaction().execute(async (tx) => {
          const row = await tx
            .updateTable('channels')
            .set({ webhook_url: url, updated_at: sql<Date>`now()` })
            .where('code', '=', channel)
            .where(sql<boolean>`webhook_url is distinct from ${url}`)
            .returningAll()
            .executeTakeFirst();
          if (row) {
            // The same event a change through POST /channels writes: the publisher sends every sku.
            await tx.insertInto('outbox_events').values({ topic: CHANNEL_UPDATED, key: channel, payload: JSON.stringify(channelFromRow(row)) }).execute();
          }
          await tx
            .insertInto('channel_publications')
            .values({ channel, secret: secret ?? null, batch_size: batchSize ?? 100, updated_by: request.actor ?? 'unknown' })
            .onConflict((oc) =>
              oc.column('channel').doUpdateSet({
                ...(secret !== undefined ? { secret } : {}),
                ...(batchSize !== undefined ? { batch_size: batchSize } : {}),
                updated_by: request.actor ?? 'unknown',
                updated_at: sql<Date>`now()`,
              }),
            )
            .execute();
        });
        await startPublisher(channel);
        return audited(request, await view(channel), auditedSettings, { action: 'channel.webhook.set', before });
      },
    );

    app.delete(
      '/channels/:channel/webhook',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Stops delivering to the channel (its cursor is kept); a failing episode ends with it and its exception is resolved',
          params,
          response: { 200: publishingView },
        },
      },
      async (request) => {
        const { channel } = request.params;
        const before = await settingsBefore(db, channel);
        await db.transaction().execute(async (tx) => {
          await tx.updateTable('channels').set({ webhook_url: null, updated_at: sql<Date>`now()` }).where('code', '=', channel).execute();
          // Nobody is left to deliver to: the failures stop counting and their exception is closed.
          const publication = await tx.selectFrom('channel_publications').select('open_exception_id').where('channel', '=', channel).forUpdate().executeTakeFirst();
          if (!publication) return;
          await tx
            .updateTable('channel_publications')
            .set({ consecutive_failures: 0, failing_since: null, open_exception_id: null, updated_by: request.actor ?? 'unknown', updated_at: sql<Date>`now()` })
            .where('channel', '=', channel)
            .execute();
          if (publication.open_exception_id) await resolveExceptionRow(tx, publication.open_exception_id);
        });
        await startPublisher(channel);
        return audited(request, await view(channel), auditedSettings, { action: 'channel.webhook.remove', before });
      },
    );

    for (const action of ['pause', 'resume'] as const) {
      app.post(
        `/channels/:channel/publishing/${action}`,
        {
          config: { roles: ['ops'] },
          schema: {
            summary:
              action === 'pause'
                ? 'Holds deliveries to the channel; changes wait behind its cursor'
                : 'Delivers again from the cursor (what changed meanwhile, at its current figures)',
            params,
            response: { 200: publishingView },
          },
        },
        async (request) => {
          const { channel } = request.params;
          const before = await settingsBefore(db, channel);
          await db
            .insertInto('channel_publications')
            .values({ channel, paused: action === 'pause', updated_by: request.actor ?? 'unknown' })
            .onConflict((oc) =>
              oc.column('channel').doUpdateSet({ paused: action === 'pause', updated_by: request.actor ?? 'unknown', updated_at: sql<Date>`now()` }),
            )
            .execute();
          await startPublisher(channel);
          return audited(request, await view(channel), auditedSettings, { before });
        },
      );
    }
  };
