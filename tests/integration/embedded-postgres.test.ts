/**
 * Embedded PostgreSQL starts from a data folder under a directory other users cannot enter
 * (root's home, `mktemp -d`), without changing that directory's permissions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../runtime/ports.js';
import { startEmbeddedPostgres } from '../../runtime/postgres.js';

const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-private-'));
afterAll(() => fs.rmSync(privateDir, { recursive: true, force: true }));
const asRoot = process.getuid?.() === 0;

describe('embedded PostgreSQL from a private folder', () => {
  it('starts, answers, and removes its scratch cluster when stopped; the folder keeps its mode', async () => {
    expect(fs.statSync(privateDir).mode & 0o777).toBe(0o700);
    const dataDir = path.join(privateDir, 'checkout', '.data');
    const server = await startEmbeddedPostgres({ dataDir, name: 'scratch-a', port: await freePort(), durable: false, scratch: true });
    try {
      const client = new pg.Client({ connectionString: server.serverUrl });
      await client.connect();
      const { rows } = await client.query<{ encoding: string }>('select pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()');
      await client.end();
      expect(rows[0]!.encoding).toBe('UTF8');
      if (asRoot) {
        // the postgres OS user cannot enter privateDir: the cluster lives outside, linked from the data folder
        expect(server.dir.startsWith(privateDir)).toBe(false);
        expect(fs.readlinkSync(path.join(dataDir, 'postgres'))).toBe(path.dirname(server.dir));
      } else {
        expect(server.dir).toBe(path.join(dataDir, 'scratch-a'));
      }
    } finally {
      await server.stop();
    }
    expect(fs.existsSync(server.dir)).toBe(false);
    expect(fs.statSync(privateDir).mode & 0o777).toBe(0o700);
  });

  it('removes a scratch cluster whose run was killed, at the next start', async () => {
    const dataDir = path.join(privateDir, 'checkout', '.data');
    const first = await startEmbeddedPostgres({ dataDir, name: 'scratch-b', port: await freePort(), durable: false, scratch: true });
    // As if its run died: the server is gone, the folder and the owner file stay, naming a dead pid.
    first.process.kill('SIGKILL');
    await first.exited;
    fs.writeFileSync(`${first.dir}.owner`, '999999999');
    const second = await startEmbeddedPostgres({ dataDir, name: 'scratch-c', port: await freePort(), durable: false, scratch: true });
    try {
      expect(fs.existsSync(first.dir)).toBe(false);
      expect(fs.existsSync(second.dir)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
