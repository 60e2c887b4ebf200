/**
 * The return process's side effects: parcels into return_pending, dispositions out of it,
 * the refund through the payment gateway and its posting. Every ledger movement and journal
 * entry is keyed by the RMA's workflow id and step, so a retried activity moves and posts
 * nothing twice.
 */
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry, type JournalLineInput } from '../db/journal.js';
import { bookedSale } from '../db/fx-rates.js';
import { atBookedRatio } from '../domain/currency.js';
import { RETURN_REFUNDED, writeOrderEvent } from '../db/order-events.js';
import { dispose, returnReceive, type Tx } from '../db/ledger.js';
import type { Address, ChannelName, OrderInput } from '../domain/order.js';
import { computeRefund, refundEntryLines, returnedCostMinor, shareByWeight, type RefundBreakdown, type ReturnPolicy } from '../domain/refund.js';
import type { ReturnDisposition, ReturnReason } from '../domain/return-rules.js';
import { ledgerCall } from './failures.js';
import { PaymentGatewayError, paymentGatewayFromEnv, type PaymentGateway } from './payment-gateway.js';
import { ensureClearingAccount } from './payment.js';
import { type InspectedUnit, type ParcelLine, replacementOrderId, type ReturnStateUpdate, returnWorkflowId, type ReturnActivities } from '../contracts/return.js';

/**
 * The cost that the order line's shipments of `sku` took out of inventory, and the units
 * they shipped. Each shipment's cost of goods is read back from its journal entry and
 * shared over its lines by weight: units × the sku's average cost as it stood when the
 * shipment posted (the last receipt before it). The shares are cumulative, so the lines of
 * a shipment together take back exactly what it posted, even when that estimate is off.
 */
async function lineShipmentCost(tx: Tx, orderId: string, lineNo: number, sku: string): Promise<{ shipped: number; cogsMinor: number }> {
  const { rows } = await sql<{ shipment_id: string; sku: string; line_no: number; shipped_qty: number; posted_at: Date; cogs: number }>`
    select l.shipment_id, l.sku, l.line_no, l.shipped_qty, e.posted_at,
           (select coalesce(sum(jl.debit_minor), 0) from journal_lines jl where jl.entry_id = e.id and jl.account_code = '5000')::bigint as cogs
      from shipments s
      join shipment_lines l on l.shipment_id = s.id
      join journal_entries e on e.id = s.journal_entry_id
     where s.order_id = ${orderId} and l.shipped_qty > 0
       and s.id in (select x.shipment_id from shipment_lines x where x.line_no = ${lineNo} and x.sku = ${sku} and x.shipped_qty > 0)
     order by l.shipment_id, l.line_no, l.sku`.execute(tx);
  let shipped = 0;
  let cogsMinor = 0;
  for (const shipmentId of [...new Set(rows.map((r) => r.shipment_id))]) {
    const lines = rows.filter((r) => r.shipment_id === shipmentId);
    const singleSku = new Set(lines.map((l) => l.sku)).size === 1;
    const weights: number[] = [];
    for (const l of lines) weights.push(Number(l.shipped_qty) * (singleSku ? 1 : await averageCostAt(tx, l.sku, l.posted_at)));
    const shares = shareByWeight(Number(lines[0]!.cogs), weights);
    lines.forEach((l, index) => {
      if (l.line_no !== lineNo || l.sku !== sku) return;
      shipped += Number(l.shipped_qty);
      cogsMinor += shares[index]!;
    });
  }
  return { shipped, cogsMinor };
}

/** A sku's average cost at a moment: the one its last receipt before then left (average cost moves only on receipts). */
async function averageCostAt(tx: Tx, sku: string, at: Date): Promise<number> {
  const { rows } = await sql<{ cost: number }>`
    select (o.result->>'averageCostMinor')::bigint as cost
      from inventory_operations o
     where o.kind = 'receive' and o.created_at <= ${at}
       and exists (select 1 from inventory_movements m where m.operation_key = o.idempotency_key and m.sku = ${sku})
     order by o.created_at desc limit 1`.execute(tx);
  if (rows[0]) return Number(rows[0].cost);
  const item = await tx.selectFrom('items').select('standard_cost_minor').where('sku', '=', sku).executeTakeFirstOrThrow();
  return item.standard_cost_minor;
}

