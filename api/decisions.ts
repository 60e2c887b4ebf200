import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { conflict, notFound } from './errors.js';

/**
 * Sends a person's decision to a waiting process as an update, so the caller learns at
 * once whether it was taken. A process that is not waiting for it (its validator refuses,
 * or it has already finished) answers 409 with its reason; no such process is 404.
 */
export async function sendDecision<Ret, Args extends [unknown, ...unknown[]]>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  what: string,
): Promise<Ret> {
  try {
    return await handle.executeUpdate(update, { args });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      throw conflict(error.cause.type ?? 'not_waiting', error.cause.message);
    }
    if (error instanceof WorkflowNotFoundError) {
      const status = await handle
        .describe()
        .then((d) => d.status.name)
        .catch(() => undefined);
      if (status) throw conflict('not_waiting', `${what} has finished (${status.toLowerCase()}) and takes no more decisions`);
      throw notFound(what);
    }
    throw error;
  }
}
