/**
 * `npm run bench:ledger`: reservations per second through the ledger (`reserve`, one
 * unit, its own key), on one hot sku and spread over 1,000, at 1, 8 and 32 connections.
 * Beside each, the raw limit on the same server in the same run: a bare conditional
 * UPDATE on a one-row (hot) or 1,000-row (spread) table at the same concurrency.
 *
 * Postgres from DATABASE_URL, else embedded under .data/bench-pg; the bench works in a
 * fresh database and drops it at the end.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createDb, type Db } from '../db/connection.js';
import { benchCleanup, benchDatabase } from './database.js';
import { checkLedger } from '../db/ledger-check.js';
import { receive, reserve } from '../db/ledger.js';
import type { Database } from '../db/schema.js';

const WARMUP_MS = 1_000;
const MEASURE_MS = 4_000;
const CONCURRENCY = [1, 8, 32];
const SPREAD_SKUS = 1_000;
const WAREHOUSE = 'BENCH';
const HOT_SKU = 'BENCH-HOT';
const spreadSku = (i: number) => `BENCH-${String(i).padStart(4, '0')}`;
// Far more than any case can reserve, so no case ever measures a refusal.
const HOT_STOCK = 10_000_000;
const SPREAD_STOCK = 100_000;

type Scenario = 'hot' | 'spread';

interface Measured {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: unknown;
}

interface CaseResult {
  case: Scenario;
  concurrency: number;
  ledgerOpsPerSec: number;
  rawOpsPerSec: number;
  ratio: number;
  ledgerP50Ms: number;
  ledgerP99Ms: number;
  rawP50Ms: number;
  rawP99Ms: number;
  errors: number;
}

const log = (line: string) => console.log(`[bench] ${line}`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * Runs `op` in `concurrency` loops for the warm-up plus the measured window; counts the
 * operations that complete inside the window (and their latencies).
 */
async function measure(concurrency: number, op: (worker: number, i: number) => Promise<void>): Promise<Measured> {
  const start = performance.now();
  const windowStart = start + WARMUP_MS;
  const windowEnd = windowStart + MEASURE_MS;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < windowEnd; i++) {
        const began = performance.now();
        try {
          await op(worker, i);
        } catch (error) {
          errors++;
          firstError ??= error;
          continue;
        }
        const ended = performance.now();
        if (ended >= windowStart && ended <= windowEnd) latencies.push(ended - began);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    opsPerSec: latencies.length / (MEASURE_MS / 1_000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors,
    firstError,
  };
}

/** A Kysely over one connection whose client records every statement it sends and how long it took. */
function countingDb(url: string): { db: Db; statements: { text: string; ms: number; end: number }[] } {
  const statements: { text: string; ms: number; end: number }[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string }).text ?? '');
      const entry = { text: text.replace(/["\s]+/g, ' ').trim().split(' ').slice(0, 3).join(' '), ms: 0, end: 0 };
      const previous = statements.at(-1) as (typeof entry) | undefined;
      statements.push(entry);
      const began = performance.now();
      const result = query(...args);
      // The client runs one statement at a time: a queued one starts when the one before ends.
      const done = () => {
        entry.end = performance.now();
        entry.ms = entry.end - Math.max(began, previous?.end ?? 0);
      };
      if (result instanceof Promise) void result.then(done, done);
      return result;
    };
  });
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), statements };
}

/**
 * Reserves `sample` times in a row on one connection and splits each reservation's time:
 * statements (in Postgres and on the wire) and Node.
 */