/** Share of `value` for `qty` of `remaining` units still to be valued: the last units take what is left. */
const shareOfRemaining = (value: number, qty: number, remaining: number) => (remaining <= 0 ? 0 : Math.floor((value * qty) / remaining));

const ledgerBucketOf: Record<ReturnDisposition, 'restock' | 'refurbish' | 'damaged'> = {
  restock: 'restock',
  refurbish: 'refurbish',
  damaged: 'damaged',
  // Units owed to the supplier wait in damaged until the vendor return ships them.
  vendor_return: 'damaged',
};

export function createReturnActivities({ db, paymentGateway }: { db: Db; paymentGateway?: PaymentGateway }): ReturnActivities {
  const gateway = paymentGateway ?? paymentGatewayFromEnv(db);
  const returnRow = (tx: Db | Tx, rmaId: string) => tx.selectFrom('returns').selectAll().where('id', '=', rmaId).executeTakeFirstOrThrow();
  /**
   * The lots a lot-tracked item's returned units are: those the order shipped on that line,
   * less what earlier receipts of the order's returns took back, in the order they shipped.
   * A retry of a receipt already posted reads its own lots back, so its payload is the same.
   */
  async function returnedLots(rmaId: string, key: string, line: ParcelLine): Promise<{ lot: string; qty: number }[] | undefined> {
    const item = await db.selectFrom('items').select('lot_tracked').where('sku', '=', line.sku).executeTakeFirst();
    if (!item?.lot_tracked) return undefined;
    const posted = await db.selectFrom('inventory_movements').select(['lot', 'qty']).where('operation_key', '=', key).orderBy('leg').execute();
    if (posted.length) return posted.map((m) => ({ lot: m.lot!, qty: m.qty }));
    const rma = await db.selectFrom('returns').select('order_id').where('id', '=', rmaId).executeTakeFirstOrThrow();
    const shipped = await sql<{ lot: string; qty: number }>`
      select sl.lot, sum(sl.qty)::bigint as qty from shipment_lots sl join shipments s on s.id = sl.shipment_id
      where s.order_id = ${rma.order_id} and sl.line_no = ${line.lineNo} and sl.sku = ${line.sku}
      group by sl.lot order by min(s.shipped_at), sl.lot`.execute(db);
    const returned = await sql<{ lot: string; qty: number }>`
      select m.lot, sum(m.qty)::bigint as qty from inventory_movements m
      where m.sku = ${line.sku} and m.from_bucket = 'customer' and m.lot is not null
        and m.operation_key like any (select ${returnWorkflowId('')} || r.id || ':receipt:%:line-' || ${line.lineNo} from returns r where r.order_id = ${rma.order_id})
      group by m.lot`.execute(db);
    const lots: { lot: string; qty: number }[] = [];
    let need = line.qty;
    for (const s of shipped.rows) {
      const left = Number(s.qty) - Number(returned.rows.find((r) => r.lot === s.lot)?.qty ?? 0);
      const take = Math.min(need, Math.max(0, left));
      if (take > 0) lots.push({ lot: s.lot, qty: take });
      need -= take;
    }
    // More back than the order shipped of known lots: the ledger refuses the receipt without its lot.
    return need === 0 ? lots : undefined;
  }

  const lockOrderLines = (tx: Tx, orderId: string) => tx.selectFrom('order_lines').selectAll().where('order_id', '=', orderId).orderBy('line_no').forUpdate().execute();

  return {
    async recordReturnState(update: ReturnStateUpdate): Promise<void> {
      await db
        .updateTable('returns')
        .set({
          status: update.status,
          status_reason: update.reason ?? null,
          updated_at: new Date(),
          ...(update.closed ? { closed_at: new Date() } : {}),
          ...(update.approval !== undefined ? { approval: JSON.stringify(update.approval) } : {}),
          ...(update.replacementOrderId ? { replacement_order_id: update.replacementOrderId } : {}),
        })
        .where('id', '=', update.rmaId)
        .execute();
    },

    /**
     * A parcel arrives: its units go customer → return_pending at the receiving warehouse,
     * and their original cost moves from COGS back to inventory asset (one entry per parcel).
     */
    async receiveReturnParcel(input: { rmaId: string; parcelId: string; warehouse: string; actor: string; lines: ParcelLine[] }): Promise<{ costMinor: number; journalEntryId: number | null }> {
      const process = returnWorkflowId(input.rmaId);
      const step = `receipt:${input.parcelId}`;
      for (const line of input.lines) {
        const key = `${process}:${step}:line-${line.lineNo}`;
        const lots = await returnedLots(input.rmaId, key, line);
        await ledgerCall(() => returnReceive(db, { key, actor: input.actor, process, step }, { sku: line.sku, warehouse: input.warehouse, qty: line.qty, ...(lots ? { lots } : {}) }));
      }
      return db.transaction().execute(async (tx) => {
        const rma = await returnRow(tx, input.rmaId);
        await lockOrderLines(tx, rma.order_id);
        const done = await tx.selectFrom('return_receipts').selectAll().where('return_id', '=', input.rmaId).where('parcel_id', '=', input.parcelId).execute();
        if (done.length) return { costMinor: done.reduce((n, r) => n + r.cost_minor, 0), journalEntryId: done[0]!.journal_entry_id };

        const costed: (ParcelLine & { costMinor: number })[] = [];
        for (const line of input.lines) {
          const { shipped, cogsMinor } = await lineShipmentCost(tx, rma.order_id, line.lineNo, line.sku);
          const before = await sql<{ qty: number }>`
            select coalesce(sum(rr.qty), 0)::bigint as qty from return_receipts rr join returns r on r.id = rr.return_id
             where r.order_id = ${rma.order_id} and rr.line_no = ${line.lineNo}`.execute(tx);
          costed.push({ ...line, costMinor: returnedCostMinor(cogsMinor, shipped, Number(before.rows[0]!.qty), line.qty) });
        }
        const costMinor = costed.reduce((n, l) => n + l.costMinor, 0);
        const entry =
          costMinor > 0
            ? await postEntry(tx, {
                key: `${process}:${step}:cost`,
                eventType: 'return.received',
                reference: rma.order_id,
                memo: `return ${input.rmaId} parcel ${input.parcelId} at ${input.warehouse}: units back in inventory at original cost`,
                actor: input.actor,
                lines: [
                  { account: '1300', debitMinor: costMinor },
                  { account: '5000', creditMinor: costMinor },
                ],
              })
            : null;
        for (const line of costed) {
          await tx
            .insertInto('return_receipts')
            .values({
              return_id: input.rmaId,
              parcel_id: input.parcelId,
              line_no: line.lineNo,
              sku: line.sku,
              warehouse_code: input.warehouse,
              qty: line.qty,
              cost_minor: line.costMinor,
              operation_key: `${process}:${step}:line-${line.lineNo}`,
              journal_entry_id: entry?.entryId ?? null,
              actor: input.actor,
            })
            .execute();
          await tx
            .updateTable('return_lines')
            .set({ received_qty: sql`received_qty + ${line.qty}` })
            .where('return_id', '=', input.rmaId)
            .where('line_no', '=', line.lineNo)
            .execute();
        }
        await tx
          .updateTable('returns')
          .set({ returned_value_minor: sql`returned_value_minor + ${costMinor}`, first_received_at: sql`coalesce(first_received_at, now())`, updated_at: new Date() })
          .where('id', '=', input.rmaId)
          .execute();
        return { costMinor, journalEntryId: entry?.entryId ?? null };
      });
    },

    /**
     * Inspected units leave return_pending by their disposition: restock → available,
     * refurbish → quarantine, damaged → damaged and written off at cost, vendor return →
     * damaged and owed to the supplier (a vendor-return line, shipped by the purchasing path).
     */
    async inspectReturnedUnits(input: { rmaId: string; inspectionId: string; actor: string; units: InspectedUnit[] }): Promise<{ restockedMinor: number; writtenOffMinor: number }> {
      const process = returnWorkflowId(input.rmaId);
      const step = `inspection:${input.inspectionId}`;
      for (const unit of input.units) {
        await ledgerCall(() =>
          dispose(
            db,
            { key: `${process}:${step}:${unit.seq}`, actor: input.actor, process, step, reason: unit.overrideReason ?? `${unit.condition} → ${unit.disposition}` },
            { sku: unit.sku, warehouse: unit.warehouse, qty: unit.qty, from: 'return_pending', disposition: ledgerBucketOf[unit.disposition] },
          ),
        );
      }
      return db.transaction().execute(async (tx) => {
        const rma = await returnRow(tx, input.rmaId);
        const done = await tx.selectFrom('return_inspections').selectAll().where('return_id', '=', input.rmaId).where('inspection_id', '=', input.inspectionId).execute();
        const sum = (rows: { disposition: string; cost_minor: number }[], d: string) => rows.filter((r) => r.disposition === d).reduce((n, r) => n + r.cost_minor, 0);
        if (done.length) return { restockedMinor: sum(done, 'restock'), writtenOffMinor: sum(done, 'damaged') };

        const lines = await tx.selectFrom('return_lines').selectAll().where('return_id', '=', input.rmaId).forUpdate().execute();
        const receivedCost = await tx
          .selectFrom('return_receipts')
          .select(['line_no', sql<number>`sum(cost_minor)::bigint`.as('cost')])
          .where('return_id', '=', input.rmaId)
          .groupBy('line_no')
          .execute();
        const inspectedCost = await tx
          .selectFrom('return_inspections')
          .select(['line_no', sql<number>`sum(cost_minor)::bigint`.as('cost')])
          .where('return_id', '=', input.rmaId)
          .groupBy('line_no')
          .execute();
        // Per line: value and units not yet inspected; each inspected group takes its share of them.
        const remaining = new Map(
          lines.map((l) => [
            l.line_no,
            {
              value: Number(receivedCost.find((c) => c.line_no === l.line_no)?.cost ?? 0) - Number(inspectedCost.find((c) => c.line_no === l.line_no)?.cost ?? 0),
              units: l.received_qty - l.inspected_qty,
            },
          ]),
        );
        let restockedMinor = 0;
        let writtenOffMinor = 0;
        for (const unit of input.units) {
          const left = remaining.get(unit.lineNo)!;
          const costMinor = shareOfRemaining(left.value, unit.qty, left.units);
          left.value -= costMinor;
          left.units -= unit.qty;
          let vendorReturnId: string | null = null;
          if (unit.disposition === 'vendor_return') {
            const supplier = await tx
              .selectFrom('supplier_items as si')
              .innerJoin('suppliers as s', 's.id', 'si.supplier_id')
              .select('si.supplier_id')
              .where('si.sku', '=', unit.sku)
              .where('si.approved', '=', true)
              .where('s.approved', '=', true)
              .orderBy('si.unit_cost_minor')
              .orderBy('si.supplier_id')
              .executeTakeFirst();
            if (!supplier) throw ApplicationFailure.nonRetryable(`no approved supplier takes ${unit.sku} back`, 'no_supplier');
            vendorReturnId = `${input.rmaId}-${input.inspectionId}-${unit.seq}`;
            // A vendor return is valued qty × unit cost when it ships: when the cost does not divide
            // by the units, the odd minor units go on a second row, so together they take out of
            // inventory exactly the cost that came in.
            const unitCost = Math.floor(costMinor / unit.qty);
            const dearer = costMinor - unitCost * unit.qty;
            const rows = [
              { id: vendorReturnId, qty: unit.qty - dearer, unitCost },
              { id: `${vendorReturnId}-b`, qty: dearer, unitCost: unitCost + 1 },
            ].filter((r) => r.qty > 0);
            await tx
              .insertInto('vendor_returns')
              .values(
                rows.map((r) => ({
                  id: r.id,
                  po_id: null,
                  return_id: input.rmaId,
                  supplier_id: supplier.supplier_id,
                  warehouse_code: unit.warehouse,
                  sku: unit.sku,
                  qty: r.qty,
                  unit_cost_minor: r.unitCost,
                })),
              )
              .onConflict((oc) => oc.column('id').doNothing())
              .execute();
          }
          if (unit.disposition === 'damaged' && costMinor > 0) {
            await postEntry(tx, {
              key: `${process}:${step}:${unit.seq}:write-off`,
              eventType: 'return.written_off',
              reference: rma.order_id,
              memo: `return ${input.rmaId}: ${unit.qty} × ${unit.sku} damaged (${unit.condition})`,
              actor: input.actor,
              lines: [
                { account: '5200', debitMinor: costMinor },
                { account: '1300', creditMinor: costMinor },
              ],
            });
            writtenOffMinor += costMinor;
          }
          if (unit.disposition === 'restock') restockedMinor += costMinor;
          await tx
            .insertInto('return_inspections')
            .values({
              return_id: input.rmaId,
              inspection_id: input.inspectionId,
              seq: unit.seq,
              line_no: unit.lineNo,
              sku: unit.sku,
              warehouse_code: unit.warehouse,
              qty: unit.qty,
              condition: unit.condition,
              disposition: unit.disposition,
              rule_disposition: unit.ruleDisposition,
              override_reason: unit.overrideReason ?? null,
              cost_minor: costMinor,
              operation_key: `${process}:${step}:${unit.seq}`,
              vendor_return_id: vendorReturnId,
              actor: input.actor,
            })
            .execute();
          const counter = { restock: 'restocked_qty', refurbish: 'refurbished_qty', damaged: 'damaged_qty', vendor_return: 'vendor_returned_qty' }[unit.disposition] as
            | 'restocked_qty'
            | 'refurbished_qty'
            | 'damaged_qty'
            | 'vendor_returned_qty';
          await tx
            .updateTable('return_lines')
            .set({ inspected_qty: sql`inspected_qty + ${unit.qty}`, [counter]: sql`${sql.ref(counter)} + ${unit.qty}` })
            .where('return_id', '=', input.rmaId)
            .where('line_no', '=', unit.lineNo)
            .execute();
        }
        await tx
          .updateTable('returns')
          .set({ restocked_value_minor: sql`restocked_value_minor + ${restockedMinor}`, inspected_at: new Date(), updated_at: new Date() })
          .where('id', '=', input.rmaId)
          .execute();
        return { restockedMinor, writtenOffMinor };
      });
    },

    /**
     * What the return gives back (`domain/refund.ts`), once: the order's lines are locked so
     * the returns of one order take their shares of discount, tax and freight in turn. The
     * units are settled by this return from here on, whether finance approves or not.
     */
    async computeReturnRefund(input: { rmaId: string; policy: Pick<ReturnPolicy, 'restockingFeePct' | 'restockingFeeReasons' | 'freightRefundReasons'> }): Promise<RefundBreakdown> {
      return db.transaction().execute(async (tx) => {
        const rma = await returnRow(tx, input.rmaId);
        const orderLines = await lockOrderLines(tx, rma.order_id);
        const stored = await returnRow(tx, input.rmaId);
        if (stored.refund) return stored.refund as RefundBreakdown;
        const order = await tx.selectFrom('orders').select('freight_minor').where('id', '=', rma.order_id).executeTakeFirstOrThrow();
        const lines = await tx.selectFrom('return_lines').selectAll().where('return_id', '=', input.rmaId).orderBy('line_no').execute();
        const earlier = await sql<{ line_no: number; qty: number }>`
          select rl.line_no, coalesce(sum(rl.refunded_qty), 0)::bigint as qty
            from return_lines rl join returns r on r.id = rl.return_id
           where r.order_id = ${rma.order_id} and r.id <> ${input.rmaId}
           group by rl.line_no`.execute(tx);
        const before = (lineNo: number) => Number(earlier.rows.find((r) => r.line_no === lineNo)?.qty ?? 0);
        const breakdown = computeRefund({
          resolution: rma.resolution,
          reason: rma.reason_code as ReturnReason,
          lines: lines.map((l) => {
            const ol = orderLines.find((o) => o.line_no === l.line_no)!;
            return {
              lineNo: l.line_no,
              sku: l.sku,
              qty: l.received_qty,
              before: before(l.line_no),
              orderedQty: ol.qty,
              unitPriceMinor: ol.unit_price_minor,
              lineDiscountMinor: ol.discount_minor,
              lineTaxMinor: ol.tax_minor,
            };
          }),
          freight: {
            orderFreightMinor: order.freight_minor,
            orderedUnits: orderLines.reduce((n, l) => n + l.qty, 0),
            unitsBefore: earlier.rows.reduce((n, r) => n + Number(r.qty), 0),
          },
          policy: input.policy,
        });
        for (const l of lines) {
          await tx.updateTable('return_lines').set({ refunded_qty: l.received_qty }).where('return_id', '=', input.rmaId).where('line_no', '=', l.line_no).execute();
        }
        await tx.updateTable('returns').set({ refund: JSON.stringify(breakdown), updated_at: new Date() }).where('id', '=', input.rmaId).execute();
        return breakdown;
      });
    },

    /**
     * Money back through the payment gateway, once per key: a transient failure is retried
     * by Temporal with the same key (the gateway answers the first refund), a refusal ends
     * the attempt without retrying.
     */
    async issueRefund(input: { rmaId: string; key: string; amountMinor: number; currency: string }): Promise<{ refundId: string; replayed: boolean }> {
      try {
        const rma = await returnRow(db, input.rmaId);
        const payment = await db.selectFrom('order_payments').select(['kind', 'gateway']).where('order_id', '=', rma.order_id).executeTakeFirst();
        // An order paid outside this system: the refund goes out whole, as it always did.
        if (!payment) {
          const refund = await gateway.refund({ reference: input.rmaId, amountMinor: input.amountMinor, currency: input.currency, memo: `return ${input.rmaId}` }, input.key);
          await db.updateTable('returns').set({ gateway_refund_id: refund.refundId, updated_at: new Date() }).where('id', '=', input.rmaId).execute();
          return { refundId: refund.refundId, replayed: refund.replayed };
        }
        // Never more than was captured on the order: what was not captured reverses the receivable instead.
        const share = await claimRefund(db, { key: input.key, orderId: rma.order_id, rmaId: input.rmaId, amountMinor: input.amountMinor, currency: input.currency });
        if (share.cashMinor === 0) return { refundId: share.refundId ?? 'none: nothing captured, the receivable is reversed', replayed: share.replayed };
        let refund;
        try {
          refund = await gateway.refund({ reference: input.rmaId, amountMinor: share.cashMinor, currency: input.currency, memo: `return ${input.rmaId}` }, input.key);
        } catch (error) {
          if (error instanceof PaymentGatewayError && !error.retryable) await releaseRefundClaim(db, input.key);
          throw error;
        }
        await db.updateTable('payment_refunds').set({ refund_id: refund.refundId }).where('idempotency_key', '=', input.key).execute();
        await db.updateTable('returns').set({ gateway_refund_id: refund.refundId, updated_at: new Date() }).where('id', '=', input.rmaId).execute();
        return { refundId: refund.refundId, replayed: refund.replayed };
      } catch (error) {
        if (error instanceof PaymentGatewayError && !error.retryable) throw ApplicationFailure.nonRetryable(error.message, `gateway_${error.code}`);
        throw error;
      }
    },

    /**
     * The refund (or exchange credit) in the journal, once: refunds and returns, discount,
     * tax payable, freight and fee (`refundEntryLines`), against payment clearing for the
     * money paid and against the replacement's receivable for what was applied to it.
     */
    async postReturnRefund(input: { rmaId: string; cashMinor: number; appliedMinor: number; actor: string }): Promise<{ journalEntryId: number | null }> {
      return db.transaction().execute(async (tx) => {
        const rma = await returnRow(tx, input.rmaId);
        const breakdown = rma.refund as RefundBreakdown;
        // With a payment on the order, the money paid is what its captures allowed (the rest reverses the receivable), through the gateway's clearing.
        const payment = await tx.selectFrom('order_payments').select(['gateway']).where('order_id', '=', rma.order_id).executeTakeFirst();
        const claimed = payment
          ? await tx.selectFrom('payment_refunds').selectAll().where('idempotency_key', '=', `${returnWorkflowId(input.rmaId)}:refund`).executeTakeFirst()
          : undefined;
        const cashMinor = claimed ? claimed.amount_minor : input.cashMinor;
        const appliedMinor = input.appliedMinor + (claimed ? claimed.uncaptured_minor : 0);
        const clearing = payment?.gateway ? await ensureClearingAccount(tx, payment.gateway) : undefined;
        const lines = await inOrderCurrency(
          tx,
          rma.order_id,
          refundEntryLines(breakdown, { cashMinor, appliedToReceivableMinor: appliedMinor }).map((l) => (l.account === '1000' && clearing ? { ...l, account: clearing } : l)),
        );
        const entry =
          lines.length >= 2
            ? await postEntry(tx, {
                key: `${returnWorkflowId(input.rmaId)}:refund`,
                eventType: rma.resolution === 'exchange' ? 'return.credited' : 'return.refunded',
                reference: rma.order_id,
                memo: `return ${input.rmaId} (${rma.reason_code})${rma.gateway_refund_id ? `, gateway refund ${rma.gateway_refund_id}` : ''}`,
                actor: input.actor,
                lines,
              })
            : null;
        await tx
          .updateTable('returns')
          .set({
            refund_minor: cashMinor,
            credit_minor: input.appliedMinor,
            journal_entry_id: entry?.entryId ?? null,
            refunded_at: sql`coalesce(refunded_at, now())`,
            updated_at: new Date(),
          })
          .where('id', '=', input.rmaId)
          .execute();
        // Money given back goes to the storefront as its refund record, once.
        if (!rma.refunded_at && cashMinor > 0) {
          const refunded = await tx.selectFrom('return_lines').select(['line_no', 'sku', 'refunded_qty']).where('return_id', '=', input.rmaId).orderBy('line_no').execute();
          await writeOrderEvent(tx, RETURN_REFUNDED, rma.order_id, {
            returnId: input.rmaId,
            amountMinor: cashMinor,
            currency: rma.currency,
            reasonCode: rma.reason_code,
            lines: refunded.filter((l) => Number(l.refunded_qty) > 0).map((l) => ({ lineNo: l.line_no, sku: l.sku, qty: Number(l.refunded_qty) })),
          });
        }
        return { journalEntryId: entry?.entryId ?? null };
      });
    },

    /**
     * The replacement order of an exchange: the received units again (or the replacement
     * sku), at what the customer paid for them (a different sku at its list price, taxed at
     * the returned units' rate), shipped free to the original address.
     */
    async replacementOrderInput(input: { rmaId: string }): Promise<OrderInput> {
      const rma = await returnRow(db, input.rmaId);
      const order = await db.selectFrom('orders').selectAll().where('id', '=', rma.order_id).executeTakeFirstOrThrow();
      const lines = await db.selectFrom('return_lines').selectAll().where('return_id', '=', input.rmaId).where('received_qty', '>', 0).orderBy('line_no').execute();
      const orderLines = await db.selectFrom('order_lines').selectAll().where('order_id', '=', rma.order_id).execute();
      const breakdown = rma.refund as RefundBreakdown;
      const replacementSkus = lines.flatMap((l) => (l.replacement_sku ? [l.replacement_sku] : []));
      const prices = replacementSkus.length ? await db.selectFrom('items').select(['sku', 'price_minor']).where('sku', 'in', replacementSkus).execute() : [];
      return {
        orderId: replacementOrderId(input.rmaId),
        channel: order.channel as ChannelName,
        customerId: order.customer_id,
        currency: order.currency,
        shipTo: order.ship_to as Address,
        billingCountry: order.billing_country ?? undefined,
        freightMinor: 0,
        lines: lines.map((l, index) => {
          const credited = breakdown.lines.find((b) => b.lineNo === l.line_no)!;
          const ol = orderLines.find((o) => o.line_no === l.line_no)!;
          if (!l.replacement_sku || l.replacement_sku === l.sku) {
            return { lineNo: index + 1, sku: l.sku, qty: l.received_qty, unitPriceMinor: ol.unit_price_minor, discountMinor: credited.discountMinor, taxMinor: credited.taxMinor };
          }
          const price = prices.find((p) => p.sku === l.replacement_sku)!.price_minor;
          const creditedNet = credited.merchandiseMinor - credited.discountMinor;
          const net = price * l.received_qty;
          return {
            lineNo: index + 1,
            sku: l.replacement_sku,
            qty: l.received_qty,
            unitPriceMinor: price,
            discountMinor: 0,
            taxMinor: creditedNet > 0 ? Math.round((credited.taxMinor * net) / creditedNet) : 0,
          };
        }),
      };
    },

    /** What the replacement's shipments put on the customer's receivable. */
    async replacementReceivable(input: { orderId: string }): Promise<number> {
      const row = await db
        .selectFrom('journal_entries as e')
        .innerJoin('journal_lines as l', 'l.entry_id', 'e.id')
        .select(sql<number>`coalesce(sum(l.debit_minor), 0)::bigint`.as('receivable'))
        .where('e.reference', '=', input.orderId)
        .where('e.event_type', '=', 'shipment.confirmed')
        .where('l.account_code', '=', '1100')
        .executeTakeFirstOrThrow();
      return Number(row.receivable);
    },
  };
}

