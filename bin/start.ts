/** `npm start`: the whole product on one machine — database, Temporal, worker, API. */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { buildApp } from '../api/app.js';
import { localApiKeys, parseApiKeys, type ApiKey } from '../api/auth.js';
import type { SeedResult } from '../services/users.js';
import { createDb } from '../db/connection.js';
import { loadConfig, type Config } from '../runtime/config.js';
import { ensureChannelPublishers } from '../runtime/channel-publishers.js';
import { ensureSchedules } from '../runtime/schedules.js';
import { seedDemo } from '../runtime/seed.js';
import { connectTemporal, startServices } from '../runtime/services.js';
import { closeApi } from '../runtime/shutdown.js';
import { apiTemporalClient } from '../runtime/temporal-client.js';
import { runEntryPoint, StartupError } from '../runtime/startup-error.js';
import { Supervisor } from '../runtime/supervisor.js';
import { bundleWorkflows, createWorker, type WorkerOptions } from '../runtime/worker.js';

const log = (line: string) => console.log(`[start] ${line}`);

await runEntryPoint('start', async () => {
  const config = loadConfig();
  const keys = config.apiKeys ? parseApiKeys(config.apiKeys) : localApiKeys(config.dataDir);
  claimCheckout(config.dataDir);
  // This process stops its parts itself, in order (below); the SDK's own signal handlers
  // would stop the worker while the API still waits on it.
  Runtime.install({ shutdownSignals: [] });
  // Until everything is up, a stop ends start at once; the exit hooks of the child servers
  // (SIGKILL, as a last resort) take them along.
  const stopWhileStarting = (signal: NodeJS.Signals) => {
    log(`${signal} while starting: stopping`);
    process.exit(1);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stopWhileStarting);

  const services = await startServices(config, log);
  const db = createDb(services.databaseUrl);
  if (process.env.SEED_DEMO !== 'false') await seedDemo(db, log);

  const clientConnection = await connectTemporal(config, services.temporalAddress);
  const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
  for (const [name, outcome] of await ensureSchedules(temporal, config)) log(`${name} schedule ${outcome}`);
  log(`channel publishers: ${(await ensureChannelPublishers(db, temporal, { taskQueue: config.taskQueue, policy: config.channelPublishing })).join(', ')}`);

  log('bundling workflows and starting the worker');
  // Bundled once: a worker started again after a failure reuses it.
  const bundle = await bundleWorkflows();
  const workers = new Supervisor({
    name: 'worker',
    start: () =>
      runWorker({
        address: services.temporalAddress,
        connection: config.temporalConnection,
        namespace: config.temporalNamespace,
        taskQueue: config.taskQueue,
        deps: { db, temporal },
        bundle,
        shutdownGraceMs: config.shutdown.workerGraceMs,
        limits: config.worker,
      }),
    describeExit: (_worker, error) => `failed (${error})`,
    log,
    maxRestarts: config.supervisor.maxRestarts,
    windowMs: config.supervisor.windowMs,
    fix: 'read the error above; if Temporal or PostgreSQL are unreachable, see why, then run npm start again',
  });
  await workers.start();
  // The API's own database pool and Temporal client, with the bounds and deadlines that let it
  // answer 503 at once while a service is down (or being restarted) instead of hanging.
  const apiDb = createDb(services.databaseUrl, config.resilience.db.poolSize, config.resilience.db);
  const api = apiTemporalClient(config, services.temporalAddress);
  const app = await buildApp({ db: apiDb, temporal: api.client, config: { ...config, temporalUiUrl: services.temporalUiUrl }, keys, logger: { level: 'warn' } });
  await app.listen({ port: services.apiPort, host: config.host });

  console.log(welcome(config, services.apiPort, services.temporalUiUrl, services.started, keys, app.accountSeed));

  let stopping = false;
  async function shutdown(reason: string, failure?: StartupError) {
    if (stopping) return;
    stopping = true;
    log(`${reason}: stopping API, worker, Temporal and PostgreSQL`);
    // The API first: a request in flight may wait on the worker (an order's first checks).
    await closeApi(app, config.shutdown.apiGraceMs, log);
    await api.connection.close();
    await apiDb.destroy();
    await workers.stop();
    await clientConnection.close();
    await db.destroy();
    await services.stop();
    fs.rmSync(lockFile(config.dataDir), { force: true });
    log('stopped');
    if (failure) console.error(`[start] ${failure.message}\n[start] fix: ${failure.fix}`);
    process.exit(failure ? 1 : 0);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeListener(signal, stopWhileStarting);
    process.on(signal, () => void shutdown(signal));
  }
  // A server (or the worker) that keeps crashing: restarting no longer helps.
  void Promise.race([services.gaveUp, workers.gaveUp]).then((failure) => shutdown(failure.message.split(':')[0]!, failure));
});

