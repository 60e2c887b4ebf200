/**
 * `npm run bench`: orders released per second end to end (POST /orders over HTTP → the
 * order record has `released_at`), at 1,000 and 10,000 orders over 200 skus with
 * Zipf-skewed demand (s = 1.1) and 3 warehouses, beside a trivial one-activity workflow
 * on the same Temporal server and worker; latency percentiles from the API call to
 * released; cost growth (time per order at 10,000 ÷ at 1,000, history events per order);
 * peak RSS of the worker and the API; GET /inventory and POST /orders under autocannon
 * beside a bare Fastify route in the API's process.
 *
 * The stack is its own: Postgres from DATABASE_URL, else embedded under
 * .data/bench-orders-pg (a fresh database, dropped at the end); a Temporal dev server in
 * memory on a free port; the worker (bench/orders-worker.ts) and the API
 * (bench/orders-api.ts) each in a child process, so their RSS is their own.
 *
 * Env: BENCH_LARGE (orders in the large run, default 10000), BENCH_LARGE_MAX_S (stop
 * submitting after this many seconds, default 240, to keep the whole bench near 8 minutes), BENCH_CONCURRENCY (POSTs in flight,
 * default 32), BENCH_SEED, BENCH_WORKER_DB_POOL (default 10).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'kysely';
import { rng } from '../chaos/random.js';
import { benchCleanup, benchDatabase } from './database.js';
import { createDb, type Db } from '../db/connection.js';
import { checkLedger } from '../db/ledger-check.js';
import { receive } from '../db/ledger.js';
import { projectRoot } from '../runtime/config.js';
import { freePort } from '../runtime/ports.js';
import { ensureSearchAttributes, startDevServer, stopChild } from '../runtime/temporal.js';

const SKUS = 200;
const ZIPF_S = 1.1;
const SMALL = 1_000;
const LARGE = Number(process.env.BENCH_LARGE ?? 10_000);
const LARGE_MAX_MS = Number(process.env.BENCH_LARGE_MAX_S ?? 240) * 1_000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const TRIVIAL = 1_000;
const WARMUP_ORDERS = 100;
const STOCK_PER_PLACE = 200_000;
const SEED = Number(process.env.BENCH_SEED ?? 20261127);
const TASK_QUEUE = 'bench-orders';
const AUTOCANNON_SECONDS = 5;
const here = path.dirname(fileURLToPath(import.meta.url));

const warehouses = [
  { code: 'EWR', name: 'Newark, NJ', lat: 40.7357, lon: -74.1724 },
  { code: 'ORD', name: 'Chicago, IL', lat: 41.8781, lon: -87.6298 },
  { code: 'LAX', name: 'Los Angeles, CA', lat: 34.0522, lon: -118.2437 },
];
const skuOf = (rank: number) => `BENCH-${String(rank + 1).padStart(4, '0')}`;
/** List prices 5.00 to 39.95: three lines of two units stay under the new-customer hold (300.00). */
const priceOf = (rank: number) => 500 + ((rank * 7_919) % 3_500);

