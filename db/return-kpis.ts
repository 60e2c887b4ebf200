/**
 * Return KPIs for `GET /kpis` and the returns waiting past their SLA for `GET /exceptions`,
 * from SQL over the return records. The range is half-open: `from <= t < to`.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;
const rate = (numerator: number, denominator: number) => (denominator === 0 ? null : round(numerator / denominator, 4));

/** Ages of the return backlog, in hours from the first parcel received. */
const backlogBuckets = [
  { label: 'under 1 day', fromHours: 0, toHours: 24 },
  { label: '1 to 3 days', fromHours: 24, toHours: 72 },
  { label: '3 to 7 days', fromHours: 72, toHours: 168 },
  { label: '7 days or more', fromHours: 168, toHours: null },
] as const;

export async function returnKpis(db: Db, from: Date, to: Date, now = new Date()) {
  const [returned, cycle, recovery, backlog, awaiting] = await Promise.all([
    sql<{ returned: number; shipped: number }>`
      select (select coalesce(sum(qty), 0) from return_receipts where received_at >= ${from} and received_at < ${to})::bigint as returned,
             (select coalesce(sum(l.shipped_qty), 0) from shipment_lines l join shipments s on s.id = l.shipment_id
               where s.shipped_at >= ${from} and s.shipped_at < ${to})::bigint as shipped`.execute(db),
    sql<{ returns: number; p50: number | null; p90: number | null }>`
      select count(*)::int as returns,
             percentile_cont(0.5) within group (order by extract(epoch from refunded_at - first_received_at)::float8 / 3600) as p50,
             percentile_cont(0.9) within group (order by extract(epoch from refunded_at - first_received_at)::float8 / 3600) as p90
        from returns
       where refunded_at >= ${from} and refunded_at < ${to} and first_received_at is not null`.execute(db),
    sql<{ returns: number; restocked: number; returned: number }>`
      select count(*)::int as returns, coalesce(sum(restocked_value_minor), 0)::bigint as restocked, coalesce(sum(returned_value_minor), 0)::bigint as returned
        from returns
       where first_received_at >= ${from} and first_received_at < ${to}`.execute(db),
    sql<{ age_hours: number }>`
      select extract(epoch from ${now}::timestamptz - first_received_at)::float8 / 3600 as age_hours
        from returns
       where closed_at is null and first_received_at is not null`.execute(db),
    sql<{ returns: number }>`select count(*)::int as returns from returns where closed_at is null and first_received_at is null`.execute(db),
  ]);
  const r = returned.rows[0]!;
  const c = cycle.rows[0]!;
  const y = recovery.rows[0]!;
  return {
    returnRate: {
      value: rate(Number(r.returned), Number(r.shipped)),
      numerator: Number(r.returned),
      denominator: Number(r.shipped),
      definition: 'units received back on returns in the range ÷ units shipped in the range',
    },
    refundCycleTime: {
      p50Hours: c.p50 === null ? null : round(c.p50, 2),
      p90Hours: c.p90 === null ? null : round(c.p90, 2),
      returns: c.returns,
      definition:
        'hours from a return’s first parcel received to its refund (or exchange credit) posted, p50 and p90, over returns settled in the range; returns rejected by finance or expired are left out',
    },
    recoveryYield: {
      value: rate(Number(y.restocked), Number(y.returned)),
      numerator: Number(y.restocked),
      denominator: Number(y.returned),
      returns: y.returns,
      definition:
        'original cost of returned units put back in available stock (restocked at inspection, or after refurbishment) ÷ original cost of the units received back, over returns whose first parcel came in the range',
    },
    returnBacklog: {
      asOf: now.toISOString(),
      awaitingParcels: awaiting.rows[0]!.returns,
      received: backlog.rows.length,
      buckets: backlogBuckets.map((b) => ({
        label: b.label,
        returns: backlog.rows.filter((row) => row.age_hours >= b.fromHours && (b.toHours === null || row.age_hours < b.toHours)).length,
      })),
      definition:
        'a snapshot now: returns with goods received and not yet settled (refunded, exchanged, rejected or closed), by hours since their first parcel; awaitingParcels counts authorized returns with nothing received yet (waiting for the customer, not for us)',
    },
  };
}

export type ReturnKpis = Awaited<ReturnType<typeof returnKpis>>;

/** Returns received and not settled within the SLA, oldest first. */
export async function returnsPastSla(db: Db, slaMs: number, now = new Date()) {
  return db
    .selectFrom('returns')
    .select(['id', 'order_id', 'status', 'workflow_id', 'first_received_at', 'customer_id'])
    .where('closed_at', 'is', null)
    .where('first_received_at', '<', new Date(now.getTime() - slaMs))
    .orderBy('first_received_at')
    .execute();
}