async function profileReservation(url: string, sample: number) {
  const counting = countingDb(url);
  let wallMs = 0;
  try {
    for (let i = 0; i < sample; i++) {
      const began = performance.now();
      await reserve(counting.db, { key: `bench:profile:${i}`, actor: 'bench' }, {
        orderId: `bench-profile-${i}`,
        channel: 'dtc',
        allowPartial: false,
        lines: [{ lineNo: 1, sku: spreadSku(i % SPREAD_SKUS), warehouse: WAREHOUSE, qty: 1 }],
      });
      wallMs += performance.now() - began;
    }
  } finally {
    await counting.db.destroy();
  }
  const all = counting.statements;
  const sum = (entries: { ms: number }[]) => entries.reduce((total, e) => total + e.ms, 0);
  const perStatement = new Map<string, number>();
  for (const e of all) perStatement.set(e.text, (perStatement.get(e.text) ?? 0) + e.ms);
  const slowest = [...perStatement].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return {
    statements: all.length / sample,
    shape: [...perStatement.keys()],
    wallMs: wallMs / sample,
    sqlMs: sum(all) / sample,
    slowest: slowest.map(([text, ms]) => ({ statement: text, ms: round(ms / sample, 3) })),
  };
}

async function seed(db: Db): Promise<void> {
  await db
    .insertInto('warehouses')
    .values({ code: WAREHOUSE, name: 'Bench', lat: 40, lon: -74, freight_base_minor: 0, freight_per_km_minor: 0, daily_capacity: 1_000_000, zones: '[]' })
    .execute();
  const skus = [HOT_SKU, ...Array.from({ length: SPREAD_SKUS }, (_, i) => spreadSku(i))];
  await db
    .insertInto('items')
    .values(skus.map((sku) => ({ sku, name: `Bench ${sku}`, price_minor: 1_000, standard_cost_minor: 500, average_cost_minor: 500 })))
    .execute();
  // Stock arrives through the ledger, so the books the bench reserves from are real.
  const receipt = (sku: string, qty: number) =>
    receive(db, { key: `bench:stock:${sku}`, actor: 'bench' }, { sku, warehouse: WAREHOUSE, qty, into: 'available', fromInbound: 0, unitCostMinor: 500, landedCostMinor: 0 });
  await receipt(HOT_SKU, HOT_STOCK);
  for (let i = 0; i < SPREAD_SKUS; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, SPREAD_SKUS - i) }, (_, j) => receipt(spreadSku(i + j), SPREAD_STOCK)));
  }
  await sql`create table bench_raw_hot (id int primary key, qty bigint not null)`.execute(db);
  await sql`insert into bench_raw_hot values (0, 1000000000000)`.execute(db);
  await sql`create table bench_raw_spread (id int primary key, qty bigint not null)`.execute(db);
  await sql`insert into bench_raw_spread select i, 1000000000000 from generate_series(0, ${SPREAD_SKUS - 1}) i`.execute(db);
  await sql`analyze`.execute(db);
}

