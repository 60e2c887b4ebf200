/**
 * `GET /metrics` in Prometheus text format. It needs a key like every other route
 * (give the scraper the `viewer` key as a bearer token). Request counts and latencies
 * are recorded for every route; queue gauges are read from the database at scrape time,
 * and the processes and the task queue's backlog from Temporal (left out of a scrape when
 * Temporal does not answer).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { workflowTypes } from '../contracts/index.js';
import type { AppDeps } from './app.js';
import { poolStats } from '../db/connection.js';
import { temporalCalls } from '../runtime/temporal-client.js';
import { shedding } from './dependencies.js';

/** How long one read of the process counts serves scrapes. */
const EXECUTION_COUNTS_TTL_MS = 10_000;
const seconds = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) => (d ? Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9 : 0);

/** A gauge's reading that may fail (a dependency down): the gauge stays empty, the scrape answers. */
async function tolerate(read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch {
    // left empty; dependency_up says why
  }
}

/** Adds the request hook to the whole app and the /metrics route; call before the other routes. */
export function registerMetrics(app: FastifyInstance, { db, temporal, config, monitor }: AppDeps): void {
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
    name: 'dependency_up',
    help: 'Whether PostgreSQL and Temporal answered the API\'s last look (1) or not (0)',
    labelNames: ['dependency'],
    registers: [registry],
    collect() {
      for (const [dependency, state] of Object.entries(monitor?.state ?? {})) this.set({ dependency }, state.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'api_in_flight_requests',
    help: 'Requests the API is working on now, and its bound (API_MAX_IN_FLIGHT)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'in_flight' }, shedding.inFlight);
      this.set({ kind: 'limit' }, shedding.maxInFlight);
    },
  });
  new Gauge({
    name: 'api_requests_shed',
    help: 'Requests answered 503 at once since start, by reason (api_in_flight, postgres_overloaded, temporal_unavailable, …)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, n] of shedding.refused) this.set({ reason }, n);
    },
  });
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections in use and idle, requests waiting for one, and the bound on waiting (DB_MAX_QUEUE)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pools = [...poolStats.pools];
      this.set({ state: 'in_use' }, pools.reduce((n, p) => n + p.totalCount - p.idleCount, 0));
      this.set({ state: 'idle' }, pools.reduce((n, p) => n + p.idleCount, 0));
      this.set({ state: 'waiting' }, pools.reduce((n, p) => n + p.waitingCount, 0));
      this.set({ state: 'queue_limit' }, poolStats.maxQueue);
      this.set({ state: 'refused_total' }, poolStats.refused);
    },
  });
  new Gauge({
    name: 'temporal_client_calls',
    help: 'Temporal calls in flight from this process, the bound (TEMPORAL_MAX_IN_FLIGHT), and calls refused at the bound since start',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'in_flight' }, temporalCalls.inFlight);
      this.set({ state: 'limit' }, temporalCalls.limit);
      this.set({ state: 'refused_total' }, temporalCalls.refused);
    },
  });
  new Gauge({
    name: 'ops_open_tasks',
    help: 'Open tasks in the human queue, by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      this.reset();
      await tolerate(async () => {
        const rows = await db.selectFrom('tasks').select(['kind', (eb) => eb.fn.countAll<string>().as('n')]).where('status', '=', 'open').groupBy('kind').execute();
        for (const row of rows) this.set({ kind: row.kind }, Number(row.n));
      });
    },
  });
  new Gauge({
    name: 'ops_open_exceptions',
    help: 'Open exceptions raised by processes, by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      this.reset();
      await tolerate(async () => {
        const rows = await db.selectFrom('exceptions').select(['kind', (eb) => eb.fn.countAll<string>().as('n')]).where('status', '=', 'open').groupBy('kind').execute();
        for (const row of rows) this.set({ kind: row.kind }, Number(row.n));
      });
    },
  });
  new Gauge({
    name: 'ops_open_task_oldest_age_seconds',
    help: 'Age of the oldest open task in the human queue, by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      this.reset();
      await tolerate(async () => {
        const rows = await db
          .selectFrom('tasks')
          .select(['kind', (eb) => eb.fn.min('created_at').as('oldest')])
          .where('status', '=', 'open')
          .groupBy('kind')
          .execute();
        for (const row of rows) this.set({ kind: row.kind }, Math.max(0, (Date.now() - new Date(row.oldest as Date).getTime()) / 1000));
      });
    },
  });
  // One visibility count per workflow type (Temporal groups by ExecutionStatus only), sent
  // together and kept for a while: visibility is eventually consistent anyway, and a scrape
  // every few seconds (times every API replica) must not become a steady load on Temporal.
  const readExecutionCounts = async () => {
    try {
      const counts = await Promise.all(
        workflowTypes.map(async (type) => {
          const { groups } = await temporal.workflow.count(`TaskQueue = '${config.taskQueue}' AND WorkflowType = '${type}' GROUP BY ExecutionStatus`);
          return groups.map((group) => ({ workflow_type: type, status: String(group.groupValues[0]), count: group.count }));
        }),
      );
      return counts.flat();
    } catch (error) {
      app.log.warn({ err: error }, 'metrics: Temporal did not answer the process counts');
      return undefined;
    }
  };
  let lastCounts: { at: number; counts: ReturnType<typeof readExecutionCounts> } | undefined;
  new Gauge({
    name: 'ops_workflow_executions',
    help: "Processes started on this deployment's task queue, by workflow type and current status (Temporal visibility, read at most every 10 s)",
    labelNames: ['workflow_type', 'status'],
    registers: [registry],
    async collect() {
      if (!lastCounts || Date.now() - lastCounts.at > EXECUTION_COUNTS_TTL_MS) lastCounts = { at: Date.now(), counts: readExecutionCounts() };
      const read = lastCounts;
      const counts = await read.counts;
      // A failed read is not kept: the next scrape asks again. All types or none, never a partial set.
      if (!counts && lastCounts === read) lastCounts = undefined;
      this.reset();
      for (const { count, ...labels } of counts ?? []) this.set(labels, count);
    },
  });
  // Both task queue gauges come from one pair of calls to Temporal per scrape (gauges collect concurrently).
  const readTaskQueueStats = async () => {
    try {
      const byType = new Map<string, { backlog: number; ageSeconds: number }>();
      for (const [type, taskQueueType] of [['workflow', 1], ['activity', 2]] as const) {
        const { stats } = await temporal.workflowService.describeTaskQueue({
          namespace: config.temporalNamespace,
          taskQueue: { name: config.taskQueue },
          taskQueueType,
          reportStats: true,
        });
        byType.set(type, { backlog: Number(stats?.approximateBacklogCount ?? 0), ageSeconds: seconds(stats?.approximateBacklogAge) });
      }
      return byType;
    } catch (error) {
      app.log.warn({ err: error }, 'metrics: Temporal did not answer the task queue stats');
      return new Map<string, { backlog: number; ageSeconds: number }>();
    }
  };
  let lastRead: { at: number; stats: ReturnType<typeof readTaskQueueStats> } | undefined;
  const taskQueueStats = () => {
    if (!lastRead || Date.now() - lastRead.at > 1_000) lastRead = { at: Date.now(), stats: readTaskQueueStats() };
    return lastRead.stats;
  };
  for (const [name, help, pick] of [
    ['temporal_task_queue_backlog', 'Tasks waiting on the task queue, by type (workflow, activity)', 'backlog'],
    ['temporal_task_queue_backlog_age_seconds', 'Age of the oldest task waiting on the task queue, by type (workflow, activity)', 'ageSeconds'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['type'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [type, stats] of await taskQueueStats()) this.set({ type }, stats[pick]);
      },
    });
  }
  new Gauge({
    name: 'ops_ledger_refusals',
    help: 'Stock movements the ledger has refused for lack of stock, in total since the start of the books',
    registers: [registry],
    async collect() {
      this.reset();
      await tolerate(async () => {
        const row = await db.selectFrom('ledger_refusals').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
        this.set(Number(row.n));
      });
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: request counts and latencies, open tasks and exceptions, ledger refusals',
        // The metrics are text; its refusals are JSON in the error shape, like every route's.
        response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
      },
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}
