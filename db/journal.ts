/**
 * The financial journal: double-entry, idempotent per business event, append-only.
 * The database checks at commit that every entry balances (see the 0002 migration).
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { convertCumulative, minorUnits, normalizeRate } from '../domain/currency.js';
import type { JournalLineInput } from '../domain/postings.js';
import { functionalCurrency, rateOn, todayUtc } from './fx-rates.js';
import { postingDateFor } from './periods.js';
import type { Database } from './schema.js';

export type { JournalLineInput };

export interface EntryInput {
  /** One key per business event, e.g. `shipment-S1:confirmed`. */
  key: string;
  eventType: string;
  reference: string;
  memo?: string;
  actor: string;
  lines: JournalLineInput[];
  reversesEntryId?: number;
  /** The transaction currency of lines that name none; default: the functional currency. */
  currency?: string;
  /** The date of the business event (YYYY-MM-DD), whose rate converts the entry; default: today (UTC). */
  documentDate?: string;
}

export class JournalError extends Error {
  constructor(
    readonly code: 'unbalanced_entry' | 'idempotency_conflict' | 'unknown_account' | 'no_fx_rate' | 'unknown_currency',
    message: string,
  ) {
    super(message);
    this.name = 'JournalError';
  }
}

/** The exchange gain or loss an entry leaves when it settles a balance booked at another rate. */
export const exchangeGainLossAccount = '4900';

interface PostedLine {
  account: string;
  currency: string;
  txnDebit: number;
  txnCredit: number;
  debit: number;
  credit: number;
  rate: string | null;
}

/** The ratio functional / transaction as a rate of ten decimals, for a line booked at a balance's own rate. */
function effectiveRate(functionalMinor: number, txnMinor: number, txnDigits: number, functionalDigits: number): string {
  const scaled = (BigInt(functionalMinor) * 10n ** BigInt(txnDigits + 10)) / (BigInt(txnMinor) * 10n ** BigInt(functionalDigits));
  const text = scaled.toString().padStart(11, '0');
  return normalizeRate(`${text.slice(0, -10)}.${text.slice(-10)}`) ?? '0.0000000001';
}

/**
 * Posts an entry once per key. The same key with the same content returns the first
 * entry; with other content it is refused. Pass a transaction to post together with
 * the movement that caused it.
 *
 * Lines are in their transaction currency and must balance in each currency. Each is
 * converted to the functional currency at the latest rate on or before the document date
 * (cumulatively per currency and side, so a balanced currency stays balanced to the
 * minor unit), unless it carries its own functional amount; what those leave unbalanced
 * is posted to realized exchange gain and loss as a functional-only line.
 */
