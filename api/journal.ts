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
  documentDate: z.string().describe('the date of the business event, whose rate converted the entry'),
  postingDate: z.string().describe('the document date, or the first day of the first open period after it when its period was closed'),
  reversesEntryId: z.number().nullable(),
  lines: z.array(
    z.object({
      account: z.string(),
      debitMinor: z.number().describe('functional amount'),
      creditMinor: z.number().describe('functional amount'),
      currency: z.string().describe('the transaction currency'),
      amountDebitMinor: z.number().describe('in the transaction currency'),
      amountCreditMinor: z.number().describe('in the transaction currency'),
      rate: z.string().nullable().describe('to the functional currency; null on an exchange difference, which is functional only'),
    }),
  ),
});

const balance = z.object({
  accounts: z.array(
    z.object({ code: z.string(), name: z.string(), type: z.string(), debits: z.number(), credits: z.number(), balanceMinor: z.number() }),
  ),
  totalDebits: z.number(),
  totalCredits: z.number(),
  functionalCurrency: z.string(),
  asOf: z.string().nullable(),
  balanced: z.boolean().describe('the functional totals agree, and every transaction currency balances in itself'),
  currencies: z.array(
    z.object({
      currency: z.string(),
      accounts: z.array(
        z.object({
          code: z.string(),
          debits: z.number(),
          credits: z.number(),
          balanceMinor: z.number(),
          functionalDebits: z.number(),
          functionalCredits: z.number(),
          functionalBalanceMinor: z.number(),
        }),
      ),
      totalDebits: z.number(),
      totalCredits: z.number(),
      balanced: z.boolean(),
    }),
  ),
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
      {
        schema: {
          summary: 'Debits and credits per account in the functional currency, and per transaction currency; as of a date by posting date',
          querystring: z.object({ asOf: z.iso.date().optional().describe('entries posted on or before this date') }),
          response: { 200: balance },
        },
      },
      (request) => trialBalance(db, request.query.asOf),
    );
  };
