/** What a test file needs from the shared test services: its own database, a worker, an API. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { buildApp, type App } from '../../api/app.js';
import type { ApiKey, Role } from '../../api/auth.js';
import { createDb, type Db } from '../../db/connection.js';
import { trialBalance } from '../../db/journal.js';
import { checkLedger } from '../../db/ledger-check.js';
import { loadConfig, type Config } from '../../runtime/config.js';
import { createWorker } from '../../runtime/worker.js';
import { ensureDatabase, withDatabase } from '../../runtime/postgres.js';

export const uniqueId = (prefix = '') => `${prefix}${randomBytes(5).toString('hex')}`;

/**
 * One account per role for tests, each with its key: `test-system` a service account, the
 * others people (`test-ops`, `test-finance`, …), so decisions and the audit log name a person.
 */
export const testKeys: ApiKey[] = (['system', 'ops', 'buyer', 'finance', 'viewer', 'admin'] as const).map((role) => ({
  role,
  key: `test-${role}-key`,
  user: {
    id: `test-${role}`,
    name: `Test ${role}`,
    kind: role === 'system' ? 'service' : 'person',
    email: role === 'system' ? undefined : `test-${role}@example.test`,
    roles: [role],
  },
}));
export const authAs = (role: Role) => ({ authorization: `Bearer test-${role}-key` });

/** A fresh, migrated database for one test file. */
export async function createTestDatabase(): Promise<{ db: Db; url: string; name: string }> {
  const name = `ops_test_${inject('runId')}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(inject('pgServerUrl'), name, inject('templateDatabase'));
  const url = withDatabase(inject('pgServerUrl'), name);
  return { db: createDb(url, 20), url, name };
}

export interface TestStack {
  db: Db;
  databaseUrl: string;
  config: Config;
  client: Client;
  app: App;
  worker: Worker;
  stop(): Promise<void>;
}

/** Real database, real Temporal server, a real worker on its own task queue, and the API in process. */
export async function startTestStack(overrides: Partial<Config> = {}): Promise<TestStack> {
  const { db, url } = await createTestDatabase();
  const taskQueue = uniqueId('tests-');
  const config: Config = {
    ...loadConfig({}),
    taskQueue,
    temporalAddress: inject('temporalAddress'),
    databaseUrl: url,
    logLevel: 'warn',
    ...overrides,
  };
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const { worker, connection: nativeConnection } = await createWorker({
    address: inject('temporalAddress'),
    namespace: 'default',
    taskQueue,
    deps: { db, temporal: client },
    bundle: { codePath: inject('workflowBundlePath') },
  });
  const running = worker.run();
  const app = await buildApp({ db, temporal: client, config, keys: testKeys, logger: false });
  await app.ready();
  return {
    db,
    databaseUrl: url,
    config,
    client,
    app,
    worker,
    async stop() {
      await app.close();
      // Processes left running on this file's task queue (a channel publisher started by a
      // generated request, an order waiting for stock) would keep their business ids taken on
      // the shared Temporal server, for files that run later.
      await terminateRunning(client, taskQueue);
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await db.destroy();
    },
  };
}

async function terminateRunning(client: Client, taskQueue: string): Promise<void> {
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    await client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .terminate('test file finished')
      .catch(() => {});
  }
}

/**
 * The stack for one test file, started before its tests and stopped after them, when the
 * books must still agree: the ledger check is clean and the trial balance balances.
 * Returns an object that holds the stack once the file's tests run.
 */
export function useTestStack(overrides: Partial<Config> = {}): TestStack {
  const stack = {} as TestStack;
  beforeAll(async () => {
    Object.assign(stack, await startTestStack(overrides));
  });
  afterAll(async () => {
    if (!stack.db) return;
    try {
      expect((await checkLedger(stack.db)).problems).toEqual([]);
      expect((await trialBalance(stack.db)).balanced).toBe(true);
    } finally {
      await stack.stop();
    }
  });
  return stack;
}

/** Polls until `probe` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<Exclude<T, undefined>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value as Exclude<T, undefined>;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
