import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry } from '../db/journal.js';
import { functionalCurrency } from '../db/fx-rates.js';
import { consumeReservation, releaseReservations } from '../db/ledger.js';
import { cumulativeShare, shipmentAmounts, shipmentEntryLines, type ShipmentAmounts } from '../domain/postings.js';
import { ledgerCall } from './failures.js';
import { SHIPMENT_SHIPPED, writeOrderEvent } from '../db/order-events.js';
import { insertException } from './tasks.js';
import { type ShipmentInput, shipmentWorkflowId, type UnitsOfLine, type ShipmentActivities } from '../contracts/shipment.js';

export function createShipmentActivities({ db }: { db: Db }): ShipmentActivities {
  const shipmentLines = (shipmentId: string) =>
    db.selectFrom('shipment_lines').selectAll().where('shipment_id', '=', shipmentId).orderBy('line_no').orderBy('sku').execute();

  return {
    /** The shipment and its lines, once. */
    async recordShipment(input: ShipmentInput): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const inserted = await tx
          .insertInto('shipments')
          .values({
            id: input.shipmentId,
            order_id: input.orderId,
            warehouse_code: input.warehouse,
            workflow_id: shipmentWorkflowId(input.shipmentId),
            status: 'released',
            ship_by: input.shipBy ?? null,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) return;
        await tx
          .insertInto('shipment_lines')
          .values(input.lines.map((l) => ({ shipment_id: input.shipmentId, line_no: l.lineNo, sku: l.sku, reservation_id: l.reservationId, qty: l.qty })))
          .execute();
      });
    },

    async recordShipmentStatus(update: { shipmentId: string; status: string; carrier?: string; tracking?: string }): Promise<void> {
      const stamp = { picked: 'picked_at', packed: 'packed_at', shipped: 'shipped_at' }[update.status] as 'picked_at' | 'packed_at' | 'shipped_at' | undefined;
      await db
        .updateTable('shipments')
        .set({
          status: update.status,
          updated_at: new Date(),
          ...(stamp ? { [stamp]: new Date() } : {}),
          ...(update.carrier ? { carrier: update.carrier, tracking: update.tracking ?? null } : {}),
          ...(update.status === 'cancelled' || update.status === 'shipped' ? { closed_at: new Date() } : {}),
        })
        .where('id', '=', update.shipmentId)
        .execute();
    },

    /**
     * A short pick: units not on the shelf leave the books (allocated → adjustment) and
     * are written off at average cost. Returns what is missing per line.
     */
    async recordShortPick(request: { shipmentId: string; found: UnitsOfLine[] }): Promise<UnitsOfLine[]> {
      const lines = await shipmentLines(request.shipmentId);
      const missing: (UnitsOfLine & { reservationId: number })[] = [];
      for (const line of lines) {
        const found = request.found.find((f) => f.lineNo === line.line_no && f.sku === line.sku)?.qty ?? line.qty;
        if (found < line.qty) missing.push({ lineNo: line.line_no, sku: line.sku, qty: line.qty - found, reservationId: line.reservation_id });
      }
      const key = `${shipmentWorkflowId(request.shipmentId)}:short`;
      for (const m of missing) {
        await ledgerCall(() =>
          consumeReservation(
            db,
            { key: `${key}:${m.reservationId}`, actor: 'wms', process: shipmentWorkflowId(request.shipmentId), step: 'short_pick', reason: 'not found at picking' },
            { reservationId: m.reservationId, qty: m.qty, lost: true },
          ),
        );
      }
      const costs = await db.selectFrom('items').select(['sku', 'average_cost_minor']).where('sku', 'in', lines.map((l) => l.sku)).execute();
      const value = missing.reduce((n, m) => n + m.qty * (costs.find((c) => c.sku === m.sku)?.average_cost_minor ?? 0), 0);
      if (value > 0) {
        await postEntry(db, {
          key: `${key}:write-off`,
          eventType: 'shipment.short_pick',
          reference: request.shipmentId,
          memo: 'units not found at picking',
          actor: 'wms',
          lines: [
            { account: '5200', debitMinor: value },
            { account: '1300', creditMinor: value },
          ],
        });
      }
      for (const line of lines) {
        const m = missing.find((x) => x.lineNo === line.line_no && x.sku === line.sku);
        await db
          .updateTable('shipment_lines')
          .set({ picked_qty: line.qty - (m?.qty ?? 0) })
          .where('shipment_id', '=', request.shipmentId)
          .where('line_no', '=', line.line_no)
          .where('sku', '=', line.sku)
          .execute();
      }
      if (missing.length) {
        // Worked to its cause by ops (bin error, count error, damaged, theft): one exception per shipment.
        const shipment = await db.selectFrom('shipments').select(['order_id', 'warehouse_code']).where('id', '=', request.shipmentId).executeTakeFirst();
        await insertException(db, {
          id: key,
          kind: 'short_pick',
          reference: request.shipmentId,
          workflowId: shipmentWorkflowId(request.shipmentId),
          ownerRole: 'ops',
          message: `short pick at ${shipment?.warehouse_code ?? 'the warehouse'}: ${missing.map((m) => `${m.qty} × ${m.sku}`).join(', ')} not found for order ${shipment?.order_id ?? '?'}`,
          details: { missing: missing.map(({ lineNo, sku, qty }) => ({ lineNo, sku, qty })), warehouse: shipment?.warehouse_code, orderId: shipment?.order_id },
        });
      }
      return missing.map(({ lineNo, sku, qty }) => ({ lineNo, sku, qty }));
    },

    /**
     * The carrier has it: the picked units leave allocated for the customer, and the
     * shipment posts revenue, discount, tax, freight, cost of goods and freight cost,
     * exactly once (the journal key is the shipment's).
     */
    async confirmShipment(request: { shipmentId: string; orderId: string; carrier: string; tracking: string; freightCostMinor: number }) {
      const lines = await shipmentLines(request.shipmentId);
      const process = shipmentWorkflowId(request.shipmentId);
      const pickedLots = await db.selectFrom('shipment_picked_lots').selectAll().where('shipment_id', '=', request.shipmentId).orderBy('lot').execute();
      for (const line of lines) {
        const qty = line.picked_qty ?? line.qty;
        if (qty === 0) continue;
        // The lots the warehouse reported picking, when it did (and the whole line was found); else the reservation's own.
        const reported = pickedLots.filter((p) => p.line_no === line.line_no && p.sku === line.sku);
        const parts = reported.length && reported.reduce((n, p) => n + p.qty, 0) === qty ? reported.map((p) => ({ lot: p.lot as string | undefined, qty: p.qty })) : [{ lot: undefined, qty }];
        const left: { lot: string; qty: number }[] = [];
        for (const part of parts) {
          const key = part.lot ? `${process}:ship:${line.reservation_id}:lot-${part.lot}` : `${process}:ship:${line.reservation_id}`;
          const consumed = await ledgerCall(() =>
            consumeReservation(db, { key, actor: 'wms', process, step: 'shipped' }, { reservationId: line.reservation_id, qty: part.qty, ...(part.lot ? { lot: part.lot } : {}) }),
          );
          for (const l of consumed.lots ?? []) {
            const same = left.find((x) => x.lot === l.lot);
            if (same) same.qty += l.qty;
            else left.push({ ...l });
          }
        }
        // Which lots left on this shipment (a replay of the ledger call answers the same lots).
        if (left.length) {
          await db
            .insertInto('shipment_lots')
            .values(left.map((l) => ({ shipment_id: request.shipmentId, line_no: line.line_no, sku: line.sku, lot: l.lot, qty: l.qty })))
            .onConflict((oc) => oc.columns(['shipment_id', 'line_no', 'sku', 'lot']).doNothing())
            .execute();
        }
      }
      return db.transaction().execute(async (tx) => {
        const posted = await tx.selectFrom('shipments').select('journal_entry_id').where('id', '=', request.shipmentId).executeTakeFirstOrThrow();
        const shipped = lines.map((l) => ({ lineNo: l.line_no, sku: l.sku, qty: l.picked_qty ?? l.qty }));
        if (posted.journal_entry_id !== null) return { journalEntryId: posted.journal_entry_id, shipped };

        // Serialize the shipments of one order, so each takes its shares after the ones before.
        const orderLines = await tx.selectFrom('order_lines').selectAll().where('order_id', '=', request.orderId).orderBy('line_no').forUpdate().execute();
        const order = await tx.selectFrom('orders').select(['freight_minor', 'currency']).where('id', '=', request.orderId).executeTakeFirstOrThrow();
        const functional = await functionalCurrency(tx);
        const before = await sql<{ line_no: number; shipped: number }>`
          select l.line_no, coalesce(sum(l.shipped_qty), 0)::bigint as shipped
          from shipment_lines l join shipments s on s.id = l.shipment_id
          where s.order_id = ${request.orderId} and l.shipment_id <> ${request.shipmentId}
          group by l.line_no`.execute(tx);
        const costs = await tx.selectFrom('items').select(['sku', 'average_cost_minor']).where('sku', 'in', lines.map((l) => l.sku)).execute();
        const shippedBefore = (lineNo: number) => Number(before.rows.find((r) => r.line_no === lineNo)?.shipped ?? 0);
        const orderedUnits = orderLines.reduce((n, l) => n + l.qty, 0);
        const unitsBefore = orderLines.reduce((n, l) => n + shippedBefore(l.line_no), 0);
        const unitsNow = shipped.reduce((n, l) => n + l.qty, 0);

        const lineNos = [...new Set(shipped.filter((s) => s.qty > 0).map((s) => s.lineNo))];
        const amounts: ShipmentAmounts = shipmentAmounts(
          lineNos.map((lineNo) => {
            const ol = orderLines.find((l) => l.line_no === lineNo)!;
            const units = shipped.filter((s) => s.lineNo === lineNo);
            const qty = units.reduce((n, u) => n + u.qty, 0);
            return {
              qty,
              unitPriceMinor: ol.unit_price_minor,
              discountMinor: cumulativeShare(ol.discount_minor, shippedBefore(lineNo), qty, ol.qty),
              taxMinor: cumulativeShare(ol.tax_minor, shippedBefore(lineNo), qty, ol.qty),
              costMinor: units.reduce((n, u) => n + u.qty * (costs.find((c) => c.sku === u.sku)?.average_cost_minor ?? 0), 0),
            };
          }),
          cumulativeShare(order.freight_minor, unitsBefore, unitsNow, orderedUnits),
          request.freightCostMinor,
        );
        const entry = await postEntry(tx, {
          key: `${process}:confirmed`,
          eventType: 'shipment.confirmed',
          reference: request.orderId,
          memo: `shipment ${request.shipmentId} via ${request.carrier} ${request.tracking}`,
          actor: 'wms',
          lines: shipmentEntryLines(amounts, order.currency === functional ? undefined : { sale: order.currency, cost: functional }),
        });
        for (const s of shipped) {
          await tx
            .updateTable('shipment_lines')
            .set({ shipped_qty: s.qty })
            .where('shipment_id', '=', request.shipmentId)
            .where('line_no', '=', s.lineNo)
            .where('sku', '=', s.sku)
            .execute();
        }
        await tx
          .updateTable('shipments')
          .set({
            journal_entry_id: entry.entryId,
            freight_cost_minor: request.freightCostMinor,
            carrier: request.carrier,
            tracking: request.tracking,
            status: 'shipped',
            shipped_at: new Date(),
            closed_at: new Date(),
            updated_at: new Date(),
          })
          .where('id', '=', request.shipmentId)
          .execute();
        // The storefront hears of it from the feed: carrier, tracking, the lines, and whether the order is now all shipped.
        const cancelledUnits = orderLines.reduce((n, l) => n + Number(l.cancelled_qty), 0);
        await writeOrderEvent(tx, SHIPMENT_SHIPPED, request.orderId, {
          shipmentId: request.shipmentId,
          carrier: request.carrier,
          tracking: request.tracking,
          lines: shipped.filter((s) => s.qty > 0),
          orderComplete: unitsBefore + unitsNow >= orderedUnits - cancelledUnits,
        });
        return { journalEntryId: entry.entryId, shipped, amounts };
      });
    },

    /** A shipment that will not go: its unshipped units return to available. */
    async releaseShipment(request: { shipmentId: string; reason: string; actor: string }): Promise<UnitsOfLine[]> {
      const lines = await shipmentLines(request.shipmentId);
      const process = shipmentWorkflowId(request.shipmentId);
      const result = await ledgerCall(() =>
        releaseReservations(
          db,
          { key: `${process}:cancel`, actor: request.actor, process, step: 'cancel', reason: request.reason },
          { reservationIds: lines.map((l) => l.reservation_id), strict: false },
        ),
      );
      return result.resolved.map((r) => {
        const line = lines.find((l) => l.reservation_id === r.reservationId)!;
        return { lineNo: line.line_no, sku: line.sku, qty: r.qty };
      });
    },
  };
}
