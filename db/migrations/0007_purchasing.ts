import { sql, type Kysely } from 'kysely';

/**
 * Purchasing: purchase orders and their lines, receipts (with landed cost) and supplier
 * invoices with their three-way match. The workflow `po-<id>` owns the figures; these
 * rows mirror them for reading, and the constraints refuse impossible quantities.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table purchase_orders (
      id text primary key,
      workflow_id text not null unique,
      supplier_id text not null references suppliers(id),
      warehouse_code text not null references warehouses(code),
      currency text not null,
      status text not null,
      status_reason text,
      value_minor bigint not null check (value_minor >= 0),
      expected_at timestamptz not null,
      confirmed_at timestamptz,
      created_by text not null,
      approval jsonb,
      issued_at timestamptz,
      acknowledged_at timestamptz,
      closed_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index purchase_orders_status_idx on purchase_orders (status, expected_at)`.execute(db);
  await sql`
    create table purchase_order_lines (
      po_id text not null references purchase_orders(id),
      line_no int not null check (line_no >= 1),
      sku text not null references items(sku),
      ordered_qty bigint not null check (ordered_qty > 0),
      unit_cost_minor bigint not null check (unit_cost_minor >= 0),
      confirmed_qty bigint check (confirmed_qty >= 0),
      received_qty bigint not null default 0 check (received_qty >= 0),
      accepted_qty bigint not null default 0 check (accepted_qty >= 0),
      rejected_qty bigint not null default 0 check (rejected_qty >= 0),
      cancelled_qty bigint not null default 0 check (cancelled_qty >= 0),
      invoiced_qty bigint not null default 0 check (invoiced_qty >= 0),
      primary key (po_id, line_no),
      check (accepted_qty + rejected_qty <= received_qty),
      check (cancelled_qty <= ordered_qty)
    )`.execute(db);
  await sql`create index purchase_order_lines_sku_idx on purchase_order_lines (sku)`.execute(db);
  await sql`
    create table purchase_order_receipts (
      po_id text not null references purchase_orders(id),
      receipt_id text not null,
      line_no int not null,
      sku text not null references items(sku),
      qty bigint not null check (qty > 0),
      into_bucket text not null check (into_bucket in ('available', 'quarantine')),
      unit_cost_minor bigint not null check (unit_cost_minor >= 0),
      landed_cost_minor bigint not null check (landed_cost_minor >= 0),
      operation_key text not null references inventory_operations(idempotency_key),
      journal_entry_id bigint references journal_entries(id),
      actor text not null,
      received_at timestamptz not null default now(),
      primary key (po_id, receipt_id, line_no),
      foreign key (po_id, line_no) references purchase_order_lines(po_id, line_no)
    )`.execute(db);
  await sql`
    create table supplier_invoices (
      po_id text not null references purchase_orders(id),
      invoice_id text not null,
      supplier_id text not null references suppliers(id),
      status text not null check (status in ('matched', 'mismatch')),
      lines jsonb not null,
      charges_minor bigint not null check (charges_minor >= 0),
      total_minor bigint not null check (total_minor >= 0),
      differences jsonb not null default '[]',
      journal_entry_id bigint references journal_entries(id),
      actor text not null,
      received_at timestamptz not null default now(),
      primary key (po_id, invoice_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table supplier_invoices`.execute(db);
  await sql`drop table purchase_order_receipts`.execute(db);
  await sql`drop table purchase_order_lines`.execute(db);
  await sql`drop table purchase_orders`.execute(db);
}
