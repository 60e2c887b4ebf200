/**
 * Inventory KPIs from the ledger's movements, the journal and the order records: turns,
 * days on hand, aged stock and ATP accuracy. Stock is valued at each item's current
 * average cost: the ledger keeps quantities per movement, not their cost, and the moving
 * average is not kept per day.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';

const DAY_MS = 86_400_000;

/** Stock the company owns: every warehouse bucket but inbound (not yet received). */
const OWNED = sql.join(['available', 'allocated', 'quarantine', 'damaged', 'return_pending', 'in_transit'].map((b) => sql`${b}`));
/** Stock physically in a warehouse (as `GET /inventory` counts on hand). */
const ON_HAND = sql.join(['available', 'allocated', 'quarantine', 'damaged', 'return_pending'].map((b) => sql`${b}`));

export const AGE_BUCKETS = [
  { label: '0-30', maxDays: 30 },
  { label: '31-60', maxDays: 60 },
  { label: '61-90', maxDays: 90 },
  { label: '90+', maxDays: Infinity },
] as const;

/** Units owned at an instant (movements before it) and their value at today's average cost. */
export async function inventoryValueAt(db: Db, at: Date): Promise<{ units: number; valueMinor: number }> {
  const { rows } = await sql<{ units: number; value_minor: number }>`
    with owned as (
      select sku,
             sum(case when to_bucket in (${OWNED}) then qty else 0 end)
           - sum(case when from_bucket in (${OWNED}) then qty else 0 end) as units
        from inventory_movements
       where created_at < ${at}
       group by sku
    )
    select coalesce(sum(o.units), 0)::bigint as units,
           coalesce(sum(o.units * i.average_cost_minor), 0)::bigint as value_minor
      from owned o join items i on i.sku = o.sku`.execute(db);
  return { units: rows[0]!.units, valueMinor: rows[0]!.value_minor };
}

/** Cost of goods sold posted in the range: net debits to COGS (5000) over every journal entry. */
export async function cogsIn(db: Db, from: Date, to: Date): Promise<{ cogsMinor: number; entries: number }> {
  const { rows } = await sql<{ cogs: number; entries: number }>`
    select coalesce(sum(l.debit_minor - l.credit_minor), 0)::bigint as cogs, count(distinct e.id)::int as entries
      from journal_entries e join journal_lines l on l.entry_id = e.id
     where l.account_code = '5000' and e.posted_at >= ${from} and e.posted_at < ${to}`.execute(db);
  return { cogsMinor: rows[0]!.cogs, entries: rows[0]!.entries };
}

export interface TurnsAndDaysOnHand {
  cogsMinor: number;
  openingValueMinor: number;
  closingValueMinor: number;
  averageValueMinor: number;
  days: number;
  turns: number | null;
  daysOnHand: number | null;
}

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;

/** Turns = COGS ÷ average inventory value; days on hand = closing value ÷ COGS per day of the range. */
export async function turnsAndDaysOnHand(db: Db, from: Date, to: Date): Promise<TurnsAndDaysOnHand> {
  const [cogs, opening, closing] = await Promise.all([cogsIn(db, from, to), inventoryValueAt(db, from), inventoryValueAt(db, to)]);
  const averageValueMinor = (opening.valueMinor + closing.valueMinor) / 2;
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  const perDay = days > 0 ? cogs.cogsMinor / days : 0;
  return {
    cogsMinor: cogs.cogsMinor,
    openingValueMinor: opening.valueMinor,
    closingValueMinor: closing.valueMinor,
    averageValueMinor,
    days: round(days, 4),
    turns: averageValueMinor > 0 ? round(cogs.cogsMinor / averageValueMinor, 4) : null,
    daysOnHand: perDay > 0 ? round(closing.valueMinor / perDay, 2) : null,
  };
}

export interface AgedStock {
  asOf: string;
  buckets: { label: string; qty: number; valueMinor: number }[];
  /** On-hand units no receipt explains (should be 0; the ledger starts every unit with a receipt). */
  unexplainedQty: number;
}

/**
 * The CTEs that leave `kept (sku, warehouse, received_at, qty)`: the receipt layers still on
 * hand at `asOf`, first in first out (see agedStock); for a `with` clause.
 */
export const onHandLayers = (asOf: Date) => sql`
    moves as (
      select sku, to_warehouse as warehouse, qty from inventory_movements
       where created_at < ${asOf} and to_bucket in (${ON_HAND})
      union all
      select sku, from_warehouse, -qty from inventory_movements
       where created_at < ${asOf} and from_bucket in (${ON_HAND})
    ),
    on_hand as (
      select sku, warehouse, sum(qty) as qty from moves group by sku, warehouse having sum(qty) > 0
    ),
    receipts as (
      select m.id, m.sku, m.to_warehouse as warehouse, m.qty, m.created_at
        from inventory_movements m
       where m.created_at < ${asOf} and m.to_bucket in (${ON_HAND})
         and not (m.from_warehouse = m.to_warehouse and m.from_bucket in (${ON_HAND}))
    ),
    layers as (
      select r.sku, r.warehouse, r.qty, r.created_at, h.qty as on_hand,
             sum(r.qty) over (partition by r.sku, r.warehouse order by r.created_at desc, r.id desc) as newest_through
        from receipts r join on_hand h on h.sku = r.sku and h.warehouse = r.warehouse
    ),
    kept as (
      select sku, warehouse, created_at as received_at, greatest(0, least(qty, on_hand - (newest_through - qty))) as qty from layers
    )`;

