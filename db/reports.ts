/**
 * Financial statements from the journal, in the functional currency, by posting date:
 * the income statement of a month and the balance sheet as of a day.
 */
import { sql, type Kysely } from 'kysely';
import { functionalCurrency } from './fx-rates.js';
import { periodEnd } from './periods.js';
import type { Database } from './schema.js';

type AccountType = 'asset' | 'liability' | 'equity' | 'revenue' | 'expense';
interface AccountAmount { code: string; name: string; amountMinor: number }
interface Section { accounts: AccountAmount[]; totalMinor: number }

/** Per account of these types, debits and credits of entries posted in [from, to] (from open when null). */
async function sums(db: Kysely<Database>, types: AccountType[], from: string | null, to: string) {
  const since = from ? sql`and e.posting_date >= ${from}::date` : sql``;
  const rows = await sql<{ code: string; name: string; type: AccountType; debits: number; credits: number }>`
    select a.code, a.name, a.type, sum(l.debit_minor)::bigint as debits, sum(l.credit_minor)::bigint as credits
    from journal_lines l
    join journal_entries e on e.id = l.entry_id
    join accounts a on a.code = l.account_code
    where a.type in (${sql.join(types)}) and e.posting_date <= ${to}::date ${since}
    group by a.code, a.name, a.type order by a.code`.execute(db);
  return rows.rows.map((r) => ({ ...r, debits: Number(r.debits), credits: Number(r.credits) }));
}

/** Debit-normal types show debits − credits, credit-normal ones credits − debits. */
const debitNormal = (type: AccountType) => type === 'asset' || type === 'expense';

function section(rows: Awaited<ReturnType<typeof sums>>, type: AccountType): Section {
  const accounts = rows
    .filter((r) => r.type === type)
    .map((r) => ({ code: r.code, name: r.name, amountMinor: debitNormal(type) ? r.debits - r.credits : r.credits - r.debits }))
    .filter((a) => a.amountMinor !== 0);
  return { accounts, totalMinor: accounts.reduce((n, a) => n + a.amountMinor, 0) };
}

/** Revenue (net of discounts, refunds and exchange differences, which sit on revenue accounts) less expenses. */
export async function incomeStatement(db: Kysely<Database>, period: string) {
  const from = `${period}-01`;
  const to = periodEnd(period);
  const rows = await sums(db, ['revenue', 'expense'], from, to);
  const revenue = section(rows, 'revenue');
  const expenses = section(rows, 'expense');
  return { period, from, to, functionalCurrency: await functionalCurrency(db), revenue, expenses, netIncomeMinor: revenue.totalMinor - expenses.totalMinor };
}

/**
 * Assets, liabilities and equity of every entry posted on or before `asOf`. Nothing closes
 * revenue and expense into equity, so their result up to that day is shown as current
 * earnings; when the journal balances, assets = liabilities + equity + current earnings.
 */
export async function balanceSheet(db: Kysely<Database>, asOf: string) {
  const rows = await sums(db, ['asset', 'liability', 'equity', 'revenue', 'expense'], null, asOf);
  const assets = section(rows, 'asset');
  const liabilities = section(rows, 'liability');
  const equity = section(rows, 'equity');
  const currentEarningsMinor = section(rows, 'revenue').totalMinor - section(rows, 'expense').totalMinor;
  const liabilitiesAndEquityMinor = liabilities.totalMinor + equity.totalMinor + currentEarningsMinor;
  return {
    asOf,
    functionalCurrency: await functionalCurrency(db),
    assets,
    liabilities,
    equity: { ...equity, currentEarningsMinor, totalMinor: equity.totalMinor + currentEarningsMinor },
    liabilitiesAndEquityMinor,
    balanced: assets.totalMinor === liabilitiesAndEquityMinor,
  };
}
