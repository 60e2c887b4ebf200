/**
 * Order import's side effects: the file's pending orders, starting each order's release as
 * `POST /orders` does (the same id with the same content is the same order; with other
 * content, or an id long closed, it is refused), and each order's outcome on its rows.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { OrderInput } from '../domain/order.js';
import { orderViewQuery, orderWorkflowId, orderWorkflowType, submitOrderUpdate, type OrderReleaseWorkflow, type OrderView } from '../contracts/order.js';
import type { ImportedOrderOutcome, OrderImportActivities } from '../contracts/order-import.js';
import { orderStartSearchAttributes } from '../contracts/search-attributes.js';

export function createOrderImportActivities({ db, temporal }: { db: Db; temporal?: Client }): OrderImportActivities {
  async function start(order: OrderInput, policy: Parameters<OrderImportActivities['startImportedOrder']>[0]['policy']): Promise<{ view: OrderView } | { refused: string }> {
    if (!temporal) throw ApplicationFailure.nonRetryable('order import needs a Temporal client', 'misconfigured');
    const requestHash = createHash('sha256').update(JSON.stringify(order)).digest('hex');
    const handle = temporal.workflow.getHandle(orderWorkflowId(order.orderId));
    const known = await handle.describe().catch((error) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
    if (known) {
      if (known.memo?.requestHash !== requestHash) return { refused: `order ${order.orderId} was already submitted with different content` };
      return { view: await handle.query(orderViewQuery) };
    }
    const record = await db.selectFrom('orders').select(['status', 'created_at']).where('id', '=', order.orderId).executeTakeFirst();
    if (record) return { refused: `order id ${order.orderId} was used by an order placed ${record.created_at.toISOString()} (now ${record.status})` };
    const operation = new WithStartWorkflowOperation<OrderReleaseWorkflow>(orderWorkflowType, {
      workflowId: orderWorkflowId(order.orderId),
      taskQueue: Context.current().info.taskQueue,
      args: [order, policy],
      memo: { requestHash, requestId: `import:${order.orderId}` },
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: orderStartSearchAttributes(order),
    });
    try {
      const view = await temporal.workflow.executeUpdateWithStart(submitOrderUpdate, { startWorkflowOperation: operation });
      // Another request with other content may have won the start.
      if ((await handle.describe()).memo?.requestHash !== requestHash) return { refused: `order ${order.orderId} was already submitted with different content` };
      return { view };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return { view: await handle.query(orderViewQuery) };
    }
  }

  return {
    async pendingImportOrders({ importId, limit }) {
      const rows = await db.selectFrom('order_import_orders').select('order_id').where('import_id', '=', importId).where('outcome', '=', 'pending').orderBy('seq').limit(limit).execute();
      return rows.map((r) => r.order_id);
    },

    async startImportedOrder({ importId, orderId, policy }) {
      const row = await db.selectFrom('order_import_orders').select(['input', 'outcome']).where('import_id', '=', importId).where('order_id', '=', orderId).executeTakeFirstOrThrow();
      if (row.outcome !== 'pending') return row.outcome as ImportedOrderOutcome;
      const started = await start(row.input as OrderInput, policy);
      const outcome: ImportedOrderOutcome =
        'refused' in started ? 'refused' : started.view.status === 'rejected' ? 'rejected' : started.view.status === 'on_hold' ? 'on_hold' : 'created';
      const detail = 'refused' in started ? { reason: started.refused } : { status: started.view.status, ...(started.view.problems?.length ? { problems: started.view.problems } : {}) };
      await db
        .updateTable('order_import_orders')
        .set({ outcome, detail: JSON.stringify(detail), decided_at: sql<Date>`now()` })
        .where('import_id', '=', importId)
        .where('order_id', '=', orderId)
        .where('outcome', '=', 'pending')
        .execute();
      return outcome;
    },

    async finishOrderImport({ importId }) {
      await db.updateTable('order_imports').set({ status: 'done', finished_at: sql<Date>`coalesce(finished_at, now())` }).where('id', '=', importId).execute();
      const counts = await db.selectFrom('order_import_orders').select(['outcome', sql<number>`count(*)::int`.as('n')]).where('import_id', '=', importId).groupBy('outcome').execute();
      const n = (outcome: string) => counts.find((c) => c.outcome === outcome)?.n ?? 0;
      return { importId, created: n('created'), rejected: n('rejected'), onHold: n('on_hold'), refused: n('refused') };
    },
  };
}
