/**
 * The reconciliation check: the books agree with themselves. Every integration test
 * ends with it, and `GET /ledger/check` runs it on demand.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface LedgerCheck {
  ok: boolean;
  problems: { check: string; detail: Record<string, unknown> }[];
  counted: { balances: number; movements: number; journalEntries: number; reservations: number };
}

export async function checkLedger(db: Kysely<Database>): Promise<LedgerCheck> {
  const problems: LedgerCheck['problems'] = [];
  const found = (check: string, rows: Record<string, unknown>[]) => rows.forEach((detail) => problems.push({ check, detail }));

  // Each balance equals what its movements put in minus what they took out.
  found(
    'balance_equals_movements',
    (
      await sql<Record<string, unknown>>`
        with moved as (
          select sku, to_warehouse as warehouse_code, to_bucket as bucket, qty from inventory_movements
          union all
          select sku, from_warehouse, from_bucket, -qty from inventory_movements
        ), sums as (
          select sku, warehouse_code, bucket, sum(qty)::bigint as qty from moved group by 1, 2, 3
        )
        select coalesce(b.sku, s.sku) as sku, coalesce(b.warehouse_code, s.warehouse_code) as warehouse,
          coalesce(b.bucket, s.bucket) as bucket, coalesce(b.qty, 0) as balance, coalesce(s.qty, 0) as movements
        from inventory_balances b
        full outer join sums s using (sku, warehouse_code, bucket)
        where coalesce(b.qty, 0) <> coalesce(s.qty, 0)`.execute(db)
    ).rows,
  );

  found(
    'no_negative_stock',
    (
      await sql<Record<string, unknown>>`
        select sku, warehouse_code as warehouse, bucket, qty from inventory_balances
        where qty < 0 and bucket not in ('supplier', 'customer', 'adjustment', 'scrap')`.execute(db)
    ).rows,
  );

  // Double entry: stock neither appears nor vanishes, so each sku's places sum to zero.
  found(
    'stock_sums_to_zero',
    (await sql<Record<string, unknown>>`select sku, sum(qty)::bigint as total from inventory_balances group by sku having sum(qty) <> 0`.execute(db)).rows,
  );

  // Allocated stock is exactly the unconsumed part of active reservations.
  found(
    'allocated_equals_active_reservations',
    (
      await sql<Record<string, unknown>>`
        with held as (
          select sku, warehouse_code, sum(qty - consumed_qty)::bigint as qty from reservations where status = 'active' group by 1, 2
        ), allocated as (
          select sku, warehouse_code, qty from inventory_balances where bucket = 'allocated'
        )
        select coalesce(a.sku, h.sku) as sku, coalesce(a.warehouse_code, h.warehouse_code) as warehouse,
          coalesce(a.qty, 0) as allocated, coalesce(h.qty, 0) as reserved
        from allocated a full outer join held h using (sku, warehouse_code)
        where coalesce(a.qty, 0) <> coalesce(h.qty, 0)`.execute(db)
    ).rows,
  );

  // A reservation resolves once: one resolving operation, and consumed never beyond reserved.
  found(
    'reservation_resolved_once',
    (
      await sql<Record<string, unknown>>`
        select id, status, qty, consumed_qty, resolved_by from reservations
        where (status = 'active') <> (resolved_by is null)
           or consumed_qty > qty
           or (status = 'consumed' and consumed_qty <> qty)`.execute(db)
    ).rows,
  );

  // Lot-tracked items: each lot balance equals its lot's movements (inbound carries no lot:
  // a received lot comes from the supplier's side), and the lots of a bucket add up to it.
  found(
    'lot_balance_equals_movements',
    (
      await sql<Record<string, unknown>>`
        with moved as (
          select sku, lot, to_warehouse as warehouse_code, case when to_bucket = 'inbound' then 'supplier' else to_bucket end as bucket, qty
          from inventory_movements where lot is not null
          union all
          select sku, lot, from_warehouse, case when from_bucket = 'inbound' then 'supplier' else from_bucket end, -qty
          from inventory_movements where lot is not null
        ), sums as (
          select sku, lot, warehouse_code, bucket, sum(qty)::bigint as qty from moved group by 1, 2, 3, 4
        )
        select coalesce(b.sku, s.sku) as sku, coalesce(b.lot, s.lot) as lot, coalesce(b.warehouse_code, s.warehouse_code) as warehouse,
          coalesce(b.bucket, s.bucket) as bucket, coalesce(b.qty, 0) as balance, coalesce(s.qty, 0) as movements
        from inventory_lot_balances b
        full outer join sums s using (sku, lot, warehouse_code, bucket)
        where coalesce(b.qty, 0) <> coalesce(s.qty, 0)`.execute(db)
    ).rows,
  );
  found(
    'lots_add_up_to_bucket',
    (
      await sql<Record<string, unknown>>`
        with per_lot as (
          select sku, warehouse_code, bucket, sum(qty)::bigint as qty from inventory_lot_balances
          where bucket not in ('supplier') group by 1, 2, 3
        ), buckets as (
          select b.sku, b.warehouse_code, b.bucket, b.qty from inventory_balances b join items i on i.sku = b.sku
          where i.lot_tracked and b.bucket not in ('supplier', 'inbound')
        )
        select coalesce(b.sku, l.sku) as sku, coalesce(b.warehouse_code, l.warehouse_code) as warehouse,
          coalesce(b.bucket, l.bucket) as bucket, coalesce(b.qty, 0) as balance, coalesce(l.qty, 0) as lots
        from buckets b full outer join per_lot l using (sku, warehouse_code, bucket)
        where coalesce(b.qty, 0) <> coalesce(l.qty, 0)`.execute(db)
    ).rows,
  );
  found(
    'lot_allocated_equals_reservation_lots',
    (
      await sql<Record<string, unknown>>`
        with held as (
          select r.sku, r.warehouse_code, l.lot, sum(l.qty - l.consumed_qty)::bigint as qty
          from reservation_lots l join reservations r on r.id = l.reservation_id where r.status = 'active' group by 1, 2, 3
        ), allocated as (
          select sku, warehouse_code, lot, qty from inventory_lot_balances where bucket = 'allocated'
        )
        select coalesce(a.sku, h.sku) as sku, coalesce(a.warehouse_code, h.warehouse_code) as warehouse, coalesce(a.lot, h.lot) as lot,
          coalesce(a.qty, 0) as allocated, coalesce(h.qty, 0) as reserved
        from allocated a full outer join held h using (sku, warehouse_code, lot)
        where coalesce(a.qty, 0) <> coalesce(h.qty, 0)`.execute(db)
    ).rows,
  );

  found(
    'journal_entry_balances',
    (
      await sql<Record<string, unknown>>`
        select e.id, e.idempotency_key as key, coalesce(sum(l.debit_minor), 0)::bigint as debits,
          coalesce(sum(l.credit_minor), 0)::bigint as credits, count(l.line_no)::int as lines
        from journal_entries e left join journal_lines l on l.entry_id = e.id
        group by e.id having coalesce(sum(l.debit_minor), 0) <> coalesce(sum(l.credit_minor), 0) or count(l.line_no) < 2`.execute(db)
    ).rows,
  );

  found(
    'idempotency_key_applied_once',
    (
      await sql<Record<string, unknown>>`
        select operation_key as key, leg, count(*)::int as times from inventory_movements group by 1, 2 having count(*) > 1
        union all
        select idempotency_key, 0, count(*)::int from journal_entries group by 1 having count(*) > 1`.execute(db)
    ).rows,
  );

  const counts = await sql<{ balances: number; movements: number; entries: number; reservations: number }>`
    select (select count(*) from inventory_balances)::int as balances,
      (select count(*) from inventory_movements)::int as movements,
      (select count(*) from journal_entries)::int as entries,
      (select count(*) from reservations)::int as reservations`.execute(db);
  const c = counts.rows[0]!;
  return {
    ok: problems.length === 0,
    problems,
    counted: { balances: c.balances, movements: c.movements, journalEntries: c.entries, reservations: c.reservations },
  };
}
