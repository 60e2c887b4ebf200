/**
 * KPIs over a date range, answered from SQL over the records and the journal. Every rate
 * carries its numerator and denominator, and every KPI a one-line definition, so a reader
 * can check the number against the rows it came from.
 *
 * The range is half-open: `from <= t < to`.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../db/connection.js';
import { leadTimeAdherence, purchaseOrderFill, purchaseOrderPerformance } from '../db/purchase-order-performance.js';
import { returnKpis } from '../db/return-kpis.js';
import { agedStock, atpAccuracy, turnsAndDaysOnHand } from '../db/inventory-kpis.js';
import { dimensions, kpisBy } from '../db/kpi-dimensions.js';
import { cashKpis } from '../db/cash-kpis.js';
import type { AppDeps } from './app.js';
import { badRequest } from './errors.js';
import { instant } from './schemas.js';

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 366;
const DEFAULT_RANGE_DAYS = 30;

/** Statuses of an order that is closed and counts: `rejected` orders never reached stock. */
const CLOSED_STATUSES = ['shipped', 'partially_shipped', 'cancelled'] as const;
const SHIPPED_STATUSES = ['shipped', 'partially_shipped'] as const;

const ratio = z.object({
  value: z.number().nullable().describe('numerator ÷ denominator, 4 decimals; null when the denominator is 0'),
  numerator: z.number(),
  denominator: z.number(),
  definition: z.string(),
});

const kpisResponse = z.object({
  from: z.string(),
  to: z.string(),
  kpis: z.object({
    orderCycleTime: z.object({
      p50Hours: z.number().nullable(),
      p90Hours: z.number().nullable(),
      orders: z.number(),
      definition: z.string(),
    }),
    onTimeShipment: ratio,
    fillRate: ratio,
    backorderRate: ratio.extend({ asOf: z.string() }),
    cancellationRate: ratio,
    splitShipmentRate: ratio,
    freightCostPerOrder: z.object({
      valueMinor: z.number().nullable(),
      numerator: z.number().describe('freight cost of the shipments, minor units'),
      denominator: z.number().describe('shipped orders'),
      definition: z.string(),
    }),
    marginAfterFreightAndDiscount: z.object({
      valueMinor: z.number(),
      pctOfNetRevenue: z.number().nullable(),
      revenueMinor: z.number(),
      discountsMinor: z.number(),
      freightRevenueMinor: z.number(),
      cogsMinor: z.number(),
      freightExpenseMinor: z.number(),
      netRevenueMinor: z.number().describe('revenue − discounts + freight revenue'),
      entries: z.number().describe('shipment.confirmed journal entries counted'),
      definition: z.string(),
    }),
    inventoryAccuracy: ratio.extend({
      counts: z.number().describe('posted cycle counts in the range'),
      numerator: z.number().describe('Σ|delta| over the counts'),
      denominator: z.number().describe('Σ expected units over the counts'),
    }),
    purchaseOrderFillRate: ratio.extend({
      numerator: z.number().describe('units received, up to the ordered quantity per line'),
      denominator: z.number().describe('units ordered'),
      purchaseOrders: z.number().describe('POs closed or cancelled in the range'),
    }),
    supplierLeadTimeAdherence: ratio.extend({
      numerator: z.number().describe('POs whose first goods came within the stated lead time'),
      denominator: z.number().describe('POs whose first goods were received in the range'),
    }),
    // Inventory KPIs (db/inventory-kpis.ts).
    atpAccuracy: ratio.extend({
      numerator: z.number().describe('order lines allocated in full by their first allocation and picked in full'),
      denominator: z.number().describe('order lines of orders captured in the range that reached allocation'),
      shortAtAllocation: z.number(),
      shortPicked: z.number(),
    }),
    inventoryTurns: z.object({
      value: z.number().nullable(),
      cogsMinor: z.number(),
      openingValueMinor: z.number(),
      closingValueMinor: z.number(),
      averageValueMinor: z.number(),
      definition: z.string(),
    }),
    daysOnHand: z.object({
      value: z.number().nullable(),
      closingValueMinor: z.number(),
      cogsMinor: z.number(),
      days: z.number(),
      definition: z.string(),
    }),
    agedStock: z.object({
      asOf: z.string(),
      buckets: z.array(z.object({ label: z.string(), qty: z.number(), valueMinor: z.number() })),
      unexplainedQty: z.number(),
      definition: z.string(),
    }),
    // Return KPIs (db/return-kpis.ts).
    returnRate: ratio.extend({ numerator: z.number().describe('units received back on returns'), denominator: z.number().describe('units shipped') }),
    refundCycleTime: z.object({ p50Hours: z.number().nullable(), p90Hours: z.number().nullable(), returns: z.number(), definition: z.string() }),
    recoveryYield: ratio.extend({
      numerator: z.number().describe('original cost of returned units restocked, minor units'),
      denominator: z.number().describe('original cost of returned units received, minor units'),
      returns: z.number(),
    }),
    returnBacklog: z.object({
      asOf: z.string(),
      awaitingParcels: z.number(),
      received: z.number(),
      buckets: z.array(z.object({ label: z.string(), returns: z.number() })),
      definition: z.string(),
    }),
    // Order to cash (db/cash-kpis.ts).
    daysSalesOutstanding: ratio.extend({
      numerator: z.number().describe('receivable open at the end of the range, functional minor units'),
      denominator: z.number().describe('sales booked to the receivable in the range, functional minor units'),
      days: z.number(),
    }),
    cashConversion: ratio.extend({ value: z.number().nullable().describe('mean days from order to payout'), numerator: z.number().describe('days summed'), denominator: z.number().describe('captures paid out') }),
    paymentFeeRate: ratio.extend({ numerator: z.number().describe('fees, functional minor units'), denominator: z.number().describe('charges paid out, functional minor units'), settlements: z.number() }),
  }),
});

