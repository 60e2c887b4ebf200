import { sql, type Kysely } from 'kysely';

/**
 * When an exception case opens (or reopens), the cause and owner suggested from the cases
 * people resolved before: how sure, the causes weighed, the past cases it rests on, and how
 * many it learned from. One row per case, replaced when the case reopens. Whether the person
 * who resolved it followed the suggestion is in the case's `resolved` event.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table exception_case_suggestions (
      case_id bigint primary key references exception_cases(id),
      cause text not null,
      confidence double precision not null check (confidence between 0 and 1),
      alternatives jsonb not null,
      rests_on bigint[] not null,
      owner text,
      owner_share double precision check (owner_share between 0 and 1),
      trained_on int not null check (trained_on > 0),
      made_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table exception_case_suggestions`.execute(db);
}