/** Units the company owns per sku and warehouse at an instant, for a `with` clause: `owned_at (sku, warehouse, units)`. */
export const ownedAt = (name: string, at: Date) => sql`
    ${sql.raw(name)} as (
      select sku, warehouse, sum(qty) as units from (
        select sku, to_warehouse as warehouse, qty from inventory_movements where created_at < ${at} and to_bucket in (${OWNED})
        union all
        select sku, from_warehouse, -qty from inventory_movements where created_at < ${at} and from_bucket in (${OWNED})
      ) m group by sku, warehouse
    )`;

/**
 * On-hand stock at `asOf` by days since it was received, first in first out: per sku and
 * warehouse the units on hand are taken to be the latest receipts. A receipt is a movement
 * into a warehouse's on-hand buckets from outside them: from a supplier, a customer, a
 * count or adjustment, or from another warehouse (a transfer's arrival); moves between
 * buckets of one warehouse (allocation, inspection) are not receipts.
 */
export async function agedStock(db: Db, asOf: Date): Promise<AgedStock> {
  const { rows } = await sql<{ age_days: number; qty: number; value_minor: number }>`
    with ${onHandLayers(asOf)}
    select floor(extract(epoch from (${asOf}::timestamptz - k.received_at)) / 86400)::int as age_days,
           sum(k.qty)::bigint as qty,
           sum(k.qty * i.average_cost_minor)::bigint as value_minor
      from kept k join items i on i.sku = k.sku
     where k.qty > 0
     group by 1`.execute(db);
  const total = await sql<{ qty: number }>`
    select coalesce(sum(case when to_bucket in (${ON_HAND}) then qty else 0 end)
                  - sum(case when from_bucket in (${ON_HAND}) then qty else 0 end), 0)::bigint as qty
      from inventory_movements where created_at < ${asOf}`.execute(db);
  const buckets = AGE_BUCKETS.map((b) => ({ label: b.label as string, qty: 0, valueMinor: 0 }));
  for (const row of rows) {
    const index = AGE_BUCKETS.findIndex((b) => row.age_days <= b.maxDays);
    buckets[index]!.qty += row.qty;
    buckets[index]!.valueMinor += row.value_minor;
  }
  const aged = buckets.reduce((n, b) => n + b.qty, 0);
  return { asOf: asOf.toISOString(), buckets, unexplainedQty: Math.max(0, total.rows[0]!.qty - aged) };
}

export interface AtpAccuracy {
  lines: number;
  kept: number;
  shortAtAllocation: number;
  shortPicked: number;
}

/**
 * Order lines captured in the range whose order reached allocation: how many got their
 * whole quantity of the ordered sku from the first allocation (what available-to-promise
 * said was there when the order came in) and were then picked in full.
 */
export async function atpAccuracy(db: Db, from: Date, to: Date): Promise<AtpAccuracy> {
  const { rows } = await sql<{ lines: number; kept: number; short_at_allocation: number; short_picked: number }>`
    with lines as (
      select l.order_id, l.line_no, l.sku, l.qty, o.workflow_id
        from orders o join order_lines l on l.order_id = o.id
       where o.created_at >= ${from} and o.created_at < ${to} and o.routing is not null
    ),
    first_allocation as (
      select r.order_id, r.line_no, sum(r.qty) as qty
        from lines l join reservations r
          on r.order_id = l.order_id and r.line_no = l.line_no and r.sku = l.sku
         and r.operation_key = l.workflow_id || ':allocate:1'
       group by r.order_id, r.line_no
    ),
    short_picked as (
      select distinct r.order_id, r.line_no
        from lines l
        join reservations r on r.order_id = l.order_id and r.line_no = l.line_no
        join shipment_lines s on s.reservation_id = r.id
       where s.picked_qty is not null and s.picked_qty < s.qty
    )
    select count(*)::int as lines,
           count(*) filter (where coalesce(f.qty, 0) >= l.qty and p.order_id is null)::int as kept,
           count(*) filter (where coalesce(f.qty, 0) < l.qty)::int as short_at_allocation,
           count(*) filter (where p.order_id is not null)::int as short_picked
      from lines l
      left join first_allocation f on f.order_id = l.order_id and f.line_no = l.line_no
      left join short_picked p on p.order_id = l.order_id and p.line_no = l.line_no`.execute(db);
  const r = rows[0]!;
  return { lines: r.lines, kept: r.kept, shortAtAllocation: r.short_at_allocation, shortPicked: r.short_picked };
}
