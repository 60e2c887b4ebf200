import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { sendDecision } from './decisions.js';
import { lotLineProblems } from '../services/lots.js';
import { badRequest, notFound, unprocessable } from './errors.js';
import { liveView, startOnce } from './processes.js';
import { decisionBody, expiryDate, lotCode, recordIdBrief as adjustmentId, skuText, warehouseText } from './schemas.js';
import { adjustmentViewQuery, adjustmentWorkflowId, decideAdjustmentUpdate, submitAdjustmentUpdate, adjustmentWorkflowType, type AdjustmentWorkflow } from '../contracts/inventory-adjustment.js';

const adjustmentBody = z
  .object({
    adjustmentId,
    sku: skuText,
    warehouse: warehouseText,
    reasonCode: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'a lower_snake_case code such as cycle_count or damaged_on_shelf'),
    delta: z.number().int().min(-1_000_000).max(1_000_000).refine((d) => d !== 0, 'a delta of 0 moves nothing').optional(),
    countedQty: z.number().int().min(0).max(10_000_000).optional(),
    lot: lotCode.optional().describe('a lot-tracked item: the lot the difference is booked against (required)'),
    expiresOn: expiryDate.optional().describe('a lot-tracked item: the expiry of a lot not yet known'),
  })
  .refine((body) => (body.delta === undefined) !== (body.countedQty === undefined), {
    message: 'give exactly one of delta (a change in units) or countedQty (a cycle count)',
    path: ['delta'],
  });

/** The adjustment as its process has it: applied, or waiting for approval. */
const submitted = (description: string) => z.looseObject({ adjustmentId: z.string(), status: z.string(), workflowId: z.string() }).describe(description);

export const inventoryAdjustmentRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/inventory/adjustments',
      {
        config: { roles: ['ops', 'system'] },
        schema: {
          summary: 'Adjust stock or record a cycle count; large variances wait for approval (202)',
          body: adjustmentBody,
          response: {
            200: submitted('Settled: posted, or refused with the reason (a repeat answers the adjustment as it is now)'),
            202: submitted('Waiting for an approval (status awaiting_approval)'),
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const [item, warehouse] = await Promise.all([
          db.selectFrom('items').select(['sku', 'lot_tracked']).where('sku', '=', body.sku).executeTakeFirst(),
          db.selectFrom('warehouses').select('code').where('code', '=', body.warehouse).executeTakeFirst(),
        ]);
        const unknown = [
          !item && { path: 'sku', message: `unknown sku ${body.sku}`, code: 'unknown_sku' },
          !warehouse && { path: 'warehouse', message: `unknown warehouse ${body.warehouse}`, code: 'unknown_warehouse' },
        ].filter((u): u is { path: string; message: string; code: string } => Boolean(u));
        if (unknown.length) throw unprocessable(unknown[0]!.code, unknown.map((u) => u.message).join('; '), unknown);
        // A lot-tracked item names the lot (and the expiry of a new lot); any other names none.
        const known = item!.lot_tracked && body.lot ? await db.selectFrom('lots').select('lot').where('sku', '=', body.sku).where('lot', '=', body.lot).executeTakeFirst() : undefined;
        const lotProblems = await lotLineProblems(db, [{ path: [], sku: body.sku, lot: body.lot, expiresOn: body.expiresOn, expiryKnown: Boolean(known) }]);
        if (lotProblems.length) throw badRequest(`invalid body: ${lotProblems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, lotProblems.map((p) => ({ in: 'body', ...p })));

        const workflowId = adjustmentWorkflowId(body.adjustmentId);
        const { view } = await startOnce<AdjustmentWorkflow>(temporal, {
          workflowType: adjustmentWorkflowType,
          options: {
            workflowId,
            taskQueue: config.taskQueue,
            args: [
              {
                ...body,
                requestedBy: request.actor!,
                requestedByUserId: request.user!.id,
                policy: { approvalValueMinor: config.policies.adjustmentApprovalValueMinor, approvalPct: config.policies.adjustmentApprovalPct },
                approvalTimeout: config.policies.adjustmentApprovalTimeout,
              },
            ],
          },
          submit: submitAdjustmentUpdate,
          view: adjustmentViewQuery,
          content: body,
          duplicate: { code: 'duplicate_adjustment_id', message: `adjustment ${body.adjustmentId} was already submitted with different content` },
        });
        return reply.code(view.status === 'awaiting_approval' ? 202 : 200).send({ ...view, workflowId });
      },
    );

    app.get(
      '/inventory/adjustments/:id',
      { schema: { summary: 'An adjustment: its record and the state of its process', params: z.object({ id: adjustmentId }) } },
      async (request) => {
        const record = await db.selectFrom('inventory_adjustments').selectAll().where('id', '=', request.params.id).executeTakeFirst();
        if (!record) throw notFound(`adjustment ${request.params.id}`);
        const { view, state: processState } = await liveView(temporal, adjustmentWorkflowId(request.params.id), adjustmentViewQuery, config.resilience.temporal.queryTimeoutMs);
        return {
          adjustmentId: record.id,
          sku: record.sku,
          warehouse: record.warehouse_code,
          kind: record.kind,
          reasonCode: record.reason_code,
          countedQty: record.counted_qty,
          expected: record.expected_qty,
          delta: record.delta,
          valueMinor: record.value_minor,
          status: record.status,
          requestedBy: record.requested_by,
          decidedBy: record.decided_by,
          decisionReason: record.decision_reason,
          decidedAt: record.decided_at,
          postedAt: record.posted_at,
          process: view,
          processState,
        };
      },
    );

    app.post(
      '/inventory/adjustments/:id/decision',
      {
        config: { roles: ['ops', 'finance'] },
        schema: {
          summary: 'Approve or reject an adjustment waiting for approval (409 when it is not waiting)',
          params: z.object({ id: adjustmentId }),
          body: decisionBody,
        },
      },
      async (request) => {
        return sendDecision(
          temporal.workflow.getHandle(adjustmentWorkflowId(request.params.id)),
          decideAdjustmentUpdate,
          [{ ...request.body, actor: request.actor!, userId: request.user!.id }],
          `adjustment ${request.params.id}`,
        ).then((view) => audited(request, view, (v) => ({ status: v.status, delta: v.delta, valueMinor: v.valueMinor, journalEntryId: v.journalEntryId })));
      },
    );
  };
