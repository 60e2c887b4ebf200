/**
 * `GET /metrics` in Prometheus text format. It needs a key like every other route
 * (give the scraper the `viewer` key as a bearer token). Request counts and latencies
 * are recorded for every route; queue gauges are read from the database at scrape time.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppDeps } from './app.js';

/** Adds the request hook to the whole app and the /metrics route; call before the other routes. */
export function registerMetrics(app: FastifyInstance, { db }: AppDeps): void {
  // One registry per app: tests build several apps in one process.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by route and status', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  new Gauge({
    name: 'ops_open_tasks',
    help: 'Open tasks in the human queue, by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const rows = await db.selectFrom('tasks').select(['kind', (eb) => eb.fn.countAll<string>().as('n')]).where('status', '=', 'open').groupBy('kind').execute();
      this.reset();
      for (const row of rows) this.set({ kind: row.kind }, Number(row.n));
    },
  });
  new Gauge({
    name: 'ops_open_exceptions',
    help: 'Open exceptions raised by processes, by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const rows = await db.selectFrom('exceptions').select(['kind', (eb) => eb.fn.countAll<string>().as('n')]).where('status', '=', 'open').groupBy('kind').execute();
      this.reset();
      for (const row of rows) this.set({ kind: row.kind }, Number(row.n));
    },
  });
  new Gauge({
    name: 'ops_ledger_refusals',
    help: 'Stock movements the ledger has refused for lack of stock, in total since the start of the books',
    registers: [registry],
    async collect() {
      const row = await db.selectFrom('ledger_refusals').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      this.set(Number(row.n));
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics: request counts and latencies, open tasks and exceptions, ledger refusals', produces: ['text/plain'] } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
