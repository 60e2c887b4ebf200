/**
 * Daily KPI series for the console's charts: one point per UTC day, oldest first, each with
 * its numerator and denominator, so a day without activity is a point with nothing in it.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';

export const seriesMetrics = {
  orders_shipped: 'orders closed that day as shipped or partially shipped',
  on_time: 'shipments shipped that day by their ship-by date ÷ shipments shipped that day with a ship-by date',
  fill_rate: 'units shipped ÷ units ordered, over orders closed that day (shipped, partially shipped or cancelled)',
} as const;
export type SeriesMetric = keyof typeof seriesMetrics;

export interface SeriesPoint {
  date: string;
  value: number | null;
  numerator: number;
  denominator: number;
}

const DAY_MS = 86_400_000;

/** The last `days` UTC days up to and including the day of `now`. */
export async function kpiSeries(db: Db, metric: SeriesMetric, days: number, now = new Date()): Promise<SeriesPoint[]> {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY_MS);
  const start = new Date(end.getTime() - days * DAY_MS);
  const daily = {
    orders_shipped: sql`
      select (closed_at at time zone 'UTC')::date as day, count(*)::bigint as numerator, count(*)::bigint as denominator
        from orders
       where status in ('shipped', 'partially_shipped') and closed_at >= ${start} and closed_at < ${end}
       group by 1`,
    on_time: sql`
      select (shipped_at at time zone 'UTC')::date as day,
             count(*) filter (where shipped_at <= ship_by)::bigint as numerator, count(*)::bigint as denominator
        from shipments
       where shipped_at >= ${start} and shipped_at < ${end} and ship_by is not null
       group by 1`,
    fill_rate: sql`
      select (o.closed_at at time zone 'UTC')::date as day,
             coalesce(sum(l.shipped_qty), 0)::bigint as numerator, coalesce(sum(l.qty), 0)::bigint as denominator
        from orders o join order_lines l on l.order_id = o.id
       where o.status in ('shipped', 'partially_shipped', 'cancelled') and o.closed_at >= ${start} and o.closed_at < ${end}
       group by 1`,
  }[metric];
  const { rows } = await sql<{ date: string; numerator: number; denominator: number }>`
    with days as (
      select (${start}::timestamptz at time zone 'UTC')::date + n as day from generate_series(0, ${days - 1}::int) as n
    ),
    daily as (${daily})
    select d.day::text as date, coalesce(x.numerator, 0)::bigint as numerator, coalesce(x.denominator, 0)::bigint as denominator
      from days d left join daily x on x.day = d.day
     order by d.day`.execute(db);
  return rows.map((r) => ({
    date: r.date,
    numerator: r.numerator,
    denominator: r.denominator,
    value: metric === 'orders_shipped' ? r.numerator : r.denominator === 0 ? null : Math.round((r.numerator / r.denominator) * 10_000) / 10_000,
  }));
}
