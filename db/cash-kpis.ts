/**
 * Order-to-cash KPIs over a half-open range `from <= t < to`: days sales outstanding, the
 * days from order to payout, and the gateways' fee rate. Functional currency throughout.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';

const DAY_MS = 86_400_000;
const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;

export async function cashKpis(db: Db, from: Date, to: Date) {
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  const [receivable, payout, fees] = await Promise.all([
    // Receivable (1100) at the end of the range, and the sales booked to it in the range.
    sql<{ receivable: number; credit_sales: number }>`
      select coalesce(sum(l.debit_minor - l.credit_minor) filter (where e.posted_at < ${to}), 0)::bigint as receivable,
             coalesce(sum(l.debit_minor) filter (where e.event_type = 'shipment.confirmed' and e.posted_at >= ${from} and e.posted_at < ${to}), 0)::bigint as credit_sales
        from journal_entries e join journal_lines l on l.entry_id = e.id
       where l.account_code = '1100'`.execute(db),
    // Captures paid out by a payout arriving in the range: days from the order to the payout.
    sql<{ captures: number; total_days: number }>`
      select count(*)::int as captures,
             coalesce(sum(s.arrival_date - (o.created_at at time zone 'UTC')::date), 0)::int as total_days
        from settlement_lines sl
        join settlements s on s.id = sl.settlement_id
        join payment_captures c on c.capture_id = sl.source
        join orders o on o.id = c.order_id
       where sl.type = 'charge' and sl.outcome in ('matched', 'differs')
         and (s.arrival_date::timestamp at time zone 'UTC') >= ${from} and (s.arrival_date::timestamp at time zone 'UTC') < ${to}`.execute(db),
    // Fees (6100) of reconciled payouts arriving in the range ÷ the charges they paid out, each
    // payout's charges valued at its entry's rate (functional ÷ transaction debits of its currency).
    sql<{ settlements: number; fees: number; charges: number }>`
      with paid as (
        select s.id, s.journal_entry_id, s.currency,
               (select coalesce(sum(amount_minor), 0) from settlement_lines where settlement_id = s.id and type = 'charge') as charges_txn
          from settlements s
         where s.status = 'reconciled' and s.journal_entry_id is not null
           and (s.arrival_date::timestamp at time zone 'UTC') >= ${from} and (s.arrival_date::timestamp at time zone 'UTC') < ${to}
      ), valued as (
        select p.id,
               (select coalesce(sum(l.debit_minor - l.credit_minor), 0) from journal_lines l where l.entry_id = p.journal_entry_id and l.account_code = '6100') as fees,
               (select case when sum(l.txn_debit_minor) > 0 then p.charges_txn * sum(l.debit_minor)::numeric / sum(l.txn_debit_minor) else p.charges_txn end
                  from journal_lines l where l.entry_id = p.journal_entry_id and l.currency = p.currency and l.rate is not null) as charges
          from paid p
      )
      select count(*)::int as settlements, coalesce(sum(fees), 0)::bigint as fees, coalesce(round(sum(charges)), 0)::bigint as charges from valued`.execute(db),
  ]);
  const r = receivable.rows[0]!;
  const p = payout.rows[0]!;
  const f = fees.rows[0]!;
  const [receivableMinor, creditSales, feeMinor, chargesMinor] = [Number(r.receivable), Number(r.credit_sales), Number(f.fees), Number(f.charges)];
  return {
    daysSalesOutstanding: {
      value: creditSales === 0 ? null : round((receivableMinor / creditSales) * days, 2),
      numerator: receivableMinor,
      denominator: creditSales,
      days: round(days, 4),
      definition:
        'receivable (1100) open at the end of the range ÷ sales booked to the receivable in the range (debits to 1100 of shipment.confirmed entries) × days in the range; functional minor units, by the time entries were posted',
    },
    cashConversion: {
      value: p.captures === 0 ? null : round(p.total_days / p.captures, 2),
      numerator: round(p.total_days, 4),
      denominator: p.captures,
      definition:
        "mean whole days (UTC dates) from an order's creation to the arrival date of the payout that paid its capture, over captures matched by a settlement charge line whose payout arrived in the range (arrival date at 00:00 UTC) (numerator: the days summed; denominator: the captures)",
    },
    paymentFeeRate: {
      value: chargesMinor === 0 ? null : round(feeMinor / chargesMinor, 4),
      numerator: feeMinor,
      denominator: chargesMinor,
      settlements: f.settlements,
      definition:
        "gateway fees posted to 6100 by payouts reconciled that arrived in the range ÷ the charges those payouts paid out, each payout's charges valued at its own entry's rate; functional minor units",
    },
  };
}
