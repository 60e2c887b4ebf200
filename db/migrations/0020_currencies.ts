import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';
import { minorUnits } from '../../domain/currency.js';

/**
 * Currencies in the journal. The functional currency is fixed here, once, from
 * `FUNCTIONAL_CURRENCY` (default USD): the books are kept in it, and the API and worker
 * refuse to start with another. Every journal line gains its transaction currency, its
 * amount in that currency and the rate; `debit_minor`/`credit_minor` are the functional
 * amounts. Lines posted before are in the functional currency at rate 1. Rates to the
 * functional currency are kept per date in `fx_rates`. Entries gain a document date.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const functional = process.env.FUNCTIONAL_CURRENCY || 'USD';
  if (minorUnits(functional) === undefined) throw new Error(`FUNCTIONAL_CURRENCY ${functional} is not an ISO 4217 currency`);

  await sql`
    create table ledger_settings (
      id boolean primary key default true check (id),
      functional_currency text not null check (functional_currency ~ '^[A-Z]{3}$')
    )`.execute(db);
  await sql`insert into ledger_settings (functional_currency) values (${functional})`.execute(db);

  await sql`
    create table fx_rates (
      from_currency text not null check (from_currency ~ '^[A-Z]{3}$'),
      to_currency text not null check (to_currency ~ '^[A-Z]{3}$'),
      rate_date date not null,
      rate numeric(22, 10) not null check (rate > 0),
      set_by text not null,
      set_at timestamptz not null default now(),
      primary key (from_currency, to_currency, rate_date),
      check (from_currency <> to_currency)
    )`.execute(db);

  await sql`alter table journal_entries add column document_date date not null default current_date`.execute(db);

  await sql`
    alter table journal_lines
      add column currency text not null default ${sql.lit(functional)} check (currency ~ '^[A-Z]{3}$'),
      add column txn_debit_minor bigint not null default 0 check (txn_debit_minor >= 0),
      add column txn_credit_minor bigint not null default 0 check (txn_credit_minor >= 0),
      add column rate numeric(22, 10) default 1 check (rate > 0)`.execute(db);
  // Lines posted before are functional at rate 1: their amount in the transaction
  // currency is their functional amount. The only edit journal rows ever get.
  await sql`alter table journal_lines disable trigger journal_lines_append_only`.execute(db);
  await sql`update journal_lines set txn_debit_minor = debit_minor, txn_credit_minor = credit_minor`.execute(db);
  await sql`alter table journal_lines enable trigger journal_lines_append_only`.execute(db);
  await sql`
    alter table journal_lines
      alter column currency drop default,
      alter column txn_debit_minor drop default,
      alter column txn_credit_minor drop default,
      alter column rate drop default`.execute(db);

  // One side per line, in either amount: an exchange difference has a functional amount
  // only (no rate), a tiny amount may convert to zero functional units.
  await sql`
    do $$ declare c text; begin
      select conname into c from pg_constraint
       where conrelid = 'journal_lines'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%debit_minor = 0%<>%credit_minor = 0%';
      if c is not null then execute format('alter table journal_lines drop constraint %I', c); end if;
    end $$`.execute(db);
  await sql`
    alter table journal_lines
      add constraint journal_lines_one_side check ((debit_minor + txn_debit_minor > 0) <> (credit_minor + txn_credit_minor > 0)),
      add constraint journal_lines_rate_with_amount check ((rate is null) = (txn_debit_minor + txn_credit_minor = 0))`.execute(db);

  await sql`insert into accounts (code, name, type) values ('4900', 'Realized exchange gain and loss', 'revenue')`.execute(db);
  await sql.raw(await readFile(new URL('../sql/0020_currencies.sql', import.meta.url), 'utf8')).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0020_currencies cannot be undone: journal lines in other currencies have no functional-only form');
}
