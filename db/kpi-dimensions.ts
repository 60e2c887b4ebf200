/**
 * KPIs broken down by channel, warehouse or sku class, and the day-by-day series of the
 * newer ones (on-time delivery, pick accuracy, stockout rate, working capital). Each KPI is a
 * ratio with its numerator and denominator per group; a KPI that has no meaning for a
 * dimension (a cancelled order has no warehouse) is left out of that breakdown and says so.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from './connection.js';

export const dimensions = ['channel', 'warehouse', 'sku_class'] as const;
export type Dimension = (typeof dimensions)[number];

export interface GroupRatio {
  value: number | null;
  numerator: number;
  denominator: number;
}

const ratioOf = (numerator: number, denominator: number): GroupRatio => ({
  numerator,
  denominator,
  value: denominator === 0 ? null : Math.round((numerator / denominator) * 10_000) / 10_000,
});

type Window = { from: Date; to: Date };
/** One KPI per dimension: rows of (key, numerator, denominator), or undefined when it has no meaning there. */
type Breakdown = (w: Window) => Partial<Record<Dimension, RawBuilder<unknown>>>;

export const dimensionKpis: Record<string, { definition: string; by: Breakdown }> = {
  fillRate: {
    definition:
      'units shipped ÷ units ordered over order lines of orders closed in the range (by channel, sku class); by warehouse, units shipped ÷ units allocated to the warehouse over shipments closed in the range',
    by: ({ from, to }) => {
      const closed = sql`o.status in ('shipped', 'partially_shipped', 'cancelled') and o.closed_at >= ${from} and o.closed_at < ${to}`;
      return {
        channel: sql`select o.channel as key, sum(l.shipped_qty) as n, sum(l.qty) as d from orders o join order_lines l on l.order_id = o.id where ${closed} group by 1`,
        sku_class: sql`select i.sku_class as key, sum(l.shipped_qty) as n, sum(l.qty) as d from orders o join order_lines l on l.order_id = o.id join items i on i.sku = l.sku where ${closed} group by 1`,
        warehouse: sql`select s.warehouse_code as key, sum(coalesce(sl.shipped_qty, 0)) as n, sum(sl.qty) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id where s.closed_at >= ${from} and s.closed_at < ${to} group by 1`,
      };
    },
  },
  onTimeShipment: {
    definition: 'shipments shipped by their ship-by date ÷ shipments shipped in the range with a ship-by date',
    by: ({ from, to }) => {
      const shipped = sql`s.shipped_at >= ${from} and s.shipped_at < ${to} and s.ship_by is not null`;
      return {
        channel: sql`select o.channel as key, count(*) filter (where s.shipped_at <= s.ship_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${shipped} group by 1`,
        warehouse: sql`select s.warehouse_code as key, count(*) filter (where s.shipped_at <= s.ship_by) as n, count(*) as d from shipments s where ${shipped} group by 1`,
        sku_class: sql`select c.key, count(*) filter (where c.shipped_at <= c.ship_by) as n, count(*) as d
          from (select distinct s.id, i.sku_class as key, s.shipped_at, s.ship_by from shipments s join shipment_lines sl on sl.shipment_id = s.id join items i on i.sku = sl.sku where ${shipped}) c group by 1`,
      };
    },
  },
  onTimeDelivery: {
    definition: "shipments delivered by their order's promised date ÷ shipments delivered in the range whose order had a promised date (the carrier's delivered event)",
    by: ({ from, to }) => {
      const delivered = sql`s.delivered_at >= ${from} and s.delivered_at < ${to} and o.promised_by is not null`;
      return {
        channel: sql`select o.channel as key, count(*) filter (where s.delivered_at <= o.promised_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${delivered} group by 1`,
        warehouse: sql`select s.warehouse_code as key, count(*) filter (where s.delivered_at <= o.promised_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${delivered} group by 1`,
        sku_class: sql`select c.key, count(*) filter (where c.delivered_at <= c.promised_by) as n, count(*) as d
          from (select distinct s.id, i.sku_class as key, s.delivered_at, o.promised_by from shipments s join orders o on o.id = s.order_id join shipment_lines sl on sl.shipment_id = s.id join items i on i.sku = sl.sku where ${delivered}) c group by 1`,
      };
    },
  },
  stockoutRate: {
    definition: 'order lines that could not be allocated in full at release (the first allocation) ÷ order lines of orders captured in the range that reached allocation; no warehouse breakdown: an unallocated line has none',
    by: ({ from, to }) => {
      const lines = sql`
        with lines as (
          select l.order_id, l.line_no, l.sku, l.qty, o.channel, o.workflow_id from orders o join order_lines l on l.order_id = o.id
           where o.created_at >= ${from} and o.created_at < ${to} and o.routing is not null
        ),
        first_allocation as (
          select r.order_id, r.line_no, sum(r.qty) as qty from lines l join reservations r
              on r.order_id = l.order_id and r.line_no = l.line_no and r.sku = l.sku and r.operation_key = l.workflow_id || ':allocate:1'
           group by 1, 2
        )`;
      return {
        channel: sql`${lines} select l.channel as key, count(*) filter (where coalesce(f.qty, 0) < l.qty) as n, count(*) as d from lines l left join first_allocation f on f.order_id = l.order_id and f.line_no = l.line_no group by 1`,
        sku_class: sql`${lines} select i.sku_class as key, count(*) filter (where coalesce(f.qty, 0) < l.qty) as n, count(*) as d from lines l join items i on i.sku = l.sku left join first_allocation f on f.order_id = l.order_id and f.line_no = l.line_no group by 1`,
      };
    },
  },
  pickAccuracy: {
    definition: 'shipment lines picked in full ÷ shipment lines picked, over shipments picked in the range (1 − short picks per picked line)',
    by: ({ from, to }) => {
      // A line picked without a short pick has no picked quantity of its own: it was picked in full.
      const picked = sql`s.picked_at >= ${from} and s.picked_at < ${to}`;
      return {
        channel: sql`select o.channel as key, count(*) filter (where coalesce(sl.picked_qty, sl.qty) >= sl.qty) as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id join orders o on o.id = s.order_id where ${picked} group by 1`,
        warehouse: sql`select s.warehouse_code as key, count(*) filter (where coalesce(sl.picked_qty, sl.qty) >= sl.qty) as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id where ${picked} group by 1`,
        sku_class: sql`select i.sku_class as key, count(*) filter (where coalesce(sl.picked_qty, sl.qty) >= sl.qty) as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id join items i on i.sku = sl.sku where ${picked} group by 1`,
      };
    },
  },
  inventoryAccuracy: {
    definition: '1 − Σ|counted − expected| ÷ Σ expected over cycle counts posted in the range (as numerator: Σ expected − Σ|delta|); no channel breakdown: stock is counted per warehouse',
    by: ({ from, to }) => {
      const counts = sql`a.kind = 'count' and a.status = 'posted' and a.posted_at >= ${from} and a.posted_at < ${to} and a.expected_qty is not null`;
      return {
        warehouse: sql`select a.warehouse_code as key, greatest(sum(a.expected_qty) - sum(abs(coalesce(a.delta, 0))), 0) as n, sum(a.expected_qty) as d from inventory_adjustments a where ${counts} group by 1`,
        sku_class: sql`select i.sku_class as key, greatest(sum(a.expected_qty) - sum(abs(coalesce(a.delta, 0))), 0) as n, sum(a.expected_qty) as d from inventory_adjustments a join items i on i.sku = a.sku where ${counts} group by 1`,
      };
    },
  },
  cancellationRate: {
    definition: 'orders cancelled ÷ orders closed in the range; by channel only (a cancelled order may never have had a warehouse, and spans classes)',
    by: ({ from, to }) => ({
      channel: sql`select o.channel as key, count(*) filter (where o.status = 'cancelled') as n, count(*) as d from orders o where o.status in ('shipped', 'partially_shipped', 'cancelled') and o.closed_at >= ${from} and o.closed_at < ${to} group by 1`,
    }),
  },
};