const log = (line: string) => console.log(`[bench] ${line}`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Zipf over `n` ranks with exponent `s`: rank 0 is the best seller. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf: number[] = [];
  let total = 0;
  for (let k = 1; k <= n; k++) cdf.push((total += 1 / k ** s));
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface OrderBody {
  orderId: string;
  channel: 'dtc';
  customerId: string;
  currency: 'USD';
  shipTo: { country: 'US'; lat: number; lon: number; city: string };
  billingCountry: 'US';
  lines: { lineNo: number; sku: string; qty: number; unitPriceMinor: number }[];
}

function orderMaker(seed: number) {
  const random = rng(seed);
  const pick = zipf(SKUS, ZIPF_S, random);
  return (orderId: string, customerId: string): OrderBody => {
    const lineCount = 1 + Math.floor(random() * 3);
    const ranks = new Set<number>();
    while (ranks.size < lineCount) ranks.add(pick());
    return {
      orderId,
      channel: 'dtc',
      customerId,
      currency: 'USD',
      // Somewhere in the continental US, so each warehouse is nearest to some orders.
      shipTo: { country: 'US', city: 'Bench', lat: round(30 + random() * 17, 4), lon: round(-122 + random() * 50, 4) },
      billingCountry: 'US',
      lines: [...ranks].map((rank, i) => ({ lineNo: i + 1, sku: skuOf(rank), qty: 1 + Math.floor(random() * 2), unitPriceMinor: priceOf(rank) })),
    };
  };
}

async function seed(db: Db): Promise<void> {
  await db
    .insertInto('warehouses')
    .values(warehouses.map((w) => ({ ...w, freight_base_minor: 400, freight_per_km_minor: 1, daily_capacity: 10_000_000, zones: JSON.stringify([{ code: 'A', bins: ['A-01'] }]) })))
    .execute();
  const ranks = Array.from({ length: SKUS }, (_, rank) => rank);
  await db
    .insertInto('items')
    .values(ranks.map((rank) => ({ sku: skuOf(rank), name: `Bench item ${rank + 1}`, price_minor: priceOf(rank), standard_cost_minor: 200, average_cost_minor: 200 })))
    .execute();
  await db
    .insertInto('item_locations')
    .values(warehouses.flatMap((w) => ranks.map((rank) => ({ warehouse_code: w.code, sku: skuOf(rank), zone: 'A', bin: 'A-01' }))))
    .execute();
  // Stock arrives through the ledger, so the books the orders reserve from are real.
  const places = warehouses.flatMap((w) => ranks.map((rank) => ({ sku: skuOf(rank), warehouse: w.code })));
  for (let i = 0; i < places.length; i += 20) {
    await Promise.all(
      places.slice(i, i + 20).map(({ sku, warehouse }) =>
        receive(db, { key: `bench:stock:${sku}:${warehouse}`, actor: 'bench' }, { sku, warehouse, qty: STOCK_PER_PLACE, into: 'available', fromInbound: 0, unitCostMinor: 200, landedCostMinor: 0 }),
      ),
    );
  }
  await sql`analyze`.execute(db);
}

// ---------------------------------------------------------------------------------------
// Child processes and their memory

interface Child {
  process: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

async function startChild(script: string, env: Record<string, string>, name: string): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, script)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
    cwd: projectRoot,
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    child.on('message', (message: { type?: string }) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return { process: child, pid: child.pid!, stop: () => stopChild(child) };
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: round(kb('VmRSS') / 1024, 1), peakMb: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return undefined;
  }
}

/** Resets the kernel's peak-RSS mark of a process (Linux: `5` into clear_refs); false when not allowed. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples RSS of the given processes every 500 ms; the max sampled and the kernel's peak mark. */
function memoryWatch(pids: Record<string, number>) {
  const peakReset = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, resetPeak(pid)]));
  const maxSampled: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const memory = memoryOf(pid);
      if (memory) maxSampled[name] = Math.max(maxSampled[name]!, memory.rssMb);
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => {
          const memory = memoryOf(pid);
          // The kernel's mark is exact when it could be reset at the start of the run; otherwise it
          // also holds start-up, so the sampled maximum is the figure.
          const peakMb = peakReset[name] && memory ? Math.max(memory.peakMb, maxSampled[name]!) : maxSampled[name]!;
          return [name, { peakMb, source: peakReset[name] ? 'VmHWM reset at run start' : 'RSS sampled every 500 ms' }];
        }),
      );
    },
  };
}

// ---------------------------------------------------------------------------------------
// Order runs

interface RunResult {
  label: string;
  requested: number;
  posted: number;
  released: number;
  postErrors: number;
  otherStatuses: Record<string, number>;
  capped: boolean;
  seconds: number;
  ordersPerSec: number;
  msPerOrder: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  postP50Ms: number;
  postP99Ms: number;
}

