import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { createDb } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { functionalCurrency } from '../db/fx-rates.js';
import type { Config } from './config.js';
import { choosePort } from './ports.js';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from './postgres.js';
import { StartupError } from './startup-error.js';
import { Supervisor } from './supervisor.js';
import { ensureSearchAttributes, startDevServer, type RunningDevServer } from './temporal.js';

/** Ports `npm start` chose, kept under the data folder so `npm run api`, `worker`, `seed` and `migrate` find its services. */
export interface LocalPorts {
  postgres?: number;
  temporal?: number;
  temporalUi?: number;
  api?: number;
}

const portsFile = (dataDir: string) => path.join(dataDir, 'services.json');

export function readLocalPorts(dataDir: string): LocalPorts {
  try {
    return JSON.parse(fs.readFileSync(portsFile(dataDir), 'utf8')) as LocalPorts;
  } catch {
    return {};
  }
}

function saveLocalPorts(dataDir: string, ports: LocalPorts): void {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(portsFile(dataDir), `${JSON.stringify(ports, null, 2)}\n`);
}

const embeddedUrl = (port: number, database = 'ops') => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;

/** The ledger database: DATABASE_URL, else the embedded server `npm start` runs. */
export function databaseUrlOf(config: Config): string {
  return config.databaseUrl ?? embeddedUrl(readLocalPorts(config.dataDir).postgres ?? 5433);
}

/** The Temporal frontend: the configured one, else the dev server `npm start` runs. */
export function temporalAddressOf(config: Config): string {
  return config.temporalAddress ?? `127.0.0.1:${readLocalPorts(config.dataDir).temporal ?? 7233}`;
}

export interface Services {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  apiPort: number;
  started: string[];
  /** The child servers this start runs, each restarted when it crashes (none for servers of your own). */
  supervised: { postgres?: Supervisor<RunningPostgres>; temporal?: Supervisor<RunningDevServer> };
  /**
   * Settles when a child server keeps crashing and restarting it stopped helping: the two
   * lines to show. The caller stops the stack; never settles otherwise.
   */
  gaveUp: Promise<StartupError>;
  /** Stops the child servers, Temporal first; a crash from then on is not restarted. */
  stop(): Promise<void>;
}

type Log = (line: string) => void;

const requested = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StartupError(`${name} must be a port number (1–65535), got "${raw}"`, `correct ${name}, or unset it`);
  return port;
};

/**
 * Brings up PostgreSQL and Temporal as configured: the given servers when set, otherwise
 * embedded Postgres and the Temporal CLI dev server under the data folder, each on the port
 * asked for, else the last run's or the default, else a free one. Every port is checked
 * before anything starts, so a taken one stops start with nothing half-running. Migrates
 * the database and registers the search attributes either way.
 */
