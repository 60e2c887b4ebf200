import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

/**
 * The ledger's hot path in the database: applying legs (`ledger_apply_legs`), and a whole
 * reservation (`ledger_reserve`), each in one call; their source is ../sql/0005_ledger_functions.sql.
 *
 * Refusals raise SQLSTATE L0001 with the details as JSON in DETAIL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(await readFile(new URL('../sql/0005_ledger_functions.sql', import.meta.url), 'utf8')).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function ledger_reserve`.execute(db);
  await sql`drop function ledger_apply_legs`.execute(db);
  await sql`drop function ledger_lock_rank`.execute(db);
}
