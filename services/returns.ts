/**
 * Return services the API calls directly, outside the return's process: authorizing a
 * return against its order (before the process starts) and refurbished units leaving
 * quarantine (long after it may have ended). The same rules as activities: each write is
 * idempotent by key, in one transaction.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry } from '../db/journal.js';
import { applyLegs, runOperation } from '../db/ledger.js';
import { RETURN_AUTHORIZED, writeOrderEvent } from '../db/order-events.js';
import { durationMs } from '../domain/duration.js';
import type { ChannelName } from '../domain/order.js';
import { returnedCostMinor, type ReturnPolicy } from '../domain/refund.js';
import { refuseReturnLine, returnableUnits, type ReturnReason, type ReturnResolution } from '../domain/return-rules.js';
import { returnWorkflowId, type ReturnInput, type ReturnLineInput } from '../contracts/return.js';

export interface ReturnRequest {
  rmaId: string;
  orderId: string;
  lines: { sku: string; qty: number; replacementSku?: string }[];
  reasonCode: ReturnReason;
  resolution: ReturnResolution;
  actor: string;
}

/** A return that cannot be authorized; nothing was written. */
export class ReturnRefusal extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ReturnRefusal';
  }
}

/** Statuses in which a return still covers every unit it authorized (more may arrive). */
export const awaitingParcelStatuses = ['authorized', 'receiving'];

/**
 * Authorizes a return against its order, or refuses it and writes nothing. The order row
 * is locked, so two requests for the same units are decided one after the other and only
 * the first wins. A repeat of the same request (same id and content) answers the first.
 */