export interface DimensionGroup {
  key: string;
  kpis: Record<string, GroupRatio>;
}

/** Every KPI that has a breakdown by this dimension, per group; groups sorted by key. */
export async function kpisBy(db: Db, by: Dimension, window: Window): Promise<{ groups: DimensionGroup[]; kpis: Record<string, string>; notBrokenDown: string[] }> {
  const groups = new Map<string, DimensionGroup>();
  const kpis: Record<string, string> = {};
  const notBrokenDown: string[] = [];
  await Promise.all(
    Object.entries(dimensionKpis).map(async ([name, kpi]) => {
      const query = kpi.by(window)[by];
      if (!query) {
        notBrokenDown.push(name);
        return;
      }
      kpis[name] = kpi.definition;
      const { rows } = await sql<{ key: string | null; n: string | number | null; d: string | number | null }>`${query}`.execute(db);
      for (const row of rows) {
        const key = row.key ?? '(none)';
        const group = groups.get(key) ?? { key, kpis: {} };
        group.kpis[name] = ratioOf(Number(row.n ?? 0), Number(row.d ?? 0));
        groups.set(key, group);
      }
    }),
  );
  return { groups: [...groups.values()].sort((a, b) => a.key.localeCompare(b.key)), kpis, notBrokenDown: notBrokenDown.sort() };
}

