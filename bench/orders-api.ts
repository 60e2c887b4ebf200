/**
 * Child process of `npm run bench`: the product's API (buildApp, no request logging) on a
 * free port, and beside it in the same process a bare Fastify route (the HTTP limit of
 * this process on this machine). Its own process so its RSS is measured apart.
 *
 * Env: BENCH_DATABASE_URL, BENCH_TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_API_KEY,
 * BENCH_API_PORT, BENCH_BARE_PORT (optional).
 */
import Fastify from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app.js';
import { createDb } from '../db/connection.js';
import { loadConfig } from '../runtime/config.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const config = { ...loadConfig({}), taskQueue: env('BENCH_TASK_QUEUE'), logLevel: 'warn' };
const db = createDb(env('BENCH_DATABASE_URL'));
const connection = await Connection.connect({ address: env('BENCH_TEMPORAL_ADDRESS') });
const temporal = new Client({ connection });
const app = await buildApp({ db, temporal, config, keys: [{ role: 'system', key: env('BENCH_API_KEY') }], logger: false });
await app.listen({ port: Number(env('BENCH_API_PORT')), host: '127.0.0.1' });

// The first API of a run carries the bare route; a second one (--apis 2) does not.
const bare = process.env.BENCH_BARE_PORT ? Fastify({ logger: false }) : undefined;
if (bare) {
  bare.get('/bare', async () => ({ ok: true }));
  await bare.listen({ port: Number(process.env.BENCH_BARE_PORT), host: '127.0.0.1' });
}

process.send?.({ type: 'ready', pid: process.pid });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await bare?.close();
      await app.close();
      await connection.close();
      await db.destroy();
      process.exit(0);
    })();
  });
}