/**
 * A refund's lines in the order's currency. In the functional currency they change
 * nothing; in another, what reverses the sale (revenue, discount, tax, freight, fee, the
 * receivable) is valued at the rate the sale was booked at, and the money paid back at
 * today's rate: the difference is realized exchange gain or loss.
 */
async function inOrderCurrency(tx: Db, orderId: string, lines: JournalLineInput[]): Promise<JournalLineInput[]> {
  const sale = await bookedSale(tx, orderId);
  if (!sale) return lines;
  return lines.map((line) => {
    const amount = (line.debitMinor ?? 0) + (line.creditMinor ?? 0);
    return line.account === '1000' || line.account.startsWith('1010.') || sale.transactionMinor <= 0
      ? { ...line, currency: sale.currency }
      : { ...line, currency: sale.currency, functionalMinor: atBookedRatio(amount, sale.functionalMinor, sale.transactionMinor) };
  });
}

/**
 * Claims a refund's share of the order's captures, once per key: the money that may go back
 * (what was captured and not yet refunded) and the rest, which reverses the receivable. The
 * database refuses refunds above the captures whatever the code says.
 */
async function claimRefund(db: Db, claim: { key: string; orderId: string; rmaId: string; amountMinor: number; currency: string }) {
  return db.transaction().execute(async (tx) => {
    const first = await tx.selectFrom('payment_refunds').selectAll().where('idempotency_key', '=', claim.key).executeTakeFirst();
    if (first) return { cashMinor: first.amount_minor, refundId: first.refund_id, replayed: true };
    const payment = await tx.selectFrom('order_payments').selectAll().where('order_id', '=', claim.orderId).forUpdate().executeTakeFirstOrThrow();
    const cashMinor = Math.min(claim.amountMinor, payment.captured_minor - payment.refunded_minor);
    await tx
      .insertInto('payment_refunds')
      .values({ idempotency_key: claim.key, order_id: claim.orderId, return_id: claim.rmaId, amount_minor: cashMinor, uncaptured_minor: claim.amountMinor - cashMinor, currency: claim.currency })
      .execute();
    await tx
      .updateTable('order_payments')
      .set((eb) => ({ refunded_minor: eb('refunded_minor', '+', cashMinor), updated_at: new Date() }))
      .where('order_id', '=', claim.orderId)
      .execute();
    return { cashMinor, refundId: null, replayed: false };
  });
}

/** The gateway refused the refund: its claim on the captures is given back. */
async function releaseRefundClaim(db: Db, key: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const claim = await tx.deleteFrom('payment_refunds').where('idempotency_key', '=', key).where('refund_id', 'is', null).returningAll().executeTakeFirst();
    if (!claim) return;
    await tx
      .updateTable('order_payments')
      .set((eb) => ({ refunded_minor: eb('refunded_minor', '-', claim.amount_minor), updated_at: new Date() }))
      .where('order_id', '=', claim.order_id)
      .execute();
  });
}
