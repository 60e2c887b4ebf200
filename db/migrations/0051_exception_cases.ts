import { sql, type Kysely } from 'kysely';

/**
 * Exceptions worked to their cause. Every raised exception belongs to a case: one per kind
 * of exception on one record (a PO late twice is one case with two occurrences). A case is
 * assigned to a person, commented, snoozed, and resolved with a root-cause code and a note;
 * a new occurrence after it was resolved reopens it. Its events are its history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table exception_cases (
      id bigserial primary key,
      kind text not null,
      reference text not null,
      owner_role text not null,
      status text not null default 'open' check (status in ('open', 'resolved')),
      assignee text references users(id),
      snoozed_until timestamptz,
      cause text check (cause is null or cause ~ '^[a-z][a-z0-9_]{1,39}$'),
      resolution_note text,
      resolved_by text,
      resolved_at timestamptz,
      opened_at timestamptz not null default now(),
      last_raised_at timestamptz not null default now(),
      occurrences int not null default 1 check (occurrences >= 1),
      reopened int not null default 0 check (reopened >= 0),
      unique (kind, reference),
      -- A resolved case says why, by whom and when; an open one none of it.
      check ((status = 'resolved') = (resolved_at is not null)),
      check (status = 'open' or cause is not null)
    )`.execute(db);
  await sql`create index exception_cases_status_idx on exception_cases (status, opened_at)`.execute(db);
  await sql`alter table exceptions add column case_id bigint references exception_cases(id)`.execute(db);
  await sql`create index exceptions_case_idx on exceptions (case_id)`.execute(db);

  await sql`
    create table exception_events (
      id bigserial primary key,
      case_id bigint not null references exception_cases(id),
      at timestamptz not null default now(),
      actor text not null,
      kind text not null check (kind in ('raised', 'assigned', 'commented', 'snoozed', 'resolved', 'reopened', 'cleared')),
      note text,
      details jsonb not null default '{}'
    )`.execute(db);
  await sql`create index exception_events_case_idx on exception_events (case_id, id)`.execute(db);

  // The exceptions raised before cases: one case per kind and record, open while any is.
  await sql`
    insert into exception_cases (kind, reference, owner_role, status, opened_at, last_raised_at, occurrences, cause, resolved_by, resolved_at)
    select kind, reference, min(owner_role), case when bool_or(status = 'open') then 'open' else 'resolved' end,
           min(raised_at), max(raised_at), count(*),
           case when bool_or(status = 'open') then null else 'cleared_by_process' end,
           case when bool_or(status = 'open') then null else 'system' end,
           case when bool_or(status = 'open') then null else max(coalesce(resolved_at, raised_at)) end
    from exceptions group by kind, reference`.execute(db);
  await sql`update exceptions e set case_id = c.id from exception_cases c where c.kind = e.kind and c.reference = e.reference`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table exception_events`.execute(db);
  await sql`alter table exceptions drop column case_id`.execute(db);
  await sql`drop table exception_cases`.execute(db);
}
