/**
 * The database's own code is what db/sql says, and nothing else: every file there is pinned
 * (a released file is never edited), each is run by the migration of its name, and a migrated
 * database has exactly the functions and triggers that replaying the files' statements gives.
 * And the one decision that code owns alone: whether a reservation is a replay.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { createOrderReleaseActivities } from '../../activities/order-release.js';
import type { AllocationRequest } from '../../contracts/order.js';
import type { Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import { projectRoot } from '../../runtime/config.js';
import { addItem, addWarehouse, balance, daysFromToday, lotBalance, stock, stockLot } from '../support/fixtures.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';

const sqlDir = path.join(projectRoot, 'db', 'sql');
const sqlFiles = fs.readdirSync(sqlDir).filter((f) => f.endsWith('.sql')).sort();

let db: Db;
beforeAll(async () => {
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  const check = await checkLedger(db);
  expect(check.problems).toEqual([]);
  await db.destroy();
});

/** A file's statements, split at semicolons outside comments, quotes and dollar-quoted bodies. */
function statements(source: string): string[] {
  const found: string[] = [];
  let start = 0;
  let i = 0;
  const skipTo = (end: string, from: number) => {
    const at = source.indexOf(end, from);
    return at < 0 ? source.length : at + end.length;
  };
  while (i < source.length) {
    const c = source[i]!;
    if (source.startsWith('--', i)) i = skipTo('\n', i);
    else if (source.startsWith('/*', i)) i = skipTo('*/', i + 2);
    else if (c === "'" || c === '"') {
      // A doubled quote is a quote inside; the scan simply re-enters.
      i = skipTo(c, i + 1);
    } else if (c === '$' && /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.test(source.slice(i))) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(source.slice(i))![0];
      i = skipTo(tag, i + tag.length);
    } else {
      if (c === ';') {
        found.push(source.slice(start, i));
        start = i + 1;
      }
      i++;
    }
  }
  found.push(source.slice(start));
  return found.map((s) => s.replace(/^(?:\s+|--[^\n]*(?:\n|$))+/, '')).filter((s) => s.trim() !== '');
}

/** Statements that make, change or drop a function, procedure or trigger. */
const definesCode = /^(?:create(?:\s+or\s+replace)?(?:\s+constraint)?|alter|drop|comment\s+on)\s+(?:function|procedure|trigger)\b/i;

interface Definitions {
  functions: Map<string, string>;
  triggers: Map<string, string>;
}

/**
 * Replays every function and trigger statement of the files, in migration order, into a scratch
 * schema (with empty copies of the tables, for the triggers to sit on), and reads back both the
 * scratch schema's and `public`'s definitions. Run inside a transaction that the caller rolls back.
 */
async function definitions(conn: Kysely<unknown>): Promise<{ files: Definitions; database: Definitions }> {
  await sql`create schema sql_files`.execute(conn);
  const tables = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(conn);
  for (const { name } of tables.rows) {
    await sql`create table ${sql.id('sql_files', name)} (like ${sql.id('public', name)})`.execute(conn);
  }
  await sql`set local search_path = sql_files`.execute(conn);
  for (const file of sqlFiles) {
    for (const statement of statements(fs.readFileSync(path.join(sqlDir, file), 'utf8')).filter((s) => definesCode.test(s))) {
      await sql.raw(statement).execute(conn);
    }
  }
  // Every name qualified, so the two schemas' definitions compare once the schema is swapped.
  await sql`set local search_path = pg_catalog`.execute(conn);
  const functions = await sql<{ schema: string; name: string; definition: string }>`
    select n.nspname as schema, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as name,
      pg_get_functiondef(p.oid) as definition
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'sql_files') and p.prokind in ('f', 'p')
      and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`.execute(conn);
  const triggers = await sql<{ schema: string; name: string; definition: string }>`
    select n.nspname as schema, c.relname || '.' || t.tgname as name, pg_get_triggerdef(t.oid) as definition
    from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('public', 'sql_files') and not t.tgisinternal`.execute(conn);
  const of = (rows: { schema: string; name: string; definition: string }[], schema: string) =>
    new Map(rows.filter((r) => r.schema === schema).map((r) => [r.name, r.definition.replaceAll('sql_files.', 'public.')]));
  return {
    files: { functions: of(functions.rows, 'sql_files'), triggers: of(triggers.rows, 'sql_files') },
    database: { functions: of(functions.rows, 'public'), triggers: of(triggers.rows, 'public') },
  };
}

