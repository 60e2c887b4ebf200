/**
 * Replenishment figures read from the ledger: demand and suggestions computed on demand,
 * and the suggestions stored per planner run. Read by the planner's activities and the API.
 */
import { sql, type Selectable } from 'kysely';
import type { Db } from './connection.js';
import type { ReplenishmentRunsTable } from './schema.js';
import { horizonUplift, planTransfersBeforeBuy, suggestReplenishment, type BalancedPlan, type DemandUplift, type SkuClass } from '../domain/replenishment.js';
import type { ReplenishmentParams, ReplenishmentRunSummary } from '../contracts/replenishment.js';

const DAY_MS = 86_400_000;

export const defaultReplenishmentParams: ReplenishmentParams = { historyDays: 90, reviewPeriodDays: 7, uplift: 1 };

export interface ReplenishmentLine extends BalancedPlan {
  sku: string;
  skuClass: SkuClass;
  supplierId: string | null;
  unitCostMinor: number | null;
  moq: number;
  packSize: number;
  leadTimeDays: number;
  statedLeadTimeDays: number;
  leadTimeSource: string;
  shippedInHistory: number;
  /** This sku's promotion or season factor over its horizon (lead time + review period from today), applied on top of the run-wide uplift. */
  skuUplift: number;
}

/** Worth a buyer's look: it reorders, or it gives stock to a warehouse that does. */
export const needsAction = (line: Pick<ReplenishmentLine, 'reorder' | 'transferOutQty'>) => line.reorder || line.transferOutQty > 0;

/**
 * Every active sku at every warehouse where it has a position (or only `sku`), with its
 * plan after the transfer-before-buy pass across that sku's warehouses.
 */
