/** Customer payments received (finance) and the aged receivables (finance, viewer). */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { openReceivables, recordPaymentReceived } from '../services/receivables.js';
import { todayUtc } from '../db/fx-rates.js';
import type { AppDeps } from './app.js';
import { resultOrThrow } from './errors.js';
import { currencyCode, minor, recordId } from './schemas.js';

const positive = minor.refine((n) => n > 0, 'a positive amount of minor units');

export const receivableRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/payments/received',
      {
        config: { roles: ['finance'] },
        schema: {
          summary: "Record a customer's payment (terms orders): applied to the orders named, else to the customer's open orders oldest due first (idempotent on paymentId)",
          description:
            'Bank against receivable per order paid; what pays nothing open waits as not applied (2300). A date in a closed period is 422 period_closed; allocations above what is open or received are 422 over_allocated; the same paymentId with other content is 409.',
          body: z.object({
            paymentId: recordId,
            customerId: recordId,
            receivedOn: z.iso.date(),
            amountMinor: positive,
            currency: currencyCode,
            allocations: z.array(z.object({ orderId: recordId, amountMinor: positive })).min(1).max(500).optional(),
          }),
        },
      },
      async (request, reply) => {
        const result = resultOrThrow(await recordPaymentReceived(db, request.body, request.actor!), 'body');
        request.audit = { action: 'payment.received', subjectType: 'customer_payment', subjectId: request.body.paymentId, after: { allocations: result.allocations, unappliedMinor: result.unappliedMinor } };
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );

    app.get(
      '/receivables',
      {
        config: { roles: ['finance', 'viewer'] },
        schema: {
          summary: 'Open receivables per order as of a date, aged by days past due (current, 1-30, 31-60, 61-90, 90+)',
          querystring: z.object({ asOf: z.iso.date().optional().describe('default today'), customerId: recordId.optional() }),
        },
      },
      async (request) => {
        const asOf = request.query.asOf ?? todayUtc();
        const receivables = await openReceivables(db, { asOf, customerId: request.query.customerId });
        const buckets: Record<string, Record<string, number>> = {};
        for (const r of receivables) {
          buckets[r.currency] ??= { current: 0, '1-30': 0, '31-60': 0, '61-90': 0, '90+': 0 };
          buckets[r.currency]![r.bucket]! += r.openMinor;
        }
        return { asOf, receivables, totals: buckets };
      },
    );
  };
