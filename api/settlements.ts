/**
 * Gateway payouts in: `POST /settlements` records a payout report (Stripe's balance
 * transactions) once and starts its reconciliation; the same report again changes nothing,
 * the same payout id with other content is 409.
 */
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { functionalCurrency, rateOn } from '../db/fx-rates.js';
import { isIsoCurrency } from '../domain/currency.js';
import { settlementLineTypes } from '../domain/settlement.js';
import { settlementId, settlementWorkflowId, settlementWorkflowType, type SettlementWorkflow } from '../contracts/settlement.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { conflict, notFound, unprocessable } from './errors.js';
import { recordId } from './schemas.js';

const amount = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
/** Stripe writes currencies in lower case. */
const gatewayCurrency = z
  .string()
  .regex(/^[a-zA-Z]{3}$/, 'a three-letter ISO 4217 code like usd')
  .refine((c) => isIsoCurrency(c.toUpperCase()), { message: 'not an ISO 4217 currency' });
const unixTime = z.number().int().min(0).max(32_503_680_000).describe('seconds since the Unix epoch, as Stripe sends them');

const balanceTransaction = z
  .object({
    id: z.string().min(1).max(100),
    object: z.literal('balance_transaction').optional(),
    type: z.enum(settlementLineTypes),
    amount: amount.describe('gross, signed: positive into the balance, negative out'),
    fee: z.number().int().min(0, 'a fee is never negative').max(Number.MAX_SAFE_INTEGER),
    net: amount.describe('amount − fee'),
    currency: gatewayCurrency,
    source: z.string().min(1).max(200).nullish().describe('the charge, refund, dispute or payout the line comes from'),
    charge: z.string().min(1).max(200).nullish().describe("a dispute's charge (Stripe's dispute object names it)"),
    reporting_category: z.string().max(60).nullish(),
    created: unixTime.optional(),
    description: z.string().max(500).nullish(),
  })
  .superRefine((line, ctx) => {
    if (line.net !== line.amount - line.fee) ctx.addIssue({ code: 'custom', path: ['net'], message: `net must be amount − fee (${line.amount - line.fee})` });
    if (line.type === 'charge' && line.amount <= 0) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'a charge brings money in: a positive amount' });
    if ((line.type === 'refund' || line.type === 'payout' || line.type === 'stripe_fee') && line.amount >= 0) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: `a ${line.type} takes money out: a negative amount` });
    }
  });

export const settlementBody = z
  .object({
    gateway: z.string().regex(/^[a-z0-9_-]{1,30}$/, 'a gateway name like stripe'),
    payout: z.object({
      id: z.string().min(1).max(100),
      amount: z.number().int().min(0, 'a payout to the bank is never negative').max(Number.MAX_SAFE_INTEGER),
      currency: gatewayCurrency,
      arrival_date: unixTime,
    }),
    balance_transactions: z.array(balanceTransaction).min(1).max(10_000),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.balance_transactions.forEach((line, index) => {
      if (seen.has(line.id)) ctx.addIssue({ code: 'custom', path: ['balance_transactions', index, 'id'], message: `balance transaction ${line.id} appears twice` });
      seen.add(line.id);
      if (line.currency.toLowerCase() !== body.payout.currency.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['balance_transactions', index, 'currency'], message: `the payout is in ${body.payout.currency}` });
      }
      if (line.type === 'payout' && (line.source !== body.payout.id || line.amount !== -body.payout.amount)) {
        ctx.addIssue({ code: 'custom', path: ['balance_transactions', index], message: `the payout line must be source ${body.payout.id}, amount ${-body.payout.amount}` });
      }
    });
  });

const summary = z.looseObject({
  settlementId: z.string(),
  workflowId: z.string(),
  status: z.string(),
  payoutId: z.string(),
  gateway: z.string(),
  amountMinor: z.number(),
  currency: z.string(),
  created: z.boolean().optional(),
});

