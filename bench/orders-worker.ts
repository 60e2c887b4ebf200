/**
 * Child process of `npm run bench`: the product's worker (its activities and every
 * workflow, pre-bundled by the parent) plus the bench's trivial workflow and its no-op
 * activity, on one task queue. Its own process so its RSS is measured apart from the API.
 *
 * Env: BENCH_DATABASE_URL, BENCH_TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_BUNDLE_PATH,
 * BENCH_WORKER_DB_POOL (default 10, as `npm run worker`).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
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
const connection = await NativeConnection.connect({ address });
const benchActivities: BenchActivities = { benchNoop: async () => {} };
// The same options as runtime/worker.ts createWorker, with the bundle built once by the parent.
const worker = await Worker.create({
  connection,
  namespace: 'default',
  taskQueue,
  workflowBundle: { codePath: env('BENCH_BUNDLE_PATH') },
  activities: { ...createActivities({ db, temporal: new Client({ connection: clientConnection }) }), ...benchActivities },
  maxCachedWorkflows: 2_000,
});
const running = worker.run();
process.send?.({ type: 'ready', pid: process.pid, poolSize });
// The SDK's runtime shuts the worker down on SIGINT/SIGTERM; run() then resolves.
await running;
await connection.close();
await clientConnection.close();
await db.destroy();
process.exit(0);