export async function computeReplenishment(db: Db, params: ReplenishmentParams, filter: { sku?: string } = {}): Promise<ReplenishmentLine[]> {
  const since = new Date(Date.now() - params.historyDays * DAY_MS);
  const firstDay = Math.floor(since.getTime() / DAY_MS) + 1;

  let balances = db
    .selectFrom('inventory_balances')
    .innerJoin('items', 'items.sku', 'inventory_balances.sku')
    .select(['inventory_balances.sku', 'warehouse_code', 'bucket', 'qty', 'items.sku_class'])
    .where('items.active', '=', true)
    .where('bucket', 'in', ['available', 'allocated', 'quarantine', 'inbound', 'in_transit']);
  if (filter.sku) balances = balances.where('inventory_balances.sku', '=', filter.sku);

  let upliftQuery = db
    .selectFrom('demand_uplifts')
    .select(['sku', sql<string>`from_date::text`.as('from'), sql<string>`to_date::text`.as('to'), 'factor'])
    .where('to_date', '>=', sql<string>`current_date - 1`);
  if (filter.sku) upliftQuery = upliftQuery.where('sku', '=', filter.sku);

  const [positionRows, shipped, sources, actualLead, upliftRows] = await Promise.all([
    balances.execute(),
    // Shipped history is the ledger's allocated → customer movements.
    sql<{ sku: string; warehouse: string; day: number; qty: number }>`
      select m.sku, m.from_warehouse as warehouse, floor(extract(epoch from m.created_at) / 86400)::int as day, sum(m.qty)::bigint as qty
      from inventory_movements m
      where m.from_bucket = 'allocated' and m.to_bucket = 'customer' and m.created_at >= ${since}
      group by 1, 2, 3`.execute(db),
    // The cheapest approved item of an approved supplier, with its lane's stated lead time. Its
    // pack is the supplier's purchase unit in base units when it has one (docs/units.md).
    sql<{ sku: string; warehouse: string | null; supplier_id: string; unit_cost_minor: number; moq: number; pack_size: number; lead_time_days: number }>`
      select distinct on (si.sku, l.warehouse_code) si.sku, l.warehouse_code as warehouse, si.supplier_id, si.unit_cost_minor, si.moq,
        coalesce((i.unit_conversions ->> si.purchase_unit)::int, si.pack_size) as pack_size,
        coalesce(l.lead_time_days, s.default_lead_time_days) as lead_time_days
      from supplier_items si
      join suppliers s on s.id = si.supplier_id and s.approved
      join items i on i.sku = si.sku
      left join supplier_lanes l on l.supplier_id = si.supplier_id
      where si.approved
      order by si.sku, l.warehouse_code, si.unit_cost_minor, si.supplier_id`.execute(db),
    // Actual lead time: issue to first receipt, averaged over the supplier's POs to a warehouse.
    sql<{ supplier_id: string; warehouse: string; days: number; pos: number }>`
      select p.supplier_id, p.warehouse_code as warehouse,
        avg(extract(epoch from (r.first_at - p.issued_at)) / 86400)::float8 as days, count(*)::int as pos
      from purchase_orders p
      join (select po_id, min(received_at) as first_at from purchase_order_receipts group by po_id) r on r.po_id = p.id
      where p.issued_at is not null
      group by 1, 2`.execute(db),
    upliftQuery.execute(),
  ]);
  const upliftsBySku = new Map<string, DemandUplift[]>();
  for (const u of upliftRows) upliftsBySku.set(u.sku, [...(upliftsBySku.get(u.sku) ?? []), { from: u.from, to: u.to, factor: u.factor }]);
  const today = new Date().toISOString().slice(0, 10);

  type Place = { sku: string; warehouse: string; skuClass: SkuClass; buckets: Record<string, number> };
  const places = new Map<string, Place>();
  // Quarantined units of expired or held lots will never be sold: the plan does not count them.
  const deadLots = await sql<{ sku: string; warehouse_code: string; qty: number }>`
    select b.sku, b.warehouse_code, sum(b.qty)::bigint as qty
    from inventory_lot_balances b join lots l on l.sku = b.sku and l.lot = b.lot
    where b.bucket = 'quarantine' and b.qty > 0 and (l.expires_on <= current_date or l.held)
      ${filter.sku ? sql`and b.sku = ${filter.sku}` : sql``}
    group by b.sku, b.warehouse_code`.execute(db);
  for (const row of positionRows) {
    const key = `${row.sku}@${row.warehouse_code}`;
    const place = places.get(key) ?? { sku: row.sku, warehouse: row.warehouse_code, skuClass: row.sku_class, buckets: {} };
    place.buckets[row.bucket] = Number(row.qty);
    places.set(key, place);
  }

  const planned = [...places.values()].map((place) => {
    const daily = new Array<number>(params.historyDays).fill(0);
    for (const s of shipped.rows) {
      if (s.sku !== place.sku || s.warehouse !== place.warehouse) continue;
      const index = s.day - firstDay;
      if (index >= 0 && index < daily.length) daily[index]! += Number(s.qty);
    }
    const source =
      sources.rows.find((s) => s.sku === place.sku && s.warehouse === place.warehouse) ??
      sources.rows.find((s) => s.sku === place.sku && s.warehouse === null) ??
      sources.rows.find((s) => s.sku === place.sku);
    const actual = source ? actualLead.rows.find((a) => a.supplier_id === source.supplier_id && a.warehouse === place.warehouse) : undefined;
    const statedLeadTimeDays = source?.lead_time_days ?? 14;
    const leadTimeDays = actual ? Math.max(1, Math.round(actual.days)) : statedLeadTimeDays;
    const moq = Number(source?.moq ?? 1);
    const packSize = Number(source?.pack_size ?? 1);
    const available = place.buckets.available ?? 0;
    const skuUplift = horizonUplift(upliftsBySku.get(place.sku) ?? [], today, leadTimeDays + params.reviewPeriodDays);
    const plan = suggestReplenishment({
      skuClass: place.skuClass,
      dailyShipped: daily,
      uplift: params.uplift * skuUplift,
      leadTimeDays,
      reviewPeriodDays: params.reviewPeriodDays,
      available,
      allocated: place.buckets.allocated ?? 0,
      quarantine: Math.max(0, (place.buckets.quarantine ?? 0) - Number(deadLots.rows.find((d) => d.sku === place.sku && d.warehouse_code === place.warehouse)?.qty ?? 0)),
      inbound: place.buckets.inbound ?? 0,
      inTransit: place.buckets.in_transit ?? 0,
      moq,
      packSize,
    });
    const facts = {
      sku: place.sku,
      skuClass: place.skuClass,
      supplierId: source?.supplier_id ?? null,
      unitCostMinor: source ? Number(source.unit_cost_minor) : null,
      moq,
      packSize,
      leadTimeDays,
      statedLeadTimeDays,
      leadTimeSource: actual ? `actual over ${actual.pos} purchase orders` : 'stated',
      shippedInHistory: daily.reduce((a, b) => a + b, 0),
      skuUplift,
    };
    return { facts, warehousePlan: { warehouse: place.warehouse, available, moq, packSize, plan } };
  });

  const bySku = new Map<string, typeof planned>();
  for (const p of planned) bySku.set(p.facts.sku, [...(bySku.get(p.facts.sku) ?? []), p]);
  const lines: ReplenishmentLine[] = [];
  for (const group of bySku.values()) {
    const balanced = planTransfersBeforeBuy(group.map((g) => g.warehousePlan));
    balanced.forEach((plan, i) => lines.push({ ...group[i]!.facts, ...plan }));
  }
  return lines.sort((a, b) => a.sku.localeCompare(b.sku) || a.warehouse.localeCompare(b.warehouse));
}

