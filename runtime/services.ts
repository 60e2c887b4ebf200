import path from 'node:path';
import { Connection } from '@temporalio/client';
import { createDb } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Config } from './config.js';
import { ensureDatabase, startEmbeddedPostgres, withDatabase } from './postgres.js';
import { ensureSearchAttributes, startDevServer } from './temporal.js';

export const EMBEDDED_PG_PORT = Number(process.env.EMBEDDED_PG_PORT ?? 5433);
export const DEV_TEMPORAL_PORT = Number(process.env.DEV_TEMPORAL_PORT ?? 7233);
export const DEV_TEMPORAL_UI_PORT = Number(process.env.DEV_TEMPORAL_UI_PORT ?? 8233);

/** Where the embedded database lives when nothing else is configured. */
export const embeddedDatabaseUrl = (database = 'ops') =>
  `postgres://postgres:postgres@127.0.0.1:${EMBEDDED_PG_PORT}/${database}`;

export interface Services {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  started: string[];
  stop(): Promise<void>;
}

type Log = (line: string) => void;

/**
 * Brings up PostgreSQL and Temporal as configured: the given URLs when set,
 * otherwise embedded Postgres and the Temporal CLI dev server under the data folder.
 * Migrates the database and registers the search attributes either way.
 */
export async function startServices(config: Config, log: Log): Promise<Services> {
  const stops: (() => Promise<void>)[] = [];
  const started: string[] = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const dir = path.join(config.dataDir, 'pg');
      log(`starting embedded PostgreSQL (data in ${dir}, port ${EMBEDDED_PG_PORT})`);
      const pg = await startEmbeddedPostgres(dir, EMBEDDED_PG_PORT);
      stops.push(pg.stop);
      await ensureDatabase(pg.serverUrl, 'ops');
      databaseUrl = withDatabase(pg.serverUrl, 'ops');
      started.push(`PostgreSQL (embedded) ${redact(databaseUrl)}`);
    }
    const db = createDb(databaseUrl, 2);
    try {
      const applied = await migrateToLatest(db);
      log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
    } finally {
      await db.destroy();
    }

    let temporalAddress = config.temporalAddress;
    let temporalUiUrl = config.temporalUiUrl;
    if (!temporalAddress) {
      const dbFile = path.join(config.dataDir, 'temporal.sqlite');
      log(`starting Temporal dev server (history in ${dbFile}, port ${DEV_TEMPORAL_PORT}, UI ${DEV_TEMPORAL_UI_PORT})`);
      const server = await startDevServer({
        port: DEV_TEMPORAL_PORT,
        uiPort: DEV_TEMPORAL_UI_PORT,
        dbFile,
        namespace: config.temporalNamespace,
      });
      stops.push(server.stop);
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl ?? temporalUiUrl;
      started.push(`Temporal dev server ${temporalAddress}`);
    }
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      await ensureSearchAttributes(connection, config.temporalNamespace);
    } finally {
      await connection.close();
    }

    return {
      databaseUrl,
      temporalAddress,
      temporalUiUrl,
      started,
      stop: async () => {
        // A terminal's Ctrl-C reaches the child servers too; a stop that finds one gone is fine.
        for (const stop of stops.reverse()) await stop().catch(() => {});
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw error;
  }
}

export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
