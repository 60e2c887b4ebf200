/**
 * Exchange rates into the functional currency: finance sets them per date (audited with
 * the rate before), postings take the latest on or before their document date.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { normalizeRate } from '../domain/currency.js';
import { functionalCurrency, listRates, setRates } from '../db/fx-rates.js';
import { isClosed } from '../db/periods.js';
import type { AppDeps } from './app.js';
import { unprocessable } from './errors.js';
import { currencyCode, pageLimit } from './schemas.js';

const rateValue = z
  .union([z.string().max(40), z.number()])
  .refine((v) => normalizeRate(v) !== undefined, { message: 'a positive decimal with at most 12 integer and 10 fractional digits, e.g. "1.0825"' })
  .describe('units of the functional currency one unit of `from` is worth; a decimal string keeps every digit');

const rateView = z.object({ from: z.string(), to: z.string(), date: z.string(), rate: z.string() });

export const fxRateRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.put(
      '/fx-rates',
      {
        config: { roles: ['finance'] },
        schema: {
          summary: 'Set exchange rates into the functional currency, one per currency and date (audited with the rate before)',
          description:
            'A posting in another currency is converted at the latest rate on or before its document date. Setting a rate for a date that has one replaces it for postings from now on; entries already posted keep the rate they were posted at. `to` defaults to the functional currency and can be nothing else (422 not_functional_currency).',
          body: z.object({
            rates: z
              .array(z.object({ date: z.iso.date(), from: currencyCode, to: currencyCode.optional(), rate: rateValue }))
              .min(1)
              .max(500),
          }),
          response: { 200: z.object({ functionalCurrency: z.string(), rates: z.array(rateView.extend({ previous: z.string().nullable() })) }) },
        },
      },
      async (request) => {
        const functional = await functionalCurrency(db);
        const problems = request.body.rates.flatMap((r, index) => {
          if ((r.to ?? functional) !== functional) {
            return [{ in: 'body', path: `rates.${index}.to`, message: `rates are into the functional currency ${functional}` }];
          }
          if (r.from === functional) return [{ in: 'body', path: `rates.${index}.from`, message: `${functional} is the functional currency: its rate is 1` }];
          return [];
        });
        if (problems.length) throw unprocessable('not_functional_currency', problems.map((p) => p.message).join('; '), problems);
        // A rate for a closed period would not change its books, and says it would: refused.
        const closed = [];
        for (const [index, r] of request.body.rates.entries()) if (await isClosed(db, r.date)) closed.push({ in: 'body', path: `rates.${index}.date`, message: `period ${r.date.slice(0, 7)} is closed` });
        if (closed.length) throw unprocessable('period_closed', closed.map((p) => p.message).join('; '), closed);
        const results = await setRates(
          db,
          request.body.rates.map((r) => ({ from: r.from, to: functional, date: r.date, rate: normalizeRate(r.rate)! })),
          request.actor!,
        );
        request.audit = {
          action: 'fx_rate.set',
          subjectType: 'fx_rate',
          subjectId: [...new Set(results.map((r) => `${r.rate.from}/${r.rate.to}`))].join(','),
          before: results.map((r) => ({ from: r.rate.from, date: r.rate.date, rate: r.previous })),
          after: results.map((r) => ({ from: r.rate.from, date: r.rate.date, rate: r.rate.rate })),
        };
        return { functionalCurrency: functional, rates: results.map((r) => ({ ...r.rate, previous: r.previous })) };
      },
    );

    app.get(
      '/fx-rates',
      {
        schema: {
          summary: 'Exchange rates into the functional currency, newest date first',
          querystring: z.object({ from: currencyCode.optional(), limit: pageLimit(100, 1_000) }),
          response: {
            200: z.object({ functionalCurrency: z.string(), rates: z.array(rateView.extend({ setBy: z.string(), setAt: z.date() })) }),
          },
        },
      },
      async (request) => ({ functionalCurrency: await functionalCurrency(db), rates: await listRates(db, { from: request.query.from, limit: request.query.limit }) }),
    );
  };
