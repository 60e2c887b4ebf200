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

export function createDb(url: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A connection the server drops (restart, shutdown, pg_terminate_backend) must not end the
  // process: idle, the pool replaces it on next use; in use, the caller's query fails. The
  // client's own listener says so once; the pool's (for idle clients) only keeps it from throwing.
  pool.on('connect', (client) => client.on('error', (error) => console.warn(`[db] connection closed by the server: ${error.message}`)));
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
