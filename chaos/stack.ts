/**
 * The chaos run's own services, each started here and tracked by process id, so faults
 * only ever hit processes this run started: embedded PostgreSQL under a temp folder (or a
 * fresh database on DATABASE_URL's server, which is then never restarted), a Temporal dev
 * server on a free port with its SQLite file in the temp folder, and the worker as a child
 * process. Everything is stopped and removed by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { migrateToLatest } from '../db/migrate.js';
import { createDb } from '../db/connection.js';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, withDatabase, type EmbeddedPostgresOptions, type RunningPostgres } from '../runtime/postgres.js';
import { projectRoot } from '../runtime/config.js';
import { freePort } from '../runtime/ports.js';
import { ensureSearchAttributes, startDevServer, stopChild, type RunningDevServer } from '../runtime/temporal.js';
import { bundleWorkflows } from '../runtime/worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StackOptions {
  taskQueue: string;
  /** Probability that the worker kills itself right after a commit. */
  exitAfterCommit: number;
  /** A new seed per worker start, for the worker's fault hook. */
  nextWorkerSeed: () => number;
  log: (line: string) => void;
}

export class ChaosStack {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-chaos-'));
  readonly faultLog = path.join(this.dir, 'worker-faults.log');
  databaseUrl = '';
  /** Set when this run started its own PostgreSQL (and so may restart it). */
  private postgres?: { running: RunningPostgres; options: EmbeddedPostgresOptions };
  private serverUrl = '';
  private databaseName = '';
  private temporal?: RunningDevServer;
  private temporalPort = 0;
  temporalAddress = '';
  private bundlePath = '';
  private worker?: ChildProcess;
  private workerStopping = false;
  private stopping = false;
  /** Worker exits nobody asked for (not a kill by this run, not the commit hook). */
  unexpectedWorkerExits: string[] = [];
  workerStarts = 0;
  private readonly killOnExit = () => {
    for (const child of [this.worker, this.temporal?.process]) if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  constructor(private readonly options: StackOptions) {
    process.on('exit', this.killOnExit);
  }

  get ownsPostgres(): boolean {
    return this.postgres !== undefined;
  }

  async start(): Promise<void> {
    const { log } = this.options;
    if (process.env.DATABASE_URL) {
      this.serverUrl = process.env.DATABASE_URL;
      log('PostgreSQL from DATABASE_URL: a fresh database on it; Postgres restarts are skipped (not ours to restart)');
    } else {
      const port = await freePort();
      const options: EmbeddedPostgresOptions = { dataDir: path.join(projectRoot, '.data'), name: `chaos-pg-${path.basename(this.dir)}`, port, scratch: true, log };
      const running = await startEmbeddedPostgres(options);
      log(`started embedded PostgreSQL (${running.dir}, port ${port})`);
      this.postgres = { running, options };
      this.serverUrl = running.serverUrl;
    }
    this.databaseName = `ops_chaos_${randomBytes(4).toString('hex')}`;
    await ensureDatabase(this.serverUrl, this.databaseName);
    this.databaseUrl = withDatabase(this.serverUrl, this.databaseName);
    const db = createDb(this.databaseUrl, 1);
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }

    this.temporalPort = await freePort();
    log(`starting Temporal dev server (port ${this.temporalPort}, history in ${path.join(this.dir, 'temporal.sqlite')})`);
    await this.startTemporal();
    const connection = await Connection.connect({ address: this.temporalAddress });
    try {
      await ensureSearchAttributes(connection, 'default');
    } finally {
      await connection.close();
    }

    log('bundling workflows');
    const bundle = await bundleWorkflows();
    this.bundlePath = path.join(this.dir, 'workflow-bundle.js');
    fs.writeFileSync(this.bundlePath, bundle.code);
    await this.startWorker();
  }

  // ---- Temporal ------------------------------------------------------------------------

  async startTemporal(): Promise<void> {
    this.temporal = await startDevServer({ port: this.temporalPort, dbFile: path.join(this.dir, 'temporal.sqlite') });
    this.temporalAddress = this.temporal.address;
  }