export async function authorizeReturn(
  db: Db,
  request: ReturnRequest,
  policy: ReturnPolicy,
  now = new Date(),
): Promise<{ input: ReturnInput; created: boolean; requestHash: string }> {
  // Who asked is not part of what was asked: a retry by another caller is the same request.
  const content = { rmaId: request.rmaId, orderId: request.orderId, lines: request.lines, reasonCode: request.reasonCode, resolution: request.resolution };
  const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex');
  return db.transaction().execute(async (tx) => {
    const order = await tx.selectFrom('orders').selectAll().where('id', '=', request.orderId).forUpdate().executeTakeFirst();
    const existing = await tx.selectFrom('returns').select(['request_hash', 'input']).where('id', '=', request.rmaId).executeTakeFirst();
    if (existing) {
      if (existing.request_hash !== hash) throw new ReturnRefusal(409, 'duplicate_return_id', `return ${request.rmaId} was already requested with different content`);
      return { input: existing.input as ReturnInput, created: false, requestHash: hash };
    }
    if (!order) throw new ReturnRefusal(404, 'not_found', `order ${request.orderId} not found`);

    const orderLines = await tx.selectFrom('order_lines').selectAll().where('order_id', '=', request.orderId).orderBy('line_no').execute();
    const windowDays = policy.windowDays[order.channel as ChannelName] ?? 30;
    const cutoff = new Date(now.getTime() - windowDays * 86_400_000);
    // Units of the line's own sku: a substitute shipped on the line is not that sku and cannot come back as it.
    const shipped = await sql<{ line_no: number; shipped: number; in_window: number }>`
      select l.line_no, coalesce(sum(l.shipped_qty), 0)::bigint as shipped,
             coalesce(sum(l.shipped_qty) filter (where s.shipped_at >= ${cutoff}), 0)::bigint as in_window
        from shipment_lines l
        join shipments s on s.id = l.shipment_id
        join order_lines ol on ol.order_id = s.order_id and ol.line_no = l.line_no and ol.sku = l.sku
       where s.order_id = ${request.orderId} and s.shipped_at is not null
       group by l.line_no`.execute(tx);
    const covered = await sql<{ line_no: number; covered: number }>`
      select rl.line_no,
             coalesce(sum(case when r.status in ('authorized', 'receiving') then rl.qty else rl.received_qty end), 0)::bigint as covered
        from return_lines rl join returns r on r.id = rl.return_id
       where r.order_id = ${request.orderId}
       group by rl.line_no`.execute(tx);
    const units = (lineNo: number) => {
      const s = shipped.rows.find((r) => r.line_no === lineNo);
      return { shipped: Number(s?.shipped ?? 0), shippedInWindow: Number(s?.in_window ?? 0), covered: Number(covered.rows.find((r) => r.line_no === lineNo)?.covered ?? 0) };
    };

    const unknown = request.lines.filter((l) => !orderLines.some((ol) => ol.sku === l.sku)).map((l) => l.sku);
    if (unknown.length) throw new ReturnRefusal(400, 'invalid_request', `not on order ${request.orderId}: ${unknown.join(', ')}`, { skus: unknown });
    const replacementSkus = [...new Set(request.lines.flatMap((l) => (l.replacementSku ? [l.replacementSku] : [])))];
    if (replacementSkus.length) {
      if (request.resolution !== 'exchange') throw new ReturnRefusal(400, 'invalid_request', 'a replacement sku needs the exchange resolution');
      const active = await tx.selectFrom('items').select('sku').where('sku', 'in', replacementSkus).where('active', '=', true).execute();
      const missing = replacementSkus.filter((s) => !active.some((a) => a.sku === s));
      if (missing.length) throw new ReturnRefusal(400, 'invalid_request', `unknown or inactive replacement sku: ${missing.join(', ')}`, { skus: missing });
    }

    // Each requested sku takes its units from the order's lines of that sku, in line order.
    const lines: ReturnLineInput[] = [];
    const problems: { sku: string; requested: number; returnable: number; reason: string }[] = [];
    for (const wanted of request.lines) {
      let left = wanted.qty;
      let returnable = 0;
      let reason: string | undefined;
      for (const ol of orderLines.filter((l) => l.sku === wanted.sku)) {
        const u = units(ol.line_no);
        const can = returnableUnits(u);
        returnable += can;
        const qty = Math.min(left, can);
        if (qty > 0) {
          lines.push({ lineNo: ol.line_no, sku: ol.sku, qty, unitPriceMinor: ol.unit_price_minor, ...(wanted.replacementSku ? { replacementSku: wanted.replacementSku } : {}) });
          left -= qty;
        }
        if (left > 0) reason ??= refuseReturnLine(can + 1, u);
      }
      if (left > 0) problems.push({ sku: wanted.sku, requested: wanted.qty, returnable, reason: reason ?? 'more than returnable' });
    }
    if (problems.length) {
      throw new ReturnRefusal(
        409,
        'not_returnable',
        problems.map((p) => `${p.sku}: ${p.requested} requested, ${p.returnable} returnable (${p.reason})`).join('; '),
        { problems },
      );
    }

    const skus = [...new Set(lines.map((l) => l.sku))];
    const suppliers = await tx
      .selectFrom('supplier_items as si')
      .innerJoin('suppliers as s', 's.id', 'si.supplier_id')
      .select('si.sku')
      .distinct()
      .where('si.sku', 'in', skus)
      .where('si.approved', '=', true)
      .where('s.approved', '=', true)
      .execute();
    const expiresAt = new Date(now.getTime() + durationMs(policy.receiptExpiry));
    const input: ReturnInput = {
      rmaId: request.rmaId,
      orderId: request.orderId,
      channel: order.channel as ChannelName,
      customerId: order.customer_id,
      currency: order.currency,
      reasonCode: request.reasonCode,
      resolution: request.resolution,
      lines,
      requestedBy: request.actor,
      authorizedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      returnableToSupplier: suppliers.map((s) => s.sku).sort(),
    };
    const inserted = await tx
      .insertInto('returns')
      .values({
        id: request.rmaId,
        workflow_id: returnWorkflowId(request.rmaId),
        order_id: request.orderId,
        channel: order.channel,
        customer_id: order.customer_id,
        currency: order.currency,
        reason_code: request.reasonCode,
        resolution: request.resolution,
        status: 'authorized',
        request_hash: hash,
        input: JSON.stringify(input),
        requested_by: request.actor,
        authorized_at: now,
        expires_at: expiresAt,
      })
      // The same id for another order, authorized at the same moment (the order locks did not meet).
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) throw new ReturnRefusal(409, 'duplicate_return_id', `return ${request.rmaId} was already requested with different content`);
    await tx
      .insertInto('return_lines')
      .values(lines.map((l) => ({ return_id: request.rmaId, line_no: l.lineNo, sku: l.sku, qty: l.qty, replacement_sku: l.replacementSku ?? null })))
      .execute();
    await writeOrderEvent(tx, RETURN_AUTHORIZED, request.orderId, { returnId: request.rmaId, reasonCode: request.reasonCode, lines: lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.qty })) });
    return { input, created: true, requestHash: hash };
  });
}

/**
 * Refurbished units leave quarantine: back on the shelf (restock) or written off (scrap →
 * damaged, at their original cost). Outside the process, like shipping a vendor return:
 * it can happen long after the refund. Idempotent per refurbishment id.
 */