const DAY_MS = 86_400_000;

/** The day-by-day series and the dimensions each can be broken down by. */
export const dimensionSeries: Record<string, { definition: string; ratio: boolean; daily: (w: Window) => Partial<Record<Dimension | 'all', RawBuilder<unknown>>> }> = {
  orders_shipped: {
    definition: 'orders closed that day as shipped or partially shipped',
    ratio: false,
    daily: ({ from, to }) => {
      const where = sql`o.status in ('shipped', 'partially_shipped') and o.closed_at >= ${from} and o.closed_at < ${to}`;
      return {
        channel: sql`select (o.closed_at at time zone 'UTC')::date as day, o.channel as key, count(*) as n, count(*) as d from orders o where ${where} group by 1, 2`,
      };
    },
  },
  on_time: {
    definition: 'shipments shipped that day by their ship-by date ÷ shipments shipped that day with a ship-by date',
    ratio: true,
    daily: ({ from, to }) => {
      const where = sql`s.shipped_at >= ${from} and s.shipped_at < ${to} and s.ship_by is not null`;
      const day = sql`(s.shipped_at at time zone 'UTC')::date`;
      return {
        channel: sql`select ${day} as day, o.channel as key, count(*) filter (where s.shipped_at <= s.ship_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${where} group by 1, 2`,
        warehouse: sql`select ${day} as day, s.warehouse_code as key, count(*) filter (where s.shipped_at <= s.ship_by) as n, count(*) as d from shipments s where ${where} group by 1, 2`,
      };
    },
  },
  fill_rate: {
    definition: 'units shipped ÷ units ordered, over orders closed that day (shipped, partially shipped or cancelled)',
    ratio: true,
    daily: ({ from, to }) => {
      const where = sql`o.status in ('shipped', 'partially_shipped', 'cancelled') and o.closed_at >= ${from} and o.closed_at < ${to}`;
      const day = sql`(o.closed_at at time zone 'UTC')::date`;
      return {
        channel: sql`select ${day} as day, o.channel as key, sum(l.shipped_qty) as n, sum(l.qty) as d from orders o join order_lines l on l.order_id = o.id where ${where} group by 1, 2`,
        sku_class: sql`select ${day} as day, i.sku_class as key, sum(l.shipped_qty) as n, sum(l.qty) as d from orders o join order_lines l on l.order_id = o.id join items i on i.sku = l.sku where ${where} group by 1, 2`,
      };
    },
  },
  on_time_delivery: {
    definition: "shipments delivered that day by their order's promised date ÷ shipments delivered that day whose order had one",
    ratio: true,
    daily: ({ from, to }) => {
      const where = sql`s.delivered_at >= ${from} and s.delivered_at < ${to} and o.promised_by is not null`;
      const day = sql`(s.delivered_at at time zone 'UTC')::date`;
      return {
        all: sql`select ${day} as day, 'all' as key, count(*) filter (where s.delivered_at <= o.promised_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${where} group by 1, 2`,
        channel: sql`select ${day} as day, o.channel as key, count(*) filter (where s.delivered_at <= o.promised_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${where} group by 1, 2`,
        warehouse: sql`select ${day} as day, s.warehouse_code as key, count(*) filter (where s.delivered_at <= o.promised_by) as n, count(*) as d from shipments s join orders o on o.id = s.order_id where ${where} group by 1, 2`,
      };
    },
  },
  pick_accuracy: {
    definition: 'shipment lines picked in full ÷ shipment lines picked, over shipments picked that day',
    ratio: true,
    daily: ({ from, to }) => {
      const where = sql`s.picked_at >= ${from} and s.picked_at < ${to}`;
      const day = sql`(s.picked_at at time zone 'UTC')::date`;
      const full = sql`count(*) filter (where coalesce(sl.picked_qty, sl.qty) >= sl.qty)`;
      return {
        all: sql`select ${day} as day, 'all' as key, ${full} as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id where ${where} group by 1, 2`,
        warehouse: sql`select ${day} as day, s.warehouse_code as key, ${full} as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id where ${where} group by 1, 2`,
        sku_class: sql`select ${day} as day, i.sku_class as key, ${full} as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id join items i on i.sku = sl.sku where ${where} group by 1, 2`,
        channel: sql`select ${day} as day, o.channel as key, ${full} as n, count(*) as d from shipments s join shipment_lines sl on sl.shipment_id = s.id join orders o on o.id = s.order_id where ${where} group by 1, 2`,
      };
    },
  },
  stockout_rate: {
    definition: 'order lines not allocated in full at release ÷ order lines of orders captured that day that reached allocation',
    ratio: true,
    daily: ({ from, to }) => {
      const lines = sql`
        with lines as (
          select l.order_id, l.line_no, l.sku, l.qty, o.channel, o.workflow_id, (o.created_at at time zone 'UTC')::date as day
            from orders o join order_lines l on l.order_id = o.id
           where o.created_at >= ${from} and o.created_at < ${to} and o.routing is not null
        ),
        first_allocation as (
          select r.order_id, r.line_no, sum(r.qty) as qty from lines l join reservations r
              on r.order_id = l.order_id and r.line_no = l.line_no and r.sku = l.sku and r.operation_key = l.workflow_id || ':allocate:1'
           group by 1, 2
        )`;
      const short = sql`count(*) filter (where coalesce(f.qty, 0) < l.qty)`;
      const join = sql`left join first_allocation f on f.order_id = l.order_id and f.line_no = l.line_no`;
      return {
        all: sql`${lines} select l.day, 'all' as key, ${short} as n, count(*) as d from lines l ${join} group by 1, 2`,
        channel: sql`${lines} select l.day, l.channel as key, ${short} as n, count(*) as d from lines l ${join} group by 1, 2`,
        sku_class: sql`${lines} select l.day, i.sku_class as key, ${short} as n, count(*) as d from lines l join items i on i.sku = l.sku ${join} group by 1, 2`,
      };
    },
  },
};

