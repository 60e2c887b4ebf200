/**
 * `npm start` keeps the servers it runs alive: a Temporal dev server or PostgreSQL killed
 * with -9 comes back on the same port with the same data, a crash loop stops the stack
 * with a message instead of looping, and a stop under load answers every request in
 * flight before anything goes down. Each test runs its own servers, on free ports, under a
 * data folder of its own; the shared test servers are not touched.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../runtime/config.js';
import { freePort } from '../../runtime/ports.js';
import { startServices } from '../../runtime/services.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-supervisor-'));
/** Cluster folders made outside `scratch` (as root, PostgreSQL keeps them under /var/lib). */
const clusterFolders: string[] = [];
afterAll(() => {
  for (const folder of clusterFolders) fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** The environment of a user who configured nothing, plus `extra`. */
function plainEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(TEMPORAL_|DATABASE_URL|PORT$|EMBEDDED_PG|DEV_TEMPORAL|API_KEYS|DATA_DIR|SUPERVISOR_|API_SHUTDOWN|WORKER_SHUTDOWN)/.test(name)) delete env[name];
  return { ...env, ...extra };
}

async function freePorts() {
  return { PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()), DEV_TEMPORAL_PORT: String(await freePort()), DEV_TEMPORAL_UI_PORT: String(await freePort()) };
}

function remember(clusterDir: string): void {
  const folder = path.dirname(clusterDir);
  if (!folder.startsWith(scratch)) clusterFolders.push(folder);
}

/** Processes whose command line mentions `text`, or whose working directory is `dir`. */
function processes(match: { cmdline?: string; cwd?: string }): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (match.cmdline && fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(match.cmdline)) found.push(Number(name));
      else if (match.cwd && fs.readlinkSync(`/proc/${name}/cwd`) === match.cwd) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function systemInfo(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({}));
    return true;
  } finally {
    await connection.close();
  }
}

