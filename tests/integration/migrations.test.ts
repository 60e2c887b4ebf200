import { afterAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { sql } from 'kysely';
import { createDb } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { dropDatabase, ensureDatabase, withDatabase } from '../../runtime/postgres.js';
import { uniqueId } from '../support/stack.js';

const name = `ops_test_${inject('runId')}_${uniqueId('empty_')}`;
afterAll(() => dropDatabase(inject('pgServerUrl'), name));

it('migrates an empty database to the latest schema, and a second run does nothing', async () => {
  await ensureDatabase(inject('pgServerUrl'), name);
  const db = createDb(withDatabase(inject('pgServerUrl'), name), 2);
  try {
    const applied = await migrateToLatest(db);
    expect(applied[0]).toBe('0001_orders');
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(db);
    expect(tables.rows.map((r) => r.tablename)).toEqual(expect.arrayContaining(['orders', 'order_lines']));
    expect(await migrateToLatest(db)).toEqual([]);
  } finally {
    await db.destroy();
  }
});
