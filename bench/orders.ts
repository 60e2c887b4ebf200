/**
 * `npm run bench`: the order path end to end (POST /orders over HTTP → the order record has
 * `released_at`), Zipf-skewed demand (s = 1.1) over 200 skus and 3 warehouses, beside a
 * trivial one-activity workflow on the same Temporal server and worker, each figure a ratio
 * within the run where a timing depends on the machine. docs/benchmarks.md says how to read it.
 *
 * Phases, against a Temporal dev server in memory:
 *   1. warm-up; trivial workflows/s (CPU per process sampled); 1,000 orders (CPU per process
 *      sampled from /proc: Temporal, worker, API, Postgres; RSS of worker and API after it);
 *   2. engine work per order from a sample of histories (and their shipment children's);
 *   3. steady load: fixed arrival rates at 25%, 50%, 75% of the 1,000-order rate, each
 *      BENCH_LEVEL_S seconds (default 60): POST and POST → released percentiles beside the
 *      API's own /metrics histogram;
 *   4. (--large) the large run, BENCH_LARGE orders; RSS watched;
 *   5. HTTP under autocannon; RSS of worker and API at the end;
 * then against the file-backed dev server as `npm start` runs it (SQLite file, WAL,
 * synchronous=normal): warm-up, trivial workflows/s and 1,000 orders again (`ratioFileBacked`).
 * The end-of-run checks: every posted order released, no POST error, ledger check clean.
 *
 * Flags: --workers N, --apis N (scale-out: N worker and N API processes against one Temporal
 * and one Postgres); --large (the large run); --no-file-backed (skip the second server).
 * Env: BENCH_LEVEL_S (seconds per load level, default 60), BENCH_SMALL (default 1000),
 * BENCH_LARGE (default 10000), BENCH_LARGE_MAX_S (stop submitting the large run after this,
 * default 1200), BENCH_CONCURRENCY (POSTs in flight in the bulk runs, default 32),
 * BENCH_SAMPLE (orders whose histories are read, default 20), BENCH_SEED,
 * BENCH_WORKER_DB_POOL (default 10); the worker's WORKER_MAX_* settings pass through.
 *
 * The stack is its own: Postgres from DATABASE_URL, else embedded under
 * .data/bench-orders-pg (a fresh database, dropped at the end); worker(s) and API(s) each in
 * a child process (bench/orders-worker.ts, bench/orders-api.ts), so their CPU and RSS are their own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'kysely';
import { rng } from '../chaos/random.js';
import { benchCleanup, benchDatabase } from './database.js';
import { engineWorkPerOrder, type EngineWork } from './engine-work.js';
import { cpuWatch, memoryOf, memoryWatch, rssOf } from './process-stats.js';
import { runSteady, type SteadyResult } from './steady-load.js';
import { createDb, type Db } from '../db/connection.js';
import { checkLedger } from '../db/ledger-check.js';
import { receive } from '../db/ledger.js';
import { projectRoot, workerLimitsFrom } from '../runtime/config.js';
import { freePort } from '../runtime/ports.js';
import { ensureSearchAttributes, startDevServer, stopChild, type RunningDevServer } from '../runtime/temporal.js';

const { values: flags } = parseArgs({
  options: {
    workers: { type: 'string', default: '1' },
    apis: { type: 'string', default: '1' },
    large: { type: 'boolean', default: false },
    'no-file-backed': { type: 'boolean', default: false },
  },
});
const positiveInt = (name: string, raw: string | undefined, fallback: number) => {
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
};
const WORKERS = positiveInt('--workers', flags.workers, 1);
const APIS = positiveInt('--apis', flags.apis, 1);
const RUN_LARGE = flags.large ?? false;
const FILE_BACKED = !flags['no-file-backed'];
const SKUS = 200;
const ZIPF_S = 1.1;
const SMALL = positiveInt('BENCH_SMALL', process.env.BENCH_SMALL, 1_000);
const LARGE = positiveInt('BENCH_LARGE', process.env.BENCH_LARGE, 10_000);
const LARGE_MAX_MS = positiveInt('BENCH_LARGE_MAX_S', process.env.BENCH_LARGE_MAX_S, 1_200) * 1_000;
const LEVEL_SECONDS = positiveInt('BENCH_LEVEL_S', process.env.BENCH_LEVEL_S, 60);
const LOAD_LEVELS = [25, 50, 75];
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', process.env.BENCH_CONCURRENCY, 32);
const HISTORY_SAMPLE = positiveInt('BENCH_SAMPLE', process.env.BENCH_SAMPLE, 20);
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
  apiUrls: string[];
  apiKey: string;
  db: Db;
  make: (orderId: string, customerId: string) => OrderBody;
  maxSubmitMs?: number;
  quiet?: boolean;
}): Promise<RunResult> {
  const { label, count, prefix, apiUrls, apiKey, db, make } = options;
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
          const response = await fetch(`${apiUrls[i % apiUrls.length]}/orders`, { method: 'POST', headers, body });
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
// The stack: one Temporal dev server, worker and API child processes

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

interface Stack {
  kind: 'in memory' | 'file-backed (WAL, synchronous=normal)';
  temporal: RunningDevServer;
  client: Client;
  workers: Child[];
  apis: Child[];
  apiUrls: string[];
  barePort: number;
  stop(): Promise<void>;
}

async function startStack(options: { fileBacked: boolean; databaseUrl: string; bundlePath: string; apiKey: string; bundleDir: string }): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch((error) => console.warn(`[bench] stop: ${String(error)}`));
  };
  try {
    const temporalPort = await freePort();
    const dbFile = options.fileBacked ? path.join(options.bundleDir, `temporal-${process.pid}.db`) : undefined;
    if (dbFile) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbFile + suffix, { force: true });
    log(`starting Temporal dev server (${dbFile ? `file ${path.relative(projectRoot, dbFile)}, WAL, synchronous=normal` : 'in memory'}, port ${temporalPort})`);
    const temporal = await startDevServer({ port: temporalPort, dbFile });
    stops.push(temporal.stop);
    if (dbFile) stops.push(async () => { for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbFile + suffix, { force: true }); });
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    await ensureSearchAttributes(connection, 'default');
    const client = new Client({ connection });
    const common = { BENCH_DATABASE_URL: options.databaseUrl, BENCH_TEMPORAL_ADDRESS: temporal.address, BENCH_TASK_QUEUE: TASK_QUEUE };
    const workers: Child[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const worker = await startChild('orders-worker.ts', { ...common, BENCH_BUNDLE_PATH: options.bundlePath }, `worker ${i + 1}`);
      stops.push(worker.stop);
      workers.push(worker);
    }
    const apis: Child[] = [];
    const apiUrls: string[] = [];
    const barePort = await freePort();
    for (let i = 0; i < APIS; i++) {
      const apiPort = await freePort();
      const env: Record<string, string> = { ...common, BENCH_API_KEY: options.apiKey, BENCH_API_PORT: String(apiPort) };
      if (i === 0) env.BENCH_BARE_PORT = String(barePort);
      const api = await startChild('orders-api.ts', env, `API ${i + 1}`);
      stops.push(api.stop);
      apis.push(api);
      apiUrls.push(`http://127.0.0.1:${apiPort}`);
    }
    const rss = (children: Child[]) => children.map((c) => `${c.pid} (${memoryOf(c.pid)?.rssMb} MB)`).join(', ');
    log(`worker pid ${rss(workers)}; API pid ${rss(apis)} at ${apiUrls.join(', ')}`);
    return { kind: dbFile ? 'file-backed (WAL, synchronous=normal)' : 'in memory', temporal, client, workers, apis, apiUrls, barePort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The postmaster's pid when the database runs on this machine (its backends are its children), else undefined. */
