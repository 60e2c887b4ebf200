import { sql, type Kysely } from 'kysely';

/**
 * Storefront connectors: per channel, the platform it is connected to and how its webhooks
 * are authenticated and read; every webhook delivery that was authenticated, with what came
 * of it; and per platform order, the order this product made of it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table channel_connectors (
      channel text primary key references channels(code),
      platform text not null check (platform in ('shopify', 'woocommerce')),
      shop text not null check (length(shop) between 3 and 300),
      -- Never shown by the API. During a rotation the previous secret is accepted until its time is up.
      webhook_secret text not null check (length(webhook_secret) between 16 and 500),
      previous_secret text check (previous_secret is null or length(previous_secret) between 16 and 500),
      previous_secret_until timestamptz,
      sku_prefix_map jsonb not null default '{}' check (jsonb_typeof(sku_prefix_map) = 'object'),
      currencies text[] not null default '{}',
      order_id_prefix text not null check (order_id_prefix ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$'),
      -- The platform's admin API, for fulfillments, refunds and reconciliation; the token is never shown.
      api_base_url text,
      api_token text,
      updated_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((previous_secret is null) = (previous_secret_until is null))
    )`.execute(db);

  await sql`
    create table channel_deliveries (
      id bigserial primary key,
      channel text not null references channels(code),
      platform text not null check (platform in ('shopify', 'woocommerce')),
      -- The platform's id of the delivery, the same on each of its retries (or reconcile:<order> for one pulled by reconciliation).
      delivery_id text not null check (length(delivery_id) between 1 and 200),
      topic text not null,
      platform_order_id text,
      order_id text,
      body_sha256 text not null,
      -- The order as this delivery told it (null for a topic that carries none).
      snapshot jsonb,
      received_at timestamptz not null default now(),
      -- When the order's intake process was told of it; a delivery never handed over is handed over by the platform's retry.
      handed_over_at timestamptz,
      outcome text not null default 'received' check (outcome in (
        'received', 'ignored', 'not_placed', 'order_created', 'order_rejected', 'update_applied', 'update_refused',
        'needs_review', 'order_cancelled', 'cancel_refused', 'payment_recorded', 'no_change', 'superseded')),
      detail jsonb,
      decided_at timestamptz,
      unique (channel, platform, delivery_id)
    )`.execute(db);
  await sql`create index channel_deliveries_channel_idx on channel_deliveries (channel, id desc)`.execute(db);
  await sql`create index channel_deliveries_order_idx on channel_deliveries (channel, platform_order_id)`.execute(db);

  await sql`
    create table channel_orders (
      channel text not null references channels(code),
      platform_order_id text not null,
      platform text not null check (platform in ('shopify', 'woocommerce')),
      order_id text not null unique,
      -- The newest state the platform told, and when the platform made it.
      snapshot jsonb not null,
      version timestamptz not null,
      -- What the order process was given or changed to (null: no order process yet).
      applied jsonb,
      order_started_at timestamptz,
      cancelled_at timestamptz,
      payment_status text,
      payment_gateway text,
      coordinates text not null check (coordinates in ('payload', 'postal_code', 'country_centroid', 'none')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (channel, platform_order_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table channel_orders`.execute(db);
  await sql`drop table channel_deliveries`.execute(db);
  await sql`drop table channel_connectors`.execute(db);
}
