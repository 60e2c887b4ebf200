/**
 * Child process of `npm run bench`: the product's worker (its activities and every
 * workflow, pre-bundled by the parent) plus the bench's trivial workflow and its no-op
 * activity, on one task queue. Its own process so its RSS is measured apart from the API.
 *
 * Env: BENCH_DATABASE_URL, BENCH_TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_BUNDLE_PATH,
 * BENCH_WORKER_DB_POOL (default 10, as `npm run worker`).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createWorker } from '../runtime/worker.js';
import { createDb } from '../db/connection.js';
import type { BenchActivities } from './orders-workflows.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

Runtime.install({ logger: new DefaultLogger('WARN') });

const address = env('BENCH_TEMPORAL_ADDRESS');
const taskQueue = env('BENCH_TASK_QUEUE');
const poolSize = Number(process.env.BENCH_WORKER_DB_POOL ?? 10);
const db = createDb(env('BENCH_DATABASE_URL'), poolSize);
const clientConnection = await Connection.connect({ address });
const benchActivities: BenchActivities = { benchNoop: async () => {} };
const { worker, connection } = await createWorker({
  address,
  namespace: 'default',
  taskQueue,
  deps: { db, temporal: new Client({ connection: clientConnection }) },
  bundle: { codePath: env('BENCH_BUNDLE_PATH') },
  extraActivities: benchActivities,
});
const running = worker.run();
process.send?.({ type: 'ready', pid: process.pid, poolSize });
// The SDK's runtime shuts the worker down on SIGINT/SIGTERM; run() then resolves.
await running;
await connection.close();
await clientConnection.close();
await db.destroy();
process.exit(0);
