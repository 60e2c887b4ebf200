/**
 * The API under dependency trouble and overload: it says "try again later" (503 with
 * Retry-After) quickly and plainly, and never lets latency grow without bound.
 *
 * - A failure that comes from PostgreSQL or Temporal being down, slow or saturated is a 503
 *   `dependency_unavailable` (or `overloaded`) naming the dependency, never a 500.
 * - A monitor looks at both every `HEALTH_PROBE_INTERVAL`; while PostgreSQL is known to be
 *   down, a write is refused at once instead of waiting on a process that cannot move.
 * - The requests in flight are bounded (`API_MAX_IN_FLIGHT`); past the bound, 503 at once.
 */
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sql } from 'kysely';
import { PoolQueueFull, type Db } from '../db/connection.js';
import type { Resilience } from '../runtime/config.js';
import { OVERLOADED_DETAIL } from '../runtime/temporal-client.js';

export type Dependency = 'postgres' | 'temporal';

export interface DependencyTrouble {
  dependency: Dependency;
  /** `unavailable`: cannot be reached; `timeout`: did not answer in time; `overloaded`: this API's own bound. */
  reason: 'unavailable' | 'timeout' | 'overloaded';
}

/** Node's socket errors, and PostgreSQL's "cannot take you now" SQLSTATEs. */
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const unavailableSqlStates = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const pgDisconnect = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|connection is not open/i;

// gRPC status codes
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const ABORTED = 10;
const INTERNAL = 13;
const UNAVAILABLE = 14;

/** Thrown by a route that cannot answer without a dependency that is down. */
export class DependencyUnavailable extends Error {
  constructor(
    readonly trouble: DependencyTrouble,
    message: string,
  ) {
    super(message);
  }
}

/** Whether a failure means a dependency is down, slow or saturated; undefined for anything else. */
export function dependencyTrouble(error: unknown): DependencyTrouble | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DependencyUnavailable) return e.trouble;
    if (e instanceof PoolQueueFull) return { dependency: 'postgres', reason: 'overloaded' };
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { dependency: 'temporal', reason: 'timeout' };
    if (isGrpcServiceError(e)) {
      if (e.code === UNAVAILABLE) return { dependency: 'temporal', reason: 'unavailable' };
      if (e.code === DEADLINE_EXCEEDED) return { dependency: 'temporal', reason: 'timeout' };
      if (e.code === RESOURCE_EXHAUSTED) return { dependency: 'temporal', reason: e.details === OVERLOADED_DETAIL ? 'overloaded' : 'unavailable' };
      // The server's own failure (a restart in progress, a shard not yet owned): not the request's fault.
      if (e.code === INTERNAL || e.code === UNKNOWN || e.code === ABORTED) return { dependency: 'temporal', reason: 'unavailable' };
      // Right after a restart a server may not know its namespace yet.
      if (e.code === NOT_FOUND && /namespace/i.test(e.details)) return { dependency: 'temporal', reason: 'unavailable' };
      continue;
    }
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : '';
    // The API's only plain-socket client is the pg driver: Temporal's failures come as gRPC statuses.
    if (typeof code === 'string' && socketCodes.has(code)) return { dependency: 'postgres', reason: 'unavailable' };
    if (typeof code === 'string' && unavailableSqlStates.has(code)) return { dependency: 'postgres', reason: 'unavailable' };
    if (code === '57014') return { dependency: 'postgres', reason: 'timeout' }; // statement timeout
    if (pgDisconnect.test(message)) return { dependency: 'postgres', reason: message.includes('timeout') ? 'timeout' : 'unavailable' };
    if (/Failed to connect to Temporal server/i.test(message)) return { dependency: 'temporal', reason: 'unavailable' };
  }
  return undefined;
}

export interface DependencyState {
  ok: boolean;
  /** When the state last changed. */
  since: string;
  latencyMs?: number;
}

/** Looks at PostgreSQL and Temporal on a timer, and hears of trouble from requests in between. */
export class DependencyMonitor {
  readonly state: Record<Dependency, DependencyState> = {
    postgres: { ok: true, since: new Date().toISOString() },
    temporal: { ok: true, since: new Date().toISOString() },
  };
  private timer?: NodeJS.Timeout;
  private probing = false;
  private readonly slowProbes: Record<Dependency, number> = { postgres: 0, temporal: 0 };

