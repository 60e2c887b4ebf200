/** The financial journal, read-only: entries by reference and the trial balance. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { journalEntries, trialBalance } from '../db/journal.js';
import type { AppDeps } from './app.js';
import { pageLimit } from './schemas.js';

const entry = z.object({
  id: z.number(),
  key: z.string(),
  eventType: z.string(),
  reference: z.string(),
  memo: z.string().nullable(),
  actor: z.string(),
  postedAt: z.date(),
  reversesEntryId: z.number().nullable(),
  lines: z.array(z.object({ account: z.string(), debitMinor: z.number(), creditMinor: z.number() })),
});

const balance = z.object({
  accounts: z.array(
    z.object({ code: z.string(), name: z.string(), type: z.string(), debits: z.number(), credits: z.number(), balanceMinor: z.number() }),
  ),
  totalDebits: z.number(),
  totalCredits: z.number(),
  balanced: z.boolean(),
});

export const journalRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/journal',
      {
        schema: {
          summary: 'Journal entries with their lines, newest first',
          querystring: z.object({
            ref: z.string().min(1).max(300).optional().describe('only entries with this reference, e.g. SKU@WAREHOUSE'),
            limit: pageLimit(100, 1_000),
          }),
          response: { 200: z.object({ entries: z.array(entry) }) },
        },
      },
      async (request) => ({ entries: await journalEntries(db, { reference: request.query.ref, limit: request.query.limit }) }),
    );

    app.get(
      '/trial-balance',
      { schema: { summary: 'Debits and credits per account; balanced when the totals agree', response: { 200: balance } } },
      () => trialBalance(db),
    );
  };