/** What differs between the files and the database, one line each; empty when they agree. */
function differences({ files, database }: { files: Definitions; database: Definitions }): string[] {
  const found: string[] = [];
  for (const kind of ['functions', 'triggers'] as const) {
    for (const name of new Set([...files[kind].keys(), ...database[kind].keys()])) {
      const [want, have] = [files[kind].get(name), database[kind].get(name)];
      if (have === undefined) found.push(`${name}: defined in db/sql, missing from the database`);
      else if (want === undefined) found.push(`${name}: in the database, defined by no file in db/sql`);
      else if (want !== have) {
        const [a, b] = [want.split('\n'), have.split('\n')];
        const line = a.findIndex((l, n) => l !== b[n]);
        found.push(`${name}: differs from db/sql at line ${line + 1}: file ${JSON.stringify(a[line])}, database ${JSON.stringify(b[line])}`);
      }
    }
  }
  return found.sort();
}

/** Runs `check` in a transaction that is always rolled back. */
async function inScratch<T>(check: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`begin`.execute(conn);
    try {
      return await check(conn as unknown as Kysely<unknown>);
    } finally {
      await sql`rollback`.execute(conn);
    }
  });
}

describe('db/sql', () => {
  it('pins every file: a released file is never edited, a new one adds its line to SHA256SUMS', () => {
    const pinned = new Map(
      fs
        .readFileSync(path.join(sqlDir, 'SHA256SUMS'), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [sum, file] = line.split(/\s+\*?/);
          return [file!, sum!];
        }),
    );
    const problems: string[] = [];
    for (const file of sqlFiles) {
      const sum = createHash('sha256').update(fs.readFileSync(path.join(sqlDir, file))).digest('hex');
      if (!pinned.has(file)) problems.push(`${file} is not pinned: add "${sum}  ${file}" to db/sql/SHA256SUMS`);
      else if (pinned.get(file) !== sum) problems.push(`${file} was edited after release: put it back, and make the change a new migration`);
    }
    for (const file of pinned.keys()) if (!sqlFiles.includes(file)) problems.push(`${file} is pinned but gone: a released file stays`);
    expect(problems).toEqual([]);
  });

  it('runs each file from the migration of the same name', () => {
    const registry = fs.readFileSync(path.join(projectRoot, 'db', 'migrate.ts'), 'utf8');
    const problems: string[] = [];
    for (const file of sqlFiles) {
      const name = file.replace(/\.sql$/, '');
      const migration = path.join(projectRoot, 'db', 'migrations', `${name}.ts`);
      if (!registry.includes(`'${name}':`)) problems.push(`${name} is not a migration in db/migrate.ts`);
      if (!fs.existsSync(migration) || !fs.readFileSync(migration, 'utf8').includes(`'../sql/${file}'`)) {
        problems.push(`db/migrations/${name}.ts does not load ../sql/${file}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('a migrated database has exactly the functions and triggers the files define', async () => {
    const found = await inScratch(definitions);
    expect([...found.database.functions.keys()].sort()).toEqual(
      expect.arrayContaining(['check_entry_balanced()', 'ledger_apply_legs(p_key text, p_legs jsonb)', 'refuse_change()']),
    );
    expect([...found.database.triggers.keys()]).toEqual(
      expect.arrayContaining(['audit_log.audit_log_append_only', 'journal_lines.journal_entry_balanced', 'inventory_movements.inventory_movements_append_only']),
    );
    expect(differences(found)).toEqual([]);
  });

  it('notices a function or trigger changed in the database without a file', async () => {
    const found = await inScratch(async (conn) => {
      await sql`create or replace function public.refuse_change() returns trigger language plpgsql as $$
    begin
      return old;
    end $$`.execute(conn);
      await sql`alter function public.ledger_lock_rank(text) stable`.execute(conn);
      await sql`create function public.unfiled() returns int language sql as $$ select 1 $$`.execute(conn);
      await sql`drop trigger audit_log_append_only on public.audit_log`.execute(conn);
      return differences(await definitions(conn));
    });
    expect(found).toEqual([
      'audit_log.audit_log_append_only: defined in db/sql, missing from the database',
      expect.stringMatching(/^ledger_lock_rank\(bucket text\): differs from db\/sql at line \d+: file " IMMUTABLE", database " STABLE"$/),
      expect.stringMatching(/^refuse_change\(\): differs from db\/sql at line \d+/),
      'unfiled(): in the database, defined by no file in db/sql',
    ]);
  });
});

describe('the replay of a reservation, decided by ledger_reserve alone', () => {
  const allocation = (sku: string, qty: number, overrides: Partial<AllocationRequest> = {}): AllocationRequest => ({
    orderId: uniqueId('ord-'),
    attempt: 1,
    channel: 'dtc',
    shipTo: { lat: 40.7, lon: -74.0 },
    lines: [{ lineNo: 1, sku, qty }],
    allowPartial: true,
    actor: 'system',
    ...overrides,
  });
  const activities = () => createOrderReleaseActivities({ db });
  const reservationsOf = (orderId: string) =>
    db.selectFrom('reservations').select(['id', 'qty']).where('order_id', '=', orderId).orderBy('id').execute();

  it('a retry of an attempt that took all the stock gets the first allocation, though routing now finds none', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 3);
    const request = allocation(sku, 3);
    const first = await activities().allocateOrder(request);
    expect(first.allocations).toEqual([expect.objectContaining({ sku, warehouse: wh, qty: 3 })]);
    expect(await activities().allocateOrder(request)).toEqual(first);
    expect(await reservationsOf(request.orderId)).toEqual([{ id: first.allocations[0]!.reservationId, qty: 3 }]);
    expect([await balance(db, sku, wh, 'available'), await balance(db, sku, wh, 'allocated')]).toEqual([0, 3]);
  });

  it('a retry that routes to other lines, and a twin running at the same time, get the first allocation', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 5);
    const request = allocation(sku, 3);
    const twins = await Promise.all([activities().allocateOrder(request), activities().allocateOrder(request)]);
    expect(twins[1]).toEqual(twins[0]);
    // Two units are left: routing a retry now reserves 2, not 3, yet the answer is the first one.
    expect(await activities().allocateOrder(request)).toEqual(twins[0]);
    expect((await reservationsOf(request.orderId)).map((r) => r.qty)).toEqual([3]);
    expect(await balance(db, sku, wh, 'allocated')).toBe(3);
  });

  it('an attempt that found nothing keeps that answer; the same key asking for something else is refused', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    const request = allocation(sku, 2);
    const empty = await activities().allocateOrder(request);
    expect(empty.allocations).toEqual([]);
    await stock(db, sku, wh, 4);
    expect(await activities().allocateOrder(request)).toEqual(empty);
    expect(await balance(db, sku, wh, 'allocated')).toBe(0);
    await expect(activities().allocateOrder({ ...request, lines: [{ lineNo: 1, sku, qty: 1 }] })).rejects.toMatchObject({ code: 'idempotency_conflict' });
    const next = await activities().allocateOrder({ ...request, attempt: 2 });
    expect(next.allocations).toEqual([expect.objectContaining({ qty: 2 })]);
  });
});

describe('lots, kept by the database itself', () => {
  /** Calls ledger_apply_legs straight, as a bug in the code would, under a claimed key; answers the SQLSTATE of a refusal. */
  async function applyDirect(legs: object[]): Promise<string | undefined> {
    const key = uniqueId('direct-');
    try {
      await db.transaction().execute(async (tx) => {
        await sql`insert into inventory_operations (idempotency_key, kind, payload_hash, actor) values (${key}, 'test', 'x', 'test')`.execute(tx);
        await sql`select ledger_apply_legs(${key}, ${JSON.stringify(legs)}::jsonb)`.execute(tx);
      });
      return undefined;
    } catch (error) {
      return (error as { code?: string }).code;
    }
  }

  it('refuses a lot-tracked arrival without a lot, a lot on an untracked item, and a lot going below zero', async () => {
    const [sku, plain, wh] = [await addItem(db, undefined, { lot_tracked: true }), await addItem(db), await addWarehouse(db)];
    await stockLot(db, sku, wh, 5, 'A', daysFromToday(30));
    await stockLot(db, sku, wh, 5, 'B', daysFromToday(60));
    const leg = (qty: number, from: string, to: string, lot?: string) => ({ sku, qty, from: { warehouse: wh, bucket: from }, to: { warehouse: wh, bucket: to }, ...(lot ? { lot } : {}) });
    expect(await applyDirect([leg(1, 'supplier', 'available')])).toBe('L0004');
    expect(await applyDirect([{ ...leg(1, 'supplier', 'available', 'A'), sku: plain }])).toBe('L0004');
    // The bucket has 10, lot A only 5: the lot's own balance refuses.
    expect(await applyDirect([leg(6, 'available', 'scrap', 'A')])).toBe('L0001');
    // Expected units carry no lot; units leaving a bucket without one take its lots earliest expiry first.
    expect(await applyDirect([leg(3, 'supplier', 'inbound')])).toBeUndefined();
    expect(await applyDirect([leg(7, 'available', 'quarantine')])).toBeUndefined();
    expect([await lotBalance(db, sku, wh, 'quarantine', 'A'), await lotBalance(db, sku, wh, 'quarantine', 'B')]).toEqual([5, 2]);
    expect(await balance(db, sku, wh, 'quarantine')).toBe(7);
    // The table's own check, even past the function.
    await expect(sql`update inventory_lot_balances set qty = -1 where sku = ${sku} and bucket = 'available' and lot = 'B'`.execute(db)).rejects.toMatchObject({ code: '23514' });
  });
});