export async function completeRefurbishment(
  db: Db,
  request: { rmaId: string; refurbishmentId: string; actor: string; lines: { sku: string; qty: number; outcome: 'restock' | 'scrap' }[] },
): Promise<{ restockedMinor: number; scrappedMinor: number; moved: RefurbishedUnits[]; replayed: boolean }> {
  const process = returnWorkflowId(request.rmaId);
  const step = `refurbishment:${request.refurbishmentId}`;
  const key = `${process}:${step}`;
  const rma = await db.selectFrom('returns').select(['id', 'order_id']).where('id', '=', request.rmaId).executeTakeFirst();
  if (!rma) throw new ReturnRefusal(404, 'not_found', `return ${request.rmaId} not found`);
  return runOperation(db, { key, actor: request.actor, process, step }, 'refurbishment', request.lines, async (tx) => {
    const lines = await tx.selectFrom('return_lines').selectAll().where('return_id', '=', request.rmaId).orderBy('line_no').forUpdate().execute();
    const inspections = await tx.selectFrom('return_inspections').selectAll().where('return_id', '=', request.rmaId).where('disposition', '=', 'refurbish').execute();
    // Where earlier refurbishments took their units from (each one's result lists its moves).
    const earlier = await tx.selectFrom('inventory_operations').select('result').where('process', '=', process).where('kind', '=', 'refurbishment').execute();
    const earlierMoves = earlier.flatMap((o) => (o.result as { moved?: RefurbishedUnits[] } | null)?.moved ?? []);
    const plan: RefurbishedUnits[] = [];
    const problems: string[] = [];
    for (const wanted of request.lines) {
      let left = wanted.qty;
      for (const line of lines.filter((l) => l.sku === wanted.sku)) {
        const rows = inspections.filter((i) => i.line_no === line.line_no);
        const valueIn = rows.reduce((n, r) => n + r.cost_minor, 0);
        const unitsIn = rows.reduce((n, r) => n + r.qty, 0);
        // The units in quarantine at each warehouse, taken in warehouse order.
        for (const warehouse of [...new Set(rows.map((r) => r.warehouse_code))].sort()) {
          const at = (moves: RefurbishedUnits[]) => moves.filter((m) => m.lineNo === line.line_no && m.warehouse === warehouse).reduce((n, m) => n + m.qty, 0);
          const there = rows.filter((r) => r.warehouse_code === warehouse).reduce((n, r) => n + r.qty, 0);
          const qty = Math.min(left, there - at(earlierMoves) - at(plan));
          if (qty <= 0) continue;
          const doneUnits = line.refurbished_restocked_qty + line.refurbished_scrapped_qty + plan.filter((p) => p.lineNo === line.line_no).reduce((n, p) => n + p.qty, 0);
          // Cumulative shares of the refurbished units' cost, so all of them together take it all.
          const costMinor = returnedCostMinor(valueIn, unitsIn, doneUnits, qty);
          plan.push({ lineNo: line.line_no, sku: line.sku, warehouse, qty, outcome: wanted.outcome, costMinor });
          left -= qty;
        }
      }
      if (left > 0) problems.push(`${wanted.sku}: ${wanted.qty} asked, ${wanted.qty - left} in refurbishment`);
    }
    if (problems.length) throw new ReturnRefusal(409, 'not_in_refurbishment', problems.join('; '));
    await applyLegs(
      tx,
      key,
      plan.map((p) => ({ sku: p.sku, qty: p.qty, from: { warehouse: p.warehouse, bucket: 'quarantine' as const }, to: { warehouse: p.warehouse, bucket: p.outcome === 'restock' ? ('available' as const) : ('damaged' as const) } })),
    );
    let restockedMinor = 0;
    let scrappedMinor = 0;
    for (const p of plan) {
      if (p.outcome === 'restock') restockedMinor += p.costMinor;
      else scrappedMinor += p.costMinor;
      const column = p.outcome === 'restock' ? 'refurbished_restocked_qty' : 'refurbished_scrapped_qty';
      await tx
        .updateTable('return_lines')
        .set({ [column]: sql`${sql.ref(column)} + ${p.qty}` })
        .where('return_id', '=', request.rmaId)
        .where('line_no', '=', p.lineNo)
        .execute();
    }
    if (scrappedMinor > 0) {
      await postEntry(tx, {
        key: `${key}:write-off`,
        eventType: 'return.written_off',
        reference: rma.order_id,
        memo: `return ${request.rmaId}: refurbished units that could not be saved`,
        actor: request.actor,
        lines: [
          { account: '5200', debitMinor: scrappedMinor },
          { account: '1300', creditMinor: scrappedMinor },
        ],
      });
    }
    await tx.updateTable('returns').set({ restocked_value_minor: sql`restocked_value_minor + ${restockedMinor}`, updated_at: new Date() }).where('id', '=', request.rmaId).execute();
    return { restockedMinor, scrappedMinor, moved: plan };
  });
}

/** Refurbished units of one return line at one warehouse, and where they went. */
interface RefurbishedUnits {
  lineNo: number;
  sku: string;
  warehouse: string;
  qty: number;
  outcome: 'restock' | 'scrap';
  costMinor: number;
}
