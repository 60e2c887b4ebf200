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
  // An idle connection dropped by the server (restart, shutdown) must not crash the process;
  // the pool replaces it on next use.
  pool.on('error', (error) => console.warn(`[db] idle connection closed: ${error.message}`));
  // A connection that dies while a caller holds it (the server restarted mid-transaction) fails
  // that caller's query; without a listener its 'error' event would end the process.
  pool.on('connect', (client) => client.on('error', (error) => console.warn(`[db] connection lost while in use: ${error.message}`)));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