async function runOrders(options: {
  label: string;
  count: number;
  prefix: string;
  apiUrl: string;
  apiKey: string;
  db: Db;
  make: (orderId: string, customerId: string) => OrderBody;
  maxSubmitMs?: number;
  quiet?: boolean;
}): Promise<RunResult> {
  const { label, count, prefix, apiUrl, apiKey, db, make } = options;
  const postedAt = new Map<string, number>();
  const postMs: number[] = [];
  let postErrors = 0;
  let firstPostError: string | undefined;
  let next = 0;
  let capped = false;
  const began = Date.now();
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };

  let released = 0;
  let others: Record<string, number> = {};
  const poll = async () => {
    const rows = await sql<{ status: string; n: string; released: string }>`
      select status, count(*) as n, count(released_at) as released from orders where id like ${`${prefix}%`} group by status`.execute(db);
    released = rows.rows.reduce((n, r) => n + Number(r.released), 0);
    others = Object.fromEntries(rows.rows.filter((r) => !['received', 'allocating', 'released'].includes(r.status)).map((r) => [r.status, Number(r.n)]));
  };
  let lastLog = Date.now();
  const progress = () => {
    const seconds = (Date.now() - began) / 1_000;
    const extra = Object.keys(others).length ? `  other statuses ${JSON.stringify(others)}` : '';
    log(
      `${label}: ${String(postedAt.size).padStart(5)}/${count} posted, ${String(released).padStart(5)} released, ` +
        `${round(released / seconds, 1)} released/s over ${round(seconds, 1)} s${postErrors ? `  POST errors ${postErrors}` : ''}${extra}`,
    );
  };

  let submitting = true;
  const poller = (async () => {
    for (;;) {
      await sleep(500);
      await poll();
      if (!options.quiet && Date.now() - lastLog >= 3_000) {
        lastLog = Date.now();
        progress();
      }
      if (!submitting && released + postErrors + Object.values(others).reduce((a, b) => a + b, 0) >= postedAt.size + postErrors) return;
      if (!submitting && Date.now() - began > (options.maxSubmitMs ?? 600_000) + 120_000) {
        log(`${label}: stopped waiting; ${postedAt.size - released} posted orders not released`);
        return;
      }
    }
  })();

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        if (options.maxSubmitMs !== undefined && Date.now() - began > options.maxSubmitMs) {
          capped = true;
          return;
        }
        const orderId = `${prefix}${String(i).padStart(6, '0')}`;
        const body = JSON.stringify(make(orderId, `${prefix}c${i}`));
        const at = Date.now();
        const t0 = performance.now();
        try {
          const response = await fetch(`${apiUrl}/orders`, { method: 'POST', headers, body });
          const text = await response.text();
          if (response.status !== 201) throw new Error(`${response.status} ${text.slice(0, 300)}`);
          postMs.push(performance.now() - t0);
          postedAt.set(orderId, at);
        } catch (error) {
          postErrors++;
          firstPostError ??= String(error);
        }
      }
    }),
  );
  submitting = false;
  await poller;
  if (!options.quiet) progress();
  if (firstPostError) log(`${label}: first POST error: ${firstPostError}`);

  const rows = await db
    .selectFrom('orders')
    .select(['id', 'released_at'])
    .where('id', 'like', `${prefix}%`)
    .where('released_at', 'is not', null)
    .execute();
  const latencies: number[] = [];
  let lastRelease = 0;
  for (const row of rows) {
    const at = postedAt.get(row.id);
    const releasedAt = row.released_at!.getTime();
    if (at === undefined) continue;
    latencies.push(releasedAt - at);
    lastRelease = Math.max(lastRelease, releasedAt);
  }
  latencies.sort((a, b) => a - b);
  postMs.sort((a, b) => a - b);
  const firstPost = Math.min(...postedAt.values());
  const seconds = (lastRelease - firstPost) / 1_000;
  return {
    label,
    requested: count,
    posted: postedAt.size,
    released: latencies.length,
    postErrors,
    otherStatuses: others,
    capped,
    seconds: round(seconds, 1),
    ordersPerSec: round(latencies.length / seconds, 1),
    msPerOrder: round((seconds * 1_000) / latencies.length, 2),
    p50Ms: Math.round(percentile(latencies, 0.5)),
    p95Ms: Math.round(percentile(latencies, 0.95)),
    p99Ms: Math.round(percentile(latencies, 0.99)),
    maxMs: Math.round(latencies.at(-1) ?? 0),
    postP50Ms: Math.round(percentile(postMs, 0.5)),
    postP99Ms: Math.round(percentile(postMs, 0.99)),
  };
}

/** Trivial workflows: started with CONCURRENCY starts in flight, the run ends when every one has completed. */
async function runTrivial(client: Client, count: number, prefix: string, quiet = false) {
  const began = performance.now();
  let next = 0;
  let completed = 0;
  const results: Promise<void>[] = [];
  const ticker = quiet ? undefined : setInterval(() => log(`trivial: ${Math.min(next, count)}/${count} started, ${completed} completed`), 3_000);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const handle = await client.workflow.start('benchTrivial', { workflowId: `${prefix}${i}`, taskQueue: TASK_QUEUE, args: [] });
        results.push(
          handle.result().then(() => {
            completed++;
          }),
        );
      }
    }),
  );
  await Promise.all(results);
  if (ticker) clearInterval(ticker);
  const seconds = (performance.now() - began) / 1_000;
  return { count, seconds: round(seconds, 1), perSec: round(count / seconds, 1) };
}

