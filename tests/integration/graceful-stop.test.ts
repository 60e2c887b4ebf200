/**
 * A stop drains: `npm run api` on SIGTERM refuses new connections and answers every request
 * in flight (also on kept-alive connections) before it exits; `npm run worker` on SIGTERM
 * finishes what it holds and exits. Both run as real processes, against a Temporal dev
 * server of this file's own and a database of its own on the shared test PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../runtime/config.js';
import { freePort } from '../../runtime/ports.js';
import { startDevServer, type RunningDevServer } from '../../runtime/temporal.js';
import { createTestDatabase } from '../support/stack.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-graceful-'));
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
  for (const name of Object.keys(env)) if (/^(TEMPORAL_|DATABASE_URL|PORT$|EMBEDDED_PG|DEV_TEMPORAL|API_KEYS|DATA_DIR|API_SHUTDOWN|WORKER_SHUTDOWN)/.test(name)) delete env[name];
  return { ...env, ...extra };
}

function run(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, script)], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const proc = { child, output: '', exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (chunk: Buffer) => (proc.output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (proc.output += chunk.toString()));
  return proc;
}

describe('a stop drains', () => {
  it('npm run api answers every request in flight on SIGTERM and refuses new connections; npm run worker drains on SIGTERM', async () => {
    const port = await freePort();
    const key = 'system-key-graceful-test';
    const env = plainEnv({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'graceful',
      DATA_DIR: scratch,
      API_KEYS: `system:${key}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      RATE_LIMIT_PER_MINUTE: '0',
      // Longer than the default, so that a loaded machine finishes the orders in flight within it.
      API_SHUTDOWN_GRACE: '40s',
    });
    const worker = run('bin/worker.ts', env);
    await waitFor('the worker to poll', () => worker.output.includes('[worker] polling'), 90_000);
    const api = run('bin/api.ts', env);
    await waitFor(
      'the API to answer',
      () =>
        fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
    );

    // Orders in flight when the stop comes: the worker that must check them is paused.
    process.kill(worker.child.pid!, 'SIGSTOP');
    const agent = new http.Agent({ keepAlive: true });
    const orders = Array.from({ length: 6 }, (_, i) => postOrder(port, key, agent, `GRACE-${i}`));
    await sleep(500);
    const signalled = Date.now();
    api.child.kill('SIGTERM');
    await sleep(300);
    expect(await connects(port)).toBe('ECONNREFUSED');
    process.kill(worker.child.pid!, 'SIGCONT');
    const answers = await Promise.all(orders);
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body)).toMatchObject({ orderId: `GRACE-${i}`, created: true });
    }
    // Kept-alive connections close as soon as their answer is out: no wait for their timeout.
    expect(await Promise.race([api.exited, sleep(10_000).then(() => 'still running')])).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(40_000);
    expect(api.output).toContain('[api] SIGTERM: finishing in-flight requests, then stopping');
    expect(api.output).toMatch(/\[api\] API closed in [\d.]+ m?s, every request in flight answered/);
    expect(api.output).toContain('[api] stopped');

    worker.child.kill('SIGTERM');
    expect(await Promise.race([worker.exited, sleep(20_000).then(() => 'still running')])).toBe(0);
    expect(worker.output).toContain('[worker] SIGTERM: finishing the tasks in hand, then stopping');
    expect(worker.output).toContain('[worker] stopped');
  });
});

function postOrder(port: number, key: string, agent: http.Agent, orderId: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({
    orderId,
    channel: 'dtc',
    customerId: 'C-GRACE',
    shipTo: { name: 'Ada Lovelace', city: 'Chicago', region: 'IL', postalCode: '60601', country: 'US', lat: 41.8853, lon: -87.6216 },
    lines: [{ sku: 'TEE-BLK-M', qty: 1, unitPriceMinor: 1999 }],
  });
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: '/orders', method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function connects(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