export async function postEntry(db: Kysely<Database>, entry: EntryInput): Promise<{ entryId: number; replayed: boolean }> {
  const perCurrency = new Map<string, { debits: number; credits: number }>();
  for (const line of entry.lines) {
    const debit = line.debitMinor ?? 0;
    const credit = line.creditMinor ?? 0;
    if (!Number.isSafeInteger(debit) || !Number.isSafeInteger(credit) || debit < 0 || credit < 0 || (debit > 0) === (credit > 0)) {
      throw new JournalError('unbalanced_entry', `line on ${line.account}: exactly one of debit or credit, a positive integer`);
    }
    if (line.functionalMinor !== undefined && (!Number.isSafeInteger(line.functionalMinor) || line.functionalMinor < 0)) {
      throw new JournalError('unbalanced_entry', `line on ${line.account}: a functional amount is a non-negative integer`);
    }
    const currency = line.currency ?? entry.currency ?? '';
    const sums = perCurrency.get(currency) ?? { debits: 0, credits: 0 };
    sums.debits += debit;
    sums.credits += credit;
    perCurrency.set(currency, sums);
  }
  const off = [...perCurrency].find(([, sums]) => sums.debits !== sums.credits);
  if (entry.lines.length < 2 || off) {
    const [currency, sums] = off ?? ['', { debits: 0, credits: 0 }];
    throw new JournalError('unbalanced_entry', `entry ${entry.key} does not balance${currency ? ` in ${currency}` : ''}: debits ${sums.debits}, credits ${sums.credits}`);
  }
  for (const currency of perCurrency.keys()) {
    if (currency && minorUnits(currency) === undefined) throw new JournalError('unknown_currency', `entry ${entry.key}: ${currency} is not an ISO 4217 currency`);
  }
  // Entries all in the functional currency hash as they always have, so replays of keys posted before currencies still match.
  const plain = entry.currency === undefined && entry.lines.every((l) => l.currency === undefined && l.functionalMinor === undefined);
  const hash = createHash('sha256')
    .update(JSON.stringify(plain ? [entry.eventType, entry.reference, entry.lines, entry.reversesEntryId ?? null] : [entry.eventType, entry.reference, entry.lines, entry.reversesEntryId ?? null, entry.currency ?? null]))
    .digest('hex');
  const documentDate = entry.documentDate ?? todayUtc();

  const post = async (tx: Kysely<Database>) => {
    const inserted = await tx
      .insertInto('journal_entries')
      .values({
        idempotency_key: entry.key,
        event_type: entry.eventType,
        reference: entry.reference,
        memo: entry.memo ?? null,
        payload_hash: hash,
        reverses_entry_id: entry.reversesEntryId ?? null,
        actor: entry.actor,
        document_date: documentDate,
        // An event dated in a closed period is posted in the first open one, its document date kept.
        posting_date: await postingDateFor(tx, documentDate),
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const first = await tx
        .selectFrom('journal_entries')
        .select(['id', 'payload_hash'])
        .where('idempotency_key', '=', entry.key)
        .executeTakeFirstOrThrow();
      if (first.payload_hash !== hash) {
        throw new JournalError('idempotency_conflict', `key ${entry.key} was already posted with different lines`);
      }
      return { entryId: first.id, replayed: true };
    }
    const lines = await convertLines(tx, entry, documentDate);
    await tx
      .insertInto('journal_lines')
      .values(
        lines.map((line, index) => ({
          entry_id: inserted.id,
          line_no: index + 1,
          account_code: line.account,
          debit_minor: line.debit,
          credit_minor: line.credit,
          currency: line.currency,
          txn_debit_minor: line.txnDebit,
          txn_credit_minor: line.txnCredit,
          rate: line.rate,
        })),
      )
      .execute();
    return { entryId: inserted.id, replayed: false };
  };

  try {
    return db.isTransaction ? await post(db) : await db.transaction().execute(post);
  } catch (error) {
    if ((error as { code?: string }).code === '23503') {
      throw new JournalError('unknown_account', `unknown account in entry ${entry.key}`);
    }
    throw error;
  }
}

/** The entry's lines with their functional amounts, and the exchange difference line if one is left. */
async function convertLines(tx: Kysely<Database>, entry: EntryInput, documentDate: string): Promise<PostedLine[]> {
  const functional = await functionalCurrency(tx);
  const functionalDigits = minorUnits(functional)!;
  const currencyOf = (line: JournalLineInput) => line.currency ?? entry.currency ?? functional;
  const rates = new Map<string, string>([[functional, '1']]);
  for (const currency of new Set(entry.lines.map(currencyOf))) {
    if (rates.has(currency)) continue;
    const rate = await rateOn(tx, currency, functional, documentDate);
    if (!rate) throw new JournalError('no_fx_rate', `no ${currency}→${functional} rate on or before ${documentDate} for entry ${entry.key}`);
    rates.set(currency, rate.rate);
  }
  const posted: PostedLine[] = entry.lines.map((line) => ({
    account: line.account,
    currency: currencyOf(line),
    txnDebit: line.debitMinor ?? 0,
    txnCredit: line.creditMinor ?? 0,
    debit: 0,
    credit: 0,
    rate: rates.get(currencyOf(line))!,
  }));
  // Converted cumulatively per currency and side: equal totals stay equal.
  for (const [currency, rate] of rates) {
    const digits = minorUnits(currency)!;
    for (const side of ['debit', 'credit'] as const) {
      const at = entry.lines.flatMap((line, index) =>
        currencyOf(line) === currency && line.functionalMinor === undefined && (side === 'debit' ? posted[index]!.txnDebit : posted[index]!.txnCredit) > 0 ? [index] : [],
      );
      const amounts = at.map((index) => (side === 'debit' ? posted[index]!.txnDebit : posted[index]!.txnCredit));
      convertCumulative(amounts, rate, digits, functionalDigits).forEach((functionalMinor, n) => {
        posted[at[n]!]![side] = functionalMinor;
      });
    }
  }
  entry.lines.forEach((line, index) => {
    if (line.functionalMinor === undefined) return;
    const p = posted[index]!;
    if (p.txnDebit > 0) p.debit = line.functionalMinor;
    else p.credit = line.functionalMinor;
    const txn = p.txnDebit + p.txnCredit;
    p.rate = line.functionalMinor > 0 ? effectiveRate(line.functionalMinor, txn, minorUnits(p.currency)!, functionalDigits) : p.rate;
  });
  const difference = posted.reduce((n, p) => n + p.debit - p.credit, 0);
  if (difference !== 0) {
    const settling = entry.lines.find((l) => l.functionalMinor !== undefined);
    if (!settling) throw new JournalError('unbalanced_entry', `entry ${entry.key} does not balance in ${functional} after conversion (difference ${difference})`);
    posted.push({
      account: exchangeGainLossAccount,
      currency: currencyOf(settling),
      txnDebit: 0,
      txnCredit: 0,
      debit: difference < 0 ? -difference : 0,
      credit: difference > 0 ? difference : 0,
      rate: null,
    });
  }
  return posted;
}

/** A correction is a new entry with every line's sides swapped, never an edit. */
export async function reverseEntry(db: Kysely<Database>, entryId: number, key: string, actor: string, memo?: string) {
  const original = await db.selectFrom('journal_entries').selectAll().where('id', '=', entryId).executeTakeFirst();
  if (!original) throw new JournalError('unbalanced_entry', `no journal entry ${entryId}`);
  const lines = await db.selectFrom('journal_lines').selectAll().where('entry_id', '=', entryId).orderBy('line_no').execute();
  const functional = await functionalCurrency(db);
  // Sides swapped at the functional amounts first posted; an exchange difference comes back by itself.
  return postEntry(db, {
    key,
    eventType: `${original.event_type}.reversed`,
    reference: original.reference,
    memo: memo ?? `reverses entry ${entryId}`,
    actor,
    reversesEntryId: entryId,
    lines: lines
      .filter((l) => l.txn_debit_minor + l.txn_credit_minor > 0)
      .map((l) => {
        const plain = l.currency === functional && l.txn_debit_minor === l.debit_minor && l.txn_credit_minor === l.credit_minor;
        const side = l.txn_debit_minor > 0 ? { creditMinor: l.txn_debit_minor } : { debitMinor: l.txn_credit_minor };
        return plain ? { account: l.account_code, ...side } : { account: l.account_code, ...side, currency: l.currency, functionalMinor: l.debit_minor + l.credit_minor };
      }),
  });
}

/**
 * Debits and credits per account in the functional currency (balanced when the totals
 * agree), and per transaction currency: each currency's amounts in it and their
 * functional value. Every entry balances in each transaction currency, so each currency
 * does too; exchange differences are functional only.
 */
export async function trialBalance(db: Kysely<Database>, asOf?: string) {
  const functional = await functionalCurrency(db);
  // Entries posted on or before asOf (their posting date), or all.
  const upTo = asOf ? sql`and l.entry_id in (select id from journal_entries where posting_date <= ${asOf}::date)` : sql``;
  const rows = await sql<{ code: string; name: string; type: string; debits: number; credits: number }>`
    select a.code, a.name, a.type,
      coalesce(sum(l.debit_minor), 0)::bigint as debits, coalesce(sum(l.credit_minor), 0)::bigint as credits
    from accounts a left join journal_lines l on l.account_code = a.code ${upTo}
    group by a.code, a.name, a.type order by a.code`.execute(db);
  const accounts = rows.rows.map((r) => ({ ...r, balanceMinor: r.debits - r.credits }));
  const totalDebits = accounts.reduce((sum, a) => sum + a.debits, 0);
  const totalCredits = accounts.reduce((sum, a) => sum + a.credits, 0);
  const perCurrency = await sql<{ currency: string; code: string; debits: number; credits: number; functional_debits: number; functional_credits: number }>`
    select l.currency, l.account_code as code,
      sum(l.txn_debit_minor)::bigint as debits, sum(l.txn_credit_minor)::bigint as credits,
      sum(l.debit_minor)::bigint as functional_debits, sum(l.credit_minor)::bigint as functional_credits
    from journal_lines l where true ${upTo} group by l.currency, l.account_code order by l.currency, l.account_code`.execute(db);
  const currencies = [...new Set(perCurrency.rows.map((r) => r.currency))].map((currency) => {
    const of = perCurrency.rows.filter((r) => r.currency === currency);
    const debits = of.reduce((n, r) => n + r.debits, 0);
    const credits = of.reduce((n, r) => n + r.credits, 0);
    return {
      currency,
      accounts: of.map((r) => ({
        code: r.code,
        debits: r.debits,
        credits: r.credits,
        balanceMinor: r.debits - r.credits,
        functionalDebits: r.functional_debits,
        functionalCredits: r.functional_credits,
        functionalBalanceMinor: r.functional_debits - r.functional_credits,
      })),
      totalDebits: debits,
      totalCredits: credits,
      balanced: debits === credits,
    };
  });
  return { functionalCurrency: functional, asOf: asOf ?? null, accounts, totalDebits, totalCredits, balanced: totalDebits === totalCredits && currencies.every((c) => c.balanced), currencies };
}

export async function journalEntries(db: Kysely<Database>, filter: { reference?: string; limit: number }) {
  let query = db.selectFrom('journal_entries').selectAll().select([sql<string>`document_date::text`.as('document_day'), sql<string>`posting_date::text`.as('posting_day')]).orderBy('id', 'desc').limit(filter.limit);
  if (filter.reference) query = query.where('reference', '=', filter.reference);
  const entries = await query.execute();
  const lines = entries.length
    ? await db.selectFrom('journal_lines').selectAll().where('entry_id', 'in', entries.map((e) => e.id)).orderBy('line_no').execute()
    : [];
  return entries.map((e) => ({
    id: e.id,
    key: e.idempotency_key,
    eventType: e.event_type,
    reference: e.reference,
    memo: e.memo,
    actor: e.actor,
    postedAt: e.posted_at,
    documentDate: e.document_day,
    postingDate: e.posting_day,
    reversesEntryId: e.reverses_entry_id,
    lines: lines
      .filter((l) => l.entry_id === e.id)
      .map((l) => ({
        account: l.account_code,
        debitMinor: l.debit_minor,
        creditMinor: l.credit_minor,
        currency: l.currency,
        amountDebitMinor: l.txn_debit_minor,
        amountCreditMinor: l.txn_credit_minor,
        rate: l.rate === null ? null : l.rate.replace(/\.?0+$/, ''),
      })),
  }));
}
