/**
 * Faults at seeded random moments while the load runs: kill -9 of the worker (restarted
 * on the same task queue) and of the Temporal dev server (restarted on the same SQLite
 * file and port), the worker's and the API's Postgres connections cut, and Postgres stopped and started
 * again. Each kind comes at least once, however long the recoveries take; then worker kills are the
 * most frequent. The worker's own hook (kill itself right after a commit) runs beside these.
 */
import { between, chance, type Random } from './random.js';
import type { ChaosStack } from './stack.js';

export type FaultKind = 'kill_worker' | 'exit_worker_after_commit' | 'kill_temporal' | 'terminate_pg_connections' | 'restart_postgres';

export interface Fault {
  kind: FaultKind;
  /** Seconds since the load began. */
  at: number;
  detail: string;
  /** Until the service was back (restart done), in ms. */
  recoveredMs: number;
  /** The fault's window, epoch ms: from the moment it was injected until the service was back. */
  startedAt: number;
  endedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const weights: Record<FaultKind, number> = { kill_worker: 3, exit_worker_after_commit: 2, kill_temporal: 1.5, terminate_pg_connections: 1.5, restart_postgres: 1 };

export async function injectFaults(
  stack: ChaosStack,
  random: Random,
  options: { startedAt: number; stopAt: number; meanGapMs: number; isStopped: () => boolean; log: (line: string) => void },
): Promise<Fault[]> {
  const kinds = (Object.keys(weights) as FaultKind[]).filter((k) => k !== 'restart_postgres' || stack.ownsPostgres);
  // Every kind once first, in a seeded order, then by weight.
  const firsts = [...kinds].sort(() => random() - 0.5);
  const faults: Fault[] = [];
  // Let the load get going before the first fault.
  await sleep(Math.min(5_000, (options.stopAt - Date.now()) / 4));
  while (!options.isStopped()) {
    let gap = between(random, Math.round(options.meanGapMs * 0.5), Math.round(options.meanGapMs * 1.5));
    const left = options.stopAt - 2_000 - Date.now();
    if (firsts.length > 0) {
      // Recoveries take longer on a busy machine: the kinds still to come share what is left
      // of the window, and come even when it is spent, so that every kind is injected.
      gap = Math.min(gap, Math.max(0, Math.floor(left / (firsts.length + 1))));
    } else if (gap > left) {
      break;
    }
    await sleep(gap);
    if (options.isStopped()) break;
    const kind = firsts.shift() ?? weighted(random, kinds);
    const began = Date.now();
    let detail: string;
    try {
      detail = await inject(stack, kind, random);
    } catch (error) {
      detail = `failed: ${(error as Error).message}`;
    }
    const ended = Date.now();
    const fault: Fault = { kind, at: Math.round((began - options.startedAt) / 100) / 10, detail, recoveredMs: ended - began, startedAt: began, endedAt: ended };
    faults.push(fault);
    options.log(`fault at ${fault.at}s: ${kind} — ${detail} (back in ${fault.recoveredMs} ms)`);
  }
  return faults;
}

function weighted(random: Random, kinds: FaultKind[]): FaultKind {
  let roll = random() * kinds.reduce((n, k) => n + weights[k], 0);
  return kinds.find((k) => (roll -= weights[k]) < 0) ?? kinds[0]!;
}

async function inject(stack: ChaosStack, kind: FaultKind, random: Random): Promise<string> {
  switch (kind) {
    case 'kill_worker': {
      await stack.workerUp();
      await stack.killWorker();
      return 'worker killed with SIGKILL and started again';
    }
    case 'exit_worker_after_commit':
      return stack.exitWorkerAfterNextCommit();
    case 'kill_temporal': {
      await stack.killTemporal();
      const down = between(random, 300, 2_000);
      await sleep(down);
      await stack.startTemporal();
      return `dev server killed with SIGKILL, down ${down} ms, started again on the same SQLite file and port`;
    }
    case 'terminate_pg_connections': {
      const cut = await stack.terminateConnections();
      // Now and then twice in a row, while the pools reconnect.
      const again = chance(random, 0.3) ? await (async () => (await sleep(between(random, 100, 800)), stack.terminateConnections()))() : { worker: 0, api: 0 };
      return `pg_terminate_backend on ${cut.worker + again.worker} worker and ${cut.api + again.api} API connections`;
    }
    case 'restart_postgres': {
      await stack.restartPostgres();
      return 'PostgreSQL crashed (immediate shutdown: connections cut, no checkpoint) and started again on the same data, recovering from its WAL';
    }
  }
}