describe('the services npm start runs are supervised', () => {
  it('a killed dev server and a killed PostgreSQL come back with their data; a crash loop gives up with a message', async () => {
    const dataDir = fs.mkdtempSync(path.join(scratch, 'data-'));
    const ports = await freePorts();
    // startServices reads the ports asked for from the process's environment, as npm start does.
    Object.assign(process.env, ports);
    const config = loadConfig(plainEnv({ DATA_DIR: dataDir, ...ports, SUPERVISOR_MAX_RESTARTS: '2', SUPERVISOR_WINDOW: '2m' }));
    const lines: string[] = [];
    const services = await startServices(config, (line) => lines.push(line));
    for (const name of Object.keys(ports)) delete process.env[name];
    const count = (line: string) => lines.filter((l) => l === line).length;
    try {
      const postgres = services.supervised.postgres!;
      const temporal = services.supervised.temporal!;
      remember(postgres.handle!.dir);
      expect(temporal.handle!.address).toBe(`127.0.0.1:${ports.DEV_TEMPORAL_PORT}`);

      // Temporal: a process started before the crash is still there after it (same SQLite file).
      const connection = await Connection.connect({ address: services.temporalAddress });
      const { runId } = await connection.workflowService.startWorkflowExecution({
        namespace: 'default',
        workflowId: 'before-the-crash',
        workflowType: { name: 'noWorkerRunsThis' },
        taskQueue: { name: 'supervisor-test' },
        requestId: 'before-the-crash',
      });
      await connection.close();
      const firstServer = temporal.handle!.process;
      firstServer.kill('SIGKILL');
      await waitFor('the dev server to come back', () => count('Temporal dev server is back') === 1, 45_000);
      expect(lines).toContain('Temporal dev server exited (signal SIGKILL); restarting in 1 s (crash 1 of 2 in 2 min)');
      expect(temporal.handle!.process.pid).not.toBe(firstServer.pid);
      expect(await systemInfo(services.temporalAddress)).toBe(true);
      const again = await Connection.connect({ address: services.temporalAddress });
      const described = await again.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: 'before-the-crash' } });
      await again.close();
      expect(described.workflowExecutionInfo?.execution?.runId).toBe(runId);

      // PostgreSQL: a committed row survives the crash; the same URL answers again.
      const client = new pg.Client({ connectionString: services.databaseUrl });
      await client.connect();
      client.on('error', () => {}); // cut by the crash
      await client.query('create table supervisor_probe (note text)');
      await client.query(`insert into supervisor_probe values ('written before the crash')`);
      // A backend busy computing outlives its killed postmaster until its statement ends: the
      // restart must wait for it rather than fail beside it (and count a crash more).
      const busy = new pg.Client({ connectionString: services.databaseUrl });
      await busy.connect();
      busy.on('error', () => {});
      const busyPid = (await busy.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      void busy.query(`do $$ declare t timestamptz := clock_timestamp(); begin while clock_timestamp() < t + interval '4 seconds' loop end loop; end $$`).catch(() => {});
      await sleep(200);
      postgres.handle!.process.kill('SIGKILL');
      await waitFor('PostgreSQL to come back', () => count('PostgreSQL is back') === 1, 45_000);
      expect(lines).toContain('PostgreSQL exited (signal SIGKILL); restarting in 1 s (crash 1 of 2 in 2 min)');
      expect(lines.filter((l) => l.startsWith('PostgreSQL did not come back'))).toEqual([]);
      expect(processes({ cwd: fs.realpathSync(postgres.handle!.dir) })).not.toContain(busyPid);
      const after = new pg.Client({ connectionString: services.databaseUrl });
      await after.connect();
      expect((await after.query('select note from supervisor_probe')).rows).toEqual([{ note: 'written before the crash' }]);
      await after.end();

      // Two restarts allowed within the window: the third crash gives up, and says what to do.
      postgres.handle!.process.kill('SIGKILL');
      await waitFor('PostgreSQL to come back a second time', () => count('PostgreSQL is back') === 2, 45_000);
      expect(lines).toContain('PostgreSQL exited (signal SIGKILL); restarting in 2 s (crash 2 of 2 in 2 min)');
      postgres.handle!.process.kill('SIGKILL');
      const failure = await Promise.race([services.gaveUp, sleep(15_000).then(() => undefined)]);
      expect(failure?.message).toMatch(/^PostgreSQL keeps crashing: 3 crashes within 2 min, the last one exited \(signal SIGKILL: killed from outside, by a kill -9 or the out-of-memory killer\); its last log lines: .+/);
      expect(failure?.fix).toContain('SUPERVISOR_MAX_RESTARTS');
      await sleep(1_500);
      expect(lines.filter((l) => l.startsWith('PostgreSQL exited'))).toHaveLength(2);
      expect(postgres.handle).toBeUndefined();
    } finally {
      await services.stop();
    }
    expect(lines.at(-1)).toBe('Temporal dev server stopped');
  });

  it('npm start: a killed dev server is restarted, /health turns ok again, and SIGINT under load answers every request, then stops in order', async () => {
    const dataDir = fs.mkdtempSync(path.join(scratch, 'data-'));
    const ports = await freePorts();
    const key = 'system-key-supervisor-test';
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bin/start.ts')], {
      cwd: projectRoot,
      env: plainEnv({ DATA_DIR: dataDir, ...ports, SEED_DEMO: 'false', API_KEYS: `system:${key}`, RATE_LIMIT_PER_MINUTE: '0', API_SHUTDOWN_GRACE: '40s' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own, as in a terminal, so that Ctrl-C can be sent to the whole group.
      detached: true,
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${ports.PORT}`;
    const health = async () => {
      try {
        const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(3_000) });
        return ((await response.json()) as { status: string }).status;
      } catch {
        return 'unreachable';
      }
    };
    try {
      await waitFor('npm start to answer /health ok', async () => (await health()) === 'ok' || undefined, 90_000);
      const pgDir = /data in (\S+)\)/.exec(output)?.[1];
      expect(pgDir).toBeDefined();
      remember(pgDir!);

      const devServers = () => processes({ cmdline: `start-dev` }).filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir));
      const [first] = devServers();
      expect(first).toBeDefined();
      process.kill(first!, 'SIGKILL');
      await waitFor('the dev server to come back', () => output.includes('[start] Temporal dev server is back') || undefined, 45_000);
      expect(output).toContain('[start] Temporal dev server exited (signal SIGKILL); restarting in 1 s (crash 1 of 5 in 2 min)');
      await waitFor('/health ok again', async () => (await health()) === 'ok' || undefined, 30_000);
      const [second] = devServers();
      expect(second).not.toBe(first);

      // Orders in flight while the stop comes: Temporal is frozen, so each waits on it.
      process.kill(second!, 'SIGSTOP');
      const agent = new http.Agent({ keepAlive: true });
      const orders = Array.from({ length: 6 }, (_, i) => postOrder(ports.PORT, key, agent, `SUP-${i}`));
      await sleep(500);
      const signalled = Date.now();
      process.kill(-child.pid!, 'SIGINT'); // what a terminal's Ctrl-C does: the whole foreground group
      await sleep(500);
      expect(await connects(Number(ports.PORT))).toBe('ECONNREFUSED');
      process.kill(second!, 'SIGCONT');
      const answers = await Promise.all(orders);
      for (const [i, answer] of answers.entries()) {
        expect(answer.status).toBe(201);
        expect(JSON.parse(answer.body)).toMatchObject({ orderId: `SUP-${i}`, created: true });
      }
      expect(await exited).toBe(0);
      const stopMs = Date.now() - signalled;
      // Generous: on a loaded 2-core machine six orders may take a while once Temporal thaws.
      expect(stopMs).toBeLessThan(45_000);

      const order = ['[start] SIGINT: stopping', '[start] API closed', '[start] worker stopped', '[start] Temporal dev server stopped', '[start] PostgreSQL stopped', '[start] stopped'];
      const at = order.map((line) => output.indexOf(line));
      expect(at.every((i) => i >= 0), output).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      expect(output).toContain('every request in flight answered');
      expect(output.slice(at[0])).not.toContain('restarting'); // a stop is not a crash
      expect(devServers()).toEqual([]);
      expect(processes({ cwd: fs.realpathSync(pgDir!) })).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of processes({ cmdline: dataDir })) process.kill(pid, 'SIGCONT');
      for (const pid of processes({ cmdline: dataDir })) process.kill(pid, 'SIGKILL');
    }
  });
});

function postOrder(port: string, key: string, agent: http.Agent, orderId: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({
    orderId,
    channel: 'dtc',
    customerId: 'C-SUP',
    shipTo: { name: 'Ada Lovelace', city: 'Chicago', region: 'IL', postalCode: '60601', country: 'US', lat: 41.8853, lon: -87.6216 },
    lines: [{ sku: 'TEE-BLK-M', qty: 1, unitPriceMinor: 1999 }],
  });
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: Number(port), path: '/orders', method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** `connected`, or the error code of a new connection's attempt. */
function connects(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
