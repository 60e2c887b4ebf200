import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { ensureSearchAttributes } from '../../runtime/temporal.js';
import { replenishmentPlanner, replenishmentWorkflowId } from '../../workflows/replenishment-planner.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';

let env: TestWorkflowEnvironment;
let db: Db;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('timeSkippingServerPath') } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  await db?.destroy();
  await env?.teardown();
});

/** Runs the planner with its suggestion step failing on every attempt, on the real database otherwise. */
async function runFailingPlanner(runId: string): Promise<{ error: unknown; attempts: number }> {
  let attempts = 0;
  const real = createActivities({ db, temporal: env.client });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: uniqueId('planner-'),
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: {
      ...real,
      recordReplenishmentSuggestions: () => {
        attempts += 1;
        throw new Error('could not serialize access due to concurrent update');
      },
    },
  });
  const error = await worker.runUntil(
    env.client.workflow
      .execute(replenishmentPlanner, { args: [{ runId, requestedBy: 'buyer/test' }], workflowId: replenishmentWorkflowId(runId), taskQueue: worker.options.taskQueue })
      .then(
        () => undefined,
        (e: unknown) => e,
      ),
  );
  return { error, attempts };
}

describe('a planner run whose step fails every attempt (time-skipping server)', () => {
  it('is marked failed with its reason, raises one exception for buyers, and fails its workflow', async () => {
    const runId = uniqueId('run-');
    const { error, attempts } = await runFailingPlanner(runId);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(attempts).toBe(10);

    const run = await db.selectFrom('replenishment_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', finished_at: null, failure: 'could not serialize access due to concurrent update' });
    expect(run.failed_at).toBeInstanceOf(Date);
    const exceptions = await db.selectFrom('exceptions').selectAll().where('reference', '=', runId).execute();
    expect(exceptions).toMatchObject([{ kind: 'replenishment_run_failed', owner_role: 'buyer', status: 'open', workflow_id: replenishmentWorkflowId(runId) }]);

    // A retried failure step changes nothing; the run stays failed, not finished, and is not the latest finished run.
    await createActivities({ db }).failReplenishmentRun({ runId, workflowId: replenishmentWorkflowId(runId), reason: 'again' });
    expect((await db.selectFrom('replenishment_runs').select('failure').where('id', '=', runId).executeTakeFirstOrThrow()).failure).toBe(
      'could not serialize access due to concurrent update',
    );
    expect(await db.selectFrom('exceptions').select('id').where('reference', '=', runId).execute()).toHaveLength(1);
  });

  it('cancelled while computing, is marked failed too, not left running', async () => {
    const runId = uniqueId('run-');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: uniqueId('planner-'),
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: {
        ...createActivities({ db, temporal: env.client }),
        // A long computation, still going when the run is cancelled.
        recordReplenishmentSuggestions: () => new Promise((resolve) => setTimeout(resolve, 2_000)),
      },
    });
    const error = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(replenishmentPlanner, {
        args: [{ runId, requestedBy: 'buyer/test' }],
        workflowId: replenishmentWorkflowId(runId),
        taskQueue: worker.options.taskQueue,
      });
      for (let i = 0; i < 100 && !(await db.selectFrom('replenishment_runs').select('id').where('id', '=', runId).executeTakeFirst()); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const run = await db.selectFrom('replenishment_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', finished_at: null });
    expect(await db.selectFrom('exceptions').select('kind').where('reference', '=', runId).execute()).toEqual([{ kind: 'replenishment_run_failed' }]);
  });
});
