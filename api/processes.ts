import { createHash } from 'node:crypto';
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
  workflow: W;
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
   * Runs when Temporal knows no process of this id, before one is started: the place to
   * refuse an id whose earlier process has aged out of Temporal's retention.
   */
  beforeStart?: () => Promise<void>;
}

/**
 * Starts the process of a business id once, and answers after its first step (an update
 * sent with the start). A repeat of the same request starts nothing and answers the
 * process as it is now (created false); the same id with other content is 409, also when
 * the two arrive at the same moment (only the one whose content started the process wins).
 */
export async function startOnce<W extends Workflow, View>(temporal: Client, o: StartOnceOptions<W, View>): Promise<{ view: View; created: boolean }> {
  const requestHash = createHash('sha256').update(JSON.stringify(o.content)).digest('hex');
  const handle = temporal.workflow.getHandle(o.options.workflowId);
  const sameContent = async () => {
    if ((await handle.describe()).memo?.requestHash !== requestHash) throw conflict(o.duplicate.code, o.duplicate.message);
  };

  const existing = await handle.describe().catch((error) => {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  });
  if (existing) {
    await sameContent();
    return { view: await handle.query(o.view), created: false };
  }
  await o.beforeStart?.();
  const start = new WithStartWorkflowOperation(o.workflow, {
    ...o.options,
    memo: { requestHash },
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  } as WorkflowStartOptions<W> & { workflowIdConflictPolicy: 'USE_EXISTING' });
  let view: View;
  let created = true;
  try {
    view = await temporal.workflow.executeUpdateWithStart(o.submit, { startWorkflowOperation: start });
  } catch (error) {
    // Started and already finished between our look and the start.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    view = await handle.query(o.view);
    created = false;
  }
  await sameContent();
  return { view, created };
}
