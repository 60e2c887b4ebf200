/**
 * The short chaos run in CI: `npm run chaos -- --seconds 45 --seed 20261127` as a child
 * process (its own Postgres, Temporal dev server and worker, all removed at its end), held
 * to its exit code and its final JSON line: every kind of fault was injected, nothing
 * the load sent (orders, shipments, purchase orders, transfers, returns and their refunds)
 * was lost or done twice, every write answered 2xx shows in the records, and the client
 * never got a 500, a 503 without Retry-After or no answer in time — while some fault made
 * the API say 503 with Retry-After. It prints the answers by fault.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../runtime/config.js';

const SEED = 20261127;
const SECONDS = 45;

type AnswerCounts = Record<'2xx' | '4xx' | '503' | '5xx' | 'no_answer' | 'hang' | 'maxMs', number>;

interface ChaosSummary {
  chaos: 'ok' | 'failed';
  seed: number;
  error?: string;
  lost: number;
  doubled: number;
  lostUnits: number;
  doubledUnits: number;
  faults: Record<string, number | boolean>;
  load: { scenarios: Record<string, { started: number; finished: number; failed: number }>; duplicatesSent: number; outOfOrderSent: number; failures: string[]; surprises: string[] };
  figures: {
    orders: { submitted: number; recorded: number; closed: number; asExpected: number };
    shipments: { reportedShipped: number; shipped: number; confirmationEntries: number };
    units: { shippedSent: number; movedToCustomer: number; receivedSent: number; receivedFromSupplier: number; returnedSent: number; movedCustomerToReturnPending: number; inspectedOutOfReturnPending: number };
    purchaseOrders: { sent: number; closed: number };
    returns: { driven: number; recorded: number; closed: number; approved: number; exchanges: number; replacementOrders: number; dispositions: Record<string, number> };
    refunds: { driven: number; drivenMinor: number; gatewayRefunds: number; gatewayMinor: number; refundEntries: number; creditEntries: number };
  };
  checks: Record<string, boolean>;
  answers: Record<string, AnswerCounts>;
  answerDeadlineMs: number;
}

function runChaos(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'chaos', 'run.ts'), '--seconds', String(SECONDS), '--seed', String(SEED), '--drain-seconds', '180'], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Bounded: the run itself stops draining after 180 s; past this something hangs.
    const timer = setTimeout(() => child.kill('SIGINT'), 330_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('chaos (short run)', () => {
  it(`under faults and duplicated, out-of-order events nothing is lost or doubled (seed ${SEED}, ${SECONDS} s)`, async () => {
    const { code, output } = await runChaos();
    const tail = output.split('\n').slice(-60).join('\n');
    const last = output.trim().split('\n').filter((line) => line.startsWith('{')).at(-1);
    expect(last, `no final JSON line; output ends:\n${tail}`).toBeDefined();
    const summary = JSON.parse(last!) as ChaosSummary;
    expect(summary.error, tail).toBeUndefined();
    expect(summary.seed).toBe(SEED);
    // The answers by fault, as the run printed them.
    const lines = output.split('\n');
    const from = lines.findIndex((line) => line.startsWith('Answers by fault'));
    if (from >= 0) console.log(lines.slice(from, lines.indexOf('', from)).join('\n'));

    // The client's view: never a 500, a 503 without Retry-After, or no answer within the
    // deadline; and the classification was exercised: some fault made the API answer 503.
    expect(summary.checks.answers, `answers check; output ends:\n${tail}`).toBe(true);
    const answers = Object.entries(summary.answers);
    expect(answers.reduce((n, [, c]) => n + c['5xx'] + c.hang, 0), JSON.stringify(summary.answers)).toBe(0);
    expect(answers.filter(([kind, c]) => kind !== 'none' && c['503'] > 0).map(([kind]) => kind), JSON.stringify(summary.answers)).not.toEqual([]);
    for (const [kind, c] of answers) expect(c.maxMs, kind).toBeLessThanOrEqual(summary.answerDeadlineMs);
    expect(summary.checks['answered 2xx: every write shows in the records'], tail).toBe(true);

    // Every kind of fault happened (a Postgres restart only when the run started its own).
    for (const kind of ['kill_worker', 'exit_worker_after_commit', 'kill_temporal', 'terminate_pg_connections']) {
      expect(summary.faults[kind], `${kind} injected; output ends:\n${tail}`).toBeGreaterThanOrEqual(1);
    }
    if (!summary.faults.postgres_restart_skipped) expect(summary.faults.restart_postgres, tail).toBeGreaterThanOrEqual(1);
    expect(summary.faults.failed_injections).toBe(0);
    expect(summary.load.duplicatesSent).toBeGreaterThan(20);
    expect(summary.load.outOfOrderSent).toBeGreaterThan(0);

    // Nothing lost or doubled, and the figures agree.
    expect({ failures: summary.load.failures, surprises: summary.load.surprises }, tail).toEqual({ failures: [], surprises: [] });
    expect(Object.entries(summary.checks).filter(([, ok]) => !ok).map(([name]) => name), tail).toEqual([]);
    expect({ lost: summary.lost, doubled: summary.doubled, lostUnits: summary.lostUnits, doubledUnits: summary.doubledUnits }).toEqual({ lost: 0, doubled: 0, lostUnits: 0, doubledUnits: 0 });
    const { orders, shipments, units, purchaseOrders } = summary.figures;
    expect(orders.submitted).toBeGreaterThan(10);
    expect([orders.recorded, orders.closed, orders.asExpected]).toEqual([orders.submitted, orders.submitted, orders.submitted]);
    expect(shipments.reportedShipped).toBeGreaterThan(5);
    expect([shipments.shipped, shipments.confirmationEntries]).toEqual([shipments.reportedShipped, shipments.reportedShipped]);
    expect(units.movedToCustomer).toBe(units.shippedSent);
    expect(purchaseOrders.closed).toBe(purchaseOrders.sent);
    expect(units.receivedFromSupplier).toBe(units.receivedSent);

    // Returns: each driven to its end; every disposition, a finance approval and an exchange
    // happened; units back = units received; one gateway refund and one entry per refund.
    const { returns, refunds } = summary.figures;
    expect(returns.driven).toBeGreaterThanOrEqual(4);
    expect([returns.recorded, returns.closed]).toEqual([returns.driven, returns.driven]);
    expect(returns.approved, tail).toBeGreaterThanOrEqual(1);
    expect(returns.exchanges, tail).toBeGreaterThanOrEqual(1);
    expect(returns.replacementOrders).toBe(returns.exchanges);
    for (const disposition of ['restock', 'refurbish', 'damaged', 'vendor_return']) expect(returns.dispositions[disposition], `${disposition}; output ends:\n${tail}`).toBeGreaterThanOrEqual(1);
    expect(units.returnedSent).toBeGreaterThan(0);
    expect([units.movedCustomerToReturnPending, units.inspectedOutOfReturnPending]).toEqual([units.returnedSent, units.returnedSent]);
    expect(refunds.driven).toBeGreaterThanOrEqual(1);
    expect([refunds.gatewayRefunds, refunds.gatewayMinor]).toEqual([refunds.driven, refunds.drivenMinor]);
    expect(refunds.refundEntries + refunds.creditEntries).toBe(returns.driven);
    expect(summary.chaos, tail).toBe('ok');
    expect(code, tail).toBe(0);
  }, 360_000);
});
