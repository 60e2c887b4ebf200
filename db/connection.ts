import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// bigint columns hold minor units and quantities: read them as numbers, and
// refuse a value a JavaScript number cannot hold exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`bigint ${text} is beyond 2^53`);
  return value;
});

export type Db = Kysely<Database>;

export interface DbLimits {
  /** Waiting for a pooled connection, or for the server to accept a new one. */
  connectTimeoutMs: number;
  /** The server cancels a statement running longer (0: no limit). */
  queryTimeoutMs: number;
  /** Requests waiting for a connection; past this, a request is refused at once (0: no bound). */
  maxQueue: number;
}

/** A request refused because too many already wait for a database connection. */
export class PoolQueueFull extends Error {
  readonly code = 'POOL_QUEUE_FULL';
  constructor(readonly waiting: number) {
    super(`${waiting} requests already wait for a database connection`);
  }
}

/** What the pool sees, for metrics: connections in use, requests waiting, the bound, refusals. */
export const poolStats = { pools: new Set<pg.Pool>(), maxQueue: 0, refused: 0 };

class BoundedPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly maxQueue: number,
  ) {
    super(config);
  }

  // Only the promise form is used (Kysely); a full queue fails at once instead of waiting.
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    if (this.maxQueue > 0 && this.waitingCount >= this.maxQueue && this.idleCount === 0) {
      poolStats.refused += 1;
      const error = new PoolQueueFull(this.waitingCount);
      if (callback) return callback(error, undefined, () => {});
      return Promise.reject(error);
    }
    return callback ? super.connect(callback) : super.connect();
  }
}

export function createDb(url: string, poolSize = 10, limits: Partial<DbLimits> = {}): Db {
  const pool = new BoundedPool(
    {
      connectionString: url,
      max: poolSize,
      ...(limits.connectTimeoutMs ? { connectionTimeoutMillis: limits.connectTimeoutMs } : {}),
      ...(limits.queryTimeoutMs ? { statement_timeout: limits.queryTimeoutMs } : {}),
    },
    limits.maxQueue ?? 0,
  );
  if (limits.maxQueue) {
    poolStats.maxQueue = Math.max(poolStats.maxQueue, limits.maxQueue);
    poolStats.pools.add(pool);
  }
  // A connection the server drops (restart, shutdown, pg_terminate_backend) must not end the
  // process: idle, the pool replaces it on next use; in use, the caller's query fails. The
  // client's own listener says so once; the pool's (for idle clients) only keeps it from throwing.
  pool.on('connect', (client) => client.on('error', (error) => console.warn(`[db] connection closed by the server: ${error.message}`)));
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    poolStats.pools.delete(pool);
    await destroy();
  };
  return db;
}
