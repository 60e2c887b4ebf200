/**
 * The functional currency of the books and the exchange rates into it. A posting in
 * another currency uses the latest rate on or before its document date.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The functional currency fixed by migration 0020 (from `FUNCTIONAL_CURRENCY`). */
export async function functionalCurrency(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('ledger_settings').select('functional_currency').executeTakeFirstOrThrow();
  return row.functional_currency;
}

export interface FxRate {
  from: string;
  to: string;
  /** YYYY-MM-DD. */
  date: string;
  rate: string;
}

/** The latest rate from `from` to `to` dated on or before `date` (YYYY-MM-DD), if any. */
export async function rateOn(db: Kysely<Database>, from: string, to: string, date: string): Promise<FxRate | undefined> {
  const row = await db
    .selectFrom('fx_rates')
    .select(['from_currency', 'to_currency', sql<string>`rate_date::text`.as('date'), sql<string>`rate::text`.as('rate')])
    .where('from_currency', '=', from)
    .where('to_currency', '=', to)
    .where(sql`rate_date`, '<=', sql<Date>`${date}::date`)
    .orderBy('rate_date', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { from: row.from_currency, to: row.to_currency, date: row.date, rate: trimRate(row.rate) } : undefined;
}

/** numeric(22,10) prints ten fractional digits: `1.0825000000` → `1.0825`. */
const trimRate = (text: string) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

/** Sets rates (one per pair and date; a second PUT for the same day replaces it) and answers what each was before. */
export async function setRates(db: Kysely<Database>, rates: FxRate[], actor: string): Promise<{ rate: FxRate; previous: string | null }[]> {
  return db.transaction().execute(async (tx) => {
    const results: { rate: FxRate; previous: string | null }[] = [];
    for (const rate of rates) {
      const before = await tx
        .selectFrom('fx_rates')
        .select(sql<string>`rate::text`.as('rate'))
        .where('from_currency', '=', rate.from)
        .where('to_currency', '=', rate.to)
        .where(sql`rate_date`, '=', sql<Date>`${rate.date}::date`)
        .forUpdate()
        .executeTakeFirst();
      await tx
        .insertInto('fx_rates')
        .values({ from_currency: rate.from, to_currency: rate.to, rate_date: rate.date, rate: rate.rate, set_by: actor })
        .onConflict((oc) => oc.columns(['from_currency', 'to_currency', 'rate_date']).doUpdateSet({ rate: rate.rate, set_by: actor, set_at: new Date() }))
        .execute();
      results.push({ rate, previous: before ? trimRate(before.rate) : null });
    }
    return results;
  });
}

/** Rates, newest first, optionally of one currency. */
export async function listRates(db: Kysely<Database>, filter: { from?: string; limit: number }): Promise<(FxRate & { setBy: string; setAt: Date })[]> {
  let query = db
    .selectFrom('fx_rates')
    .select(['from_currency', 'to_currency', sql<string>`rate_date::text`.as('date'), sql<string>`rate::text`.as('rate'), 'set_by', 'set_at'])
    .orderBy('rate_date', 'desc')
    .orderBy('from_currency')
    .limit(filter.limit);
  if (filter.from) query = query.where('from_currency', '=', filter.from);
  const rows = await query.execute();
  return rows.map((r) => ({ from: r.from_currency, to: r.to_currency, date: r.date, rate: trimRate(r.rate), setBy: r.set_by, setAt: r.set_at }));
}

/** Today in UTC as YYYY-MM-DD: the document date of an event happening now. */
export const todayUtc = (now: Date = new Date()): string => now.toISOString().slice(0, 10);

/**
 * What an order's shipments put on its receivable in a currency other than the functional
 * one: the amount in that currency and its functional value (their ratio is the rate the
 * sale was booked at); undefined for an order in the functional currency.
 */
export async function bookedSale(db: Kysely<Database>, orderId: string): Promise<{ currency: string; transactionMinor: number; functionalMinor: number } | undefined> {
  const order = await db.selectFrom('orders').select('currency').where('id', '=', orderId).executeTakeFirst();
  if (!order || order.currency === (await functionalCurrency(db))) return undefined;
  const row = await db
    .selectFrom('journal_entries as e')
    .innerJoin('journal_lines as l', 'l.entry_id', 'e.id')
    .select([sql<number>`coalesce(sum(l.txn_debit_minor), 0)::bigint`.as('txn'), sql<number>`coalesce(sum(l.debit_minor), 0)::bigint`.as('functional')])
    .where('e.reference', '=', orderId)
    .where('e.event_type', '=', 'shipment.confirmed')
    .where('l.account_code', '=', '1100')
    .where('l.currency', '=', order.currency)
    .executeTakeFirstOrThrow();
  return { currency: order.currency, transactionMinor: Number(row.txn), functionalMinor: Number(row.functional) };
}
