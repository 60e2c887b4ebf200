/**
 * KPIs broken down by channel, warehouse or sku class, and the day-by-day series of the
 * newer ones (on-time delivery, pick accuracy, stockout rate, working capital). Each KPI is a
 * ratio with its numerator and denominator per group; a KPI that has no meaning for a
 * dimension (a cancelled order has no warehouse) is left out of that breakdown and says so.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from './connection.js';
import { onHandLayers, ownedAt } from './inventory-kpis.js';

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

/** How a breakdown's value reads: a ratio (0–1), hours, minor units of money, or times. */
export type KpiUnit = 'ratio' | 'hours' | 'minor' | 'times';

/**
 * `lines` (order lines of orders created in the window that reached allocation, with their
 * channel) and `first_allocation` (what the order's first allocation reserved per line): the
 * start of a `with` clause, shared by the stockout rate and ATP accuracy.
 */
const linesAtFirstAllocation = ({ from, to }: Window) => sql`
        with lines as (
          select l.order_id, l.line_no, l.sku, l.qty, o.channel, o.workflow_id from orders o join order_lines l on l.order_id = o.id
           where o.created_at >= ${from} and o.created_at < ${to} and o.routing is not null
        ),
        first_allocation as (
          select r.order_id, r.line_no, sum(r.qty) as qty from lines l join reservations r
              on r.order_id = l.order_id and r.line_no = l.line_no and r.sku = l.sku and r.operation_key = l.workflow_id || ':allocate:1'
           group by 1, 2
        )`;

