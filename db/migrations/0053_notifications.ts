import { sql, type Kysely } from 'kysely';

/**
 * People subscribe to kinds of tasks and exceptions, delivered to a webhook (signed) or by
 * e-mail. A delivery row is written in the same transaction as the task or exception that
 * causes it, once per subscription and event, and sent by the API's dispatcher with retries.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table notification_subscriptions (
      id bigserial primary key,
      user_id text not null references users(id),
      topic text not null check (topic in ('task', 'exception')),
      kind text not null check (kind = '*' or kind ~ '^[a-z][a-z0-9_]{1,59}$'),
      channel text not null check (channel in ('webhook', 'email')),
      target text not null check (length(target) between 3 and 2000),
      secret text,
      created_at timestamptz not null default now(),
      disabled_at timestamptz,
      check ((channel = 'webhook') = (secret is not null)),
      unique (user_id, topic, kind, channel, target)
    )`.execute(db);
  await sql`create index notification_subscriptions_match_idx on notification_subscriptions (topic, kind) where disabled_at is null`.execute(db);
  await sql`
    create table notification_deliveries (
      id bigserial primary key,
      subscription_id bigint not null references notification_subscriptions(id),
      event_key text not null,
      payload jsonb not null,
      status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
      attempts int not null default 0 check (attempts >= 0),
      next_attempt_at timestamptz not null default now(),
      last_error text,
      created_at timestamptz not null default now(),
      sent_at timestamptz,
      unique (subscription_id, event_key),
      check ((status = 'sent') = (sent_at is not null))
    )`.execute(db);
  await sql`create index notification_deliveries_due_idx on notification_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table notification_deliveries`.execute(db);
  await sql`drop table notification_subscriptions`.execute(db);
}
