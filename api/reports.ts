/** Financial statements (finance, viewer): income statement of a month, balance sheet as of a day. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { balanceSheet, incomeStatement } from '../db/reports.js';
import { todayUtc } from '../db/fx-rates.js';
import type { AppDeps } from './app.js';

const amounts = z.object({ accounts: z.array(z.object({ code: z.string(), name: z.string(), amountMinor: z.number() })), totalMinor: z.number() });

export const reportRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/reports/income-statement',
      {
        config: { roles: ['finance', 'viewer'] },
        schema: {
          summary: "A month's revenue and expenses per account and its net income, in the functional currency, by posting date",
          querystring: z.object({ period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month like 2026-11') }),
          response: {
            200: z.object({ period: z.string(), from: z.string(), to: z.string(), functionalCurrency: z.string(), revenue: amounts, expenses: amounts, netIncomeMinor: z.number() }),
          },
        },
      },
      (request) => incomeStatement(db, request.query.period),
    );

    app.get(
      '/reports/balance-sheet',
      {
        config: { roles: ['finance', 'viewer'] },
        schema: {
          summary: 'Assets, liabilities and equity per account as of a day, in the functional currency, by posting date',
          description: 'Revenue and expenses to that day are shown as current earnings within equity; balanced says assets = liabilities + equity.',
          querystring: z.object({ asOf: z.iso.date().optional().describe('entries posted on or before this date; default today') }),
          response: {
            200: z.object({
              asOf: z.string(),
              functionalCurrency: z.string(),
              assets: amounts,
              liabilities: amounts,
              equity: amounts.extend({ currentEarningsMinor: z.number() }),
              liabilitiesAndEquityMinor: z.number(),
              balanced: z.boolean(),
            }),
          },
        },
      },
      (request) => balanceSheet(db, request.query.asOf ?? todayUtc()),
    );
  };
