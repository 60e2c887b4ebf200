/**
 * Channel publishing: where each channel's webhook is, how far its publisher is behind the
 * outbox feed, and pause / resume. Setting a webhook starts the channel's publisher.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ChannelPublicationSettings } from '../db/channel-publishing.js';
import { ensureChannelPublisher, nudgeChannelOrderPublisher } from '../runtime/channel-publishers.js';
import { findOrderPublication } from '../services/channel-connectors.js';
import { channelCodes, findChannelPublication, removeChannelWebhook, setChannelPaused, setChannelWebhook } from '../services/channel-publishing.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { anyRole } from './auth.js';
import { notFound, resultOrThrow } from './errors.js';
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
  orderUpdates: z
    .object({
      connected: z.boolean().describe("the connector has the platform's admin API to send to"),
      paused: z.boolean(),
      cursor: z.string().nullable(),
      lag: z.object({
        eventsBehind: z.number().describe("order events (released, cancelled, shipped, return authorized, refunded) of this channel's storefront orders after the cursor"),
        oldestUndeliveredAt: z.date().nullable(),
        oldestUndeliveredAgeSeconds: z.number().nullable(),
      }),
      lastSentAt: z.date().nullable(),
      updates: z.object({ sent: z.number(), skipped: z.number(), refused: z.number() }),
      failures: z.object({ consecutive: z.number(), since: z.date().nullable(), lastError: z.string().nullable(), lastAt: z.date().nullable() }),
      exception: z.object({ id: z.string(), status: z.string(), raisedAt: z.date() }).nullable(),
    })
    .nullable()
    .describe("order updates to the channel's storefront platform (channel-order-publisher-<channel>); null without a connector"),
});
type PublishingView = z.infer<typeof publishingView>;

/** The publishing settings an audit row shows before and after a change (never the secret itself). */
const auditedSettings = (s: Pick<ChannelPublicationSettings, 'webhookUrl' | 'batchSize' | 'paused'> & { signed: boolean }) => ({
  webhookUrl: s.webhookUrl,
  signed: s.signed,
  batchSize: s.batchSize,
  paused: s.paused,
});
/** The settings before a change as its audit row shows them. */
const shown = (settings: ChannelPublicationSettings) => auditedSettings({ ...settings, signed: settings.secret !== null });

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
      const publication = await findChannelPublication(db, channel);
      if (!publication) throw notFound(`channel ${channel}`);
      return { ...publication, publisher: await publisherStatus(channel), orderUpdates: await findOrderPublication(db, channel) };
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
      async () => ({ channels: await Promise.all((await channelCodes(db)).map(view)) }),
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
        const before = resultOrThrow(await setChannelWebhook(db, channel, request.body, request.actor ?? 'unknown'));
        await startPublisher(channel);
        return audited(request, await view(channel), auditedSettings, { action: 'channel.webhook.set', before: shown(before) });
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
        const before = resultOrThrow(await removeChannelWebhook(db, channel, request.actor ?? 'unknown'));
        await startPublisher(channel);
        return audited(request, await view(channel), auditedSettings, { action: 'channel.webhook.remove', before: shown(before) });
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
                ? "Holds deliveries to the channel (availability, and order updates to its storefront platform); changes wait behind their cursors"
                : 'Delivers again from the cursors (what changed meanwhile, at its current figures; order updates in feed order)',
            params,
            response: { 200: publishingView },
          },
        },
        async (request) => {
          const { channel } = request.params;
          const before = resultOrThrow(await setChannelPaused(db, channel, action === 'pause', request.actor ?? 'unknown'));
          await startPublisher(channel);
          await nudgeChannelOrderPublisher(temporal, channel);
          return audited(request, await view(channel), auditedSettings, { before: shown(before) });
        },
      );
    }
  };
