import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

/**
 * Monthly accounting periods: a period is open until closed; a closed period takes no
 * journal entry (refused by the database). Every entry has a posting date besides its
 * document date: the same unless the document's period was closed, when it is the first
 * day of the first open period after it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table accounting_periods (
      period text primary key check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      status text not null check (status in ('open', 'closed')),
      closed_at timestamptz,
      closed_by text,
      reopened_at timestamptz,
      reopened_by text,
      reopen_reason text,
      checks jsonb,
      updated_at timestamptz not null default now(),
      check ((status = 'closed') = (closed_at is not null))
    )`.execute(db);
  await sql`alter table journal_entries add column posting_date date`.execute(db);
  await sql`alter table journal_entries disable trigger journal_entries_append_only`.execute(db);
  await sql`update journal_entries set posting_date = document_date`.execute(db);
  await sql`alter table journal_entries enable trigger journal_entries_append_only`.execute(db);
  await sql`alter table journal_entries alter column posting_date set not null, alter column posting_date set default current_date`.execute(db);
  await sql`alter table journal_entries add constraint journal_entries_posted_on_or_after_document check (posting_date >= document_date)`.execute(db);
  await sql`create index journal_entries_posting_date_idx on journal_entries (posting_date)`.execute(db);
  await sql.raw(await readFile(new URL('../sql/0023_periods.sql', import.meta.url), 'utf8')).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger journal_entries_open_period on journal_entries`.execute(db);
  await sql`drop function refuse_closed_period`.execute(db);
  await sql`alter table journal_entries drop column posting_date`.execute(db);
  await sql`drop table accounting_periods`.execute(db);
}
