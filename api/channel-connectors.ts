/**
 * Storefront connectors: a channel's platform settings (admin), the platforms' order
 * webhooks (authenticated by their signature, not an API key), and every delivery with its
 * outcome. A webhook records its delivery and hands it to the order's intake process, then
 * answers: it never waits for the order to be checked or stock to be reserved.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { platforms } from '../domain/channel-orders.js';
import { connectorForDelivery, findConnector, listDeliveries, recordDelivery, setConnector, type ConnectorView } from '../services/channel-connectors.js';
import { handOverDelivery } from '../services/channel-intake.js';
import { parsePlatformJson, signedByOneOf, type Headers } from '../services/connectors/connector.js';
import { connectorFor } from '../services/connectors/index.js';
import { offlineGeocoder } from '../services/geocode.js';
import { ensureChannelOrderPublisher } from '../runtime/channel-publishers.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { anyRole } from './auth.js';
import { ApiError, badRequest, notFound, resultOrThrow, unprocessable } from './errors.js';
import { errorAnswers } from './openapi.js';
import { channelInPath, currencyCode, dateTime, pageLimit, webhookUrl } from './schemas.js';
import { CHANNEL_RECONCILE_PREFIX, channelReconcileWorkflowType, type ChannelReconcileWorkflow } from '../contracts/channel-reconcile.js';
import { Channel } from '../contracts/search-attributes.js';

const params = z.object({ channel: channelInPath });

const connectorBody = z.object({
  platform: z.enum(platforms),
  shop: z.string().trim().min(3).max(300).describe("Shopify: the shop's domain (example.myshopify.com); WooCommerce: the site's URL (https://shop.example)"),
  webhookSecret: z
    .string()
    .min(16)
    .max(500)
    .describe("Shopify: the webhooks' signing key (Settings → Notifications → Webhooks) or the app's client secret; WooCommerce: the webhook's secret. A new one replaces the old, which is still accepted for CHANNEL_SECRET_GRACE"),
  mapping: z
    .object({
      skuPrefixMap: z
        .record(z.string().min(1).max(40), z.string().max(40))
        .refine((map) => Object.keys(map).length <= 50, 'at most 50 prefixes')
        .default({})
        .describe('platform sku prefixes rewritten after trim and upper-case: {"OLD-": "NEW-"}'),
      currencies: z.array(currencyCode).max(20).default([]).describe('currencies booked from this channel; empty: any ISO 4217 currency'),
    })
    .default({ skuPrefixMap: {}, currencies: [] }),
  orderIdPrefix: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$/)
    .optional()
    .describe('orders from this channel are <prefix>-<platform order id> (default <channel>-SH or <channel>-WC; kept once set)'),
  api: z
    .object({
      baseUrl: webhookUrl.describe("the platform's admin API: https://example.myshopify.com/admin/api/2024-10 or https://shop.example/wp-json/wc/v3"),
      token: z.string().min(8).max(500).optional().describe('Shopify: an Admin API access token; WooCommerce: consumer_key:consumer_secret. Left out: kept'),
    })
    .nullable()
    .optional(),
});

const connectorView = z.object({
  channel: z.string(),
  platform: z.enum(platforms),
  shop: z.string(),
  webhookPath: z.string().describe("where the platform's webhooks go, on this API's public address"),
  mapping: z.object({ skuPrefixMap: z.record(z.string(), z.string()), currencies: z.array(z.string()) }),
  orderIdPrefix: z.string(),
  secret: z.object({ set: z.literal(true), previousAcceptedUntil: z.date().nullable().describe('during a rotation: until when the previous secret is still accepted') }),
  api: z.object({ baseUrl: z.string().nullable(), tokenSet: z.boolean() }),
  updatedBy: z.string(),
  updatedAt: z.date(),
});

const deliveryView = z.object({
  id: z.number(),
  deliveryId: z.string(),
  topic: z.string(),
  platformOrderId: z.string().nullable(),
  orderId: z.string().nullable(),
  receivedAt: z.date(),
  handedOverAt: z.date().nullable(),
  outcome: z.string().describe('received (not decided yet), order_created, order_rejected, update_applied, update_refused, needs_review, order_cancelled, cancel_refused, payment_recorded, no_change, superseded, not_placed, ignored'),
  detail: z.unknown(),
  decidedAt: z.date().nullable(),
  summary: z
    .object({ reference: z.string(), state: z.string(), version: z.string(), totalMinor: z.number(), currency: z.string(), lines: z.number(), coordinates: z.string() })
    .nullable(),
});

const webhookAnswer = z.object({
  received: z.boolean(),
  deliveryId: z.string().nullable(),
  repeated: z.boolean().describe('the same delivery again: nothing new was written'),
  orderId: z.string().nullable(),
  outcome: z.string(),
});

const shown = (view: ConnectorView | null) =>
  view && { platform: view.platform, shop: view.shop, mapping: view.mapping, orderIdPrefix: view.orderIdPrefix, apiBaseUrl: view.api.baseUrl, tokenSet: view.api.tokenSet };

export const channelConnectorRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.put(
      '/channels/:channel/connector',
      {
        config: { roles: ['admin'] },
        schema: {
          summary: "Connects the channel to its storefront: platform, shop, webhook secret, mapping choices, admin API (secrets are never shown again)",
          params,
          body: connectorBody,
          response: { 200: connectorView },
        },
      },
      async (request) => {
        const { channel } = request.params;
        const { before } = resultOrThrow(await setConnector(db, channel, request.body, request.actor ?? 'unknown', config.channelConnectors.secretGraceMs));
        const after = (await findConnector(db, channel))!;
        // Order updates go back to the platform from its own publisher.
        await ensureChannelOrderPublisher(temporal, channel, { taskQueue: config.taskQueue, policy: config.channelPublishing });
        return audited(request, after, shown, { action: 'channel.connector.set', before: shown(before), subjectType: 'channel', subjectId: channel });
      },
    );

    app.get(
      '/channels/:channel/connector',
      {
        config: { roles: anyRole },
        schema: { summary: "A channel's storefront connector (no secret, no token: only whether they are set)", params, response: { 200: connectorView } },
      },
      async (request) => (await findConnector(db, request.params.channel)) ?? Promise.reject(notFound(`connector of channel ${request.params.channel}`)),
    );

    app.get(
      '/channels/:channel/deliveries',
      {
        config: { roles: anyRole },
        schema: {
          summary: "The channel's webhook deliveries, newest first, each with its outcome",
          description: '`rejected=true`: only deliveries whose order was rejected, whose change or cancellation was refused, or that wait for a person. Page with `before=<nextBefore>`.',
          params,
          querystring: z.object({
            outcome: z.string().max(40).optional(),
            rejected: z.enum(['true', 'false']).optional(),
            platformOrderId: z.string().max(40).optional(),
            before: z.coerce.number().int().min(1).optional(),
            limit: pageLimit(50, 500),
          }),
          response: { 200: z.object({ deliveries: z.array(deliveryView), nextBefore: z.number().nullable() }) },
        },
      },
      async (request) =>
        resultOrThrow(
          await listDeliveries(db, request.params.channel, { ...request.query, rejected: request.query.rejected === 'true' }),
        ),
    );

    const reportView = z.object({
      reconcileId: z.string(),
      channel: z.string(),
      from: z.string(),
      to: z.string(),
      platformOrders: z.number(),
      missing: z.array(z.object({ platformOrderId: z.string(), reference: z.string(), orderId: z.string() })).describe('on the platform, not here: imported'),
      behind: z.array(z.object({ platformOrderId: z.string(), orderId: z.string(), ours: z.string(), platform: z.string() })).describe('changed on the platform after the state here: brought up to date'),
      statusDiffers: z
        .array(z.object({ platformOrderId: z.string(), orderId: z.string(), ours: z.string(), platform: z.string(), resent: z.array(z.string()) }))
        .describe('shipments or a cancellation the platform does not show: sent again'),
    });

    app.post(
      '/channels/:channel/reconcile',
      {
        config: { roles: ['ops', 'system'] },
        schema: {
          summary: "Reconciles the channel's orders with its platform for a period (default the last day): imports what was missed, re-sends what the platform lacks",
          description:
            "Pulls the platform's orders changed in the period through its admin API. Answers 200 with the report when it is done within a few seconds, else 202 with the process to follow (its report then shows in GET /channels/:channel/reconciliations). 422 `not_connected` without a connector that has the platform's admin API.",
          params,
          body: z
            .object({ from: dateTime.optional(), to: dateTime.optional() })
            .refine((b) => !b.from || !b.to || Date.parse(b.from) <= Date.parse(b.to), { message: 'from must not be after to', path: ['from'] })
            .refine((b) => !b.from || !b.to || Date.parse(b.to) - Date.parse(b.from) <= 31 * 86_400_000, { message: 'at most 31 days at once', path: ['to'] })
            .default({}),
          response: { 200: z.object({ report: reportView }), 202: z.object({ workflowId: z.string(), status: z.literal('running') }) },
        },
      },
      async (request, reply) => {
        const { channel } = request.params;
        if (!(await db.selectFrom('channels').select('code').where('code', '=', channel).executeTakeFirst())) throw notFound(`channel ${channel}`);
        const connector = await db.selectFrom('channel_connectors').select('api_base_url').where('channel', '=', channel).executeTakeFirst();
        if (!connector?.api_base_url) throw unprocessable('not_connected', `channel ${channel} has no connector with the platform's admin API (PUT /channels/${channel}/connector with api)`);
        const to = request.body.to ?? new Date().toISOString();
        const from = request.body.from ?? new Date(Date.parse(to) - 86_400_000).toISOString();
        const workflowId = `${CHANNEL_RECONCILE_PREFIX}${channel}-${randomUUID()}`;
        const handle = await temporal.workflow.start<ChannelReconcileWorkflow>(channelReconcileWorkflowType, {
          workflowId,
          taskQueue: config.taskQueue,
          args: [{ channel, from, to, windowMs: 0, requestedBy: request.actor ?? 'unknown', orderPolicy: config.policies.order, idleMs: config.channelConnectors.intakeIdleMs }],
          typedSearchAttributes: [{ key: Channel, value: channel }],
        });
        audited(request, null, () => ({ workflowId, from, to }), { action: 'channel.reconcile', subjectType: 'channel', subjectId: channel });
        const done = await Promise.race([handle.result(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
        if (!done) return reply.code(202).send({ workflowId, status: 'running' as const });
        return { report: done[0]! };
      },
    );

    app.get(
      '/channels/:channel/reconciliations',
      {
        config: { roles: anyRole },
        schema: {
          summary: "The channel's reconciliations with its platform, newest first, each with its report",
          params,
          querystring: z.object({ limit: pageLimit(20, 200) }),
          response: { 200: z.object({ reconciliations: z.array(z.object({ id: z.string(), requestedBy: z.string(), finishedAt: z.date(), report: reportView })) }) },
        },
      },
      async (request) => {
        const rows = await db.selectFrom('channel_reconciliations').selectAll().where('channel', '=', request.params.channel).orderBy('finished_at', 'desc').limit(request.query.limit).execute();
        return { reconciliations: rows.map((r) => ({ id: r.id, requestedBy: r.requested_by, finishedAt: r.finished_at, report: r.report as z.infer<typeof reportView> })) };
      },
    );

    // The platforms' webhooks: the raw bytes are kept for the signature, and parsed only once it holds.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.channelConnectors.webhookBodyLimitBytes }, (_request, body, done) => done(null, body));

      const refuse = (request: FastifyRequest, why: string): never => {
        request.log.warn({ channel: (request.params as { channel?: string }).channel, platform: (request.params as { platform?: string }).platform, why, ip: request.ip }, 'webhook refused: not authenticated');
        throw new ApiError(401, 'unauthorized', `the delivery cannot be authenticated: ${why}`);
      };

      scope.withTypeProvider<ZodTypeProvider>().post(
        '/channels/:channel/webhooks/:platform',
        {
          config: { public: true },
          bodyLimit: config.channelConnectors.webhookBodyLimitBytes,
          schema: {
            summary: "A storefront's order webhook (Shopify orders/create, orders/updated, orders/cancelled; WooCommerce order.created, order.updated)",
            description:
              "Authenticated by the platform's signature (base64 HMAC-SHA256 of the raw body under the connector's secret), not an API key. " +
              '401 when it cannot be authenticated (nothing is written); 400 for a body that is not the platform\'s order JSON; 200 once the delivery is recorded and handed to the order, whatever its outcome (see GET /channels/:channel/deliveries). ' +
              "WooCommerce's unsigned setup ping (webhook_id=N) gets 200 and writes nothing.",
            params: z.object({ channel: channelInPath, platform: z.string().min(1).max(40) }),
            response: { 200: webhookAnswer, 401: errorAnswers[401] },
          },
        },
        async (request) => {
          const { channel, platform } = request.params;
          const connector = connectorFor(platform);
          if (!connector) throw notFound(`platform ${platform}`);
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          const headers = request.headers as Headers;
          const settings = await connectorForDelivery(db, channel);
          if (!settings || settings.platform !== connector.platform) return refuse(request, `no ${connector.platform} connector on channel ${channel}`);
          if (connector.isSetupPing(headers, raw)) return { received: false, deliveryId: null, repeated: false, orderId: null, outcome: 'setup_ping' };
          if (!connector.signatureOf(headers)) return refuse(request, 'no signature');
          if (!signedByOneOf(raw, connector.signatureOf(headers), settings.secrets)) return refuse(request, 'wrong signature');
          const identity = connector.identityOf(headers);
          if (!connector.sameShop(settings.shop, identity.shop)) return refuse(request, `sent by ${identity.shop ?? 'an unnamed shop'}, not ${settings.shop}`);
          if (!identity.deliveryId || !identity.topic) throw badRequest('not a delivery of this platform: no delivery id or topic header');

          let body: unknown;
          try {
            body = parsePlatformJson(raw.toString('utf8'));
          } catch {
            throw badRequest('the body is not JSON');
          }
          if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`the body is not a ${connector.platform} order`);
          const platformOrderId = connector.orderIdOf(body) ?? null;
          const bodySha256 = createHash('sha256').update(raw).digest('hex');
          const base = { channel, platform: connector.platform, deliveryId: identity.deliveryId, topic: identity.topic, platformOrderId, bodySha256 };
          if (!connector.orderTopics.includes(identity.topic) || !platformOrderId) {
            if (connector.orderTopics.includes(identity.topic)) throw badRequest(`the body is not a ${connector.platform} order: no order id`);
            const ignored = await recordDelivery(db, { ...base, snapshot: null, outcome: 'ignored', detail: { reason: `topic ${identity.topic} is not taken` } });
            return { received: true, deliveryId: identity.deliveryId, repeated: ignored.repeated, orderId: null, outcome: ignored.outcome };
          }

          const snapshot = connector.mapOrder(body as Record<string, unknown>, identity.topic, { mapping: settings.mapping, geocoder: offlineGeocoder });
          // Within the platform's timeout, or 503 for it to retry: the delivery stays recorded and is handed over then.
          const delivery = await handOverDelivery(
            db,
            temporal,
            { channel, platform: connector.platform, deliveryId: identity.deliveryId, topic: identity.topic, bodySha256, snapshot, orderIdPrefix: settings.orderIdPrefix },
            { taskQueue: config.taskQueue, orderPolicy: config.policies.order, idleMs: config.channelConnectors.intakeIdleMs, deadlineMs: config.channelConnectors.webhookDeadlineMs },
          );
          const orderId = delivery.orderId;
          return { received: true, deliveryId: identity.deliveryId, repeated: delivery.repeated, orderId, outcome: delivery.outcome };
        },
      );
    });
  };