export type KpiReport = z.infer<typeof kpisResponse>;

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;
const rate = (numerator: number, denominator: number) => (denominator === 0 ? null : round(numerator / denominator, 4));

/** All KPIs for `from <= t < to`; open-order KPIs are a snapshot at `now`. */
export async function computeKpis(db: Db, from: Date, to: Date, now = new Date()): Promise<KpiReport['kpis']> {
  const closed = sql.join(CLOSED_STATUSES.map((s) => sql`${s}`));
  const shippedStatuses = sql.join(SHIPPED_STATUSES.map((s) => sql`${s}`));

  const [cycle, onTime, closedOrders, backorder, shippedOrders, margin, accuracy, finishedPos, receivedPos] = await Promise.all([
    sql<{ orders: number; p50: number | null; p90: number | null }>`
      with fully_shipped as (
        select o.id, o.created_at, max(s.shipped_at) as last_shipped_at
          from orders o join shipments s on s.order_id = o.id
         where o.status = 'shipped' and s.shipped_at is not null
         group by o.id, o.created_at
      )
      select count(*)::int as orders,
             percentile_cont(0.5) within group (order by extract(epoch from last_shipped_at - created_at)::float8 / 3600) as p50,
             percentile_cont(0.9) within group (order by extract(epoch from last_shipped_at - created_at)::float8 / 3600) as p90
        from fully_shipped
       where last_shipped_at >= ${from} and last_shipped_at < ${to}`.execute(db),
    sql<{ on_time: number; shipped: number }>`
      select count(*) filter (where shipped_at <= ship_by)::int as on_time, count(*)::int as shipped
        from shipments
       where shipped_at >= ${from} and shipped_at < ${to} and ship_by is not null`.execute(db),
    sql<{ orders: number; cancelled: number; ordered_units: number; shipped_units: number }>`
      select count(distinct o.id)::int as orders,
             count(distinct o.id) filter (where o.status = 'cancelled')::int as cancelled,
             coalesce(sum(l.qty), 0)::bigint as ordered_units,
             coalesce(sum(l.shipped_qty), 0)::bigint as shipped_units
        from orders o join order_lines l on l.order_id = o.id
       where o.status in (${closed}) and o.closed_at >= ${from} and o.closed_at < ${to}`.execute(db),
    sql<{ open_orders: number; backordered: number }>`
      select count(*)::int as open_orders,
             count(*) filter (where exists (
               select 1 from order_lines l where l.order_id = o.id and l.backordered_qty > 0))::int as backordered
        from orders o
       where o.closed_at is null and o.status <> 'rejected'`.execute(db),
    sql<{ orders: number; split: number; freight_minor: number }>`
      with shipped_orders as (
        select o.id,
               count(s.id) filter (where s.shipped_at is not null) as shipments,
               coalesce(sum(s.freight_cost_minor) filter (where s.shipped_at is not null), 0) as freight_minor
          from orders o left join shipments s on s.order_id = o.id
         where o.status in (${shippedStatuses}) and o.closed_at >= ${from} and o.closed_at < ${to}
         group by o.id
      )
      select count(*)::int as orders,
             count(*) filter (where shipments > 1)::int as split,
             coalesce(sum(freight_minor), 0)::bigint as freight_minor
        from shipped_orders`.execute(db),
    sql<{ entries: number; revenue: number; discounts: number; freight_revenue: number; cogs: number; freight_expense: number }>`
      select count(distinct e.id)::int as entries,
             coalesce(sum(l.credit_minor - l.debit_minor) filter (where l.account_code = '4000'), 0)::bigint as revenue,
             coalesce(sum(l.debit_minor - l.credit_minor) filter (where l.account_code = '4200'), 0)::bigint as discounts,
             coalesce(sum(l.credit_minor - l.debit_minor) filter (where l.account_code = '4100'), 0)::bigint as freight_revenue,
             coalesce(sum(l.debit_minor - l.credit_minor) filter (where l.account_code = '5000'), 0)::bigint as cogs,
             coalesce(sum(l.debit_minor - l.credit_minor) filter (where l.account_code = '5100'), 0)::bigint as freight_expense
        from journal_entries e join journal_lines l on l.entry_id = e.id
       where e.event_type = 'shipment.confirmed' and e.posted_at >= ${from} and e.posted_at < ${to}`.execute(db),
    // A count that matched (delta 0) is posted without moving stock, so it has no posted_at: its record time counts.
    sql<{ counts: number; abs_delta: number; expected: number }>`
      select count(*)::int as counts,
             coalesce(sum(abs(delta)), 0)::bigint as abs_delta,
             coalesce(sum(expected_qty), 0)::bigint as expected
        from inventory_adjustments
       where kind = 'count' and status = 'posted'
         and coalesce(posted_at, created_at) >= ${from} and coalesce(posted_at, created_at) < ${to}`.execute(db),
    // The supplier scorecard's figures, over all suppliers.
    purchaseOrderPerformance(db, { finishedIn: { from, to } }),
    purchaseOrderPerformance(db, { firstReceiptIn: { from, to } }),
  ]);

  const c = cycle.rows[0]!;
  const t = onTime.rows[0]!;
  const o = closedOrders.rows[0]!;
  const b = backorder.rows[0]!;
  const s = shippedOrders.rows[0]!;
  const m = margin.rows[0]!;
  const a = accuracy.rows[0]!;
  const netRevenue = m.revenue - m.discounts + m.freight_revenue;
  const marginMinor = netRevenue - m.cogs - m.freight_expense;
  const poFill = purchaseOrderFill(finishedPos);
  const [atp, turns, aged] = await Promise.all([atpAccuracy(db, from, to), turnsAndDaysOnHand(db, from, to), agedStock(db, to)]);
  const adherence = leadTimeAdherence(receivedPos);

  const [returnFigures, cash] = await Promise.all([returnKpis(db, from, to, now), cashKpis(db, from, to)]);
  return {
    ...returnFigures,
    ...cash,
    orderCycleTime: {
      p50Hours: c.p50 === null ? null : round(c.p50, 2),
      p90Hours: c.p90 === null ? null : round(c.p90, 2),
      orders: c.orders,
      definition:
        'hours from order creation to its last shipment leaving, p50 and p90 (continuous percentiles), over orders fully shipped whose last shipment left in the range',
    },
    onTimeShipment: {
      value: rate(t.on_time, t.shipped),
      numerator: t.on_time,
      denominator: t.shipped,
      definition: 'shipments shipped in the range with shipped_at ≤ ship_by ÷ shipments shipped in the range (shipments without a ship-by date are left out of both)',
    },
    fillRate: {
      value: rate(o.shipped_units, o.ordered_units),
      numerator: o.shipped_units,
      denominator: o.ordered_units,
      definition: 'units shipped ÷ units ordered, over orders closed in the range as shipped, partially shipped or cancelled (rejected orders excluded)',
    },
    backorderRate: {
      value: rate(b.backordered, b.open_orders),
      numerator: b.backordered,
      denominator: b.open_orders,
      asOf: now.toISOString(),
      definition:
        'a snapshot now, not over the range (past backorders are not recorded): open orders with any backordered units ÷ open orders (not closed, not rejected)',
    },
    cancellationRate: {
      value: rate(o.cancelled, o.orders),
      numerator: o.cancelled,
      denominator: o.orders,
      definition: 'orders closed cancelled in the range ÷ orders closed in the range as shipped, partially shipped or cancelled (rejected orders excluded from both)',
    },
    splitShipmentRate: {
      value: rate(s.split, s.orders),
      numerator: s.split,
      denominator: s.orders,
      definition: 'orders closed in the range as shipped or partially shipped that left in more than one shipment ÷ those orders',
    },
    freightCostPerOrder: {
      valueMinor: s.orders === 0 ? null : Math.round(s.freight_minor / s.orders),
      numerator: s.freight_minor,
      denominator: s.orders,
      definition:
        'actual freight cost of the shipped shipments ÷ orders closed in the range as shipped or partially shipped, in minor units rounded to the nearest unit',
    },
    marginAfterFreightAndDiscount: {
      valueMinor: marginMinor,
      pctOfNetRevenue: netRevenue === 0 ? null : round((marginMinor / netRevenue) * 100, 2),
      revenueMinor: m.revenue,
      discountsMinor: m.discounts,
      freightRevenueMinor: m.freight_revenue,
      cogsMinor: m.cogs,
      freightExpenseMinor: m.freight_expense,
      netRevenueMinor: netRevenue,
      entries: m.entries,
      definition:
        "over 'shipment.confirmed' journal entries posted in the range: revenue (4000) − discounts (4200) + freight revenue (4100) − COGS (5000) − freight expense (5100), in minor units; the percentage is of net revenue (revenue − discounts + freight revenue)",
    },
    inventoryAccuracy: {
      value: a.expected === 0 ? null : round(1 - a.abs_delta / a.expected, 4),
      numerator: a.abs_delta,
      denominator: a.expected,
      counts: a.counts,
      definition:
        '1 − Σ|counted − expected| ÷ Σ expected over cycle counts (adjustments of kind count) posted in the range; counts awaiting approval, rejected or lapsed are left out',
    },
    purchaseOrderFillRate: {
      value: rate(poFill.received, poFill.ordered),
      numerator: poFill.received,
      denominator: poFill.ordered,
      purchaseOrders: finishedPos.length,
      definition:
        'units received (up to the ordered quantity per line) ÷ units ordered, over issued purchase orders closed or cancelled in the range; the fill rate of GET /suppliers/:id/scorecard over all suppliers',
    },
    supplierLeadTimeAdherence: {
      value: rate(adherence.withinStated, adherence.delivered.length),
      numerator: adherence.withinStated,
      denominator: adherence.delivered.length,
      definition:
        "purchase orders whose actual lead time (issue to first receipt) ≤ the stated lead time (the supplier's lane to the warehouse, else its default) ÷ purchase orders whose first receipt was in the range",
    },
    atpAccuracy: {
      value: rate(atp.kept, atp.lines),
      numerator: atp.kept,
      denominator: atp.lines,
      shortAtAllocation: atp.shortAtAllocation,
      shortPicked: atp.shortPicked,
      definition:
        'order lines whose first allocation reserved the whole ordered quantity of the ordered sku (what available-to-promise said was there when the order came in: no backorder, no substitute) and whose shipments picked it in full (no short pick) ÷ order lines of orders created in the range that reached allocation',
    },
    inventoryTurns: {
      value: turns.turns,
      cogsMinor: turns.cogsMinor,
      openingValueMinor: turns.openingValueMinor,
      closingValueMinor: turns.closingValueMinor,
      averageValueMinor: turns.averageValueMinor,
      definition:
        'COGS posted in the range (net debits to 5000) ÷ average inventory value, (value at from + value at to) ÷ 2; value = units owned (every warehouse bucket but inbound, from the ledger movements before that instant) × the item’s current average cost; not annualized',
    },
    daysOnHand: {
      value: turns.daysOnHand,
      closingValueMinor: turns.closingValueMinor,
      cogsMinor: turns.cogsMinor,
      days: turns.days,
      definition: 'inventory value at the end of the range ÷ (COGS posted in the range ÷ days in the range); null when nothing was sold',
    },
    agedStock: {
      ...aged,
      definition:
        'units on hand at the end of the range (available, allocated, quarantine, damaged, return pending) by whole days since receipt, first in first out: per sku and warehouse the latest receipts (from a supplier, customer, count or another warehouse) are the ones still on hand; valued at the current average cost',
    },
  };
}