const eventTypeNames = proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>;

/** Events in the order's own history (its shipment children have their own), for a sample of released orders. */
async function historyEvents(client: Client, db: Db, prefix: string, sample: number) {
  const rows = await db.selectFrom('orders').select(['workflow_id']).where('id', 'like', `${prefix}%`).where('released_at', 'is not', null).orderBy('id').limit(sample).execute();
  const orders: number[] = [];
  const shipments: number[] = [];
  const byType = new Map<string, number>();
  for (const row of rows) {
    const history = await client.workflow.getHandle(row.workflow_id).fetchHistory();
    const events = history.events ?? [];
    orders.push(events.length);
    for (const event of events) {
      const type = (eventTypeNames[event.eventType ?? 0] ?? String(event.eventType)).replace(/^EVENT_TYPE_/, '');
      byType.set(type, (byType.get(type) ?? 0) + 1);
    }
    const shipment = await db.selectFrom('shipments').select('workflow_id').where('order_id', '=', row.workflow_id.replace(/^order-/, '')).executeTakeFirst();
    if (shipment) shipments.push(((await client.workflow.getHandle(shipment.workflow_id).fetchHistory()).events ?? []).length);
  }
  const mean = (values: number[]) => (values.length ? round(values.reduce((a, b) => a + b, 0) / values.length, 1) : 0);
  const perOrder = [...byType].map(([type, n]) => [type, round(n / rows.length, 1)] as const).sort((a, b) => b[1] - a[1]);
  return { sampled: rows.length, orderEventsMean: mean(orders), orderEventsMax: Math.max(0, ...orders), shipmentEventsMean: mean(shipments), topEventTypes: Object.fromEntries(perOrder.slice(0, 8)) };
}

// ---------------------------------------------------------------------------------------
// HTTP under autocannon

interface HttpResult {
  route: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function cannon(route: string, options: autocannon.Options): Promise<HttpResult> {
  const result = await autocannon({ connections: CONCURRENCY, duration: AUTOCANNON_SECONDS, ...options });
  return {
    route,
    reqPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runStarted = performance.now();
  const { stops, cleanup } = benchCleanup();
  try {
    const loadAtStart = os.loadavg()[0]!;
    log(`${os.cpus().length} cpus, load average ${round(loadAtStart)} at start (other work on the machine shares the cpus)`);
    log(`seed ${SEED}; ${SKUS} skus, Zipf s=${ZIPF_S}, ${warehouses.length} warehouses; ${CONCURRENCY} POSTs in flight`);
    const { url: databaseUrl, name: database, server } = await benchDatabase('ops_bench_orders', 'bench-orders-pg', stops, log);
    const db = createDb(databaseUrl, 4);
    stops.push(() => db.destroy());
    log(`database ${database} migrated; seeding ${warehouses.length * SKUS} stock places through the ledger`);
    await seed(db);

    const temporalPort = await freePort();
    log(`starting Temporal dev server (in memory, headless, port ${temporalPort})`);
    const temporal = await startDevServer({ port: temporalPort });
    stops.push(temporal.stop);
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    await ensureSearchAttributes(connection, 'default');
    const client = new Client({ connection });

    log('bundling workflows (product workflows + bench trivial workflow)');
    const bundleStarted = performance.now();
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(here, 'orders-workflows.ts'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) },
    });
    const bundleSeconds = round((performance.now() - bundleStarted) / 1_000, 1);
    const bundleDir = path.join(projectRoot, '.data', 'bench-orders');
    fs.mkdirSync(bundleDir, { recursive: true });
    // A bench stopped hard leaves its bundle behind: drop those older than an hour.
    for (const name of fs.readdirSync(bundleDir)) {
      const file = path.join(bundleDir, name);
      if (/^workflow-bundle-\d+\.js$/.test(name) && Date.now() - fs.statSync(file).mtimeMs > 3_600_000) fs.rmSync(file, { force: true });
    }
    const bundlePath = path.join(bundleDir, `workflow-bundle-${process.pid}.js`);
    fs.writeFileSync(bundlePath, bundle.code);
    stops.push(async () => fs.rmSync(bundlePath, { force: true }));

