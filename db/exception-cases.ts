/**
 * Keeping exception cases in step with the exceptions processes raise and clear: a new
 * occurrence joins (or opens, or reopens) the case of its kind on its record; a process
 * clearing the last open occurrence clears the case. Runs inside the caller's transaction
 * where there is one.
 */
import { sql, type Kysely } from 'kysely';
import { clearedByProcess } from '../domain/exception-causes.js';
import type { Database } from './schema.js';
import { suggestForCase } from './exception-suggestions.js';

/** Files a newly raised exception under its case; a resolved case reopens. A case that opens or reopens gets a suggested cause and owner. */
export async function fileUnderCase(db: Kysely<Database>, exception: { id: string; kind: string; reference: string; ownerRole: string; message: string; details?: unknown }): Promise<number> {
  const previous = await db.selectFrom('exception_cases').select('status').where('kind', '=', exception.kind).where('reference', '=', exception.reference).forUpdate().executeTakeFirst();
  const { rows } = await sql<{ id: number }>`
    insert into exception_cases (kind, reference, owner_role)
    values (${exception.kind}, ${exception.reference}, ${exception.ownerRole})
    on conflict (kind, reference) do update set
      occurrences = exception_cases.occurrences + 1,
      last_raised_at = now(),
      status = 'open',
      reopened = exception_cases.reopened + (case when exception_cases.status = 'resolved' then 1 else 0 end),
      cause = null, resolution_note = null, resolved_by = null, resolved_at = null, snoozed_until = null
    returning id`.execute(db);
  const id = Number(rows[0]!.id);
  const was = previous?.status;
  await db.updateTable('exceptions').set({ case_id: id }).where('id', '=', exception.id).execute();
  await db
    .insertInto('exception_events')
    .values({ case_id: id, actor: 'system', kind: was === 'resolved' ? 'reopened' : 'raised', note: exception.message, details: JSON.stringify({ exceptionId: exception.id }) })
    .execute();
  if (was !== 'open') await suggestForCase(db, id, exception);
  return id;
}

/** After a process resolved an exception: its case is cleared once no occurrence is open. */
export async function clearCaseIfDone(db: Kysely<Database>, exceptionId: string): Promise<void> {
  const row = await db.selectFrom('exceptions').select('case_id').where('id', '=', exceptionId).executeTakeFirst();
  if (!row?.case_id) return;
  const open = await db.selectFrom('exceptions').select('id').where('case_id', '=', row.case_id).where('status', '=', 'open').limit(1).executeTakeFirst();
  if (open) return;
  const cleared = await db
    .updateTable('exception_cases')
    .set({ status: 'resolved', cause: clearedByProcess, resolved_by: 'system', resolved_at: new Date(), snoozed_until: null })
    .where('id', '=', row.case_id)
    .where('status', '=', 'open')
    .returning('id')
    .executeTakeFirst();
  if (cleared) {
    await db.insertInto('exception_events').values({ case_id: row.case_id, actor: 'system', kind: 'cleared', note: `cleared by its process (${exceptionId})` }).execute();
  }
}