export interface DimensionPoint {
  date: string;
  value: number | null;
  numerator: number;
  denominator: number;
}

/** Days from `start` for `days` days, as YYYY-MM-DD. */
const dayList = (start: Date, days: number) => Array.from({ length: days }, (_, i) => new Date(start.getTime() + i * DAY_MS).toISOString().slice(0, 10));

/** One series per group (`all` without a breakdown), every day present, oldest first. */
export async function seriesBy(db: Db, metric: string, by: Dimension | 'all', days: number, now = new Date()): Promise<{ key: string; points: DimensionPoint[] }[] | undefined> {
  const spec = dimensionSeries[metric];
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY_MS);
  const start = new Date(end.getTime() - days * DAY_MS);
  const query = spec?.daily({ from: start, to: end })[by];
  if (!spec || !query) return undefined;
  const { rows } = await sql<{ day: string; key: string | null; n: string | number | null; d: string | number | null }>`select x.day::text as day, x.key, x.n, x.d from (${query}) x`.execute(db);
  const byKey = new Map<string, Map<string, { n: number; d: number }>>();
  for (const r of rows) {
    const key = r.key ?? '(none)';
    const days = byKey.get(key) ?? new Map();
    days.set(r.day, { n: Number(r.n ?? 0), d: Number(r.d ?? 0) });
    byKey.set(key, days);
  }
  if (by === 'all' && !byKey.size) byKey.set('all', new Map());
  return [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, values]) => ({
      key,
      points: dayList(start, days).map((date) => {
        const v = values.get(date) ?? { n: 0, d: 0 };
        return { date, numerator: v.n, denominator: v.d, value: spec.ratio ? (v.d === 0 ? null : Math.round((v.n / v.d) * 10_000) / 10_000) : v.n };
      }),
    }));
}