    const apiKey = `bench-${randomBytes(12).toString('hex')}`;
    const apiPort = await freePort();
    const barePort = await freePort();
    const common = { BENCH_DATABASE_URL: databaseUrl, BENCH_TEMPORAL_ADDRESS: temporal.address, BENCH_TASK_QUEUE: TASK_QUEUE };
    log('starting the worker and the API, each in a child process');
    const worker = await startChild('orders-worker.ts', { ...common, BENCH_BUNDLE_PATH: bundlePath }, 'worker');
    stops.push(worker.stop);
    const api = await startChild('orders-api.ts', { ...common, BENCH_API_KEY: apiKey, BENCH_API_PORT: String(apiPort), BENCH_BARE_PORT: String(barePort) }, 'api');
    stops.push(api.stop);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const idle = { worker: memoryOf(worker.pid), api: memoryOf(api.pid) };
    log(`worker pid ${worker.pid} (${idle.worker?.rssMb} MB), API pid ${api.pid} (${idle.api?.rssMb} MB) at ${apiUrl}; bare route on port ${barePort}`);

    const run = randomBytes(3).toString('hex').toUpperCase();
    const make = orderMaker(SEED);

    log(`warm-up: ${WARMUP_ORDERS} orders and 200 trivial workflows (not counted)`);
    const warm = await runOrders({ label: 'warm-up', count: WARMUP_ORDERS, prefix: `W${run}-`, apiUrl, apiKey, db, make, quiet: true, maxSubmitMs: 60_000 });
    if (warm.released < warm.posted || warm.postErrors) throw new Error(`warm-up failed: ${JSON.stringify(warm)}`);
    await runTrivial(client, 200, `bench-trivial-warm-${run}-`, true);

    log(`trivial workflow: ${TRIVIAL} runs`);
    const trivial = await runTrivial(client, TRIVIAL, `bench-trivial-${run}-`);
    log(`trivial: ${trivial.perSec}/s (${trivial.count} in ${trivial.seconds} s)`);

    log(`order run 1: ${SMALL} orders`);
    const small = await runOrders({ label: `${SMALL} orders`, count: SMALL, prefix: `S${run}-`, apiUrl, apiKey, db, make });
    log(`${small.label}: ${small.ordersPerSec} released/s, p50 ${small.p50Ms} ms, p95 ${small.p95Ms} ms, p99 ${small.p99Ms} ms`);

    const history = await historyEvents(client, db, `S${run}-`, 5);
    log(`history: ${history.orderEventsMean} events per order (own history, max ${history.orderEventsMax}), its shipment child ${history.shipmentEventsMean}`);

    log(`order run 2: ${LARGE} orders (submission capped at ${LARGE_MAX_MS / 1_000} s); memory of worker and API watched`);
    const watch = memoryWatch({ worker: worker.pid, api: api.pid, driver: process.pid });
    const large = await runOrders({ label: `${LARGE} orders`, count: LARGE, prefix: `L${run}-`, apiUrl, apiKey, db, make, maxSubmitMs: LARGE_MAX_MS });
    const memory = watch.stop();
    log(`${large.label}: ${large.ordersPerSec} released/s, p50 ${large.p50Ms} ms, p95 ${large.p95Ms} ms, p99 ${large.p99Ms} ms${large.capped ? ` (capped: ${large.posted} posted)` : ''}`);

    log(`HTTP: autocannon, ${CONCURRENCY} connections, ${AUTOCANNON_SECONDS} s per route`);
    const http: HttpResult[] = [];
    http.push(await cannon('GET /bare (plain Fastify, same process)', { url: `http://127.0.0.1:${barePort}/bare` }));
    http.push(await cannon('GET /inventory (first page: all 600 places)', { url: `${apiUrl}/inventory`, headers: { authorization: `Bearer ${apiKey}` } }));
    let cannonOrder = 0;
    const makeCannon = orderMaker(SEED + 1);
    http.push(
      await cannon('POST /orders (answers after capture + risk screen)', {
        url: apiUrl,
        requests: [
          {
            method: 'POST',
            path: '/orders',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
            setupRequest: (request) => {
              const i = cannonOrder++;
              return { ...request, body: JSON.stringify(makeCannon(`A${run}-${i}`, `A${run}-c${i}`)) };
            },
          },
        ],
      }),
    );
    for (const h of http) log(`${h.route}: ${h.reqPerSec} req/s, p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms${h.non2xx || h.errors ? `  non-2xx ${h.non2xx}, errors ${h.errors}` : ''}`);