  /** kill -9 the dev server this run started. */
  async killTemporal(): Promise<void> {
    const child = this.temporal?.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  // ---- Worker --------------------------------------------------------------------------

  /** Starts the worker child and waits until it polls; restarted by the supervisor when it dies. */
  async startWorker(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'worker.ts')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: projectRoot,
      env: {
        ...process.env,
        CHAOS_DATABASE_URL: this.databaseUrl,
        CHAOS_TEMPORAL_ADDRESS: this.temporalAddress,
        CHAOS_TASK_QUEUE: this.options.taskQueue,
        CHAOS_BUNDLE_PATH: this.bundlePath,
        CHAOS_EXIT_AFTER_COMMIT: String(this.options.exitAfterCommit),
        CHAOS_FAULT_LOG: this.faultLog,
        CHAOS_SEED: String(this.options.nextWorkerSeed()),
      },
    });
    this.worker = child;
    this.workerStarts++;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the worker did not start polling within 90 s')), 90_000);
      child.on('message', (message: { type?: string }) => {
        if (message?.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited (${code ?? signal}) before it was ready`));
      });
    });
    child.once('exit', (code, signal) => {
      if (this.worker !== child || this.stopping || this.workerStopping) return;
      this.worker = undefined;
      // Killed by its own commit hook (noted in the fault log), or something else: restart either way.
      if (!(signal === 'SIGKILL' && this.selfKills() > this.selfKillsSeen)) this.unexpectedWorkerExits.push(`${code ?? signal}`);
      this.selfKillsSeen = this.selfKills();
      void this.restartWorkerSoon();
    });
    await ready;
  }

  private selfKillsSeen = 0;
  private restarting?: Promise<void>;

  /** Restarts the worker after a short pause; retries while Temporal or Postgres are down. */
  private restartWorkerSoon(): Promise<void> {
    this.restarting ??= (async () => {
      for (let attempt = 1; !this.stopping && !this.worker; attempt++) {
        await sleep(300);
        try {
          await this.startWorker();
        } catch (error) {
          this.options.log(`worker restart ${attempt} failed: ${(error as Error).message}`);
          const half = this.worker as ChildProcess | undefined;
          if (half && half.exitCode === null) half.kill('SIGKILL');
          this.worker = undefined;
          await sleep(1_000);
        }
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /** kill -9 the worker child, then start a new one (the supervisor's restart). */
  async killWorker(): Promise<void> {
    const child = this.worker;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await this.restarting;
      return;
    }
    this.workerStopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.worker = undefined;
    this.workerStopping = false;
    await this.restartWorkerSoon();
  }

  /** Waits until a worker is up (after a kill or a self-kill). */
  async workerUp(): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!this.worker || this.restarting) {
      if (Date.now() > deadline) throw new Error('no worker came back within 120 s');
      await (this.restarting ?? sleep(200));
    }
  }

  /** Tells the worker to kill itself right after its next commit; waits until it has and is back. */
  async exitWorkerAfterNextCommit(): Promise<string> {
    await this.workerUp();
    const before = this.selfKills();
    this.worker?.send({ type: 'exit-after-next-commit' });
    const deadline = Date.now() + 30_000;
    while (this.selfKills() === before) {
      if (Date.now() > deadline) return 'no commit within 30 s; the worker lives on';
      await sleep(100);
    }
    await sleep(500);
    await this.workerUp();
    return 'worker killed itself right after a commit, before reporting, and started again';
  }

  selfKills(): number {
    return fs.existsSync(this.faultLog) ? fs.readFileSync(this.faultLog, 'utf8').split('\n').filter(Boolean).length : 0;
  }

  /** No more self-kills from now on: the running worker is told, later starts get no hook. */
  async calmWorker(): Promise<void> {
    this.options.exitAfterCommit = 0;
    await this.workerUp();
    try {
      this.worker?.send({ type: 'calm' });
    } catch {
      // It died just now; its replacement starts without the hook.
    }
  }

  // ---- Postgres ------------------------------------------------------------------------

  /**
   * pg_terminate_backend on every connection of the worker and of the API (each names itself
   * in `application_name`: `chaos-worker`, `chaos-api`); how many of each were cut.
   */
  async terminateConnections(): Promise<{ worker: number; api: number }> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      // The pids first: in one statement Postgres may call pg_terminate_backend before it filters.
      // A worker that was just restarted may not have connected yet: wait a little for one.
      const connections = () =>
        client.query<{ pid: number; app: string }>(
          `select pid, application_name as app from pg_stat_activity where application_name in ('chaos-worker', 'chaos-api') and datname = $1`,
          [this.databaseName],
        );
      let { rows } = await connections();
      for (let waited = 0; !rows.some((r) => r.app === 'chaos-worker') && waited < 10_000; waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        ({ rows } = await connections());
      }
      const cut = await client.query<{ pid: number; done: boolean }>('select pid, pg_terminate_backend(pid) as done from unnest($1::int[]) as pid', [rows.map((r) => r.pid)]);
      const count = (app: string) => cut.rows.filter((r) => r.done && rows.find((c) => c.pid === r.pid)?.app === app).length;
      return { worker: count('chaos-worker'), api: count('chaos-api') };
    } finally {
      await client.end();
    }
  }

  /**
   * Crashes the PostgreSQL this run started (an immediate shutdown: every connection cut,
   * no checkpoint, open transactions lost) and starts it again on the same data and port,
   * where it recovers from its WAL. The server is durable (fsync and synchronous commit on),
   * so no commit it acknowledged may be missing afterwards.
   */
  async restartPostgres(): Promise<boolean> {
    if (!this.postgres) return false;
    const { dir } = this.postgres.running;
    const pid = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(dir)) throw new Error(`pid ${pid} is not the PostgreSQL of ${dir}; not touching it`);
    process.kill(pid, 'SIGQUIT');
    const deadline = Date.now() + 20_000;
    while (alive(pid)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL pid ${pid} did not stop within 20 s`);
      await sleep(50);
    }
    this.postgres.running = await startEmbeddedPostgres(this.postgres.options);
    return true;
  }

  // ---- The end -------------------------------------------------------------------------

  async stop(): Promise<void> {
    this.stopping = true;
    const errors: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        errors.push(`${what}: ${(error as Error).message}`);
      }
    };
    await this.restarting?.catch(() => {});
    if (this.worker) await attempt('worker', () => stopChild(this.worker!));
    if (this.temporal) await attempt('temporal', () => this.temporal!.stop());
    if (this.databaseName && !this.postgres) await attempt('database', () => dropDatabase(this.serverUrl, this.databaseName));
    if (this.postgres) await attempt('postgres', () => this.postgres!.running.stop());
    await attempt('temp folder', async () => fs.rmSync(this.dir, { recursive: true, force: true }));
    process.removeListener('exit', this.killOnExit);
    if (errors.length) this.options.log(`cleanup problems: ${errors.join('; ')}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
