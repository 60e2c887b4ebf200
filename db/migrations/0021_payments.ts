import { sql, type Kysely } from 'kysely';

/**
 * Payments on orders: the authorization (or terms) an order carries, what was captured of
 * it per shipment, and what was refunded of the captures, with the database holding the
 * promises (captures never above the authorization, refunds never above the captures).
 * And the local gateway's book of authorizations, captures and voids.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table order_payments (
      order_id text primary key references orders(id),
      kind text not null check (kind in ('authorization', 'terms')),
      gateway text check (gateway ~ '^[a-z0-9_-]{1,30}$'),
      authorization_id text,
      currency text not null,
      authorized_minor bigint not null default 0 check (authorized_minor >= 0),
      expires_at timestamptz,
      due_date date,
      captured_minor bigint not null default 0 check (captured_minor >= 0),
      refunded_minor bigint not null default 0 check (refunded_minor >= 0),
      voided_minor bigint not null default 0 check (voided_minor >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint order_payments_captures_within_authorization check (captured_minor + voided_minor <= authorized_minor),
      constraint order_payments_refunds_within_captures check (refunded_minor <= captured_minor),
      check ((kind = 'authorization') = (gateway is not null and authorization_id is not null and expires_at is not null)),
      check ((kind = 'terms') = (due_date is not null))
    )`.execute(db);
  await sql`
    create table payment_captures (
      idempotency_key text primary key,
      order_id text not null references order_payments(order_id),
      shipment_id text not null unique,
      capture_id text not null,
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null,
      journal_entry_id bigint references journal_entries(id),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table payment_refunds (
      idempotency_key text primary key,
      order_id text not null references order_payments(order_id),
      return_id text not null,
      refund_id text,
      amount_minor bigint not null check (amount_minor >= 0),
      uncaptured_minor bigint not null check (uncaptured_minor >= 0),
      currency text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table payment_capture_failures (
      shipment_id text primary key,
      order_id text not null,
      amount_minor bigint not null,
      reason text not null,
      failed_at timestamptz not null default now()
    )`.execute(db);

  // The local fake gateway (tests and the demo).
  await sql`
    create table payment_gateway_authorizations (
      authorization_id text primary key,
      idempotency_key text not null unique,
      reference text not null,
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null,
      captured_minor bigint not null default 0,
      voided_at timestamptz,
      expires_at timestamptz not null,
      request_hash text not null,
      created_at timestamptz not null default now(),
      check (captured_minor between 0 and amount_minor)
    )`.execute(db);
  await sql`
    create table payment_gateway_captures (
      idempotency_key text primary key,
      capture_id text not null unique,
      authorization_id text not null references payment_gateway_authorizations(authorization_id),
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null,
      request_hash text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table payment_gateway_voids (
      idempotency_key text primary key,
      authorization_id text not null references payment_gateway_authorizations(authorization_id),
      released_minor bigint not null check (released_minor >= 0),
      created_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['payment_gateway_voids', 'payment_gateway_captures', 'payment_gateway_authorizations', 'payment_capture_failures', 'payment_refunds', 'payment_captures', 'order_payments']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
