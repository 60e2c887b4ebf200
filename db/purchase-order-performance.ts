/**
 * Per-PO delivery figures of issued purchase orders: one query for the supplier scorecard
 * (`GET /suppliers/:id/scorecard`) and the purchasing KPIs (`GET /kpis`), and the ratios
 * both derive from them, so the two always count the same way.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';

export interface PurchaseOrderPerformanceRow {
  po_id: string;
  status: string;
  expected_at: Date;
  issued_at: Date | null;
  closed_at: Date | null;
  first_receipt: Date | null;
  last_receipt: Date | null;
  /** The lane's stated lead time to the PO's warehouse, else the supplier's default. */
  stated_days: number;
  ordered: number;
  /** Received up to the ordered quantity, per line. */
  received: number;
  cancelled: number;
  accepted: number;
  rejected: number;
}

export interface PurchaseOrderPerformanceFilter {
  supplierId?: string;
  /** Only POs closed or cancelled with `from <= closed_at < to`. */
  finishedIn?: { from: Date; to: Date };
  /** Only POs whose first receipt came with `from <= first receipt < to`. */
  firstReceiptIn?: { from: Date; to: Date };
}

/** Issued POs with their ordered, received, cancelled and inspected units and receipt times. */
export async function purchaseOrderPerformance(db: Db, filter: PurchaseOrderPerformanceFilter = {}): Promise<PurchaseOrderPerformanceRow[]> {
  const conditions = [sql`p.issued_at is not null`];
  if (filter.supplierId !== undefined) conditions.push(sql`p.supplier_id = ${filter.supplierId}`);
  if (filter.finishedIn) {
    conditions.push(sql`p.status in ('closed', 'cancelled') and p.closed_at >= ${filter.finishedIn.from} and p.closed_at < ${filter.finishedIn.to}`);
  }
  if (filter.firstReceiptIn) conditions.push(sql`r.first_at >= ${filter.firstReceiptIn.from} and r.first_at < ${filter.firstReceiptIn.to}`);
  const { rows } = await sql<PurchaseOrderPerformanceRow>`
    select p.id as po_id, p.status, p.expected_at, p.issued_at, p.closed_at, r.first_at as first_receipt, r.last_at as last_receipt,
      coalesce(l.lead_time_days, s.default_lead_time_days) as stated_days,
      sum(pl.ordered_qty)::bigint as ordered, sum(least(pl.received_qty, pl.ordered_qty))::bigint as received,
      sum(pl.cancelled_qty)::bigint as cancelled, sum(pl.accepted_qty)::bigint as accepted, sum(pl.rejected_qty)::bigint as rejected
    from purchase_orders p
    join suppliers s on s.id = p.supplier_id
    join purchase_order_lines pl on pl.po_id = p.id
    left join supplier_lanes l on l.supplier_id = p.supplier_id and l.warehouse_code = p.warehouse_code
    left join (select po_id, min(received_at) as first_at, max(received_at) as last_at from purchase_order_receipts group by po_id) r on r.po_id = p.id
    where ${sql.join(conditions, sql` and `)}
    group by p.id, p.status, p.expected_at, p.issued_at, p.closed_at, r.first_at, r.last_at, l.lead_time_days, s.default_lead_time_days
    order by p.id`.execute(db);
  return rows;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** POs closed or cancelled: the fill rate counts only those. */
export const finishedPurchaseOrders = (rows: PurchaseOrderPerformanceRow[]) => rows.filter((r) => r.status === 'closed' || r.status === 'cancelled');

/** Units received (up to the ordered quantity) and units ordered, over finished POs among `rows`. */
export function purchaseOrderFill(rows: PurchaseOrderPerformanceRow[]): { received: number; ordered: number } {
  const finished = finishedPurchaseOrders(rows);
  return { received: sum(finished.map((r) => Number(r.received))), ordered: sum(finished.map((r) => Number(r.ordered))) };
}

/** Days from issue to the first receipt. */
export const actualLeadDays = (row: PurchaseOrderPerformanceRow) => (row.first_receipt!.getTime() - row.issued_at!.getTime()) / 86_400_000;

/** POs that received goods, and those of them whose first goods came within the stated lead time. */
export function leadTimeAdherence(rows: PurchaseOrderPerformanceRow[]): { delivered: PurchaseOrderPerformanceRow[]; withinStated: number } {
  const delivered = rows.filter((r) => r.first_receipt && r.issued_at);
  return { delivered, withinStated: delivered.filter((r) => actualLeadDays(r) <= r.stated_days).length };
}
