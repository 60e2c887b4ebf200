import { sql, type Kysely } from 'kysely';

/**
 * Channel publishing: per channel, where its publisher stands in the outbox feed and how
 * its deliveries fare. The webhook URL stays on `channels`; the signing secret, batch size
 * and pause live here. The cursor is the last feed position the channel's webhook
 * accepted, so a publisher started again resumes from it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table channel_publications (
      channel text primary key references channels(code),
      secret text check (secret is null or length(secret) between 16 and 200),
      batch_size int not null default 100 check (batch_size between 1 and 1000),
      paused boolean not null default false,
      -- Last position delivered (both null: nothing yet, the first delivery is a full snapshot).
      cursor_tx xid8,
      cursor_id bigint,
      -- The last batch number handed out; a message carries its number, and numbers only grow.
      sequence bigint not null default 0 check (sequence >= 0),
      delivered_batches bigint not null default 0,
      delivered_events bigint not null default 0,
      delivered_skus bigint not null default 0,
      last_delivered_at timestamptz,
      last_delivered_sequence bigint,
      -- The body of the batch being delivered: a retry sends it again unchanged, as its
      -- idempotency key promises, instead of figures computed later under the same key.
      pending_sequence bigint,
      pending_body text,
      consecutive_failures int not null default 0 check (consecutive_failures >= 0),
      failing_since timestamptz,
      last_error text,
      last_failure_at timestamptz,
      open_exception_id text references exceptions(id),
      updated_by text not null default 'system',
      updated_at timestamptz not null default now(),
      check ((cursor_tx is null) = (cursor_id is null))
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table channel_publications`.execute(db);
}
