/**
 * Webhooks while the API and the worker are killed: `npm run api` and `npm run worker` run as
 * real processes against a Temporal dev server of this file's own; a fake Shopify sends one
 * order per delivery and, as Shopify does, sends again every delivery that got no 2xx (an
 * error, a dropped connection, no answer within 5 s), with the same webhook id. The API is
 * killed with SIGKILL, then the worker, then both, while deliveries arrive. In the end every
 * platform order is exactly one order, each delivery is recorded once and decided once, and
 * the ledger balances.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger } from '../../db/ledger-check.js';
import { projectRoot } from '../../runtime/config.js';
import { freePort } from '../../runtime/ports.js';
import { startDevServer, type RunningDevServer } from '../../runtime/temporal.js';
import { signatureFor } from '../../services/connectors/connector.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { createTestDatabase } from '../support/stack.js';
import { platformJson, SHOPIFY_SHOP, shopifyOrder } from '../support/storefront.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-intake-crash-'));
const SECRET = 'shpss_crash_test_signing_key_01';
const ORDERS = 24;
let temporal: RunningDevServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  [temporal, database] = await Promise.all([startDevServer({ port: await freePort() }), createTestDatabase()]);
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await temporal?.stop();
  await database?.db.destroy();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

function plainEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(TEMPORAL_|DATABASE_URL|PORT$|EMBEDDED_PG|DEV_TEMPORAL|API_KEYS|DATA_DIR|API_SHUTDOWN|WORKER_SHUTDOWN|RISK_)/.test(name)) delete env[name];
  return { ...env, ...extra };
}

function run(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, script)], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const proc = { child, output: '', exited: new Promise<void>((resolve) => child.once('exit', () => resolve())) };
  child.stdout!.on('data', (chunk: Buffer) => (proc.output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (proc.output += chunk.toString()));
  return proc;
}

describe('webhooks while the API and the worker are killed', () => {
  it('make exactly one order of every platform order, answered 2xx or sent again', async () => {
    const { db } = database;
    const warehouse = await addWarehouse(db, undefined, { lat: 38.2, lon: -85.7 });
    await addItem(db, 'SKU2006-001', { price_minor: 8999 });
    await stock(db, 'SKU2006-001', warehouse, 500);
    await db.insertInto('channel_connectors').values({ channel: 'dtc', platform: 'shopify', shop: SHOPIFY_SHOP, webhook_secret: SECRET, order_id_prefix: 'dtc-SH', updated_by: 'test' }).execute();

    const port = await freePort();
    const env = plainEnv({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'intake-crash',
      DATA_DIR: scratch,
      API_KEYS: 'viewer:viewer-key-crash-test',
      PORT: String(port),
      HOST: '127.0.0.1',
      RATE_LIMIT_PER_MINUTE: '0',
      RISK_VELOCITY_MAX_ORDERS: '100000',
      LOG_LEVEL: 'warn',
    });
    const startWorker = async () => {
      const worker = run('bin/worker.ts', env);
      await waitFor('the worker to poll', () => worker.output.includes('[worker] polling'), 120_000);
      return worker;
    };
    const startApi = async () => {
      const api = run('bin/api.ts', env);
      await waitFor('the API to answer', () => fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false), 60_000);
      return api;
    };
    let worker = await startWorker();
    let api = await startApi();

    // The platform: one delivery per order, sent until it gets a 2xx (then never again).
    const base = shopifyOrder('800000000000000000');
    const deliveries = Array.from({ length: ORDERS }, (_, i) => {
      const id = String(810000000000000000n + BigInt(i));
      const body = platformJson({ ...shopifyOrder(id), line_items: (base.line_items as object[]).slice(0, 1), total_discounts: '0.00', total_price: '99.99' });
      return { id, webhookId: `crash-${i}`, body, attempts: 0, acknowledged: false };
    });
    const send = async (delivery: (typeof deliveries)[number]) => {
      delivery.attempts += 1;
      try {
        const response = await fetch(`http://127.0.0.1:${port}/channels/dtc/webhooks/shopify`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-shopify-topic': 'orders/create',
            'x-shopify-shop-domain': SHOPIFY_SHOP,
            'x-shopify-webhook-id': delivery.webhookId,
            'x-shopify-hmac-sha256': signatureFor(SECRET, delivery.body),
          },
          body: delivery.body,
          signal: AbortSignal.timeout(5_000),
        });
        await response.text();
        if (response.status >= 200 && response.status < 300) delivery.acknowledged = true;
      } catch {
        // No answer: the platform sends it again.
      }
    };
    let acknowledged = () => deliveries.filter((d) => d.acknowledged).length;
    const platform = (async () => {
      for (let round = 0; round < 400 && acknowledged() < ORDERS; round++) {
        const open = deliveries.filter((d) => !d.acknowledged).slice(0, 3);
        await Promise.all(open.map(send));
        await sleep(150);
      }
    })();

    await waitFor('a quarter acknowledged', () => acknowledged() >= ORDERS / 4, 120_000);
    api.child.kill('SIGKILL');
    await api.exited;
    await sleep(500);
    api = await startApi();
    await waitFor('half acknowledged', () => acknowledged() >= ORDERS / 2, 120_000);
    worker.child.kill('SIGKILL');
    await worker.exited;
    await waitFor('three quarters acknowledged while the worker is down', () => acknowledged() >= (ORDERS * 3) / 4, 120_000);
    worker = await startWorker();
    api.child.kill('SIGKILL');
    worker.child.kill('SIGKILL');
    await Promise.all([api.exited, worker.exited]);
    [api, worker] = [await startApi(), await startWorker()];
    await platform;
    acknowledged = () => deliveries.filter((d) => d.acknowledged).length;
    expect(acknowledged()).toBe(ORDERS);

    await waitFor(
      'every delivery to be decided',
      async () => (await db.selectFrom('channel_deliveries').select('id').where('decided_at', 'is', null).execute()).length === 0 && (await db.selectFrom('channel_deliveries').select('id').execute()).length === ORDERS,
      120_000,
    );
    const rows = await db.selectFrom('channel_deliveries').select(['delivery_id', 'platform_order_id', 'outcome', 'order_id']).execute();
    expect(rows).toHaveLength(ORDERS);
    expect(new Set(rows.map((r) => r.delivery_id)).size).toBe(ORDERS);
    expect(rows.every((r) => r.outcome === 'order_created')).toBe(true);
    const orders = await db.selectFrom('orders').select(['id', 'status']).execute();
    expect(orders.map((o) => o.id).sort()).toEqual(deliveries.map((d) => `dtc-SH-${d.id}`).sort());
    await waitFor('every order released', async () => (await db.selectFrom('orders').select('id').where('status', '!=', 'released').execute()).length === 0, 60_000);
    const reservations = await db.selectFrom('reservations').select(['order_id']).execute();
    expect(reservations).toHaveLength(ORDERS);
    expect(new Set(reservations.map((r) => r.order_id)).size).toBe(ORDERS);
    expect(deliveries.some((d) => d.attempts > 1), 'some deliveries were sent again').toBe(true);
    expect((await checkLedger(db)).problems).toEqual([]);

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    await Promise.all([api.exited, worker.exited]);
  }, 600_000);
});
