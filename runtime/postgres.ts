import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildVersion, postgresHome, postmasterPid } from './postgres-home.js';
import { StartupError } from './startup-error.js';

export interface RunningPostgres {
  /** Connection URL of the `postgres` maintenance database on this server. */
  serverUrl: string;
  /** The cluster's data folder. */
  dir: string;
  port: number;
  process: ChildProcess;
  /** Settles when the server process ends, for whatever reason, with its last log lines. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The project's data folder (`.data`). */
  dataDir: string;
  /** The cluster's name: its folder under the clusters folder (`pg` for `npm start`). */
  name: string;
  port: number;
  /** false (tests, benchmarks) turns off fsync and synchronous commit. */
  durable?: boolean;
  /** A cluster for one run (tests, benchmarks, chaos): removed when stopped, or later when its run was killed. */
  scratch?: boolean;
  /**
   * Its own process group, so that a terminal's Ctrl-C reaches only the parent, which then
   * stops what depends on the database before the database itself (`npm start`).
   */
  ownProcessGroup?: boolean;
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts an embedded PostgreSQL cluster, creating it on first use; data persists across
 * restarts. A root user's server runs as the OS user `postgres`, with binaries and data
 * where that user can reach them (see postgres-home.ts). A scratch cluster records the
 * process that made it, so one left behind by a killed run is removed at a later start.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { port, durable = true, log = () => {} } = options;
  const home = await postgresHome(options.dataDir, log);
  removeAbandonedScratchClusters(home.clustersDir, log);
  const dir = path.join(home.clustersDir, options.name);
  if (options.scratch) fs.writeFileSync(`${dir}.owner`, String(process.pid));
  if (fs.existsSync(path.join(dir, 'PG_VERSION'))) checkExistingCluster(dir, home.installDir, home.runAs);
  else await initCluster(dir, home.installDir, home.runAs);
  await stopLeftoverServer(dir);

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (!durable) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off');
  const child = spawn(path.join(home.installDir, 'bin', 'postgres'), ['-D', dir, '-p', String(port), ...flags], {
    ...home.runAs,
    detached: options.ownProcessGroup ?? false,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const lines: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      lines.push(line);
      if (lines.length > 40) lines.shift();
      if (line.includes('ready to accept connections')) ready();
      if (/\bPANIC\b/.test(line)) process.stderr.write(`[postgres] ${line}\n`);
    }
  });
  const exited = new Promise<string>((resolve) => child.once('exit', () => resolve(lines.join('\n'))));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const outcome = await Promise.race([
    isReady.then(() => 'ready' as const),
    exited.then((log) => ({ log })),
    new Promise<'slow'>((resolve) => setTimeout(() => resolve('slow'), 60_000).unref()),
  ]);
  if (outcome !== 'ready') {
    if (outcome === 'slow') child.kill('SIGKILL');
    throw startFailure(outcome === 'slow' ? lines.join('\n') : outcome.log, port, dir);
  }
  return {
    serverUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    dir,
    port,
    process: child,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGINT is PostgreSQL's fast shutdown: open sessions end, everything committed stays.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      if (options.scratch) removeCluster(dir);
    },
  };
}

