/** A person's subscriptions to kinds of tasks and exceptions, and what was delivered to them. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listDeliveries, listSubscriptions, subscribe, unsubscribe } from '../services/notifications.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { resultOrThrow } from './errors.js';
import { pageLimit, webhookUrl } from './schemas.js';

const subscriptionView = z.object({ id: z.number(), topic: z.enum(['task', 'exception']), kind: z.string(), channel: z.enum(['webhook', 'email']), target: z.string(), createdAt: z.date() });
const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address').max(200);
const kind = z.string().regex(/^(\*|[a-z][a-z0-9_]{1,59})$/, 'a kind such as order_hold or short_pick, or * for every kind');
const body = z.discriminatedUnion('channel', [
  z.object({ channel: z.literal('webhook'), topic: z.enum(['task', 'exception']), kind, target: webhookUrl.describe('Slack or Teams incoming webhook, or any receiver') }).strict(),
  z.object({ channel: z.literal('email'), topic: z.enum(['task', 'exception']), kind, target: email }).strict(),
]);

export const notificationRoutes =
  ({ db, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/me/subscriptions',
      { schema: { summary: 'Your subscriptions to kinds of tasks and exceptions', response: { 200: z.object({ subscriptions: z.array(subscriptionView) }) } } },
      async (request) => ({ subscriptions: await listSubscriptions(db, request.actor!) }),
    );

    app.post(
      '/me/subscriptions',
      {
        schema: {
          summary: 'Subscribe to a kind of task or exception (or * for all), by signed webhook or e-mail; a webhook’s signing secret is in this answer only',
          description:
            'Webhooks get `{"text": …, "summary": …, "deliveryId": …, "event": {…}}` (Slack and Teams show `text`) with `X-Ops-Signature: sha256=<HMAC-SHA256 of "<X-Ops-Timestamp>.<body>">` and `X-Ops-Delivery`. E-mail needs SMTP_URL on the deployment (422 smtp_not_configured).',
          body,
          response: {
            200: z.object({ subscription: subscriptionView, created: z.boolean() }),
            201: z.object({ subscription: subscriptionView, created: z.boolean(), secret: z.string().optional().describe('the webhook signing secret, shown this once') }),
          },
        },
      },
      async (request, reply) => {
        const result = resultOrThrow(await subscribe(db, config.notifications, request.actor!, request.body), 'body');
        audited(request, result, (r) => ({ id: r.subscription.id, topic: r.subscription.topic, kind: r.subscription.kind, channel: r.subscription.channel }), { action: 'user.subscription.create', subjectType: 'user', subjectId: request.actor! });
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );

    app.delete(
      '/me/subscriptions/:id',
      { schema: { summary: 'End a subscription', params: z.object({ id: z.string().regex(/^[1-9][0-9]{0,14}$/) }), response: { 200: z.object({ ended: z.literal(true) }) } } },
      async (request) => {
        const ended = resultOrThrow(await unsubscribe(db, request.actor!, Number(request.params.id)));
        return audited(request, ended, () => ({ subscriptionId: Number(request.params.id), ended: true }), { action: 'user.subscription.delete', subjectType: 'user', subjectId: request.actor! });
      },
    );

    app.get(
      '/me/notifications',
      {
        schema: {
          summary: 'What was sent to your subscriptions, newest first: pending, sent, or failed with the last error',
          querystring: z.object({ limit: pageLimit(50, 200) }),
          response: {
            200: z.object({
              deliveries: z.array(z.object({ id: z.number(), event: z.string(), status: z.string(), attempts: z.number(), lastError: z.string().nullable(), createdAt: z.date(), sentAt: z.date().nullable(), channel: z.string(), target: z.string() })),
            }),
          },
        },
      },
      async (request) => ({ deliveries: await listDeliveries(db, request.actor!, request.query.limit) }),
    );
  };
