import type { Kysely } from 'kysely';
import type { Db } from '../db/connection.js';
import type { Database } from '../db/schema.js';
import type { ExceptionInput, TaskInput, TaskActivities } from '../contracts/shared.js';
import { clearCaseIfDone, fileUnderCase } from '../db/exception-cases.js';
import { queueNotifications } from '../db/notification-queue.js';

/** The human queue and the exception list, written by processes; every write is idempotent by id. */
export function createTaskActivities({ db }: { db: Db }): TaskActivities {
  return {
    async openTask(task: TaskInput): Promise<void> {
      // The task and the notifications of it are written together, once.
      await db.transaction().execute(async (tx) => {
        const opened = await tx
          .insertInto('tasks')
          .values({
            id: task.id,
            kind: task.kind,
            reference: task.reference,
            workflow_id: task.workflowId,
            role: task.role,
            title: task.title,
            reason: task.reason,
            details: JSON.stringify(task.details ?? {}),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (opened) {
          await queueNotifications(tx, {
            topic: 'task',
            kind: task.kind,
            eventKey: `task:${task.id}`,
            reference: task.reference,
            title: `${task.title}${task.reason ? ` — ${task.reason}` : ''}`,
            role: task.role,
            consolePath: taskConsolePath(task.kind, task.reference),
            workflowId: task.workflowId,
          });
        }
      });
    },

    async escalateTask(id: string): Promise<void> {
      await db
        .updateTable('tasks')
        .set({ priority: 'high', escalated_at: new Date() })
        .where('id', '=', id)
        .where('escalated_at', 'is', null)
        .execute();
    },

    async closeTask(id: string, closedBy: string, outcome: string): Promise<void> {
      await db
        .updateTable('tasks')
        .set({ status: outcome === 'cancelled' ? 'cancelled' : 'done', closed_at: new Date(), closed_by: closedBy, outcome })
        .where('id', '=', id)
        .where('status', '=', 'open')
        .execute();
    },

    async raiseException(exception: ExceptionInput): Promise<void> {
      await insertException(db, exception);
    },

    async resolveException(id: string): Promise<void> {
      await resolveExceptionRow(db, id);
    },
  };
}

/**
 * Raises an exception once: a second raise under the same id changes nothing. A new one is
 * filed under the case of its kind on its record, reopening it if it was resolved. Works
 * inside a transaction too; outside one, it makes its own.
 */
export async function insertException(db: Kysely<Database>, exception: ExceptionInput): Promise<void> {
  if (!db.isTransaction) return db.transaction().execute((tx) => insertException(tx, exception));
  const inserted = await db
    .insertInto('exceptions')
    .values({
      id: exception.id,
      kind: exception.kind,
      reference: exception.reference,
      workflow_id: exception.workflowId ?? null,
      owner_role: exception.ownerRole,
      message: exception.message,
      details: JSON.stringify(exception.details ?? {}),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return;
  const caseId = await fileUnderCase(db, exception);
  await queueNotifications(db, {
    topic: 'exception',
    kind: exception.kind,
    eventKey: `exception:${exception.id}`,
    reference: exception.reference,
    title: exception.message,
    role: exception.ownerRole,
    consolePath: `/console/exceptions/${caseId}`,
    workflowId: exception.workflowId ?? null,
  });
}

/** Where the console shows a task's record. */
function taskConsolePath(kind: string, reference: string): string {
  const ref = encodeURIComponent(reference);
  if (kind === 'order_hold') return `/console/orders/${ref}`;
  if (kind === 'adjustment_approval') return `/console/adjustments/${ref}`;
  if (kind.startsWith('purchase_order') || kind === 'supplier_invoice_mismatch') return `/console/purchase-orders/${ref}`;
  if (kind.startsWith('refund')) return `/console/returns/${ref}`;
  return `/console/tasks?q=${ref}`;
}

/** Resolves an open exception; one already resolved (or never raised) is left as it is. */
export async function resolveExceptionRow(db: Kysely<Database>, id: string): Promise<void> {
  if (!db.isTransaction) return db.transaction().execute((tx) => resolveExceptionRow(tx, id));
  const resolved = await db.updateTable('exceptions').set({ status: 'resolved', resolved_at: new Date() }).where('id', '=', id).where('status', '=', 'open').returning('id').executeTakeFirst();
  if (resolved) await clearCaseIfDone(db, id);
}
