import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { AppDeps } from './app.js';
import { sendDecision } from './decisions.js';
import { businessRule, conflict, notFound, unprocessable } from './errors.js';
import { liveView, startOnce } from './processes.js';
import { reason, recordIdBrief as transferId, sku, stockQty, stockQtyOrNone, warehouseCode } from './schemas.js';
import { receiveTransferUpdate, submitTransferUpdate, type TransferView, transferViewQuery, transferWorkflowId, transferWorkflowType, type TransferWorkflow } from '../contracts/transfer.js';
import { Warehouses } from '../contracts/search-attributes.js';
import { DependencyUnavailable } from './dependencies.js';

const transferBody = z
  .object({
    transferId,
    sku,
    from: warehouseCode,
    to: warehouseCode,
    qty: stockQty,
    reason,
  })
  .refine((body) => body.from !== body.to, businessRule('same_warehouse', 'a transfer moves stock between two different warehouses', ['to']));

const receiptBody = z.object({
  received: stockQtyOrNone.describe('units put away as sellable at the destination'),
  damaged: stockQtyOrNone.default(0).describe('units that arrived damaged'),
});

/** The transfer as its process has it once shipped, with whether this request started it. */
const submitted = (description: string) =>
  z.looseObject({ transferId: z.string(), status: z.string(), workflowId: z.string(), created: z.boolean() }).describe(description);

const refused = (view: TransferView) =>
  conflict(view.refusal?.code ?? 'refused', `transfer ${view.transferId} refused: ${view.refusal?.message ?? 'by the ledger'}`, { transfer: view });

export const transferRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const handleOf = (id: string) => temporal.workflow.getHandle(transferWorkflowId(id));

    app.post(
      '/transfers',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Move stock from one warehouse to another; ships at once (available → in transit)',
          description:
            'Answers once the stock has left the origin (201), or 409 with the ledger\'s reason when the origin lacks available stock. A repeat of the same transfer starts nothing (200, created false); the same id with other content is 409. An unknown sku or warehouse, or the same warehouse twice, is 422.',
          body: transferBody,
          response: {
            201: submitted('The stock has left the origin: in transit'),
            200: submitted('The same transfer again: nothing started, the transfer as it is now'),
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const [item, warehouses] = await Promise.all([
          db.selectFrom('items').select('sku').where('sku', '=', body.sku).executeTakeFirst(),
          db.selectFrom('warehouses').select('code').where('code', 'in', [body.from, body.to]).execute(),
        ]);
        const unknown = [
          !item && { path: 'sku', message: `unknown sku ${body.sku}`, code: 'unknown_sku' },
          ...(['from', 'to'] as const).map(
            (side) => !warehouses.some((w) => w.code === body[side]) && { path: side, message: `unknown warehouse ${body[side]}`, code: 'unknown_warehouse' },
          ),
        ].filter((u): u is { path: string; message: string; code: string } => Boolean(u));
        if (unknown.length) throw unprocessable(unknown[0]!.code, unknown.map((u) => u.message).join('; '), unknown);

        const workflowId = transferWorkflowId(body.transferId);
        const { view, created } = await startOnce<TransferWorkflow>(temporal, {
          workflowType: transferWorkflowType,
          options: {
            workflowId,
            taskQueue: config.taskQueue,
            typedSearchAttributes: [{ key: Warehouses, value: [body.from, body.to] }],
            args: [{ ...body, requestedBy: request.actor!, transitDeadline: config.policies.transferTransitDeadline }],
          },
          submit: submitTransferUpdate,
          view: transferViewQuery,
          content: body,
          duplicate: { code: 'duplicate_transfer_id', message: `transfer ${body.transferId} was already submitted with different content` },
        });
        if (view.status === 'refused') throw refused(view);
        return reply.code(created ? 201 : 200).send({ ...view, workflowId, created });
      },
    );

    app.get('/transfers/:id', { schema: { summary: 'A transfer: its record and the live state of its process', params: z.object({ id: transferId }) } }, async (request) => {
      const id = request.params.id;
      const workflowId = transferWorkflowId(id);
      const record = await db.selectFrom('transfers').selectAll().where('id', '=', id).executeTakeFirst();
      const { view: process, state: processState } = await liveView(temporal, workflowId, transferViewQuery, config.resilience.temporal.queryTimeoutMs);
      if (!record && processState === 'not_found') throw notFound(`transfer ${id}`);
      if (!record && !process) throw new DependencyUnavailable({ dependency: 'temporal', reason: 'unavailable' }, `Temporal is unavailable and transfer ${id} has no record yet`);
      return {
        transferId: id,
        sku: record?.sku ?? process?.sku,
        from: record?.from_warehouse ?? process?.from,
        to: record?.to_warehouse ?? process?.to,
        qty: record?.qty ?? process?.qty,
        status: record?.status ?? process?.status,
        reason: record?.reason,
        requestedBy: record?.requested_by,
        received: record?.received_qty ?? null,
        damaged: record?.damaged_qty ?? null,
        lost: record?.lost_qty ?? null,
        lossUnitCostMinor: record?.loss_unit_cost_minor ?? null,
        journalEntryId: record?.journal_entry_id ?? null,
        receivedBy: record?.received_by ?? null,
        shippedAt: record?.shipped_at ?? null,
        receivedAt: record?.received_at ?? null,
        workflowId,
        temporalUiUrl: `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}`,
        process: process ?? null,
        processState,
      };
    });

    app.post(
      '/transfers/:id/receipt',
      {
        config: { roles: ['system'] },
        schema: {
          summary: 'The transfer arrived: units received, units damaged on arrival; the rest is lost in transit and written off',
          description:
            'received + damaged may not exceed the quantity shipped (no over-receipt on a transfer: 422 over_receipt). A transfer already received, or refused, answers 409.',
          params: z.object({ id: transferId }),
          body: receiptBody,
        },
      },
      async (request) => {
        const id = request.params.id;
        const { received, damaged } = request.body;
        const record = await db.selectFrom('transfers').select(['qty', 'status']).where('id', '=', id).executeTakeFirst();
        if (!record) {
          const view = await handleOf(id)
            .query(transferViewQuery)
            .catch((error: unknown) => {
              if (error instanceof WorkflowNotFoundError) return undefined;
              throw error;
            });
          if (!view) throw notFound(`transfer ${id}`);
          throw conflict('not_in_transit', `transfer ${id} is ${view.status}, not waiting for a receipt`);
        }
        if (record.status !== 'in_transit') throw conflict('not_in_transit', `transfer ${id} is ${record.status}, not waiting for a receipt`);
        if (received + damaged > record.qty) {
          throw unprocessable('over_receipt', `received ${received} + damaged ${damaged} exceeds the ${record.qty} shipped; a transfer takes no over-receipt`, [
            { path: 'received', message: `at most ${record.qty - damaged}` },
          ]);
        }
        return sendDecision(handleOf(id), receiveTransferUpdate, [{ received, damaged, actor: request.actor! }], `transfer ${id}`);
      },
    );
  };