  constructor(
    private readonly db: Db,
    private readonly temporal: Client,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  isDown(dependency: Dependency): boolean {
    return !this.state[dependency].ok;
  }

  /** A request saw the dependency fail: believed until the next probe says otherwise. */
  markDown(dependency: Dependency): void {
    this.set(dependency, false);
  }

  async probe(): Promise<Record<Dependency, DependencyState>> {
    if (this.probing) return this.state;
    this.probing = true;
    try {
      const deadline = 2_000;
      const [postgres, temporal] = await Promise.all([
        timed(() => withTimeout(sql`select 1`.execute(this.db), deadline)),
        timed(() => this.temporal.withDeadline(Date.now() + deadline, () => this.temporal.connection.workflowService.getSystemInfo({}))),
      ]);
      this.observe('postgres', postgres);
      this.observe('temporal', temporal);
    } finally {
      this.probing = false;
    }
    return this.state;
  }

  /**
   * A refused connection means down at once; a slow answer only after several in a row, so a
   * machine under load does not turn writes away while its database still works.
   */
  private observe(dependency: Dependency, probe: { ok: boolean; refused: boolean; latencyMs: number }): void {
    this.slowProbes[dependency] = probe.ok || probe.refused ? 0 : this.slowProbes[dependency] + 1;
    const ok = probe.ok || (!probe.refused && this.slowProbes[dependency] < SLOW_PROBES_BEFORE_DOWN && this.state[dependency].ok);
    this.set(dependency, ok, probe.latencyMs);
  }

  private set(dependency: Dependency, ok: boolean, latencyMs?: number): void {
    const current = this.state[dependency];
    this.state[dependency] = { ok, since: current.ok === ok ? current.since : new Date().toISOString(), ...(latencyMs !== undefined ? { latencyMs } : {}) };
  }
}

/** A probe's outcome: `refused` when the server cannot be reached at all, `slow` when it did not answer in time. */
async function timed(probe: () => Promise<unknown>): Promise<{ ok: boolean; refused: boolean; latencyMs: number }> {
  const started = performance.now();
  try {
    await probe();
    return { ok: true, refused: false, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, refused: dependencyTrouble(error)?.reason === 'unavailable', latencyMs: Math.round(performance.now() - started) };
  }
}

/** Probes in a row that may be slow before a busy but working server is taken for down. */
const SLOW_PROBES_BEFORE_DOWN = 3;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Counters and gauges for /metrics. */
export const shedding = { inFlight: 0, maxInFlight: 0, refused: new Map<string, number>() };

const countRefusal = (reason: string) => shedding.refused.set(reason, (shedding.refused.get(reason) ?? 0) + 1);

export function unavailable(reply: FastifyReply, trouble: DependencyTrouble, retryAfterSeconds: number): FastifyReply {
  countRefusal(`${trouble.dependency}_${trouble.reason}`);
  const overloaded = trouble.reason === 'overloaded';
  return reply
    .code(503)
    .header('retry-after', String(retryAfterSeconds))
    .send({
      error: {
        code: overloaded ? 'overloaded' : 'dependency_unavailable',
        message: overloaded
          ? `the API is at its bound for ${trouble.dependency === 'postgres' ? 'database' : 'Temporal'} work; retry in ${retryAfterSeconds} s`
          : `${trouble.dependency === 'postgres' ? 'PostgreSQL' : 'Temporal'} is ${trouble.reason === 'timeout' ? 'not answering in time' : 'unavailable'}; retry in ${retryAfterSeconds} s`,
        details: trouble,
      },
    });
}

/** Paths that must answer even when the API sheds work: health and metrics. */
const neverShed = (url: string) => url.startsWith('/health') || url === '/metrics';

/**
 * Bounds the requests in flight, and refuses writes at once while PostgreSQL is known to be
 * down. Registered before the routes (and before auth, so a shed request costs nothing).
 */
export function registerLoadShedding(app: FastifyInstance, monitor: DependencyMonitor, limits: Resilience['api']): void {
  shedding.maxInFlight = limits.maxInFlight;
  app.addHook('onRequest', async (request, reply) => {
    const url = request.url.split('?')[0]!;
    if (neverShed(url)) return;
    if (shedding.inFlight >= limits.maxInFlight) {
      countRefusal('api_in_flight');
      return reply
        .code(503)
        .header('retry-after', String(limits.retryAfterSeconds))
        .send({ error: { code: 'overloaded', message: `the API is working on ${shedding.inFlight} requests, its bound; retry in ${limits.retryAfterSeconds} s`, details: { inFlight: shedding.inFlight, limit: limits.maxInFlight } } });
    }
    shedding.inFlight += 1;
    reply.raw.once('close', () => {
      shedding.inFlight -= 1;
    });
    const write = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
    if (write && monitor.isDown('postgres')) return unavailable(reply, { dependency: 'postgres', reason: 'unavailable' }, limits.retryAfterSeconds);
  });
}
