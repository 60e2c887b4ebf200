import { createHash, randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { QueryDefinition, UpdateDefinition, Workflow } from '@temporalio/common';
import { conflict } from './errors.js';

export interface StartOnceOptions<W extends Workflow, View> {
  /** The workflow type, from the process's contract; `W` is its signature. */
  workflowType: string;
  /** Start options without the id policies and memo, which this function owns. */
  options: Omit<WorkflowStartOptions<W>, 'workflowIdConflictPolicy' | 'workflowIdReusePolicy' | 'memo'>;
  /** The update that answers once the process is under way. */
  submit: UpdateDefinition<View, []>;
  view: QueryDefinition<View>;
  /** What makes two requests the same request. */
  content: unknown;
  /** The 409 for the same id with other content. */
  duplicate: { code: string; message: string };
  /**
   * What our own records know of the id, asked before Temporal: `undefined` when the id was
   * never used, so a new process starts without a look at Temporal first; else its record,
   * handed to `forgotten` when Temporal no longer knows the process (its retention passed).
   */
  record?: () => Promise<unknown>;
  /** The error for an id on record whose process Temporal has forgotten; such an id never starts again. */
  forgotten?: (record: unknown) => Error;
}

/**
 * Starts the process of a business id once, and answers after its first step (an update
 * sent with the start). A repeat of the same request starts nothing and answers what the
 * first would have (created false): it waits for the same first step, so a client that
 * retries after a 503 or a lost answer gets the outcome, not a half-way view. The same id
 * with other content is 409, also when the two arrive at the same moment (only the one whose
 * content started the process wins).
 */
export async function startOnce<W extends Workflow, View = Awaited<ReturnType<W>>>(temporal: Client, o: StartOnceOptions<W, View>): Promise<{ view: View; created: boolean }> {
  const requestHash = createHash('sha256').update(JSON.stringify(o.content)).digest('hex');
  // Which request started the process: the same content may arrive twice at once.
  const requestId = randomUUID();
  const handle = temporal.workflow.getHandle(o.options.workflowId);
  /** Refuses other content under the id; answers whether this request was the one that started it. */
  const sameContent = async (known?: { memo?: Record<string, unknown> }) => {
    const memo = (known ?? (await handle.describe())).memo;
    if (memo?.requestHash !== requestHash) throw conflict(o.duplicate.code, o.duplicate.message);
    return memo.requestId === requestId;
  };

  const record = o.record ? await o.record() : null;
  // An id never on record goes straight to the start (a duplicate in flight is caught after it).
  const existing =
    record === undefined
      ? undefined
      : await handle.describe().catch((error) => {
          if (error instanceof WorkflowNotFoundError) return undefined;
          throw error;
        });
  /** The first step's answer of a process that exists: waited for while it runs, read once it has ended. */
  const firstStep = async (): Promise<View> => {
    try {
      return await handle.executeUpdate(o.submit);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      return handle.query(o.view);
    }
  };
  if (existing) {
    await sameContent(existing);
    return { view: await firstStep(), created: false };
  }
  if (record !== undefined && record !== null && o.forgotten) throw o.forgotten(record);
  const start = new WithStartWorkflowOperation<W>(o.workflowType, {
    ...o.options,
    memo: { requestHash, requestId },
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  } as WorkflowStartOptions<W> & { workflowIdConflictPolicy: 'USE_EXISTING' });
  let view: View;
  try {
    view = await temporal.workflow.executeUpdateWithStart(o.submit, { startWorkflowOperation: start });
  } catch (error) {
    // Started and already finished between our look and the start.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    view = await firstStep();
  }
  return { view, created: await sameContent() };
}

/** Whether a record's process could be read: `live`, `unavailable` (Temporal down or slow: the records answer), or `not_found`. */
export type ProcessState = 'live' | 'unavailable' | 'not_found';

/**
 * The live view of a process, or why there is none. A read never fails because Temporal is
 * down: the route answers from its records and says the process state is unavailable.
 */
export async function liveView<View>(
  temporal: Client,
  workflowId: string,
  query: QueryDefinition<View>,
  timeoutMs: number,
): Promise<{ view: View | null; state: ProcessState; error?: string }> {
  try {
    return { view: await temporal.withDeadline(Date.now() + timeoutMs, () => temporal.workflow.getHandle(workflowId).query(query)), state: 'live' };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { view: null, state: 'not_found', error: 'no process (it was never started, or its history is gone)' };
    return { view: null, state: 'unavailable', error: (error as Error).message };
  }
}