/**
 * Working capital at the end of each day: inventory (1300) + receivables (1100) − payables
 * (2000 accounts payable, 2100 goods received not invoiced), from the journal, in minor units
 * of the functional currency.
 */
export async function workingCapitalSeries(db: Db, days: number, now = new Date()): Promise<{ date: string; valueMinor: number; inventoryMinor: number; receivablesMinor: number; payablesMinor: number }[]> {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY_MS);
  const start = new Date(end.getTime() - days * DAY_MS);
  const sums = sql`
    coalesce(sum(l.debit_minor - l.credit_minor) filter (where l.account_code = '1300'), 0) as inventory,
    coalesce(sum(l.debit_minor - l.credit_minor) filter (where l.account_code = '1100'), 0) as receivables,
    coalesce(sum(l.credit_minor - l.debit_minor) filter (where l.account_code in ('2000', '2100')), 0) as payables`;
  const accounts = sql`l.account_code in ('1300', '1100', '2000', '2100')`;
  // The balance before the window, then each day's movements added up in order.
  const { rows } = await sql<{ inventory: string; receivables: string; payables: string }>`
    with opening as (
      select ${sums} from journal_entries e join journal_lines l on l.entry_id = e.id where e.posted_at < ${start} and ${accounts}
    ),
    daily as (
      select floor(extract(epoch from (e.posted_at - ${start}::timestamptz)) / 86400)::int as n, ${sums}
        from journal_entries e join journal_lines l on l.entry_id = e.id
       where e.posted_at >= ${start} and e.posted_at < ${end} and ${accounts}
       group by 1
    )
    select (o.inventory + coalesce(sum(x.inventory) over w, 0))::text as inventory,
           (o.receivables + coalesce(sum(x.receivables) over w, 0))::text as receivables,
           (o.payables + coalesce(sum(x.payables) over w, 0))::text as payables
      from generate_series(0, ${days - 1}::int) g(n)
      cross join opening o
      left join daily x on x.n = g.n
    window w as (order by g.n)
     order by g.n`.execute(db);
  const dates = dayList(start, days);
  return rows.map((r, i) => {
    const inventoryMinor = Number(r.inventory);
    const receivablesMinor = Number(r.receivables);
    const payablesMinor = Number(r.payables);
    return { date: dates[i]!, inventoryMinor, receivablesMinor, payablesMinor, valueMinor: inventoryMinor + receivablesMinor - payablesMinor };
  });
}