/**
 * A worker polling, as a supervised service: `exited` settles when its run ends (with the
 * error, when it failed), `stop` drains it — the tasks in hand finish within the grace.
 */
async function runWorker(options: WorkerOptions) {
  const { worker, connection } = await createWorker(options);
  const exited = worker.run().then(
    () => '',
    (error: Error) => error.message,
  );
  const closed = exited.finally(() => connection.close().catch(() => {}));
  return {
    exited: closed,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await closed;
    },
  };
}

function lockFile(dataDir: string): string {
  return path.join(dataDir, 'start.pid');
}

/** One `npm start` per checkout: a second would fight the first over its data folder. */
function claimCheckout(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = lockFile(dataDir);
  const other = Number(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : 0);
  if (other && other !== process.pid && isStart(other)) {
    throw new StartupError(`npm start is already running in this folder (pid ${other})`, `use that one (its URLs are in its terminal), or stop it (Ctrl-C there, or kill ${other}) and start again`);
  }
  fs.writeFileSync(file, String(process.pid));
}

function isStart(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start.ts');
  } catch {
    return false;
  }
}

function welcome(config: Config, port: number, temporalUiUrl: string, started: string[], keys: ApiKey[], seed: SeedResult): string {
  const base = `http://localhost:${port}`;
  const key = (role: string) => keys.find((k) => k.role === role)?.key ?? '<key>';
  const order = {
    orderId: 'TRY-1001',
    channel: 'dtc',
    customerId: 'C-TRY',
    shipTo: { name: 'Ada Lovelace', city: 'Chicago', region: 'IL', postalCode: '60601', country: 'US', lat: 41.8853, lon: -87.6216 },
    lines: [{ sku: 'TEE-BLK-M', qty: 2, unitPriceMinor: 1999 }],
  };
  return `
Ecommerce operations backbone is running.
  API          ${base}
  API docs     ${base}/docs
  Console      ${base}/console
  Health       ${base}/health
  Temporal UI  ${temporalUiUrl}
  Started      ${started.length ? started.join('\n               ') : 'nothing (using configured services)'}
Service account keys (Authorization: Bearer <key>):
${keys.map((k) => `  ${k.role.padEnd(8)} ${k.key}`).join('\n')}
${adminLine(seed)}${seed.revokedKeys.length ? `\nRevoked through the API, still in API_KEYS (they stay revoked): ${seed.revokedKeys.join(', ')}` : ''}

Try it:
  1. Place a demo order (a second run answers the same, and places nothing twice):
     curl -s -X POST ${base}/orders -H 'Authorization: Bearer ${key('system')}' -H 'Content-Type: application/json' \\
       -d '${JSON.stringify(order)}'
  2. Watch it: curl -s ${base}/orders/TRY-1001 -H 'Authorization: Bearer ${key('viewer')}'
     or open the console ${base}/console (sign in with your personal token) and open it under Orders.
  3. Read its history in the Temporal UI: ${temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/order-TRY-1001
Press Ctrl-C to stop.`;
}

/** The first admin's token is shown once, the first time; after that only where to get a token. */
function adminLine(seed: SeedResult): string {
  if (seed.generatedAdminToken) {
    return `First admin (user "${seed.firstAdmin}", every role; shown this once, stored only as a hash — keep it now):
  admin    ${seed.generatedAdminToken}
  Sign in to the console with it, add people under Users, and give each their own token.`;
  }
  if (seed.firstAdmin) return `First admin (user "${seed.firstAdmin}"): sign in with the admin key from API_KEYS.`;
  return 'People sign in to the console with their personal tokens (an admin makes them under Users).';
}
