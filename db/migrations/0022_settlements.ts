import { sql, type Kysely } from 'kysely';

/**
 * Gateway payouts and their reconciliation: the payout report as received (one per gateway
 * and payout id, its content hashed), its balance-transaction lines with what each matched,
 * and the accounts the reconciliation posts to.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table settlements (
      id text primary key,
      gateway text not null,
      payout_id text not null,
      arrival_date date not null,
      amount_minor bigint not null check (amount_minor >= 0),
      currency text not null,
      payload_hash text not null,
      status text not null default 'received' check (status in ('received', 'reconciled')),
      summary jsonb,
      journal_entry_id bigint references journal_entries(id),
      received_by text not null,
      created_at timestamptz not null default now(),
      reconciled_at timestamptz,
      unique (gateway, payout_id)
    )`.execute(db);
  await sql`
    create table settlement_lines (
      settlement_id text not null references settlements(id),
      line_no int not null,
      txn_id text not null,
      type text not null,
      reporting_category text,
      amount_minor bigint not null,
      fee_minor bigint not null check (fee_minor >= 0),
      net_minor bigint not null,
      source text,
      charge text,
      outcome text,
      order_id text,
      difference_minor bigint,
      primary key (settlement_id, line_no),
      unique (settlement_id, txn_id),
      check (net_minor = amount_minor - fee_minor)
    )`.execute(db);
  await sql`create index settlement_lines_source_idx on settlement_lines (source)`.execute(db);
  await sql`
    insert into accounts (code, name, type) values
      ('1020', 'Bank', 'asset'),
      ('1150', 'Chargebacks in dispute', 'asset'),
      ('2400', 'Unidentified gateway receipts', 'liability'),
      ('6100', 'Payment processing fees', 'expense')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table settlement_lines`.execute(db);
  await sql`drop table settlements`.execute(db);
}
