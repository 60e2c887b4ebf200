import { sql, type Kysely } from 'kysely';

/** The human queue, the exception list, and stock adjustments with their approvals. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table tasks (
      id text primary key,
      kind text not null,
      reference text not null,
      workflow_id text not null,
      role text not null,
      status text not null default 'open' check (status in ('open', 'done', 'cancelled')),
      priority text not null default 'normal' check (priority in ('normal', 'high')),
      title text not null,
      reason text not null,
      details jsonb not null default '{}',
      created_at timestamptz not null default now(),
      escalated_at timestamptz,
      closed_at timestamptz,
      closed_by text,
      outcome text
    )`.execute(db);
  await sql`create index tasks_open_idx on tasks (status, created_at)`.execute(db);
  await sql`
    create table exceptions (
      id text primary key,
      kind text not null,
      reference text not null,
      workflow_id text,
      owner_role text not null,
      message text not null,
      details jsonb not null default '{}',
      status text not null default 'open' check (status in ('open', 'resolved')),
      raised_at timestamptz not null default now(),
      resolved_at timestamptz
    )`.execute(db);
  await sql`create index exceptions_open_idx on exceptions (status, kind, raised_at)`.execute(db);
  await sql`
    create table inventory_adjustments (
      id text primary key,
      sku text not null references items(sku),
      warehouse_code text not null references warehouses(code),
      kind text not null check (kind in ('delta', 'count')),
      reason_code text not null,
      counted_qty bigint check (counted_qty >= 0),
      expected_qty bigint,
      delta bigint,
      value_minor bigint,
      status text not null,
      requested_by text not null,
      decided_by text,
      decision_reason text,
      decided_at timestamptz,
      created_at timestamptz not null default now(),
      posted_at timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table inventory_adjustments`.execute(db);
  await sql`drop table exceptions`.execute(db);
  await sql`drop table tasks`.execute(db);
}
