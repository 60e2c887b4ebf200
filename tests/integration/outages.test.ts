/**
 * The API while PostgreSQL or Temporal is down: every answer is a success, a 4xx for a bad
 * request, or a quick 503 with Retry-After naming the dependency — never a 500, never a
 * hang. Reads that can be served are served. After recovery a client's retry converges.
 * A stack of its own (PostgreSQL, Temporal dev server, worker, API over real HTTP), so its
 * servers can be killed without touching the shared test servers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type App } from '../../api/app.js';
import { createDb, type Db } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { loadConfig, type Config } from '../../runtime/config.js';
import { freePort } from '../../runtime/ports.js';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type EmbeddedPostgresOptions, type RunningPostgres } from '../../runtime/postgres.js';
import { apiTemporalClient } from '../../runtime/temporal-client.js';
import { ensureSearchAttributes, startDevServer, type DevServerOptions, type RunningDevServer } from '../../runtime/temporal.js';
import { createWorker } from '../../runtime/worker.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { eventually, testKeys, uniqueId } from '../support/stack.js';
import { Connection } from '@temporalio/client';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-outages-'));
let pgOptions: EmbeddedPostgresOptions;
let pg: RunningPostgres;
let devOptions: DevServerOptions;
let temporal: RunningDevServer;
let db: Db;
let workerDb: Db;
let app: App;
let base = '';
let worker: Worker;
let workerRun: Promise<void>;
let closeClient: () => Promise<void>;
let sku = '';
const timings: string[] = [];

const key = (role: string) => testKeys.find((k) => k.role === role)!.key;

async function call(method: string, url: string, body?: unknown, role = 'system') {
  const started = performance.now();
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${key(role)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const ms = Math.round(performance.now() - started);
  const text = await response.text();
  timings.push(`${method} ${url.split('?')[0]} ${response.status} ${ms} ms`);
  const json = text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined;
  return { status: response.status, ms, retryAfter: response.headers.get('retry-after'), json };
}

const order = (orderId: string) => ({ orderId, channel: 'dtc', customerId: uniqueId('c-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: 2_000 }] });

beforeAll(async () => {
  pgOptions = { dataDir, name: 'outages-pg', port: await freePort(), durable: true, scratch: true };
  pg = await startEmbeddedPostgres(pgOptions);
  await ensureDatabase(pg.serverUrl, 'ops');
  const url = withDatabase(pg.serverUrl, 'ops');
  devOptions = { port: await freePort(), dbFile: path.join(dataDir, 'temporal.sqlite') };
  temporal = await startDevServer(devOptions);
  const admin = await Connection.connect({ address: temporal.address });
  await ensureSearchAttributes(admin, 'default');
  await admin.close();

  const taskQueue = uniqueId('outages-');
  const config: Config = { ...loadConfig({}), taskQueue, temporalAddress: temporal.address, databaseUrl: url, logLevel: 'warn' };
  db = createDb(url, 10, config.resilience.db);
  await migrateToLatest(db);
  const warehouse = await addWarehouse(db);
  sku = await addItem(db);
  await stock(db, sku, warehouse, 1_000);

  const { client, connection } = apiTemporalClient(config, temporal.address);
  closeClient = () => connection.close();
  workerDb = createDb(url, 5);
  ({ worker } = await createWorker({ address: temporal.address, namespace: 'default', taskQueue, deps: { db: workerDb, temporal: client }, bundle: { codePath: inject('workflowBundlePath') } }));
  workerRun = worker.run();
  app = await buildApp({ db, temporal: client, config, keys: testKeys, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}, 120_000);

afterAll(async () => {
  console.log(`[outages] answers:\n  ${timings.join('\n  ')}`);
  await app?.close();
  worker?.shutdown();
  await workerRun?.catch(() => {});
  await closeClient?.();
  await db?.destroy();
  await workerDb?.destroy();
  await temporal?.stop();
  await pg?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

function expectUnavailable(answer: Awaited<ReturnType<typeof call>>, dependency: 'postgres' | 'temporal') {
  expect(answer.status, JSON.stringify(answer.json)).toBe(503);
  expect(Number(answer.retryAfter)).toBeGreaterThan(0);
  expect(answer.json).toMatchObject({ error: { code: 'dependency_unavailable', details: { dependency } } });
  // "About 2 s": generous on a busy 2-core machine, and far below the SDK's own 20-s retry loop.
  expect(answer.ms).toBeLessThan(5_000);
}

describe('while Temporal is down', () => {
  it('refuses writes with a quick 503, serves reads from the records, and converges after it is back', async () => {
    const before = uniqueId('ord-');
    expect((await call('POST', '/orders', order(before))).status).toBe(201);
    await eventually(async () => ((await call('GET', `/orders/${before}`, undefined, 'viewer')).json?.record?.status === 'released' ? true : undefined));

    temporal.process.kill('SIGKILL');
    await new Promise((resolve) => temporal.process.once('exit', resolve));

    const during = uniqueId('ord-');
    expectUnavailable(await call('POST', '/orders', order(during)), 'temporal');
    const read = await call('GET', `/orders/${before}`, undefined, 'viewer');
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ orderId: before, processState: 'unavailable', record: { status: 'released' } });
    expect(read.ms).toBeLessThan(5_000);
    for (const url of ['/orders', '/inventory', '/tasks', '/exceptions', '/kpis', '/journal', '/']) {
      expect((await call('GET', url, undefined, url === '/' ? 'viewer' : 'ops')).status, url).toBe(200);
    }
    expect((await call('GET', '/health/live')).status).toBe(200);
    const ready = await call('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ status: 'not_ready', temporal: { ok: false }, postgres: { ok: true } });

    temporal = await startDevServer(devOptions);
    await eventually(async () => ((await call('GET', '/health/ready')).status === 200 ? true : undefined), 30_000, 'ready again');
    const retried = await call('POST', '/orders', order(during));
    expect([200, 201]).toContain(retried.status);
    await eventually(async () => ((await call('GET', `/orders/${during}`, undefined, 'viewer')).json?.record?.status === 'released' ? true : undefined), 30_000, 'the retried order released');
  }, 120_000);
});

describe('while PostgreSQL is down', () => {
  it('answers 503 naming PostgreSQL, quickly, for writes and reads; after it is back everything that got a 2xx is there', async () => {
    const before = uniqueId('ord-');
    expect((await call('POST', '/orders', order(before))).status).toBe(201);

    pg.process.kill('SIGKILL');
    await pg.exited;

    expectUnavailable(await call('POST', '/orders', order(uniqueId('ord-'))), 'postgres');
    expectUnavailable(await call('GET', `/orders/${uniqueId('nope-')}`, undefined, 'viewer'), 'postgres');
    expectUnavailable(await call('GET', '/inventory', undefined, 'viewer'), 'postgres');
    expect((await call('GET', '/health/live')).status).toBe(200);
    expect((await call('GET', '/health/ready')).status).toBe(503);
    expect((await call('GET', '/metrics', undefined, 'viewer')).status).toBe(200);

    pg = await startEmbeddedPostgres(pgOptions);
    await eventually(async () => ((await call('GET', '/health/ready')).status === 200 ? true : undefined), 30_000, 'ready again');
    const after = uniqueId('ord-');
    await eventually(async () => ((await call('POST', '/orders', order(after))).status === 201 ? true : undefined), 30_000, 'orders taken again');
    for (const id of [before, after]) {
      await eventually(async () => ((await call('GET', `/orders/${id}`, undefined, 'viewer')).json?.record?.status === 'released' ? true : undefined), 30_000, `${id} released`);
    }
  }, 120_000);
});