export interface ReplenishmentRunView {
  runId: string;
  workflowId: string;
  trigger: 'schedule' | 'manual';
  requestedBy: string;
  status: 'running' | 'finished' | 'failed';
  params: ReplenishmentParams;
  startedAt: string;
  finishedAt: string | null;
  /** Set when the run's steps failed every attempt. */
  failure: { at: string; reason: string } | null;
  counts: Omit<ReplenishmentRunSummary, 'runId'> | null;
}

export function replenishmentRunView(row: Selectable<ReplenishmentRunsTable>): ReplenishmentRunView {
  return {
    runId: row.id,
    workflowId: row.workflow_id,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    status: row.status,
    params: { historyDays: row.history_days, reviewPeriodDays: row.review_period_days, uplift: row.uplift },
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    failure: row.failed_at ? { at: row.failed_at.toISOString(), reason: row.failure ?? '' } : null,
    counts:
      row.status === 'finished'
        ? {
            placesCount: row.places_count ?? 0,
            reorderCount: row.reorder_count ?? 0,
            transferCount: row.transfer_count ?? 0,
            purchaseQty: row.purchase_qty ?? 0,
            transferQty: row.transfer_qty ?? 0,
          }
        : null,
  };
}

/** A run by its id, or the latest finished run. */
export async function findReplenishmentRun(db: Db, which: { runId: string } | 'latest'): Promise<ReplenishmentRunView | undefined> {
  let query = db.selectFrom('replenishment_runs').selectAll();
  query = which === 'latest' ? query.where('status', '=', 'finished').orderBy('finished_at', 'desc').orderBy('id', 'desc').limit(1) : query.where('id', '=', which.runId);
  const row = await query.executeTakeFirst();
  return row ? replenishmentRunView(row) : undefined;
}

/** A finished run's stored suggestions, in the shape `computeReplenishment` returns. */
export async function storedReplenishment(db: Db, runId: string, filter: { sku?: string; warehouse?: string } = {}): Promise<ReplenishmentLine[]> {
  let query = db.selectFrom('replenishment_suggestions').selectAll().where('run_id', '=', runId);
  if (filter.sku) query = query.where('sku', '=', filter.sku);
  if (filter.warehouse) query = query.where('warehouse_code', '=', filter.warehouse);
  const rows = await query.orderBy('sku').orderBy('warehouse_code').execute();
  return rows.map((r) => ({
    sku: r.sku,
    warehouse: r.warehouse_code,
    skuClass: r.sku_class,
    supplierId: r.supplier_id,
    unitCostMinor: r.unit_cost_minor,
    moq: r.moq,
    packSize: r.pack_size,
    leadTimeDays: r.lead_time_days,
    statedLeadTimeDays: r.stated_lead_time_days,
    leadTimeSource: r.lead_time_source,
    shippedInHistory: r.shipped_in_history,
    skuUplift: r.sku_uplift,
    averageDaily: r.average_daily,
    deviation: r.deviation,
    forecastMethod: r.forecast_method,
    forecastWape: r.forecast_wape,
    forecastMase: r.forecast_mase,
    forecastNote: r.forecast_note,
    leadTimeDemand: r.lead_time_demand,
    leadTimeDemandLow: r.lead_time_demand_low,
    leadTimeDemandHigh: r.lead_time_demand_high,
    safetyStock: r.safety_stock,
    reorderPoint: r.reorder_point,
    targetLevel: r.target_level,
    position: r.position,
    reorder: r.reorder,
    excess: r.excess,
    transferOutQty: r.transfer_out_qty,
    transfers: r.transfers,
    transferInQty: r.transfer_in_qty,
    purchaseQtyBeforeTransfers: r.purchase_qty_before_transfers,
    suggestedQty: r.suggested_qty,
  }));
}