async function postmasterPid(db: Db): Promise<number | undefined> {
  const row = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const backend = row.rows[0]?.pid;
  try {
    const stat = fs.readFileSync(`/proc/${backend}/stat`, 'utf8');
    if (!/\((postgres|postmaster)\)/.test(stat)) return undefined;
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** CPU ms per process kind during `work`, per unit of work done (orders or workflows). */
async function withCpu<T extends { released?: number; count?: number }>(stack: Stack, postmaster: number | undefined, work: () => Promise<T>) {
  const watch = cpuWatch({
    temporal: [stack.temporal.process.pid],
    worker: stack.workers.map((w) => w.pid),
    api: stack.apis.map((a) => a.pid),
    postgres: [postmaster],
  }, { driver: process.pid });
  const result = await work();
  const { cpuMs, wallMs } = watch.stop();
  const units = Math.max(1, result.released ?? result.count ?? 1);
  const perUnit = Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, ms === undefined ? null : round(ms / units, 1)])) as Record<string, number | null>;
  const engine = ['temporal', 'worker', 'api', 'postgres'].reduce((n, name) => n + (perUnit[name] ?? 0), 0);
  return { result, cpuMsPerUnit: { ...perUnit, total: round(engine, 1) }, cpuMs, wallSeconds: round(wallMs / 1_000, 1) };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runStarted = performance.now();
  const { stops, cleanup } = benchCleanup();
  try {
    const loadAtStart = fs.readFileSync('/proc/loadavg', 'utf8').trim();
    log(`${os.cpus().length} cpus, /proc/loadavg at start: ${loadAtStart} (other work on the machine shares the cpus)`);
    const limits = workerLimitsFrom(process.env);
    log(`seed ${SEED}; ${SKUS} skus, Zipf s=${ZIPF_S}, ${warehouses.length} warehouses; ${CONCURRENCY} POSTs in flight in bulk runs; ${WORKERS} worker(s), ${APIS} API(s); worker limits ${JSON.stringify(limits)}`);
    const { url: databaseUrl, name: database, server } = await benchDatabase('ops_bench_orders', 'bench-orders-pg', stops, log);
    const db = createDb(databaseUrl, 4);
    stops.push(() => db.destroy());
    log(`database ${database} migrated; seeding ${warehouses.length * SKUS} stock places through the ledger`);
    await seed(db);
    const postmaster = await postmasterPid(db);
    if (!postmaster) log('Postgres is not a local process here: its CPU is not sampled');

    log('bundling workflows (product workflows + bench trivial workflow)');
    const bundleStarted = performance.now();
    const bundle = await bundleWorkflowCode({
      workflowsPath: path.join(here, 'orders-workflows.ts'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) },
    });
    const bundleSeconds = round((performance.now() - bundleStarted) / 1_000, 1);
    const bundleDir = path.join(projectRoot, '.data', 'bench-orders');
    fs.mkdirSync(bundleDir, { recursive: true });
    // A bench stopped hard leaves its bundle (and server file) behind: drop those older than an hour.
    for (const name of fs.readdirSync(bundleDir)) {
      const file = path.join(bundleDir, name);
      if (/^(workflow-bundle-\d+\.js|temporal-\d+\.db(-wal|-shm)?)$/.test(name) && Date.now() - fs.statSync(file).mtimeMs > 3_600_000) fs.rmSync(file, { force: true });
    }
    const bundlePath = path.join(bundleDir, `workflow-bundle-${process.pid}.js`);
    fs.writeFileSync(bundlePath, bundle.code);
    stops.push(async () => fs.rmSync(bundlePath, { force: true }));
    const bundleKb = Math.round(bundle.code.length / 1024);

    const apiKey = `bench-${randomBytes(12).toString('hex')}`;
    const run = randomBytes(3).toString('hex').toUpperCase();
    const make = orderMaker(SEED);
    const released = async (prefix: string) => Number((await sql<{ n: string }>`select count(*) as n from orders where id like ${`${prefix}%`} and released_at is not null`.execute(db)).rows[0]!.n);

    /** Warm-up, trivial workflows, the 1,000 orders: the comparison made on both servers. */
    const measure = async (stack: Stack, tag: string) => {
      log(`[${stack.kind}] warm-up: ${WARMUP_ORDERS} orders and 200 trivial workflows (not counted)`);
      const warm = await runOrders({ label: 'warm-up', count: WARMUP_ORDERS, prefix: `W${tag}${run}-`, apiUrls: stack.apiUrls, apiKey, db, make, quiet: true, maxSubmitMs: 60_000 });
      if (warm.released < warm.posted || warm.postErrors) throw new Error(`warm-up failed: ${JSON.stringify(warm)}`);
      await runTrivial(stack.client, 200, `bench-trivial-warm-${tag}${run}-`, true);
      log(`[${stack.kind}] trivial workflow: ${TRIVIAL} runs`);
      const trivial = await withCpu(stack, postmaster, () => runTrivial(stack.client, TRIVIAL, `bench-trivial-${tag}${run}-`));
      log(`[${stack.kind}] trivial: ${trivial.result.perSec}/s (${trivial.result.count} in ${trivial.result.seconds} s); CPU ms per workflow ${JSON.stringify(trivial.cpuMsPerUnit)}`);
      log(`[${stack.kind}] ${SMALL} orders`);
      const small = await withCpu(stack, postmaster, () => runOrders({ label: `${SMALL} orders`, count: SMALL, prefix: `S${tag}${run}-`, apiUrls: stack.apiUrls, apiKey, db, make }));
      const s = small.result;
      log(`[${stack.kind}] ${s.label}: ${s.ordersPerSec} released/s, p50 ${s.p50Ms} ms, p95 ${s.p95Ms} ms, p99 ${s.p99Ms} ms; CPU ms per order ${JSON.stringify(small.cpuMsPerUnit)}`);
      return { trivial, small, ratio: round(s.ordersPerSec / trivial.result.perSec, 3) };
    };

    // ---- in memory
    const memoryStack = await startStack({ fileBacked: false, databaseUrl, bundlePath, apiKey, bundleDir });
    stops.push(memoryStack.stop);
    const idleRss = { worker: rssOf(memoryStack.workers.map((w) => w.pid)), api: rssOf(memoryStack.apis.map((a) => a.pid)) };
    const inMemory = await measure(memoryStack, 'M');
    const rssAtSmall = { worker: rssOf(memoryStack.workers.map((w) => w.pid)), api: rssOf(memoryStack.apis.map((a) => a.pid)) };
    log(`RSS after ${SMALL} orders: worker ${rssAtSmall.worker.join(', ')} MB, API ${rssAtSmall.api.join(', ')} MB`);
    const peakWatch = memoryWatch(Object.fromEntries([...memoryStack.workers.map((w, i) => [`worker${i + 1}`, w.pid]), ...memoryStack.apis.map((a, i) => [`api${i + 1}`, a.pid])]));

    const sample = await db.selectFrom('orders').select('workflow_id').where('id', 'like', `SM${run}-%`).where('released_at', 'is not', null).orderBy('id').limit(HISTORY_SAMPLE).execute();
    const engine = await engineWorkPerOrder(memoryStack.client, sample.map((r) => r.workflow_id));
    log(`engine work per order (mean of ${engine.sampled}, its shipment children included): ${JSON.stringify(engine.perOrder)}`);
    log(`history events by type per order (own): ${JSON.stringify(engine.eventsByType)}`);
    log(`history events by type per order (children): ${JSON.stringify(engine.childEventsByType)}`);

    const saturation = inMemory.small.result.ordersPerSec;
    const steady: SteadyResult[] = [];
    const makeSteady = orderMaker(SEED + 2);
    for (const pct of LOAD_LEVELS) {
      const rate = (saturation * pct) / 100;
      log(`steady load ${pct}% of ${saturation}/s = ${round(rate, 1)} orders/s for ${LEVEL_SECONDS} s`);
      const prefix = `P${pct}${run}-`;
      const level = await runSteady({
        loadPct: pct,
        rate,
        seconds: LEVEL_SECONDS,
        apiUrls: memoryStack.apiUrls,
        apiKey,
        log,
        body: (i) => {
          const orderId = `${prefix}${String(i).padStart(6, '0')}`;
          return { orderId, json: JSON.stringify(makeSteady(orderId, `${prefix}c${i}`)) };
        },
        releasedAt: async (ids) => {
          const rows = await db.selectFrom('orders').select(['id', 'released_at']).where('id', 'like', `${prefix}%`).where('released_at', 'is not', null).execute();
          const wanted = new Set(ids);
          return new Map(rows.filter((r) => wanted.has(r.id)).map((r) => [r.id, r.released_at!.getTime()]));
        },
      });
      steady.push(level);
      log(
        `${pct}%: ${level.posted} posted, ${level.released} released; POST p50/p95/p99 ${level.post.p50Ms}/${level.post.p95Ms}/${level.post.p99Ms} ms ` +
          `(API histogram ${level.apiHistogram.p50Ms}/${level.apiHistogram.p95Ms}/${level.apiHistogram.p99Ms} ms over ${level.apiHistogram.count}); ` +
          `POST → released ${level.releaseLatency.p50Ms}/${level.releaseLatency.p95Ms}/${level.releaseLatency.p99Ms} ms; driver lag max ${level.maxSendLagMs} ms`,
      );
    }

    let large: RunResult | undefined;
    if (RUN_LARGE) {
      log(`large run: ${LARGE} orders (submission capped at ${LARGE_MAX_MS / 1_000} s)`);
      large = await runOrders({ label: `${LARGE} orders`, count: LARGE, prefix: `L${run}-`, apiUrls: memoryStack.apiUrls, apiKey, db, make, maxSubmitMs: LARGE_MAX_MS });
      log(`${large.label}: ${large.ordersPerSec} released/s, p50 ${large.p50Ms} ms, p95 ${large.p95Ms} ms, p99 ${large.p99Ms} ms${large.capped ? ` (capped: ${large.posted} posted)` : ''}`);
    }

    log(`HTTP: autocannon, ${CONCURRENCY} connections, ${AUTOCANNON_SECONDS} s per route`);
    const http: HttpResult[] = [];
    http.push(await cannon('GET /bare (plain Fastify, same process)', { url: `http://127.0.0.1:${memoryStack.barePort}/bare` }));
    http.push(await cannon('GET /inventory (first page: all 600 places)', { url: `${memoryStack.apiUrls[0]}/inventory`, headers: { authorization: `Bearer ${apiKey}` } }));
    let cannonOrder = 0;
    const makeCannon = orderMaker(SEED + 1);
    http.push(
      await cannon('POST /orders (answers after capture + risk screen)', {
        url: memoryStack.apiUrls[0]!,
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
    // Orders autocannon posted are released before the end-of-run check counts them.
    const cannonDeadline = Date.now() + 120_000;
    while ((await released(`A${run}-`)) < cannonOrder && Date.now() < cannonDeadline) await sleep(500);

    const ordersInMemory = Number((await sql<{ n: string }>`select count(*) as n from orders where id like ${`%${run}-%`}`.execute(db)).rows[0]!.n);
    const rssAtEnd = { worker: rssOf(memoryStack.workers.map((w) => w.pid)), api: rssOf(memoryStack.apis.map((a) => a.pid)) };
    const peaks = peakWatch.stop();
    log(`RSS at the end (${ordersInMemory} orders on this server): worker ${rssAtEnd.worker.join(', ')} MB, API ${rssAtEnd.api.join(', ')} MB`);
    await memoryStack.stop();

    // ---- file-backed, as `npm start` runs it
    let fileBacked: Awaited<ReturnType<typeof measure>> | undefined;
    if (FILE_BACKED) {
      const fileStack = await startStack({ fileBacked: true, databaseUrl, bundlePath, apiKey, bundleDir });
      stops.push(fileStack.stop);
      fileBacked = await measure(fileStack, 'F');
      await fileStack.stop();
    }

    // ---- end-of-run checks
    const check = await checkLedger(db);
    const statusRows = await sql<{ status: string; n: string; released: string }>`
      select status, count(*) as n, count(released_at) as released from orders where id like ${`%${run}-%`} group by status`.execute(db);
    const orderCount = statusRows.rows.reduce((n, r) => n + Number(r.n), 0);
    const releasedCount = statusRows.rows.reduce((n, r) => n + Number(r.released), 0);
    const steadyShort = steady.filter((l) => l.released < l.posted || l.postErrors);
    const bulkRuns = [inMemory.small.result, fileBacked?.small.result, large].filter((r): r is RunResult => r !== undefined);
    const bulkShort = bulkRuns.filter((r) => r.released < r.posted || r.postErrors);
    const settled = orderCount === releasedCount;

    const rssFlat = (end: number[], at: number[]) => end.map((e, i) => round(e / Math.max(1, at[i]!), 2));
    const latency = Object.fromEntries(
      steady.map((l) => [`${l.loadPct}%`, { perSec: l.targetPerSec, post: l.post, released: l.releaseLatency, apiHistogram: l.apiHistogram, posted: l.posted, releasedCount: l.released, postErrors: l.postErrors }]),
    );
    const figures = {
      bench: 'orders',
      ordersPerSecond: inMemory.small.result.ordersPerSec,
      trivialPerSecond: inMemory.trivial.result.perSec,
      ratio: inMemory.ratio,
      ordersPerSecondFileBacked: fileBacked?.small.result.ordersPerSec ?? null,
      trivialPerSecondFileBacked: fileBacked?.trivial.result.perSec ?? null,
      ratioFileBacked: fileBacked?.ratio ?? null,
      fileBackedToInMemory: fileBacked ? round(fileBacked.small.result.ordersPerSec / inMemory.small.result.ordersPerSec, 3) : null,
      latency,
      eventsPerOrder: engine.perOrder.events,
      engineWorkPerOrder: engine.perOrder,
      eventsByTypePerOrder: engine.eventsByType,
      childEventsByTypePerOrder: engine.childEventsByType,
      cpuMsPerOrder: inMemory.small.cpuMsPerUnit,
      cpuMsPerTrivial: inMemory.trivial.cpuMsPerUnit,
      cpuMsPerOrderFileBacked: fileBacked?.small.cpuMsPerUnit ?? null,
      rssMb: {
        idle: idleRss,
        [`after${SMALL}`]: rssAtSmall,
        end: rssAtEnd,
        ordersAtEnd: ordersInMemory,
        endToSmall: { worker: rssFlat(rssAtEnd.worker, rssAtSmall.worker), api: rssFlat(rssAtEnd.api, rssAtSmall.api) },
        peakAfterSmall: peaks,
      },
      small: inMemory.small.result,
      smallFileBacked: fileBacked?.small.result ?? null,
      large: large ?? null,
      http,
      checks: { everyOrderReleased: settled, orders: orderCount, released: releasedCount, statuses: Object.fromEntries(statusRows.rows.map((r) => [r.status, Number(r.n)])), ledgerCheckOk: check.ok },
      workers: WORKERS,
      apis: APIS,
      workerLimits: limits,
      workerDbPool: Number(process.env.BENCH_WORKER_DB_POOL ?? 10),
      server,
      seed: SEED,
      concurrency: CONCURRENCY,
      levelSeconds: LEVEL_SECONDS,
      bundleSeconds,
      bundleKb,
      cpus: os.cpus().length,
      loadavgAtStart: loadAtStart,
      loadavgAtEnd: fs.readFileSync('/proc/loadavg', 'utf8').trim(),
      totalSeconds: round((performance.now() - runStarted) / 1_000, 1),
    };
    printTable(figures, steady);
    if (!check.ok) console.log(`ledger check: ${JSON.stringify(check.problems.slice(0, 5))}`);
    if (!settled) console.log(`not every order was released: ${JSON.stringify(figures.checks.statuses)}`);
    console.log(JSON.stringify(figures));
    if (!check.ok || !settled || steadyShort.length > 0 || bulkShort.length > 0) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

function printTable(f: Record<string, unknown> & {
  ordersPerSecond: number;
  trivialPerSecond: number;
  ratio: number;
  ordersPerSecondFileBacked: number | null;
  trivialPerSecondFileBacked: number | null;
  ratioFileBacked: number | null;
  fileBackedToInMemory: number | null;
  small: RunResult;
  large: RunResult | null;
  engineWorkPerOrder: EngineWork;
  cpuMsPerOrder: Record<string, number | null>;
  cpuMsPerTrivial: Record<string, number | null>;
  rssMb: { end: { worker: number[]; api: number[] }; ordersAtEnd: number; endToSmall: { worker: number[]; api: number[] } } & Record<string, unknown>;
  http: HttpResult[];
  checks: { everyOrderReleased: boolean; ledgerCheckOk: boolean; orders: number };
  workers: number;
  apis: number;
}, steady: SteadyResult[]): void {
  const rows: [string, string, string][] = [];
  const cpu = (c: Record<string, number | null>) => `Temporal ${c.temporal ?? '-'} + worker ${c.worker ?? '-'} + API ${c.api ?? '-'} + Postgres ${c.postgres ?? '-'} = ${c.total} ms`;
  const w = f.engineWorkPerOrder;
  const atSmall = f.rssMb[`after${SMALL}`] as { worker: number[]; api: number[] };
  rows.push(['processes', `${f.workers} worker, ${f.apis} API`, 'one Temporal dev server, one Postgres']);
  rows.push(['trivial one-activity workflows/s (in memory)', String(f.trivialPerSecond), `CPU per workflow: ${cpu(f.cpuMsPerTrivial)}`]);
  rows.push([`orders released/s, ${SMALL} orders (in memory)`, String(f.ordersPerSecond), `ratio to trivial ${f.ratio} (aim ≥ 0.6, stretch 0.75)`]);
  rows.push(['  latency POST → released p50 / p95 / p99', `${f.small.p50Ms} / ${f.small.p95Ms} / ${f.small.p99Ms} ms`, `bulk, ${f.small.requested} at ${CONCURRENCY} in flight; POST alone p50 ${f.small.postP50Ms}, p99 ${f.small.postP99Ms} ms`]);
  rows.push(['  CPU ms per order', String(f.cpuMsPerOrder.total), cpu(f.cpuMsPerOrder)]);
  if (f.ratioFileBacked !== null) {
    rows.push(['trivial workflows/s (file-backed, as npm start)', String(f.trivialPerSecondFileBacked), '']);
    rows.push([`orders released/s, ${SMALL} orders (file-backed)`, String(f.ordersPerSecondFileBacked), `ratioFileBacked ${f.ratioFileBacked}; file-backed ÷ in-memory orders/s ${f.fileBackedToInMemory}`]);
  }
  rows.push(['engine work per order (order + shipment)', `${w.events} events`, `own ${w.eventsOwn}, children ${w.eventsChildren}; ${w.workflowTasks} workflow tasks`]);
  rows.push(['  activities local / remote', `${w.localActivities} / ${w.remoteActivities}`, `timers ${w.timers}, patch markers ${w.patchMarkers}, child workflows ${w.childWorkflows}`]);
  rows.push(['  updates / signals in / signals out', `${w.updates} / ${w.signalsReceived} / ${w.signalsSent}`, `search-attribute upserts ${w.searchAttributeUpserts}, memo upserts ${w.memoUpserts}`]);
  rows.push(['  payload bytes / history bytes', `${w.payloadBytes} / ${w.historyBytes}`, '']);
  for (const l of steady) {
    rows.push([`steady ${l.loadPct}% (${l.targetPerSec}/s) POST p50 / p95 / p99`, `${l.post.p50Ms} / ${l.post.p95Ms} / ${l.post.p99Ms} ms`, `API /metrics histogram ${l.apiHistogram.p50Ms} / ${l.apiHistogram.p95Ms} / ${l.apiHistogram.p99Ms} ms (${l.apiHistogram.count} requests)${l.loadPct === 50 ? '; aim p99 ≤ 250 ms' : ''}`]);
    rows.push([`  POST → released p50 / p95 / p99`, `${l.releaseLatency.p50Ms} / ${l.releaseLatency.p95Ms} / ${l.releaseLatency.p99Ms} ms`, `${l.released}/${l.posted} released${l.postErrors ? `, POST errors ${l.postErrors}` : ''}${l.loadPct === 50 ? '; aim p99 ≤ 1,000 ms' : ''}`]);
  }
  if (f.large) rows.push([`orders released/s, ${f.large.label}${f.large.capped ? ` (capped: ${f.large.released} released)` : ''}`, String(f.large.ordersPerSec), `p50 / p99 ${f.large.p50Ms} / ${f.large.p99Ms} ms`]);
  rows.push([`RSS worker / API after ${SMALL} orders`, `${atSmall.worker.join(', ')} / ${atSmall.api.join(', ')} MB`, '']);
  rows.push([`RSS worker / API at the end (${f.rssMb.ordersAtEnd} orders)`, `${f.rssMb.end.worker.join(', ')} / ${f.rssMb.end.api.join(', ')} MB`, `end ÷ after ${SMALL}: worker ${f.rssMb.endToSmall.worker.join(', ')}, API ${f.rssMb.endToSmall.api.join(', ')} (aim within 0.9–1.1)`]);
  for (const h of f.http) rows.push([`HTTP ${h.route}`, `${h.reqPerSec} req/s`, `p50 ${h.p50Ms} ms, p99 ${h.p99Ms} ms${h.non2xx || h.errors ? `, non-2xx ${h.non2xx}, errors ${h.errors}` : ''}`]);
  rows.push(['every order released', f.checks.everyOrderReleased ? 'yes' : 'NO', `${f.checks.orders} orders`]);
  rows.push(['ledger check after the bench', f.checks.ledgerCheckOk ? 'ok' : 'FAILED', '']);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const [a, b, c] of rows) console.log(`${a.padEnd(widths[0]!)}  ${b.padStart(widths[1]!)}  ${c}`);
  console.log('');
}

await main();