    const check = await checkLedger(db);
    const growth = round(large.msPerOrder / small.msPerOrder, 3);
    const figures = {
      bench: 'orders',
      server,
      seed: SEED,
      concurrency: CONCURRENCY,
      skus: SKUS,
      zipfS: ZIPF_S,
      warehouses: warehouses.length,
      workerDbPool: Number(process.env.BENCH_WORKER_DB_POOL ?? 10),
      workerMaxCachedWorkflows: 2_000,
      workerAndApi: 'child processes',
      bundleSeconds,
      trivialWorkflowsPerSec: trivial.perSec,
      small,
      large,
      ratioToTrivialSmall: round(small.ordersPerSec / trivial.perSec, 3),
      ratioToTrivialLarge: round(large.ordersPerSec / trivial.perSec, 3),
      costGrowth: growth,
      historyEventsPerOrder: history.orderEventsMean,
      history,
      peakRssMb: { worker: memory.worker!.peakMb, api: memory.api!.peakMb, driver: memory.driver!.peakMb, source: memory.worker!.source },
      idleRssMb: { worker: idle.worker?.rssMb, api: idle.api?.rssMb },
      http,
      ledgerCheckOk: check.ok,
      cpus: os.cpus().length,
      loadAvg1mAtStart: round(loadAtStart),
      loadAvg1mAtEnd: round(os.loadavg()[0]!),
      totalSeconds: round((performance.now() - runStarted) / 1_000, 1),
    };
    printTable(figures);
    if (!check.ok) console.log(`ledger check: ${JSON.stringify(check.problems.slice(0, 5))}`);
    console.log(JSON.stringify(figures));
    if (!check.ok || small.postErrors || large.postErrors || small.released < small.posted || large.released < large.posted) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

function printTable(f: {
  trivialWorkflowsPerSec: number;
  small: RunResult;
  large: RunResult;
  ratioToTrivialSmall: number;
  ratioToTrivialLarge: number;
  costGrowth: number;
  historyEventsPerOrder: number;
  history: { shipmentEventsMean: number };
  peakRssMb: { worker: number; api: number; driver: number; source: string };
  http: HttpResult[];
  ledgerCheckOk: boolean;
}): void {
  const rows: [string, string, string][] = [];
  const runRow = (r: RunResult, ratio: number) => {
    rows.push([`orders released/s, ${r.label}${r.capped ? ` (capped: ${r.released} released)` : ''}`, String(r.ordersPerSec), `aim ≥ 40; ratio to trivial ${ratio} (aim ≥ 0.5)`]);
    rows.push([`  latency POST → released p50 / p95 / p99`, `${r.p50Ms} / ${r.p95Ms} / ${r.p99Ms} ms`, `max ${r.maxMs} ms; POST alone p50 ${r.postP50Ms}, p99 ${r.postP99Ms} ms`]);
  };
  rows.push(['trivial one-activity workflows/s', String(f.trivialWorkflowsPerSec), 'the orchestration limit, same server and worker']);
  runRow(f.small, f.ratioToTrivialSmall);
  runRow(f.large, f.ratioToTrivialLarge);
  rows.push(['cost growth (ms/order large ÷ small)', String(f.costGrowth), `${f.large.msPerOrder} ÷ ${f.small.msPerOrder} ms; aim ≤ 1.2`]);
  rows.push(['history events per order (own)', String(f.historyEventsPerOrder), `aim ≤ 60; its shipment child has ${f.history.shipmentEventsMean}`]);
  rows.push(['peak RSS worker / API (large run)', `${f.peakRssMb.worker} / ${f.peakRssMb.api} MB`, `child processes; ${f.peakRssMb.source}; driver ${f.peakRssMb.driver} MB`]);
  for (const h of f.http) rows.push([`HTTP ${h.route}`, `${h.reqPerSec} req/s`, `p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms${h.non2xx || h.errors ? `, non-2xx ${h.non2xx}, errors ${h.errors}` : ''}`]);
  rows.push(['ledger check after the bench', f.ledgerCheckOk ? 'ok' : 'FAILED', '']);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const [a, b, c] of rows) console.log(`${a.padEnd(widths[0]!)}  ${b.padStart(widths[1]!)}  ${c}`);
  console.log('');
}

await main();
