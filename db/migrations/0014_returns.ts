import { sql, type Kysely } from 'kysely';

/**
 * Returns (RMAs) from authorization to refund: the authorized lines, each parcel received,
 * each inspection's dispositions; the local payment gateway's refunds (one per idempotency
 * key) and its fault plan for tests; vendor returns that come from a customer return.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const run = (query: ReturnType<typeof sql>) => query.execute(db);
  await run(sql`
    create table returns (
      id text primary key check (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$'),
      workflow_id text not null unique,
      order_id text not null references orders(id),
      channel text not null,
      customer_id text not null,
      currency text not null,
      reason_code text not null,
      resolution text not null check (resolution in ('refund', 'exchange')),
      status text not null,
      status_reason text,
      request_hash text not null,
      input jsonb not null,
      requested_by text not null,
      authorized_at timestamptz not null default now(),
      expires_at timestamptz not null,
      first_received_at timestamptz,
      inspected_at timestamptz,
      refunded_at timestamptz,
      closed_at timestamptz,
      refund jsonb,
      refund_minor bigint check (refund_minor >= 0),
      credit_minor bigint check (credit_minor >= 0),
      restocked_value_minor bigint not null default 0 check (restocked_value_minor >= 0),
      returned_value_minor bigint not null default 0 check (returned_value_minor >= 0),
      approval jsonb,
      gateway_refund_id text,
      replacement_order_id text,
      journal_entry_id bigint references journal_entries(id),
      updated_at timestamptz not null default now()
    )`);
  await run(sql`create index returns_order_idx on returns (order_id)`);
  await run(sql`create index returns_open_idx on returns (first_received_at) where closed_at is null`);
  await run(sql`
    create table return_lines (
      return_id text not null references returns(id),
      line_no int not null,
      sku text not null references items(sku),
      qty bigint not null check (qty > 0),
      replacement_sku text references items(sku),
      received_qty bigint not null default 0,
      inspected_qty bigint not null default 0,
      restocked_qty bigint not null default 0,
      refurbished_qty bigint not null default 0,
      damaged_qty bigint not null default 0,
      vendor_returned_qty bigint not null default 0,
      refunded_qty bigint not null default 0,
      -- Refurbished units leave quarantine later: back on the shelf, or written off.
      refurbished_restocked_qty bigint not null default 0,
      refurbished_scrapped_qty bigint not null default 0,
      primary key (return_id, line_no),
      check (refurbished_restocked_qty >= 0 and refurbished_scrapped_qty >= 0
        and refurbished_restocked_qty + refurbished_scrapped_qty <= refurbished_qty),
      check (received_qty between 0 and qty),
      check (inspected_qty between 0 and received_qty),
      check (restocked_qty + refurbished_qty + damaged_qty + vendor_returned_qty = inspected_qty),
      check (refunded_qty between 0 and received_qty)
    )`);
  await run(sql`
    create table return_receipts (
      return_id text not null references returns(id),
      parcel_id text not null,
      line_no int not null,
      sku text not null references items(sku),
      warehouse_code text not null references warehouses(code),
      qty bigint not null check (qty > 0),
      cost_minor bigint not null check (cost_minor >= 0),
      operation_key text not null references inventory_operations(idempotency_key),
      journal_entry_id bigint references journal_entries(id),
      actor text not null,
      received_at timestamptz not null default now(),
      primary key (return_id, parcel_id, line_no)
    )`);
  await run(sql`
    create table return_inspections (
      return_id text not null references returns(id),
      inspection_id text not null,
      seq int not null,
      line_no int not null,
      sku text not null references items(sku),
      warehouse_code text not null references warehouses(code),
      qty bigint not null check (qty > 0),
      condition text not null,
      disposition text not null check (disposition in ('restock', 'refurbish', 'damaged', 'vendor_return')),
      rule_disposition text not null,
      override_reason text,
      cost_minor bigint not null check (cost_minor >= 0),
      operation_key text not null references inventory_operations(idempotency_key),
      vendor_return_id text,
      actor text not null,
      inspected_at timestamptz not null default now(),
      primary key (return_id, inspection_id, seq)
    )`);

  // Restocking fees kept from refunds are income of their own.
  await run(sql`insert into accounts (code, name, type) values ('4400', 'Restocking fees', 'revenue') on conflict (code) do nothing`);

  // Defective returned units go back to their supplier by the vendor-return path of purchasing.
  await run(sql`alter table vendor_returns alter column po_id drop not null`);
  await run(sql`alter table vendor_returns add column return_id text references returns(id)`);
  await run(sql`alter table vendor_returns add constraint vendor_returns_source check (po_id is not null or return_id is not null)`);

  // The local payment gateway (tests and the demo): one refund per idempotency key.
  await run(sql`
    create table payment_gateway_refunds (
      idempotency_key text primary key,
      refund_id text not null unique,
      reference text not null,
      amount_minor bigint not null check (amount_minor > 0),
      currency text not null,
      request_hash text not null,
      created_at timestamptz not null default now()
    )`);
  // Faults a test plans for a key: the next `remaining` calls fail, before or after recording.
  await run(sql`
    create table payment_gateway_faults (
      idempotency_key text not null,
      kind text not null check (kind in ('unavailable', 'lost_response', 'declined')),
      remaining int not null check (remaining >= 0),
      hits int not null default 0,
      primary key (idempotency_key, kind)
    )`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table payment_gateway_faults`.execute(db);
  await sql`drop table payment_gateway_refunds`.execute(db);
  await sql`alter table vendor_returns drop constraint vendor_returns_source`.execute(db);
  await sql`alter table vendor_returns drop column return_id`.execute(db);
  await sql`alter table vendor_returns alter column po_id set not null`.execute(db);
  for (const table of ['return_inspections', 'return_receipts', 'return_lines', 'returns']) await sql`drop table ${sql.table(table)}`.execute(db);
  await sql`delete from accounts where code = '4400'`.execute(db);
}
