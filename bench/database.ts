/** A fresh, migrated database for one benchmark run, on DATABASE_URL's server or an embedded one. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { migrateToLatest } from '../db/migrate.js';
import { createDb } from '../db/connection.js';
import { projectRoot } from '../runtime/config.js';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, withDatabase } from '../runtime/postgres.js';
import { freePort } from '../runtime/ports.js';

/**
 * What a benchmark started, stopped in reverse order at its end (`cleanup`), also on
 * Ctrl-C; a step that fails to stop is reported and the others still run.
 */
export function benchCleanup(): { stops: (() => Promise<void>)[]; cleanup: () => Promise<void> } {
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((error) => console.warn(`[bench] cleanup: ${String(error)}`));
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });
  return { stops, cleanup };
}

export interface BenchDatabase {
  url: string;
  name: string;
  /** What the figures were measured on. */
  server: string;
}

/**
 * Starts embedded Postgres under `.data/<dataFolder>` unless DATABASE_URL is set, creates
 * and migrates a database named `<prefix>_<random>`, and pushes the matching stops (drop
 * the database, stop the server) onto `stops`, to run in reverse.
 */
export async function benchDatabase(prefix: string, dataFolder: string, stops: (() => Promise<void>)[], log: (line: string) => void): Promise<BenchDatabase> {
  let serverUrl = process.env.DATABASE_URL;
  let server = 'DATABASE_URL';
  if (!serverUrl) {
    const port = await freePort();
    log(`starting embedded PostgreSQL (cluster ${dataFolder}, port ${port})`);
    const pgServer = await startEmbeddedPostgres({ dataDir: path.join(projectRoot, '.data'), name: dataFolder, port, durable: false, scratch: true, log });
    stops.push(pgServer.stop);
    serverUrl = pgServer.serverUrl;
    server = 'embedded (fsync=off, synchronous_commit=off)';
  }
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(serverUrl, name);
  const onServer = serverUrl;
  stops.push(() => dropDatabase(onServer, name));
  const url = withDatabase(serverUrl, name);
  const db = createDb(url, 1);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return { url, name, server };
}
