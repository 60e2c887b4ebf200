/**
 * Child process of `npm run chaos`: the product's worker (createWorker, the parent's
 * pre-built bundle) on the chaos task queue, restarted by the parent after every kill.
 *
 * The fault hook: with probability CHAOS_EXIT_AFTER_COMMIT, the process kills itself
 * (SIGKILL) right after one of its database transactions commits, before the activity
 * that committed can report back to Temporal. The activity then times out and runs again,
 * and the ledger's idempotency keys must make the second run move nothing.
 *
 * Env: CHAOS_DATABASE_URL, CHAOS_TEMPORAL_ADDRESS, CHAOS_TASK_QUEUE, CHAOS_BUNDLE_PATH,
 * CHAOS_EXIT_AFTER_COMMIT (0..1, default 0), CHAOS_FAULT_LOG (a file each self-kill is noted in first),
 * CHAOS_SEED (for the hook's own random numbers; the parent passes a new one per start).
 */
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import '../db/connection.js';
import type { Database } from '../db/schema.js';
import { createWorker } from '../runtime/worker.js';
import { rng } from './random.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

// Faults make the SDK's core warn about every refused connection and lost task: keep errors only.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
});

const address = env('CHAOS_TEMPORAL_ADDRESS');
let exitAfterCommit = Number(process.env.CHAOS_EXIT_AFTER_COMMIT ?? 0);
/** Set by the parent's `exit-after-next-commit` fault: die right after the next commit, whichever it is. */
let dieAfterNextCommit = false;
// The parent turns the hook off when the fault window closes.
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'calm') exitAfterCommit = 0;
  if (message?.type === 'exit-after-next-commit') dieAfterNextCommit = true;
});
const faultLog = process.env.CHAOS_FAULT_LOG;
const random = rng(Number(process.env.CHAOS_SEED ?? 1));

/** Dies as a power cut would: after the commit reached Postgres, before anyone heard of it. */
function maybeDieAfterCommit(): void {
  if (!dieAfterNextCommit && (exitAfterCommit <= 0 || random() >= exitAfterCommit)) return;
  if (faultLog) fs.appendFileSync(faultLog, `${new Date().toISOString()} worker ${process.pid} killed itself after a commit\n`);
  process.kill(process.pid, 'SIGKILL');
}

const pool = new pg.Pool({ connectionString: env('CHAOS_DATABASE_URL'), max: 10, application_name: 'chaos-worker' });
pool.on('error', (error) => console.warn(`[chaos worker] idle connection closed: ${error.message}`));
pool.on('connect', (client) => {
  // As db/connection.ts: a connection cut while in use fails its query, not the process.
  client.on('error', (error) => console.warn(`[chaos worker] connection lost while in use: ${error.message}`));
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (typeof args[0] === 'string' && args[0].trim().toLowerCase() === 'commit' && result instanceof Promise) {
      return result.then((value: unknown) => {
        maybeDieAfterCommit();
        return value;
      });
    }
    return result;
  };
});
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

/** The dev server may be down (the parent restarts it): keep trying for a minute. */
async function retry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const clientConnection = await retry('connect to Temporal', () => Connection.connect({ address, connectTimeout: 2_000 }));
// createWorker connects natively itself; a first native connect here makes sure the server answers.
await retry('native connect to Temporal', async () => (await NativeConnection.connect({ address })).close());
const { worker, connection } = await retry('create the worker', () =>
  createWorker({
    address,
    namespace: 'default',
    taskQueue: env('CHAOS_TASK_QUEUE'),
    deps: { db, temporal: new Client({ connection: clientConnection }) },
    bundle: { codePath: env('CHAOS_BUNDLE_PATH') },
  }),
);
const running = worker.run();
process.send?.({ type: 'ready', pid: process.pid });
// The SDK's runtime shuts the worker down on SIGINT/SIGTERM; run() then resolves.
await running;
await connection.close();
await clientConnection.close();
await db.destroy();
process.exit(0);