async function initCluster(dir: string, installDir: string, runAs: { uid: number; gid: number } | undefined): Promise<void> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ops-pg-')), 'pw');
  fs.writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (runAs) {
    fs.chownSync(dir, runAs.uid, runAs.gid);
    fs.chownSync(path.dirname(pwfile), runAs.uid, runAs.gid);
    fs.chownSync(pwfile, runAs.uid, runAs.gid);
  }
  try {
    const result = spawnSync(
      path.join(installDir, 'bin', 'initdb'),
      ['-D', dir, `--username=${USER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'],
      { ...runAs, encoding: 'utf8', env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    if (result.status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      const detail = (result.stderr || result.error?.message || '').trim().split('\n').slice(-2).join(' ');
      throw new StartupError(
        `embedded PostgreSQL could not create its cluster in ${dir}: ${detail}`,
        'set DATABASE_URL to a PostgreSQL server of your own (for example postgres://user:pass@127.0.0.1:5432/ops)',
      );
    }
  } finally {
    fs.rmSync(path.dirname(pwfile), { recursive: true, force: true });
  }
}

/** A data folder made by another PostgreSQL version or for another OS user cannot be used. */
function checkExistingCluster(dir: string, installDir: string, runAs: { uid: number; gid: number } | undefined): void {
  const made = fs.readFileSync(path.join(dir, 'PG_VERSION'), 'utf8').trim();
  const major = buildVersion(installDir).split('.')[0];
  if (made !== major) {
    throw new StartupError(
      `${dir} holds a PostgreSQL ${made} cluster (left by an older version of this product); this version runs PostgreSQL ${major}`,
      `move that folder away to keep its data (or delete it to start afresh), then start again; or set DATABASE_URL`,
    );
  }
  const owner = fs.statSync(dir).uid;
  const expected = runAs?.uid ?? process.getuid?.();
  if (expected !== undefined && owner !== expected) {
    throw new StartupError(
      `${dir} belongs to another OS user (uid ${owner}); PostgreSQL here runs as uid ${expected}`,
      'start as the user who made it, or move the folder away (or delete it) and start again',
    );
  }
}

function startFailure(log: string, port: number, dir: string): StartupError {
  if (/could not bind|Address already in use/i.test(log)) {
    return new StartupError(`port ${port} for embedded PostgreSQL is in use`, 'stop what uses it, or set EMBEDDED_PG_PORT to a free port');
  }
  const last = log.split('\n').filter((l) => /FATAL|PANIC|ERROR|could not/.test(l)).slice(-2).join(' ') || log.split('\n').slice(-2).join(' ');
  return new StartupError(`embedded PostgreSQL on ${dir} did not start: ${last.trim() || 'no output'}`, 'set DATABASE_URL to a PostgreSQL server of your own');
}

/**
 * A parent killed hard leaves its postmaster running, or a dead postmaster's pid file
 * behind. Either would block the next start; the data folder is ours, so stop the
 * orphan (fast shutdown) or drop the stale file. A postmaster killed hard (kill -9) leaves
 * its backends behind for a moment, still attached to the old shared memory; the pid file
 * is PostgreSQL's guard against starting beside them, so it goes only once they are gone.
 */
async function stopLeftoverServer(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = postmasterPid(dir);
  if (pid === undefined) {
    await waitForOrphans(dir);
    fs.rmSync(pidFile, { force: true });
    return;
  }
  process.stderr.write(`[postgres] stopping a server left running on ${dir} (pid ${pid})\n`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (postmasterPid(dir) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (postmasterPid(dir) !== undefined) throw new StartupError(`PostgreSQL pid ${pid} on ${dir} did not stop`, `stop it (kill ${pid}) and start again`);
}

/**
 * Waits until no process works in `dir` (a PostgreSQL process runs with its data folder as
 * working directory). Backends notice their postmaster's death and exit on their own; one
 * busy with a long statement notices only when it next waits, so wait a little.
 */
async function waitForOrphans(dir: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let left = processesIn(dir);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesIn(dir);
  }
  if (left.length) {
    throw new StartupError(
      `processes of a PostgreSQL that ended abruptly still run on ${dir} (pids ${left.join(', ')})`,
      `wait for them to end, or stop them (kill ${left.join(' ')}), and start again`,
    );
  }
}

/** Pids of processes whose working directory is `dir` (Linux; elsewhere none are seen). */
function processesIn(dir: string): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const real = fs.realpathSync(dir);
  return entries
    .filter((name) => {
      try {
        return fs.readlinkSync(`/proc/${name}/cwd`) === real;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Scratch clusters (tests, benchmarks, chaos) whose run was killed before it could remove them. */
function removeAbandonedScratchClusters(clustersDir: string, log: (line: string) => void): void {
  for (const entry of fs.readdirSync(clustersDir)) {
    if (!entry.endsWith('.owner')) continue;
    const owner = Number(fs.readFileSync(path.join(clustersDir, entry), 'utf8'));
    if (owner === process.pid || isAlive(owner)) continue;
    const dir = path.join(clustersDir, entry.slice(0, -'.owner'.length));
    if (postmasterPid(dir) !== undefined) continue;
    log(`removing ${dir}: the run that made it is gone`);
    removeCluster(dir);
  }
}

function removeCluster(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(`${dir}.owner`, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Replaces the database name of a connection URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates `database` on the server of `url` unless it exists; optionally from a template. */
export async function ensureDatabase(url: string, database: string, template?: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`unsafe database name: ${database}`);
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${database}${template ? ` template ${template}` : ''}`);
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`unsafe database name: ${database}`);
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    await client.query(`drop database if exists ${database} with (force)`);
  } finally {
    await client.end();
  }
}