export const dimensionKpis: Record<string, { definition: string; unit?: KpiUnit; by: Breakdown }> = {
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
      const lines = linesAtFirstAllocation({ from, to });
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
  orderCycleTimeHours: {
    unit: 'hours',
    definition:
      'mean hours from order creation to its last shipment leaving, over orders fully shipped whose last shipment left in the range (numerator: hours summed; the whole-business figure is p50/p90); by warehouse, hours from order creation to each of its shipments leaving, over shipments shipped in the range; no sku class breakdown: the time is an order\'s',
    by: ({ from, to }) => ({
      channel: sql`select o.channel as key, sum(extract(epoch from x.last_shipped_at - o.created_at) / 3600) as n, count(*) as d
        from orders o join (select order_id, max(shipped_at) as last_shipped_at from shipments where shipped_at is not null group by 1) x on x.order_id = o.id
       where o.status = 'shipped' and x.last_shipped_at >= ${from} and x.last_shipped_at < ${to} group by 1`,
      warehouse: sql`select s.warehouse_code as key, sum(extract(epoch from s.shipped_at - o.created_at) / 3600) as n, count(*) as d
        from shipments s join orders o on o.id = s.order_id where s.shipped_at >= ${from} and s.shipped_at < ${to} group by 1`,
    }),
  },
  splitShipmentRate: {
    definition: 'orders closed in the range as shipped or partially shipped that left in more than one shipment ÷ those orders; by channel only (a split spans warehouses and classes)',
    by: ({ from, to }) => ({
      channel: sql`select o.channel as key, count(*) filter (where (select count(*) from shipments s where s.order_id = o.id and s.shipped_at is not null) > 1) as n, count(*) as d
        from orders o where o.status in ('shipped', 'partially_shipped') and o.closed_at >= ${from} and o.closed_at < ${to} group by 1`,
    }),
  },
  freightCostPerOrder: {
    unit: 'minor',
    definition:
      'actual freight cost of shipped shipments (minor units) ÷ orders closed in the range as shipped or partially shipped; by warehouse, freight cost ÷ shipments shipped from it in the range (per shipment, not per order); no sku class breakdown',
    by: ({ from, to }) => ({
      channel: sql`select o.channel as key, coalesce(sum((select sum(s.freight_cost_minor) from shipments s where s.order_id = o.id and s.shipped_at is not null)), 0) as n, count(*) as d
        from orders o where o.status in ('shipped', 'partially_shipped') and o.closed_at >= ${from} and o.closed_at < ${to} group by 1`,
      warehouse: sql`select s.warehouse_code as key, coalesce(sum(s.freight_cost_minor), 0) as n, count(*) as d from shipments s where s.shipped_at >= ${from} and s.shipped_at < ${to} group by 1`,
    }),
  },
  marginPctOfNetRevenue: {
    definition:
      "margin after freight and discount ÷ net revenue over the 'shipment.confirmed' entries posted in the range, per the shipment's order channel or warehouse (numerator: revenue − discounts + freight revenue − COGS − freight expense; denominator: revenue − discounts + freight revenue; minor units); no sku class breakdown: an entry books a shipment, not its lines",
    by: ({ from, to }) => {
      const entries = sql`
        with amounts as (
          select e.id, o.channel, s.warehouse_code,
                 sum(case l.account_code when '4000' then l.credit_minor - l.debit_minor when '4100' then l.credit_minor - l.debit_minor when '4200' then l.credit_minor - l.debit_minor else 0 end) as net_revenue,
                 sum(case l.account_code when '5000' then l.debit_minor - l.credit_minor when '5100' then l.debit_minor - l.credit_minor else 0 end) as costs
            from journal_entries e join journal_lines l on l.entry_id = e.id
            join shipments s on s.journal_entry_id = e.id join orders o on o.id = s.order_id
           where e.event_type = 'shipment.confirmed' and e.posted_at >= ${from} and e.posted_at < ${to}
           group by e.id, o.channel, s.warehouse_code
        )`;
      return {
        channel: sql`${entries} select channel as key, sum(net_revenue - costs) as n, sum(net_revenue) as d from amounts group by 1`,
        warehouse: sql`${entries} select warehouse_code as key, sum(net_revenue - costs) as n, sum(net_revenue) as d from amounts group by 1`,
      };
    },
  },
  purchaseOrderFillRate: {
    definition: 'units received (up to the ordered quantity per line) ÷ units ordered, over issued purchase orders closed or cancelled in the range; no channel breakdown',
    by: ({ from, to }) => {
      const finished = sql`p.issued_at is not null and p.status in ('closed', 'cancelled') and p.closed_at >= ${from} and p.closed_at < ${to}`;
      return {
        warehouse: sql`select p.warehouse_code as key, sum(least(pl.received_qty, pl.ordered_qty)) as n, sum(pl.ordered_qty) as d from purchase_orders p join purchase_order_lines pl on pl.po_id = p.id where ${finished} group by 1`,
        sku_class: sql`select i.sku_class as key, sum(least(pl.received_qty, pl.ordered_qty)) as n, sum(pl.ordered_qty) as d from purchase_orders p join purchase_order_lines pl on pl.po_id = p.id join items i on i.sku = pl.sku where ${finished} group by 1`,
      };
    },
  },
  supplierLeadTimeAdherence: {
    definition:
      "purchase orders whose first receipt came within the stated lead time (the supplier's lane to the warehouse, else its default) ÷ purchase orders whose first receipt was in the range; by warehouse only (a purchase order spans classes)",
    by: ({ from, to }) => ({
      warehouse: sql`select p.warehouse_code as key,
             count(*) filter (where extract(epoch from r.first_at - p.issued_at) / 86400 <= coalesce(l.lead_time_days, s.default_lead_time_days)) as n, count(*) as d
        from purchase_orders p join suppliers s on s.id = p.supplier_id
        left join supplier_lanes l on l.supplier_id = p.supplier_id and l.warehouse_code = p.warehouse_code
        join (select po_id, min(received_at) as first_at from purchase_order_receipts group by po_id) r on r.po_id = p.id
       where p.issued_at is not null and r.first_at >= ${from} and r.first_at < ${to} group by 1`,
    }),
  },
  atpAccuracy: {
    definition:
      'order lines whose first allocation reserved the whole ordered quantity and whose shipments picked it in full ÷ order lines of orders created in the range that reached allocation; no warehouse breakdown: a line short at allocation has none',
    by: ({ from, to }) => {
      const lines = sql`
        ${linesAtFirstAllocation({ from, to })},
        short_picked as (
          select distinct r.order_id, r.line_no from lines l join reservations r on r.order_id = l.order_id and r.line_no = l.line_no
            join shipment_lines s on s.reservation_id = r.id where s.picked_qty is not null and s.picked_qty < s.qty
        ),
        judged as (
          select l.channel, l.sku, (coalesce(f.qty, 0) >= l.qty and p.order_id is null) as kept from lines l
            left join first_allocation f on f.order_id = l.order_id and f.line_no = l.line_no
            left join short_picked p on p.order_id = l.order_id and p.line_no = l.line_no
        )`;
      return {
        channel: sql`${lines} select channel as key, count(*) filter (where kept) as n, count(*) as d from judged group by 1`,
        sku_class: sql`${lines} select i.sku_class as key, count(*) filter (where j.kept) as n, count(*) as d from judged j join items i on i.sku = j.sku group by 1`,
      };
    },
  },
  inventoryTurns: {
    unit: 'times',
    definition:
      "units shipped to customers in the range × the item's current average cost ÷ average inventory value ((owned at from + owned at to) ÷ 2, at current average cost), per warehouse or sku class; the whole-business figure takes COGS from the journal, the breakdown from the ledger's movements (the journal books a shipment, not its warehouse's lines); not annualized; no channel breakdown",
    by: ({ from, to }) => {
      const figures = (key: RawBuilder<unknown>) => sql`
        with ${ownedAt('opening', from)}, ${ownedAt('closing', to)},
        shipped as (
          select sku, from_warehouse as warehouse, sum(qty) as units from inventory_movements
           where created_at >= ${from} and created_at < ${to} and from_bucket = 'allocated' and to_bucket = 'customer' group by 1, 2
        ),
        places as (
          select sku, warehouse from opening union select sku, warehouse from closing union select sku, warehouse from shipped
        )
        select ${key} as key,
               sum(coalesce(sh.units, 0) * i.average_cost_minor) as n,
               sum((coalesce(op.units, 0) + coalesce(cl.units, 0)) * i.average_cost_minor) / 2.0 as d
          from places p join items i on i.sku = p.sku
          left join opening op on op.sku = p.sku and op.warehouse = p.warehouse
          left join closing cl on cl.sku = p.sku and cl.warehouse = p.warehouse
          left join shipped sh on sh.sku = p.sku and sh.warehouse = p.warehouse
         group by 1`;
      return { warehouse: figures(sql`p.warehouse`), sku_class: figures(sql`i.sku_class`) };
    },
  },
  agedStockOver90Days: {
    definition:
      'units on hand at the end of the range received more than 90 days before it ÷ units on hand then, first in first out per sku and warehouse as in agedStock; no channel breakdown: stock is not a channel\'s',
    by: ({ to }) => {
      const layers = (key: RawBuilder<unknown>) => sql`
        with ${onHandLayers(to)}
        select ${key} as key, sum(k.qty) filter (where k.received_at < ${to}::timestamptz - interval '90 days') as n, sum(k.qty) as d
          from kept k join items i on i.sku = k.sku where k.qty > 0 group by 1`;
      return { warehouse: layers(sql`k.warehouse`), sku_class: layers(sql`i.sku_class`) };
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
export async function kpisBy(db: Db, by: Dimension, window: Window): Promise<{ groups: DimensionGroup[]; kpis: Record<string, string>; units: Record<string, KpiUnit>; notBrokenDown: string[] }> {
  const groups = new Map<string, DimensionGroup>();
  const kpis: Record<string, string> = {};
  const units: Record<string, KpiUnit> = {};
  const notBrokenDown: string[] = [];
  await Promise.all(
    Object.entries(dimensionKpis).map(async ([name, kpi]) => {
      const query = kpi.by(window)[by];
      if (!query) {
        notBrokenDown.push(name);
        return;
      }
      kpis[name] = kpi.definition;
      units[name] = kpi.unit ?? 'ratio';
      const { rows } = await sql<{ key: string | null; n: string | number | null; d: string | number | null }>`${query}`.execute(db);
      for (const row of rows) {
        const key = row.key ?? '(none)';
        const group = groups.get(key) ?? { key, kpis: {} };
        group.kpis[name] = ratioOf(Number(row.n ?? 0), Number(row.d ?? 0));
        groups.set(key, group);
      }
    }),
  );
  return { groups: [...groups.values()].sort((a, b) => a.key.localeCompare(b.key)), kpis, units, notBrokenDown: notBrokenDown.sort() };
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