export const kpiRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/kpis',
      {
        schema: {
          summary: 'Operations KPIs over a date range (default the last 30 days), each with its numerator, denominator and definition',
          description: `The range is half-open (from ≤ t < to) and at most ${MAX_RANGE_DAYS} days.`,
          querystring: z.object({
            from: instant.optional(),
            to: instant.optional(),
            by: z.enum(dimensions).optional().describe('also break the KPIs that have a meaning per channel, warehouse or sku class down by it'),
          }),
          response: {
            200: kpisResponse.extend({
              by: z.enum(dimensions).optional(),
              breakdown: z
                .object({
                  groups: z.array(z.object({ key: z.string(), kpis: z.record(z.string(), z.object({ value: z.number().nullable(), numerator: z.number(), denominator: z.number() })) })),
                  definitions: z.record(z.string(), z.string()),
                  units: z.record(z.string(), z.enum(['ratio', 'hours', 'minor', 'times'])).describe('how each value reads: a ratio 0–1, hours, minor units of money, or times (turns)'),
                  notBrokenDown: z.array(z.string()).describe('KPIs with no meaning for this dimension'),
                })
                .optional(),
            }),
          },
        },
      },
      async (request) => {
        const now = new Date();
        const to = request.query.to ? new Date(request.query.to) : now;
        const from = request.query.from ? new Date(request.query.from) : new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
        if (from.getTime() > to.getTime()) throw badRequest('from must not be after to', { from: from.toISOString(), to: to.toISOString() });
        if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
          throw badRequest(`the range may span at most ${MAX_RANGE_DAYS} days`, { from: from.toISOString(), to: to.toISOString() });
        }
        const [kpis, breakdown] = await Promise.all([computeKpis(db, from, to, now), request.query.by ? kpisBy(db, request.query.by, { from, to }) : undefined]);
        return {
          from: from.toISOString(),
          to: to.toISOString(),
          kpis,
          ...(breakdown ? { by: request.query.by, breakdown: { groups: breakdown.groups, definitions: breakdown.kpis, units: breakdown.units, notBrokenDown: breakdown.notBrokenDown } } : {}),
        };
      },
    );
  };
