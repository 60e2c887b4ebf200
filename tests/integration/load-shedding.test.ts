/**
 * Past its bounds the API answers 503 with Retry-After at once instead of queueing: requests
 * in flight, requests waiting for a database connection, Temporal calls in flight.
 */
import { type Client, Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { describe, expect, inject, it } from 'vitest';
import { DependencyMonitor, registerLoadShedding, shedding } from '../../api/dependencies.js';
import { registerErrorHandling } from '../../api/errors.js';
import { createDb, PoolQueueFull } from '../../db/connection.js';
import { temporalCalls, temporalInterceptors } from '../../runtime/temporal-client.js';
import { createTestDatabase } from '../support/stack.js';

const limits = { maxInFlight: 2, retryAfterSeconds: 3, probeIntervalMs: 60_000 };

describe('load shedding', () => {
  it('answers 503 overloaded with Retry-After at once past API_MAX_IN_FLIGHT, and serves again after', async () => {
    const { db, url } = await createTestDatabase();
    await db.destroy();
    const probeDb = createDb(url, 1);
    const monitor = new DependencyMonitor(probeDb, {} as Client, 60_000);
    const app = Fastify();
    registerLoadShedding(app, monitor, limits);
    registerErrorHandling(app, { retryAfterSeconds: limits.retryAfterSeconds });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async () => {
      await gate;
      return { ok: true };
    });
    app.get('/health/live', async () => ({ status: 'live' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const held = [fetch(`${base}/slow`), fetch(`${base}/slow`)];
      await expect.poll(() => shedding.inFlight).toBe(2);
      const started = performance.now();
      const shed = await fetch(`${base}/slow`);
      const shedMs = performance.now() - started;
      expect(shed.status).toBe(503);
      expect(shed.headers.get('retry-after')).toBe('3');
      expect(await shed.json()).toMatchObject({ error: { code: 'overloaded', details: { limit: 2 } } });
      expect(shedMs).toBeLessThan(1_000);
      // Health always answers, even at the bound.
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      release();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
      expect((await fetch(`${base}/slow`)).status).toBe(200);
      expect(shedding.refused.get('api_in_flight')).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
      await probeDb.destroy();
    }
  });

  it('refuses a database request at once when DB_MAX_QUEUE requests already wait, as 503 overloaded', async () => {
    const { db: setup, url } = await createTestDatabase();
    await setup.destroy();
    const db = createDb(url, 1, { maxQueue: 1, connectTimeoutMs: 10_000 });
    const app = Fastify();
    registerErrorHandling(app, { retryAfterSeconds: 1 });
    app.get('/count', async () => (await sql<{ n: number }>`select 1 as n`.execute(db)).rows[0]);
    try {
      const holding = sql`select pg_sleep(1.5)`.execute(db); // takes the only connection
      const waiting = sql`select 1`.execute(db); // waits in the queue
      const started = performance.now();
      await expect(sql`select 1`.execute(db)).rejects.toBeInstanceOf(PoolQueueFull);
      expect(performance.now() - started).toBeLessThan(200);
      const answer = await app.inject({ url: '/count' });
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.json()).toMatchObject({ error: { code: 'overloaded', details: { dependency: 'postgres', reason: 'overloaded' } } });
      await Promise.all([holding, waiting]);
      expect((await app.inject({ url: '/count' })).statusCode).toBe(200);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a Temporal call at once past TEMPORAL_MAX_IN_FLIGHT', async () => {
    const connection = await Connection.connect({
      address: inject('temporalAddress'),
      interceptors: temporalInterceptors({ maxInFlight: 1, callTimeoutMs: 1_500, unavailableRetryMs: 500 }),
    });
    try {
      // A long poll on an empty queue holds the one slot until its deadline.
      const longPoll = connection.workflowService.pollActivityTaskQueue({ namespace: 'default', taskQueue: { name: `empty-${Date.now()}` }, identity: 'test' }).catch((e: unknown) => e);
      await expect.poll(() => temporalCalls.inFlight).toBe(1);
      const started = performance.now();
      const refused = await connection.workflowService.getSystemInfo({}).catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(200);
      expect(refused).toMatchObject({ code: 8, details: 'too many Temporal calls in flight from this API' });
      await longPoll;
      expect(temporalCalls.inFlight).toBe(0);
      await expect(connection.workflowService.getSystemInfo({})).resolves.toBeDefined();
    } finally {
      await connection.close();
    }
  });
});
