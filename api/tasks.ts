import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { derivedExceptions } from '../db/derived-exceptions.js';
import { durationMs } from '../domain/duration.js';
import type { AppDeps } from './app.js';
import { pageLimit } from './schemas.js';
import { containing, listPage } from './lists.js';
import { caseStates } from '../services/exceptions.js';

const ageSeconds = (since: Date, now: Date) => Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));

export const taskRoutes =
  ({ db, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const historyUrl = (workflowId: string | null) =>
      workflowId ? `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}` : null;

    app.get(
      '/tasks',
      {
        schema: {
          summary: 'The human queue: decisions processes wait for, escalated first, then oldest',
          querystring: z.object({
            status: z.enum(['open', 'done', 'cancelled']).default('open'),
            kind: z.string().max(40).optional(),
            role: z.string().max(20).optional(),
            ...listPage(100, 500),
          }),
        },
      },
      async (request) => {
        const { q } = request.query;
        let base = db.selectFrom('tasks').where('status', '=', request.query.status);
        if (request.query.kind) base = base.where('kind', '=', request.query.kind);
        if (request.query.role) base = base.where('role', '=', request.query.role);
        if (q) base = base.where((eb) => eb.or([eb('reference', 'ilike', containing(q)), eb('title', 'ilike', containing(q)), eb('reason', 'ilike', containing(q))]));
        const query = base
          .selectAll()
          // Escalated ('high') first, then oldest.
          .orderBy(sql`case when priority = 'high' then 0 else 1 end`)
          .orderBy('created_at')
          .orderBy('id')
          .offset(request.query.offset)
          .limit(request.query.limit);
        const now = new Date();
        const [rows, count] = await Promise.all([query.execute(), base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()]);
        return {
          total: Number(count.n),
          tasks: rows.map((t) => ({
            id: t.id,
            kind: t.kind,
            reference: t.reference,
            role: t.role,
            status: t.status,
            priority: t.priority,
            title: t.title,
            reason: t.reason,
            details: t.details,
            createdAt: t.created_at,
            ageSeconds: ageSeconds(t.created_at, now),
            escalatedAt: t.escalated_at,
            closedAt: t.closed_at,
            closedBy: t.closed_by,
            outcome: t.outcome,
            workflowId: t.workflow_id,
            temporalUiUrl: historyUrl(t.workflow_id),
          })),
        };
      },
    );

    app.get(
      '/exceptions',
      {
        schema: {
          summary:
            'What needs attention: escalations raised by processes, stale allocations, stock movements the ledger refused, receipts over tolerance, returns past their SLA',
          querystring: z.object({
            kind: z.string().max(40).optional(),
            ownerRole: z.enum(['system', 'ops', 'buyer', 'finance', 'viewer']).optional(),
            limit: pageLimit(100, 500),
          }),
        },
      },
      async (request) => {
        const now = new Date();
        const [raised, derived] = await Promise.all([
          db.selectFrom('exceptions').selectAll().where('status', '=', 'open').orderBy('raised_at').limit(request.query.limit).execute(),
          derivedExceptions(db, {
            now,
            returnSlaMs: durationMs(config.policies.returns.sla),
            returnSla: config.policies.returns.sla,
            authExpiryLeadMs: durationMs(config.policies.payments.authExpiryLead),
            settlementPayoutDays: config.policies.payments.settlementPayoutDays,
            limit: request.query.limit,
          }),
        ]);
        // Raised exceptions are worked as cases (api/exceptions.ts): a snoozed one waits out of the list.
        const cases = await caseStates(db, raised.map((e) => e.id));
        // A derived condition the sweep has raised already is listed once, as its case.
        const swept = new Set((await db.selectFrom('exceptions').select('id').where('id', 'in', derived.length ? derived.map((e) => e.id) : ['']).execute()).map((e) => e.id));
        const exceptions = [
          ...raised.filter((e) => !((cases.get(e.id)?.snoozed_until ?? now) > now)).map((e) => ({
            caseId: cases.get(e.id) ? Number(cases.get(e.id)!.id) : undefined,
            assignee: cases.get(e.id)?.assignee ?? undefined,
            id: e.id,
            kind: e.kind,
            reference: e.reference,
            ownerRole: e.owner_role,
            message: e.message,
            details: e.details,
            since: e.raised_at,
            ageSeconds: ageSeconds(e.raised_at, now),
            temporalUiUrl: historyUrl(e.workflow_id),
          })),
          ...derived
            .filter((e) => !swept.has(e.id))
            .map((e) => ({
              id: e.id,
              kind: e.kind,
              reference: e.reference,
              ownerRole: e.ownerRole,
              message: e.message,
              details: e.details,
              since: e.since,
              ageSeconds: ageSeconds(e.since, now),
              temporalUiUrl: historyUrl(e.workflowId ?? null),
            })),
        ]
          .filter((e) => (!request.query.kind || e.kind === request.query.kind) && (!request.query.ownerRole || e.ownerRole === request.query.ownerRole))
          .sort((a, b) => b.ageSeconds - a.ageSeconds)
          .slice(0, request.query.limit);
        return { exceptions };
      },
    );
  };
