/** What a workflow test file on the time-skipping server needs: the server, its own database, workers. */
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { trialBalance } from '../../db/journal.js';
import { checkLedger } from '../../db/ledger-check.js';
import { ensureSearchAttributes } from '../../runtime/temporal.js';
import { createTestDatabase, uniqueId } from './stack.js';

export interface TimeSkipping {
  readonly env: TestWorkflowEnvironment;
  readonly db: Db;
  /** Runs `run` with a worker of the real activities (or `activities` in their place) on a task queue of its own. */
  withWorker<T>(run: (taskQueue: string) => Promise<T>, activities?: object): Promise<T>;
}

/**
 * A time-skipping Temporal server and a fresh database for one test file; at the end the
 * ledger check must be clean and the trial balance balanced.
 */
export function useTimeSkipping(): TimeSkipping {
  let env: TestWorkflowEnvironment | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('timeSkippingServerPath') } },
    });
    await ensureSearchAttributes(env.connection, 'default');
    ({ db } = await createTestDatabase());
  });
  afterAll(async () => {
    if (db) {
      expect((await checkLedger(db)).problems).toEqual([]);
      expect((await trialBalance(db)).balanced).toBe(true);
    }
    await db?.destroy();
    await env?.teardown();
  });
  return {
    get env() {
      return env!;
    },
    get db() {
      return db!;
    },
    async withWorker(run, activities) {
      const taskQueue = uniqueId('time-skipping-');
      const worker = await Worker.create({
        connection: env!.nativeConnection,
        taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: activities ?? createActivities({ db: db!, temporal: env!.client }),
      });
      return worker.runUntil(run(taskQueue));
    },
  };
}
