import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { createActivities } from '../../activities/index.js';
import { uniqueId } from '../support/stack.js';
import { useTimeSkipping } from '../support/time-skipping.js';
import { replenishmentWorkflowId, replenishmentWorkflowType, type ReplenishmentWorkflow } from '../../contracts/replenishment.js';

const ts = useTimeSkipping();

/** Runs the planner with its suggestion step failing on every attempt, on the real database otherwise. */
async function runFailingPlanner(runId: string): Promise<{ error: unknown; attempts: number }> {
  let attempts = 0;
  const activities = {
    ...createActivities({ db: ts.db, temporal: ts.env.client }),
    recordReplenishmentSuggestions: () => {
      attempts += 1;
      throw new Error('could not serialize access due to concurrent update');
    },
  };
  const error = await ts.withWorker(
    (taskQueue) =>
      ts.env.client.workflow.execute<ReplenishmentWorkflow>(replenishmentWorkflowType, { args: [{ runId, requestedBy: 'buyer/test' }], workflowId: replenishmentWorkflowId(runId), taskQueue }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    activities,
  );
  return { error, attempts };
}

describe('a planner run whose step fails every attempt (time-skipping server)', () => {
  it('is marked failed with its reason, raises one exception for buyers, and fails its workflow', async () => {
    const runId = uniqueId('run-');
    const { error, attempts } = await runFailingPlanner(runId);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(attempts).toBe(10);

    const run = await ts.db.selectFrom('replenishment_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', finished_at: null, failure: 'could not serialize access due to concurrent update' });
    expect(run.failed_at).toBeInstanceOf(Date);
    const exceptions = await ts.db.selectFrom('exceptions').selectAll().where('reference', '=', runId).execute();
    expect(exceptions).toMatchObject([{ kind: 'replenishment_run_failed', owner_role: 'buyer', status: 'open', workflow_id: replenishmentWorkflowId(runId) }]);

    // A retried failure step changes nothing; the run stays failed, not finished, and is not the latest finished run.
    await createActivities({ db: ts.db }).failReplenishmentRun({ runId, workflowId: replenishmentWorkflowId(runId), reason: 'again' });
    expect((await ts.db.selectFrom('replenishment_runs').select('failure').where('id', '=', runId).executeTakeFirstOrThrow()).failure).toBe(
      'could not serialize access due to concurrent update',
    );
    expect(await ts.db.selectFrom('exceptions').select('id').where('reference', '=', runId).execute()).toHaveLength(1);
  });

  it('cancelled while computing, is marked failed too, not left running', async () => {
    const runId = uniqueId('run-');
    const activities = {
      ...createActivities({ db: ts.db, temporal: ts.env.client }),
      // A long computation, still going when the run is cancelled.
      recordReplenishmentSuggestions: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
    };
    const error = await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<ReplenishmentWorkflow>(replenishmentWorkflowType, {
        args: [{ runId, requestedBy: 'buyer/test' }],
        workflowId: replenishmentWorkflowId(runId),
        taskQueue,
      });
      for (let i = 0; i < 100 && !(await ts.db.selectFrom('replenishment_runs').select('id').where('id', '=', runId).executeTakeFirst()); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
    }, activities);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const run = await ts.db.selectFrom('replenishment_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', finished_at: null });
    expect(await ts.db.selectFrom('exceptions').select('kind').where('reference', '=', runId).execute()).toEqual([{ kind: 'replenishment_run_failed' }]);
  });
});
