/**
 * The anomaly scan's one step: reads the series each check needs from the ledger and the
 * records, runs the checks (domain/anomaly.ts) and raises each alert as an exception. An
 * alert's id names its subject and the data it judged (the day, the order, the PO), so a
 * retry or a second scan raises nothing new, and a subject that keeps firing on later data
 * joins its open case (kind + subject) as another occurrence instead of a new case.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { defaultAnomalyThresholds, demandAnomaly, leadTimeAnomaly, orderSizeAnomaly, returnRateAnomaly, shrinkageAnomaly, type Anomaly, type AnomalyThresholds } from '../domain/anomaly.js';
import type { AnomalyScanActivities, AnomalyScanSummary } from '../contracts/anomaly-scan.js';
import { insertException } from './tasks.js';

const DAY = 86_400_000;
const DEMAND_DAYS = 56;

const ownerOf: Record<Anomaly['kind'], string> = {
  anomaly_demand: 'buyer',
  anomaly_return_rate: 'ops',
  anomaly_shrinkage: 'ops',
  anomaly_lead_time: 'buyer',
  anomaly_order_size: 'ops',
};

export function createAnomalyScanActivities({ db }: { db: Db }): AnomalyScanActivities {
  return {
    async scanAnomalies(input): Promise<AnomalyScanSummary> {
      const t: AnomalyThresholds = { ...defaultAnomalyThresholds, ...input.thresholds };
      const at = new Date(input.at);
      const today = Math.floor(at.getTime() / DAY);
      const alerts: { anomaly: Anomaly; key: string }[] = [];
      const checked: Record<string, number> = {};

      // Demand: yesterday (the last whole day) against the forecast from the 56 days before.
      const firstDay = today - 1 - DEMAND_DAYS;
      const shipped = await sql<{ sku: string; warehouse: string; day: number; qty: number }>`
        select sku, from_warehouse as warehouse, floor(extract(epoch from created_at) / 86400)::int as day, sum(qty)::int as qty
        from inventory_movements
        where from_bucket = 'allocated' and to_bucket = 'customer' and created_at >= ${new Date(firstDay * DAY)} and created_at < ${new Date(today * DAY)}
        group by 1, 2, 3`.execute(db);
      const series = new Map<string, number[]>();
      for (const row of shipped.rows) {
        const key = `${row.sku}@${row.warehouse}`;
        const days = series.get(key) ?? new Array<number>(DEMAND_DAYS + 1).fill(0);
        days[row.day - firstDay] = Number(row.qty);
        series.set(key, days);
      }
      const yesterday = new Date((today - 1) * DAY).toISOString().slice(0, 10);
      for (const [subject, days] of series) {
        const anomaly = demandAnomaly(subject, days.slice(0, DEMAND_DAYS), days[DEMAND_DAYS]!, t);
        if (anomaly) alerts.push({ anomaly, key: yesterday });
      }
      checked.demand = series.size;

      // Order size: orders placed in the last hour against the customer's earlier orders.
      const recentOrders = await sql<{ id: string; customer_id: string; total_minor: number; earlier: number[] }>`
        select o.id, o.customer_id, o.total_minor,
          array(select p.total_minor from orders p where p.customer_id = o.customer_id and p.created_at < o.created_at order by p.created_at desc limit 50) as earlier
        from orders o where o.created_at > ${new Date(at.getTime() - 3_600_000)} and o.created_at <= ${at}`.execute(db);
      for (const o of recentOrders.rows) {
        const anomaly = orderSizeAnomaly(o.customer_id, o.earlier.map(Number).reverse(), Number(o.total_minor), t);
        if (anomaly) alerts.push({ anomaly: { ...anomaly, message: `order ${o.id}: ${anomaly.message}` }, key: o.id });
      }
      checked.orderSize = recentOrders.rows.length;

      // Lead time: each supplier lane's POs, issue to first receipt, against the stated lead time.
      const lanes = await sql<{ supplier_id: string; warehouse: string; stated: number; days: number[]; last_po: string }>`
        select p.supplier_id, p.warehouse_code as warehouse, coalesce(l.lead_time_days, s.default_lead_time_days) as stated,
          array_agg(extract(epoch from (r.first_at - p.issued_at)) / 86400 order by r.first_at) as days,
          (array_agg(p.id order by r.first_at desc))[1] as last_po
        from purchase_orders p
        join suppliers s on s.id = p.supplier_id
        left join supplier_lanes l on l.supplier_id = p.supplier_id and l.warehouse_code = p.warehouse_code
        join (select po_id, min(received_at) as first_at from purchase_order_receipts group by po_id) r on r.po_id = p.id
        where p.issued_at is not null and r.first_at > ${new Date(at.getTime() - 180 * DAY)}
        group by 1, 2, 3`.execute(db);
      for (const lane of lanes.rows) {
        const anomaly = leadTimeAnomaly(`${lane.supplier_id}→${lane.warehouse}`, Number(lane.stated), lane.days.map(Number), t);
        if (anomaly) alerts.push({ anomaly, key: lane.last_po });
      }
      checked.leadTime = lanes.rows.length;

      // Return rate: units returned in the last 7 days per unit shipped, against the 90 days before.
      const rates = await sql<{ sku: string; recent_returned: number; recent_shipped: number; usual_returned: number; usual_shipped: number }>`
        with shipped as (
          select sku, sum(qty) filter (where created_at >= ${new Date(at.getTime() - 7 * DAY)})::int as recent, sum(qty) filter (where created_at < ${new Date(at.getTime() - 7 * DAY)})::int as usual
          from inventory_movements where from_bucket = 'allocated' and to_bucket = 'customer' and created_at >= ${new Date(at.getTime() - 97 * DAY)} and created_at <= ${at}
          group by sku),
        returned as (
          select l.sku, sum(l.qty) filter (where r.authorized_at >= ${new Date(at.getTime() - 7 * DAY)})::int as recent, sum(l.qty) filter (where r.authorized_at < ${new Date(at.getTime() - 7 * DAY)})::int as usual
          from returns r join return_lines l on l.return_id = r.id where r.authorized_at >= ${new Date(at.getTime() - 97 * DAY)} and r.authorized_at <= ${at}
          group by l.sku)
        select s.sku, coalesce(r.recent, 0) as recent_returned, coalesce(s.recent, 0) as recent_shipped, coalesce(r.usual, 0) as usual_returned, coalesce(s.usual, 0) as usual_shipped
        from shipped s left join returned r on r.sku = s.sku`.execute(db);
      for (const r of rates.rows) {
        const anomaly = returnRateAnomaly(r.sku, { returned: Number(r.usual_returned), shipped: Number(r.usual_shipped) }, { returned: Number(r.recent_returned), shipped: Number(r.recent_shipped) }, t);
        if (anomaly) alerts.push({ anomaly, key: at.toISOString().slice(0, 10) });
      }
      checked.returnRate = rates.rows.length;

      // Shrinkage: negative adjustments posted at one warehouse in the last 7 days.
      const losses = await sql<{ warehouse: string; losses: number[] }>`
        select warehouse_code as warehouse, array_agg(-coalesce(delta, counted_qty - expected_qty) order by posted_at) as losses
        from inventory_adjustments
        where posted_at is not null and posted_at > ${new Date(at.getTime() - 7 * DAY)} and posted_at <= ${at} and coalesce(delta, counted_qty - expected_qty) < 0
        group by 1`.execute(db);
      for (const w of losses.rows) {
        const anomaly = shrinkageAnomaly(w.warehouse, w.losses.map(Number), t);
        if (anomaly) alerts.push({ anomaly, key: at.toISOString().slice(0, 10) });
      }
      checked.shrinkage = losses.rows.length;

      let raised = 0;
      for (const { anomaly, key } of alerts) {
        const id = `${anomaly.kind}:${anomaly.subject}:${key}`;
        const before = await db.selectFrom('exceptions').select('id').where('id', '=', id).executeTakeFirst();
        if (before) continue;
        await insertException(db, {
          id,
          kind: anomaly.kind,
          reference: anomaly.subject,
          ownerRole: ownerOf[anomaly.kind],
          message: anomaly.message,
          details: { expected: anomaly.expected, observed: anomaly.observed, direction: anomaly.direction, series: anomaly.series, judged: key },
        });
        raised += 1;
      }
      return { at: at.toISOString(), checked, found: alerts.length, raised };
    },
  };
}
