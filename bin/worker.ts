/**
 * `npm run worker`: one worker process against the configured Temporal and database
 * (defaults: the dev server and embedded Postgres that `npm start` runs). Scale out by
 * running more of these.
 */
import { Client, Connection } from '@temporalio/client';
import { Runtime, type Worker } from '@temporalio/worker';
import { createDb } from '../db/connection.js';
import { loadConfig } from '../runtime/config.js';
import { ensureChannelPublishers } from '../runtime/channel-publishers.js';
import { databaseUrlOf, temporalAddressOf } from '../runtime/services.js';
import { ensureSchedules } from '../runtime/schedules.js';
import { ensureSearchAttributes } from '../runtime/temporal.js';
import { createWorker } from '../runtime/worker.js';

const config = loadConfig();
const address = temporalAddressOf(config);
const db = createDb(databaseUrlOf(config));

// A stop drains: the worker stops polling, finishes the tasks it holds (activities get
// WORKER_SHUTDOWN_GRACE, then are cancelled and retried elsewhere), and only then do its
// connections and the database close (below `worker.run()`). A stop before polling starts
// has nothing to drain and ends the process; installing the handler first also covers
// running as PID 1, where SIGTERM is otherwise ignored. The handler below is the only one:
// the SDK's own would stop the worker too, without saying so.
Runtime.install({ shutdownSignals: [] });
let worker: Worker | undefined = undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!worker) {
      console.log(`[worker] ${signal} before polling started: exiting`);
      process.exit(0);
    }
    if (worker.getState() === 'RUNNING') {
      console.log(`[worker] ${signal}: finishing the tasks in hand, then stopping`);
      worker.shutdown();
    }
  });
}

// A freshly started cluster creates its namespace a moment after it accepts
// connections: retry the registration until it exists.
let clientConnection: Connection;
for (let attempt = 1; ; attempt++) {
  try {
    clientConnection = await Connection.connect({ address, ...config.temporalConnection });
    await ensureSearchAttributes(clientConnection, config.temporalNamespace);
    break;
  } catch (error) {
    if (attempt >= 60) throw error;
    console.warn(`[worker] waiting for Temporal namespace ${config.temporalNamespace} at ${address}: ${(error as Error).message}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
for (const [name, outcome] of await ensureSchedules(temporal, config)) console.log(`[worker] ${name} schedule ${outcome}`);
// One publisher per channel, as `npm start` does: a worker coming up (or a second one) finds them running.
const publishers = await ensureChannelPublishers(db, temporal, { taskQueue: config.taskQueue, policy: config.channelPublishing });
console.log(`[worker] channel publishers: ${publishers.join(', ') || 'none (no channels yet)'}`);
const created = await createWorker({
  address,
  connection: config.temporalConnection,
  namespace: config.temporalNamespace,
  taskQueue: config.taskQueue,
  deps: { db, temporal },
  shutdownGraceMs: config.shutdown.workerGraceMs,
  limits: config.worker,
});
worker = created.worker;
console.log(`[worker] polling task queue ${config.taskQueue} on ${address} (namespace ${config.temporalNamespace})`);
await worker.run();
await created.connection.close();
await clientConnection.close();
await db.destroy();
console.log('[worker] stopped');
