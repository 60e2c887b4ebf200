import { sql, type Kysely } from 'kysely';

/** Reconciliations of a channel's orders with its platform: the period looked at and what was found and done. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table channel_reconciliations (
      id text primary key,
      channel text not null references channels(code),
      period_from timestamptz not null,
      period_to timestamptz not null,
      requested_by text not null,
      platform_orders int not null check (platform_orders >= 0),
      report jsonb not null,
      finished_at timestamptz not null default now(),
      check (period_from <= period_to)
    )`.execute(db);
  await sql`create index channel_reconciliations_channel_idx on channel_reconciliations (channel, finished_at desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table channel_reconciliations`.execute(db);
}