export const settlementRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/settlements',
      {
        config: { roles: ['system', 'finance'] },
        schema: {
          summary: "Record a gateway payout report (Stripe's balance transactions) and reconcile it (idempotent on gateway and payout id)",
          description:
            'Every line must be well formed (net = amount − fee, charges positive, refunds, fees and the payout negative, one currency), and the lines other than the payout must add up to the payout amount (422 payout_mismatch). Lines whose references match nothing are not bad input: they become exceptions. The same report again is 200 and changes nothing; the same payout id with other content is 409.',
          body: settlementBody,
          response: { 202: summary.describe('Recorded; its reconciliation runs'), 200: summary.describe('The same report again: nothing changed') },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const currency = body.payout.currency.toUpperCase();
        const lines = body.balance_transactions.filter((l) => l.type !== 'payout');
        const total = lines.reduce((n, l) => n + l.net, 0);
        if (total !== body.payout.amount) {
          throw unprocessable('payout_mismatch', `the lines add up to ${total}, the payout is ${body.payout.amount} (difference ${body.payout.amount - total})`, [
            { in: 'body', path: 'payout.amount', message: `lines net ${total}` },
          ]);
        }
        const arrival = new Date(body.payout.arrival_date * 1000).toISOString().slice(0, 10);
        const functional = await functionalCurrency(db);
        if (currency !== functional && !(await rateOn(db, currency, functional, arrival))) {
          const message = `no ${currency}→${functional} exchange rate on or before ${arrival}: finance sets one with PUT /fx-rates`;
          throw unprocessable('no_fx_rate', message, [{ in: 'body', path: 'payout.currency', message }]);
        }
        const id = settlementId(body.gateway, body.payout.id);
        const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
        const created = await db.transaction().execute(async (tx) => {
          const inserted = await tx
            .insertInto('settlements')
            .values({ id, gateway: body.gateway, payout_id: body.payout.id, arrival_date: arrival, amount_minor: body.payout.amount, currency, payload_hash: hash, received_by: request.actor ?? 'unknown' })
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!inserted) {
            const first = await tx.selectFrom('settlements').select('payload_hash').where('id', '=', id).executeTakeFirstOrThrow();
            if (first.payload_hash !== hash) throw conflict('settlement_conflict', `payout ${body.payout.id} of ${body.gateway} was already received with other content`);
            return false;
          }
          await tx
            .insertInto('settlement_lines')
            .values(
              body.balance_transactions.map((l, index) => ({
                settlement_id: id,
                line_no: index + 1,
                txn_id: l.id,
                type: l.type,
                reporting_category: l.reporting_category ?? null,
                amount_minor: l.amount,
                fee_minor: l.fee,
                net_minor: l.net,
                source: l.source ?? null,
                charge: l.charge ?? null,
              })),
            )
            .execute();
          return true;
        });
        const workflowId = settlementWorkflowId(id);
        try {
          await temporal.workflow.start<SettlementWorkflow>(settlementWorkflowType, {
            workflowId,
            taskQueue: config.taskQueue,
            args: [{ settlementId: id }],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          });
        } catch (error) {
          // Started by the first request for this payout.
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
        const row = await db.selectFrom('settlements').select('status').where('id', '=', id).executeTakeFirstOrThrow();
        const answer = { settlementId: id, workflowId, status: row.status, payoutId: body.payout.id, gateway: body.gateway, amountMinor: body.payout.amount, currency, created };
        audited(request, answer, (a) => ({ status: a.status, amountMinor: a.amountMinor }), { action: 'settlement.receive', subjectType: 'settlement', subjectId: id });
        return reply.code(created ? 202 : 200).send(answer);
      },
    );

    app.get(
      '/settlements/:id',
      {
        config: { roles: ['finance', 'viewer', 'system'] },
        schema: {
          summary: 'A payout and its reconciliation: each line with what it matched (an order, a difference) or why it is an exception',
          params: z.object({ id: recordId }),
        },
      },
      async (request) => {
        const row = await db.selectFrom('settlements').selectAll().where('id', '=', request.params.id).executeTakeFirst();
        if (!row) throw notFound(`settlement ${request.params.id}`);
        const lines = await db.selectFrom('settlement_lines').selectAll().where('settlement_id', '=', row.id).orderBy('line_no').execute();
        return {
          settlementId: row.id,
          workflowId: settlementWorkflowId(row.id),
          gateway: row.gateway,
          payoutId: row.payout_id,
          amountMinor: row.amount_minor,
          currency: row.currency,
          status: row.status,
          journalEntryId: row.journal_entry_id,
          summary: row.summary,
          lines: lines.map((l) => ({
            lineNo: l.line_no,
            id: l.txn_id,
            type: l.type,
            reportingCategory: l.reporting_category,
            amountMinor: l.amount_minor,
            feeMinor: l.fee_minor,
            netMinor: l.net_minor,
            source: l.source,
            outcome: l.outcome,
            orderId: l.order_id,
            differenceMinor: l.difference_minor,
          })),
        };
      },
    );
  };
