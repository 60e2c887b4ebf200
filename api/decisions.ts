import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { conflict, notFound, unprocessable } from './errors.js';

/** Refusals of a process that say the request names what is not there (a line) or asks the impossible (a quantity): 422, not 409. */
const unprocessableFailures = new Set(['unknown_line', 'bad_quantity', 'over_receipt']);

/**
 * Sends a person's decision to a waiting process as an update, so the caller learns at
 * once whether it was taken. A process that is not waiting for it (its validator refuses,
 * or it has already finished) answers 409 with its reason; a request naming a line the
 * process does not have, or a quantity it cannot take, 422; no such process is 404.
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
      if (error.cause.type && unprocessableFailures.has(error.cause.type)) throw unprocessable(error.cause.type, error.cause.message);
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