async function main(): Promise<void> {
  const { stops, cleanup } = benchCleanup();
  try {
    const { url, name: database, server } = await benchDatabase('ops_bench', 'bench-pg', stops, log);
    const setupDb = createDb(url, 20);
    stops.push(() => setupDb.destroy());
    log(`database ${database}: migrated; stocking ${HOT_SKU} and ${SPREAD_SKUS} spread skus`);
    await seed(setupDb);

    // Where the time goes: the statements one reservation sends, counted and timed on the wire.
    const profile = await profileReservation(url, 200);
    const rtt = await measureRoundTrip(url);

    const run = randomBytes(3).toString('hex');
    const results: CaseResult[] = [];
    let errorsSeen: unknown;
    for (const scenario of ['hot', 'spread'] as const) {
      for (const concurrency of CONCURRENCY) {
        const ledgerDb = createDb(url, concurrency);
        const rawPool = new pg.Pool({ connectionString: url, max: concurrency });
        // Ctrl-C reaches Postgres too: its goodbye to idle connections must not end the bench before cleanup.
        rawPool.on('error', () => {});
        try {
          const pickSku = () => (scenario === 'hot' ? HOT_SKU : spreadSku(Math.floor(Math.random() * SPREAD_SKUS)));
          const ledger = await measure(concurrency, async (worker, i) => {
            const key = `bench:${run}:${scenario}:${concurrency}:${worker}:${i}`;
            await reserve(ledgerDb, { key, actor: 'bench', process: 'bench' }, {
              orderId: key,
              channel: 'dtc',
              allowPartial: false,
              lines: [{ lineNo: 1, sku: pickSku(), warehouse: WAREHOUSE, qty: 1 }],
            });
          });
          const table = scenario === 'hot' ? 'bench_raw_hot' : 'bench_raw_spread';
          const raw = await measure(concurrency, async () => {
            const id = scenario === 'hot' ? 0 : Math.floor(Math.random() * SPREAD_SKUS);
            const updated = await rawPool.query(`update ${table} set qty = qty - 1 where id = $1 and qty >= 1`, [id]);
            if (updated.rowCount !== 1) throw new Error(`raw row ${id} ran out`);
          });
          const errors = ledger.errors + raw.errors;
          errorsSeen ??= ledger.firstError ?? raw.firstError;
          const result: CaseResult = {
            case: scenario,
            concurrency,
            ledgerOpsPerSec: Math.round(ledger.opsPerSec),
            rawOpsPerSec: Math.round(raw.opsPerSec),
            ratio: round(ledger.opsPerSec / raw.opsPerSec, 3),
            ledgerP50Ms: round(ledger.p50Ms),
            ledgerP99Ms: round(ledger.p99Ms),
            rawP50Ms: round(raw.p50Ms),
            rawP99Ms: round(raw.p99Ms),
            errors,
          };
          results.push(result);
          log(
            `${scenario.padEnd(6)} c=${String(concurrency).padEnd(2)}  ledger ${String(result.ledgerOpsPerSec).padStart(6)} ops/s ` +
              `(p50 ${result.ledgerP50Ms} ms, p99 ${result.ledgerP99Ms} ms)  raw ${String(result.rawOpsPerSec).padStart(6)} ops/s  ` +
              `ratio ${result.ratio}${errors ? `  ERRORS ${errors}` : ''}`,
          );
        } finally {
          await ledgerDb.destroy();
          await rawPool.end();
        }
      }
    }

    const check = await checkLedger(setupDb);
    printTable(results);
    console.log(
      `where the time goes: ${profile.statements} SQL statement${profile.statements === 1 ? '' : 's'} per reservation (${profile.shape.join(' · ')}), ` +
        `round trip (select 1) ${round(rtt, 3)} ms. Alone on one connection a reservation takes ${round(profile.wallMs)} ms: ` +
        `${round(profile.sqlMs)} ms in Postgres and on the wire, ${round(profile.wallMs - profile.sqlMs)} ms in Node. ` +
        `A hot sku serializes on its available and allocated rows from their UPDATE (late in ledger_reserve) to COMMIT.`,
    );
    console.log(`ledger check after the bench: ${check.ok ? 'ok' : JSON.stringify(check.problems.slice(0, 5))}`);
    console.log(
      JSON.stringify({
        bench: 'ledger',
        server,
        warmupMs: WARMUP_MS,
        measureMs: MEASURE_MS,
        statementsPerReservation: profile.statements,
        roundTripP50Ms: round(rtt, 3),
        reservationAloneMs: round(profile.wallMs, 3),
        reservationSqlMs: round(profile.sqlMs, 3),
        slowestStatements: profile.slowest,
        ledgerCheckOk: check.ok,
        cases: results,
      }),
    );
    if (errorsSeen) {
      console.error('[bench] operations failed during the bench; first error:', errorsSeen);
      process.exitCode = 1;
    }
    if (!check.ok) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

/** Median latency of `select 1` on one connection: the floor under every statement. */
async function measureRoundTrip(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const times: number[] = [];
    for (let i = 0; i < 500; i++) {
      const began = performance.now();
      await client.query('select 1');
      times.push(performance.now() - began);
    }
    return percentile(times.sort((a, b) => a - b), 0.5);
  } finally {
    await client.end();
  }
}

function printTable(results: CaseResult[]): void {
  const header = ['case', 'concurrency', 'ledger ops/s', 'raw ops/s', 'ratio', 'ledger p50 ms', 'ledger p99 ms'];
  const rows = results.map((r) => [r.case, String(r.concurrency), String(r.ledgerOpsPerSec), String(r.rawOpsPerSec), r.ratio.toFixed(3), String(r.ledgerP50Ms), String(r.ledgerP99Ms)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('');
}

await main();
