import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { staleReservations } from '../db/ledger.js';
import { returnsPastSla } from '../db/return-kpis.js';
import { durationMs } from '../domain/duration.js';
import type { AppDeps } from './app.js';
import { pageLimit } from './schemas.js';
import { containing, listPage } from './lists.js';
import { orderWorkflowId } from '../contracts/order.js';
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
        const [raised, stale, refused, overTolerance] = await Promise.all([
          db.selectFrom('exceptions').selectAll().where('status', '=', 'open').orderBy('raised_at').limit(request.query.limit).execute(),
          staleReservations(db, now),
          db
            .selectFrom('ledger_refusals')
            .selectAll()
            .where('refused_at', '>', new Date(now.getTime() - 7 * 86_400_000))
            .orderBy('refused_at', 'desc')
            .limit(request.query.limit)
            .execute(),
          db.selectFrom('tasks').selectAll().where('status', '=', 'open').where('kind', '=', 'purchase_order_receipt_excess').orderBy('created_at').limit(request.query.limit).execute(),
        ]);
        // Raised exceptions are worked as cases (api/exceptions.ts): a snoozed one waits out of the list.
        const cases = await caseStates(db, raised.map((e) => e.id));
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
          ...stale.map((r) => ({
            id: `stale-allocation:${r.id}`,
            kind: 'stale_allocation',
            reference: r.order_id,
            ownerRole: 'ops',
            message: `${r.qty - r.consumed_qty} × ${r.sku} at ${r.warehouse_code} allocated to order ${r.order_id} past its expiry`,
            details: { reservationId: r.id, sku: r.sku, warehouse: r.warehouse_code, expiresAt: r.expires_at },
            since: r.expires_at!,
            ageSeconds: ageSeconds(r.expires_at!, now),
            temporalUiUrl: historyUrl(orderWorkflowId(r.order_id)),
          })),
          ...refused.map((r) => ({
            id: `ledger-refusal:${r.id}`,
            kind: 'negative_inventory_refused',
            reference: r.operation_key,
            ownerRole: 'ops',
            message: `${r.kind} refused: ${r.sku} at ${r.warehouse_code} has ${r.on_hand} ${r.bucket}, ${r.requested} needed`,
            details: { sku: r.sku, warehouse: r.warehouse_code, bucket: r.bucket, requested: r.requested, onHand: r.on_hand, process: r.process },
            since: r.refused_at,
            ageSeconds: ageSeconds(r.refused_at, now),
            temporalUiUrl: historyUrl(r.process),
          })),
          // Goods beyond a PO's receipt tolerance, waiting for a buyer's decision (the task is the way to act).
          ...overTolerance.map((t) => ({
            id: `receipt-over-tolerance:${t.id}`,
            kind: 'receipt_over_tolerance',
            reference: t.reference,
            ownerRole: t.role,
            message: t.title,
            details: t.details,
            since: t.created_at,
            ageSeconds: ageSeconds(t.created_at, now),
            temporalUiUrl: historyUrl(t.workflow_id),
          })),
          // Returns received and not settled within their SLA.
          ...(await returnsPastSla(db, durationMs(config.policies.returns.sla), now)).map((r) => ({
            id: `return-past-sla:${r.id}`,
            kind: 'return_past_sla',
            reference: r.id,
            ownerRole: 'ops',
            message: `return ${r.id} (order ${r.order_id}) received ${r.first_received_at!.toISOString()} is still ${r.status}, past its SLA of ${config.policies.returns.sla}`,
            details: { returnId: r.id, orderId: r.order_id, status: r.status, customerId: r.customer_id, sla: config.policies.returns.sla },
            since: r.first_received_at!,
            ageSeconds: ageSeconds(r.first_received_at!, now),
            temporalUiUrl: historyUrl(r.workflow_id),
          })),
        ]
          .filter((e) => (!request.query.kind || e.kind === request.query.kind) && (!request.query.ownerRole || e.ownerRole === request.query.ownerRole))
          .sort((a, b) => b.ageSeconds - a.ageSeconds)
          .slice(0, request.query.limit);
        return { exceptions };
      },
    );
  };
