import { sql, type Kysely } from 'kysely';

/**
 * Order updates back to storefronts: per connected channel, where its order publisher stands
 * in the outbox feed and how its calls to the platform fare; and per event, what was sent
 * (a fulfillment, a refund, a note) or why not.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table channel_order_publications (
      channel text primary key references channels(code),
      -- Last feed position dealt with; set to the head of the feed when the channel is connected.
      cursor_tx xid8,
      cursor_id bigint,
      paused boolean not null default false,
      sent_events bigint not null default 0,
      skipped_events bigint not null default 0,
      refused_events bigint not null default 0,
      last_sent_at timestamptz,
      consecutive_failures int not null default 0 check (consecutive_failures >= 0),
      failing_since timestamptz,
      last_error text,
      last_failure_at timestamptz,
      open_exception_id text references exceptions(id),
      updated_at timestamptz not null default now(),
      check ((cursor_tx is null) = (cursor_id is null))
    )`.execute(db);
  await sql`
    create table channel_order_updates (
      channel text not null references channels(code),
      event_id bigint not null,
      order_id text not null,
      topic text not null,
      outcome text not null check (outcome in ('sent', 'already', 'skipped', 'refused')),
      action text not null,
      reference text,
      detail text,
      at timestamptz not null default now(),
      primary key (channel, event_id)
    )`.execute(db);
  await sql`create index channel_order_updates_order_idx on channel_order_updates (order_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table channel_order_updates`.execute(db);
  await sql`drop table channel_order_publications`.execute(db);
}
