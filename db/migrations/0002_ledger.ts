import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

/**
 * Master data, the double-entry inventory ledger, reservations, the outbox and the
 * financial journal. The promises the code makes are also constraints here, so a
 * bug in the code is refused by the database instead of corrupting the books.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const run = (query: ReturnType<typeof sql>) => query.execute(db);

  // ---- master data
  await run(sql`
    create table items (
      sku text primary key check (sku ~ '^[A-Z0-9][A-Z0-9-]{2,39}$'),
      name text not null check (length(name) between 1 and 200),
      uom text not null default 'each',
      price_minor bigint not null check (price_minor >= 0),
      standard_cost_minor bigint not null check (standard_cost_minor >= 0),
      average_cost_minor bigint not null check (average_cost_minor >= 0),
      requires_inspection boolean not null default false,
      lot_tracked boolean not null default false,
      substitutes text[] not null default '{}',
      sku_class char(1) not null default 'C' check (sku_class in ('A', 'B', 'C')),
      safety_stock bigint not null default 0 check (safety_stock >= 0),
      active boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  await run(sql`
    create table warehouses (
      code text primary key check (code ~ '^[A-Z0-9][A-Z0-9-]{1,15}$'),
      name text not null,
      lat double precision not null check (lat between -90 and 90),
      lon double precision not null check (lon between -180 and 180),
      freight_base_minor bigint not null check (freight_base_minor >= 0),
      freight_per_km_minor bigint not null check (freight_per_km_minor >= 0),
      daily_capacity int not null check (daily_capacity >= 0),
      zones jsonb not null default '[]',
      active boolean not null default true,
      created_at timestamptz not null default now()
    )`);
  await run(sql`
    create table suppliers (
      id text primary key,
      name text not null,
      approved boolean not null default true,
      default_lead_time_days int not null check (default_lead_time_days > 0),
      created_at timestamptz not null default now()
    )`);
  await run(sql`
    create table supplier_items (
      supplier_id text not null references suppliers(id),
      sku text not null references items(sku),
      unit_cost_minor bigint not null check (unit_cost_minor >= 0),
      moq bigint not null default 1 check (moq >= 1),
      pack_size bigint not null default 1 check (pack_size >= 1),
      approved boolean not null default true,
      primary key (supplier_id, sku)
    )`);
  await run(sql`
    create table supplier_lanes (
      supplier_id text not null references suppliers(id),
      warehouse_code text not null references warehouses(code),
      lead_time_days int not null check (lead_time_days > 0),
      primary key (supplier_id, warehouse_code)
    )`);
  await run(sql`
    create table channels (
      code text primary key,
      name text not null,
      reservation_priority int not null check (reservation_priority >= 1),
      ats_buffer_qty bigint not null default 0 check (ats_buffer_qty >= 0),
      ats_buffer_pct int not null default 0 check (ats_buffer_pct between 0 and 100),
      shortage_policy text not null default 'backorder' check (shortage_policy in ('backorder', 'cancel_remainder', 'wait')),
      webhook_url text,
      updated_at timestamptz not null default now()
    )`);
  await run(sql`
    insert into channels (code, name, reservation_priority, ats_buffer_pct, shortage_policy) values
      ('dtc', 'Direct to consumer', 1, 0, 'backorder'),
      ('subscription', 'Subscriptions', 2, 0, 'backorder'),
      ('wholesale', 'Wholesale', 3, 0, 'wait'),
      ('marketplace', 'Marketplaces', 4, 10, 'cancel_remainder')`);

  // ---- inventory ledger
  // Buckets inside a warehouse never go below zero; outside accounts (where stock
  // comes from and goes to) carry the other side of every movement and may.
  await run(sql`
    create table inventory_balances (
      sku text not null references items(sku),
      warehouse_code text not null references warehouses(code),
      bucket text not null check (bucket in (
        'available', 'allocated', 'inbound', 'quarantine', 'damaged', 'return_pending', 'in_transit',
        'supplier', 'customer', 'adjustment', 'scrap')),
      qty bigint not null,
      updated_at timestamptz not null default now(),
      primary key (sku, warehouse_code, bucket),
      constraint balance_never_negative check (
        bucket in ('supplier', 'customer', 'adjustment', 'scrap') or qty >= 0)
    )`);
  await run(sql`
    create table inventory_operations (
      idempotency_key text primary key check (length(idempotency_key) between 1 and 300),
      kind text not null,
      payload_hash text not null,
      result jsonb,
      process text,
      step text,
      actor text not null,
      reason text,
      created_at timestamptz not null default now()
    )`);
  await run(sql`
    create table inventory_movements (
      id bigserial primary key,
      operation_key text not null references inventory_operations(idempotency_key),
      leg int not null,
      sku text not null references items(sku),
      qty bigint not null check (qty > 0),
      from_warehouse text not null references warehouses(code),
      from_bucket text not null,
      to_warehouse text not null references warehouses(code),
      to_bucket text not null,
      created_at timestamptz not null default now(),
      unique (operation_key, leg),
      check (from_warehouse <> to_warehouse or from_bucket <> to_bucket)
    )`);
  await run(sql`create index inventory_movements_sku_idx on inventory_movements (sku, created_at)`);
  await run(sql`
    create table reservations (
      id bigserial primary key,
      order_id text not null,
      line_no int not null,
      sku text not null references items(sku),
      warehouse_code text not null references warehouses(code),
      channel text not null references channels(code),
      priority int not null,
      qty bigint not null check (qty > 0),
      consumed_qty bigint not null default 0 check (consumed_qty >= 0 and consumed_qty <= qty),
      status text not null default 'active' check (status in ('active', 'consumed', 'released', 'expired')),
      expires_at timestamptz,
      operation_key text not null references inventory_operations(idempotency_key),
      resolved_by text references inventory_operations(idempotency_key),
      created_at timestamptz not null default now(),
      resolved_at timestamptz,
      unique (operation_key, line_no, sku, warehouse_code),
      check ((status = 'active') = (resolved_by is null))
    )`);
  await run(sql`create index reservations_order_idx on reservations (order_id, line_no)`);
  await run(sql`create index reservations_active_expiry_idx on reservations (expires_at) where status = 'active'`);

  // Refused movements (a balance would go below zero) are kept for the exception queue.
  await run(sql`
    create table ledger_refusals (
      id bigserial primary key,
      operation_key text not null,
      kind text not null,
      sku text not null,
      warehouse_code text not null,
      bucket text not null,
      requested bigint not null,
      on_hand bigint not null,
      process text,
      actor text not null,
      refused_at timestamptz not null default now()
    )`);

  // ---- outbox: ordered by (transaction id, id) so a reader never skips an event
  // that commits after a later-numbered one (see api/events.ts).
  await run(sql`
    create table outbox_events (
      id bigserial primary key,
      tx_id xid8 not null default pg_current_xact_id(),
      topic text not null,
      key text not null,
      payload jsonb not null,
      created_at timestamptz not null default now()
    )`);
  await run(sql`create index outbox_events_order_idx on outbox_events (tx_id, id)`);

  // ---- financial journal
  await run(sql`
    create table accounts (
      code text primary key,
      name text not null,
      type text not null check (type in ('asset', 'liability', 'equity', 'revenue', 'expense'))
    )`);
  await run(sql`
    insert into accounts (code, name, type) values
      ('1000', 'Cash and payment clearing', 'asset'),
      ('1100', 'Accounts receivable', 'asset'),
      ('1300', 'Inventory asset', 'asset'),
      ('2000', 'Accounts payable', 'liability'),
      ('2100', 'Goods received not invoiced', 'liability'),
      ('2200', 'Sales tax payable', 'liability'),
      ('3000', 'Owner equity', 'equity'),
      ('4000', 'Revenue', 'revenue'),
      ('4100', 'Freight revenue', 'revenue'),
      ('4200', 'Discounts', 'revenue'),
      ('4300', 'Refunds and returns', 'revenue'),
      ('5000', 'Cost of goods sold', 'expense'),
      ('5100', 'Freight expense', 'expense'),
      ('5200', 'Inventory write-offs and adjustments', 'expense')`);
  await run(sql`
    create table journal_entries (
      id bigserial primary key,
      idempotency_key text not null unique,
      event_type text not null,
      reference text not null,
      memo text,
      payload_hash text not null,
      reverses_entry_id bigint references journal_entries(id),
      actor text not null,
      posted_at timestamptz not null default now()
    )`);
  await run(sql`create index journal_entries_reference_idx on journal_entries (reference)`);
  await run(sql`
    create table journal_lines (
      entry_id bigint not null references journal_entries(id),
      line_no int not null,
      account_code text not null references accounts(code),
      debit_minor bigint not null default 0 check (debit_minor >= 0),
      credit_minor bigint not null default 0 check (credit_minor >= 0),
      primary key (entry_id, line_no),
      check ((debit_minor = 0) <> (credit_minor = 0))
    )`);
  // Its guards, in SQL of their own: the append-only trigger on movements and journal
  // rows, and the balance check of a journal entry at commit.
  await sql.raw(await readFile(new URL('../sql/0002_ledger.sql', import.meta.url), 'utf8')).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'journal_lines', 'journal_entries', 'accounts', 'outbox_events', 'ledger_refusals', 'reservations', 'inventory_movements',
    'inventory_operations', 'inventory_balances', 'channels', 'supplier_lanes', 'supplier_items', 'suppliers',
    'warehouses', 'items',
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
  await sql`drop function check_entry_balanced`.execute(db);
  await sql`drop function refuse_change`.execute(db);
}
