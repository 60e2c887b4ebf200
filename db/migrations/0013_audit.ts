import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

/**
 * The audit log: one row per accepted change made through the API (who, what, on which
 * record, before and after, why, when). Append-only like the ledger: the trigger refuses
 * updates and deletes, so a row once written tells what happened.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_log (
      id bigserial primary key,
      at timestamptz not null default now(),
      actor text not null,
      role text not null,
      automated boolean not null default false,
      action text not null,
      subject_type text not null,
      subject_id text,
      method text not null,
      route text not null,
      before jsonb,
      after jsonb,
      reason text,
      request_id text not null unique,
      status_code int not null check (status_code between 200 and 299)
    )`.execute(db);
  await sql`create index audit_log_at_idx on audit_log (at desc, id desc)`.execute(db);
  await sql`create index audit_log_subject_idx on audit_log (subject_type, subject_id, at desc)`.execute(db);
  await sql`create index audit_log_actor_idx on audit_log (actor, at desc)`.execute(db);
  // People's changes are a thin slice of the log (every order and WMS event is a system row):
  // the console's "recent decisions" (automated = false, newest first) must not scan the rest.
  await sql`create index audit_log_people_idx on audit_log (id desc) where not automated`.execute(db);
  await sql.raw(await readFile(new URL('../sql/0013_audit.sql', import.meta.url), 'utf8')).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_log`.execute(db);
}