export async function startServices(config: Config, log: Log): Promise<Services> {
  const saved = readLocalPorts(config.dataDir);
  const apiPort = await choosePort(
    { service: 'the API', variable: 'PORT', requested: requested('PORT'), preferred: [saved.api, 3000].filter(isPort), host: config.host },
    log,
  );
  const ports: LocalPorts = { ...saved, api: apiPort };
  if (!config.databaseUrl) {
    ports.postgres = await choosePort(
      { service: 'embedded PostgreSQL', variable: 'EMBEDDED_PG_PORT', requested: requested('EMBEDDED_PG_PORT'), preferred: [saved.postgres, 5433].filter(isPort) },
      log,
    );
  }
  if (!config.temporalAddress) {
    ports.temporal = await choosePort(
      { service: 'the Temporal dev server', variable: 'DEV_TEMPORAL_PORT', requested: requested('DEV_TEMPORAL_PORT'), preferred: [saved.temporal, 7233].filter(isPort) },
      log,
    );
    ports.temporalUi = await choosePort(
      { service: 'the Temporal UI', variable: 'DEV_TEMPORAL_UI_PORT', requested: requested('DEV_TEMPORAL_UI_PORT'), preferred: [saved.temporalUi, 8233].filter(isPort) },
      log,
    );
  }
  saveLocalPorts(config.dataDir, ports);

  const stops: (() => Promise<void>)[] = [];
  const started: string[] = [];
  const supervised: Services['supervised'] = {};
  const { maxRestarts, windowMs } = config.supervisor;
  const tolerance = 'SUPERVISOR_MAX_RESTARTS within SUPERVISOR_WINDOW is how many restarts are tried';
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      log(`starting embedded PostgreSQL (port ${ports.postgres})`);
      const options = { dataDir: config.dataDir, name: 'pg', port: ports.postgres!, log, ownProcessGroup: true };
      // Restarts reuse the options: the same cluster folder and port, so the URL stays valid.
      supervised.postgres = new Supervisor({
        name: 'PostgreSQL',
        start: () => startEmbeddedPostgres(options),
        log,
        maxRestarts,
        windowMs,
        fix: `its data is kept; mend what its last log lines name (disk space, memory, something killing it) and run npm start again (${tolerance}), or set DATABASE_URL to a PostgreSQL of your own`,
      });
      const pg = await supervised.postgres.start();
      const supervisor = supervised.postgres;
      stops.push(() => supervisor.stop());
      await ensureDatabase(pg.serverUrl, 'ops');
      databaseUrl = withDatabase(pg.serverUrl, 'ops');
      started.push(`PostgreSQL (embedded, data in ${pg.dir}) ${redact(databaseUrl)}`);
    }
    await migrate(databaseUrl, config.functionalCurrency);

    let temporalAddress = config.temporalAddress;
    let temporalUiUrl = config.temporalUiUrl;
    if (!temporalAddress) {
      const dbFile = path.join(config.dataDir, 'temporal.sqlite');
      log(`starting Temporal dev server (history in ${dbFile}, port ${ports.temporal}, UI ${ports.temporalUi})`);
      const options = { port: ports.temporal!, uiPort: ports.temporalUi, dbFile, namespace: config.temporalNamespace };
      // Restarts reuse the options: the same SQLite file (every process's history) and ports.
      supervised.temporal = new Supervisor({
        name: 'Temporal dev server',
        start: () => startDevServer(options),
        log,
        maxRestarts,
        windowMs,
        fix: `its history in ${dbFile} is kept; mend what its last log lines name and run npm start again (${tolerance}), or set TEMPORAL_ADDRESS to a Temporal server of your own`,
      });
      const server = await supervised.temporal.start();
      const supervisor = supervised.temporal;
      stops.push(() => supervisor.stop());
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl ?? temporalUiUrl;
      started.push(`Temporal dev server ${temporalAddress}`);
    }
    const connection = await connectTemporal(config, temporalAddress);
    try {
      await ensureSearchAttributes(connection, config.temporalNamespace);
    } finally {
      await connection.close();
    }

    return {
      databaseUrl,
      temporalAddress,
      temporalUiUrl,
      apiPort,
      started,
      supervised,
      gaveUp: Promise.race([supervised.postgres?.gaveUp, supervised.temporal?.gaveUp].filter((p) => p !== undefined)),
      stop: async () => {
        // Both run in process groups of their own, out of reach of a terminal's Ctrl-C; one
        // stopped from outside meanwhile is fine.
        for (const stop of [...stops].reverse()) await stop().catch(() => {});
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw error;
  }
}

async function migrate(databaseUrl: string, functional: string): Promise<void> {
  const db = createDb(databaseUrl, 2);
  try {
    await migrateToLatest(db);
    // The books are kept in the currency they were first migrated with; another would misstate every balance.
    const kept = await functionalCurrency(db);
    if (kept !== functional) {
      throw new StartupError(
        `FUNCTIONAL_CURRENCY is ${functional}, but the books at ${redact(databaseUrl)} are kept in ${kept}`,
        `set FUNCTIONAL_CURRENCY=${kept} (the functional currency cannot change once the books are started)`,
      );
    }
  } catch (error) {
    const message = (error as Error).message;
    if (/corrupted migrations/i.test(message)) {
      throw new StartupError(
        `the database at ${redact(databaseUrl)} was migrated by another version of this product (${message})`,
        'use a database of its own (another DATABASE_URL), or move the data folder away to start afresh',
      );
    }
    if ((error as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED|password authentication|does not exist/.test(message)) {
      throw new StartupError(`PostgreSQL at ${redact(databaseUrl)} cannot be used: ${message}`, 'check DATABASE_URL (server running, user, password, database)');
    }
    throw error;
  } finally {
    await db.destroy();
  }
}

/** A client connection with the configured TLS and API key; a clear message when nobody answers. */
export async function connectTemporal(config: Config, address: string): Promise<Connection> {
  try {
    return await Connection.connect({ address, ...config.temporalConnection, connectTimeout: 10_000 });
  } catch (error) {
    throw new StartupError(`Temporal at ${address} cannot be reached: ${(error as Error).message}`, 'check TEMPORAL_ADDRESS (or the temporal.toml profile), or unset it to run the local dev server');
  }
}

const isPort = (port: number | undefined): port is number => typeof port === 'number' && port > 0;

export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
