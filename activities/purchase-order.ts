import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry } from '../db/journal.js';
import { invoicePostingLines } from '../domain/purchase-order.js';
import { cancelInbound, expectInbound, inspect, receive } from '../db/ledger.js';
import { ledgerCall } from './failures.js';
import { purchaseOrderProblems } from '../db/purchasing.js';
import type { PurchaseOrderActivities } from '../contracts/purchase-order.js';

export function createPurchaseOrderActivities({ db }: { db: Db }): PurchaseOrderActivities {
  return {
    /** Checks the draft against the supplier's approvals and records it once; a draft with problems records nothing. */
    async draftPurchaseOrder(draft) {
      const problems = await purchaseOrderProblems(db, draft);
      if (problems.length) return { problems, inspection: [] as { lineNo: number; requiresInspection: boolean }[] };
      await db.transaction().execute(async (tx) => {
        const inserted = await tx
          .insertInto('purchase_orders')
          .values({
            id: draft.poId,
            workflow_id: draft.workflowId,
            supplier_id: draft.supplierId,
            warehouse_code: draft.warehouse,
            currency: draft.currency,
            status: 'draft',
            value_minor: draft.valueMinor,
            expected_at: draft.expectedAt,
            created_by: draft.createdBy,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) return;
        await tx
          .insertInto('purchase_order_lines')
          .values(draft.lines.map((l) => ({ po_id: draft.poId, line_no: l.lineNo, sku: l.sku, ordered_qty: l.qty, unit_cost_minor: l.unitCostMinor })))
          .execute();
      });
      const items = await db.selectFrom('items').select(['sku', 'requires_inspection']).where('sku', 'in', draft.lines.map((l) => l.sku)).execute();
      return {
        problems,
        inspection: draft.lines.map((l) => ({ lineNo: l.lineNo, requiresInspection: items.find((i) => i.sku === l.sku)?.requires_inspection ?? false })),
      };
    },

    /**
     * Sends the PO to the supplier (an outbox event a supplier integration delivers, written
     * once with the status change) and makes the ordered units visible as inbound.
     */
    async issuePurchaseOrder(input) {
      await db.transaction().execute(async (tx) => {
        const issued = await tx
          .updateTable('purchase_orders')
          .set({ status: 'issued', issued_at: new Date(), updated_at: new Date() })
          .where('id', '=', input.poId)
          .where('issued_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (!issued) return;
        await tx
          .insertInto('outbox_events')
          .values({
            topic: 'purchase_order.issued',
            key: input.poId,
            payload: JSON.stringify({ poId: input.poId, supplierId: input.supplierId, warehouse: input.warehouse, expectedAt: input.expectedAt, lines: input.lines }),
          })
          .execute();
      });
      for (const line of input.lines) {
        await ledgerCall(() =>
          expectInbound(
            db,
            { key: `${input.workflowId}:issue:line-${line.lineNo}`, actor: 'system', process: input.workflowId, step: 'issue' },
            { sku: line.sku, warehouse: input.warehouse, qty: line.qty },
          ),
        );
      }
    },

    /**
     * Receives goods: each line into available or quarantine with its average cost updated,
     * then inventory asset against GRNI at PO cost plus landed cost. Keys come from the
     * workflow id and the receipt id, so a retry posts nothing twice.
     */
    async receivePurchaseOrderLines(input) {
      const posted: { lineNo: number; averageCostMinor: number; journalEntryId: number | null }[] = [];
      for (const line of input.lines) {
        const key = `${input.workflowId}:receipt:${input.receiptId}:line-${line.lineNo}`;
        const result = await ledgerCall(() =>
          receive(
            db,
            { key, actor: input.actor, process: input.workflowId, step: `receipt:${input.receiptId}` },
            { sku: line.sku, warehouse: input.warehouse, qty: line.qty, into: line.into, fromInbound: line.fromInbound, unitCostMinor: line.unitCostMinor, landedCostMinor: line.landedCostMinor, ...(line.lot ? { lot: line.lot } : {}) },
          ),
        );
        let journalEntryId: number | null = null;
        if (result.valueMinor > 0) {
          const entry = await postEntry(db, {
            key: `${key}:journal`,
            eventType: 'purchase_order.received',
            reference: input.poId,
            memo: `receipt ${input.receiptId} line ${line.lineNo}: ${line.qty} × ${line.sku} at ${line.unitCostMinor} + landed ${line.landedCostMinor}`,
            actor: input.actor,
            lines: [
              { account: '1300', debitMinor: result.valueMinor },
              { account: '2100', creditMinor: result.valueMinor },
            ],
          });
          journalEntryId = entry.entryId;
        }
        await db
          .insertInto('purchase_order_receipts')
          .values({
            po_id: input.poId,
            receipt_id: input.receiptId,
            line_no: line.lineNo,
            sku: line.sku,
            qty: line.qty,
            into_bucket: line.into,
            unit_cost_minor: line.unitCostMinor,
            landed_cost_minor: line.landedCostMinor,
            operation_key: key,
            journal_entry_id: journalEntryId,
            actor: input.actor,
          })
          .onConflict((oc) => oc.columns(['po_id', 'receipt_id', 'line_no']).doNothing())
          .execute();
        posted.push({ lineNo: line.lineNo, averageCostMinor: result.averageCostMinor, journalEntryId });
      }
      return posted;
    },

    /** Inspection of quarantined units: accepted → available, rejected → damaged. */
    async inspectPurchaseOrderLines(input) {
      for (const line of input.lines) {
        if (line.accepted + line.rejected === 0) continue;
        await ledgerCall(() =>
          inspect(
            db,
            { key: `${input.workflowId}:inspection:${input.inspectionId}:line-${line.lineNo}`, actor: input.actor, process: input.workflowId, step: `inspection:${input.inspectionId}` },
            { sku: line.sku, warehouse: input.warehouse, accepted: line.accepted, rejected: line.rejected },
          ),
        );
        if (line.rejected > 0) {
          // Rejected units are owed back to the supplier: a vendor-return line, once per inspection line.
          const po = await db.selectFrom('purchase_orders').select(['id', 'supplier_id']).where('workflow_id', '=', input.workflowId).executeTakeFirstOrThrow();
          const poLine = await db.selectFrom('purchase_order_lines').select('unit_cost_minor').where('po_id', '=', po.id).where('line_no', '=', line.lineNo).executeTakeFirstOrThrow();
          await db
            .insertInto('vendor_returns')
            .values({
              id: `${po.id}-${input.inspectionId}-${line.lineNo}`,
              po_id: po.id,
              supplier_id: po.supplier_id,
              warehouse_code: input.warehouse,
              sku: line.sku,
              qty: line.rejected,
              unit_cost_minor: poLine.unit_cost_minor,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
        }
      }
    },

    /** Expected units that will not come go back out of inbound. */
    async releasePurchaseOrderInbound(input) {
      for (const line of input.lines) {
        if (line.qty <= 0) continue;
        await ledgerCall(() =>
          cancelInbound(
            db,
            { key: `${input.workflowId}:${input.step}:line-${line.lineNo}`, actor: input.actor, process: input.workflowId, step: input.step },
            { sku: line.sku, warehouse: input.warehouse, qty: line.qty },
          ),
        );
      }
    },

    /**
     * Records a supplier invoice; a matched one posts GRNI (units at PO cost plus charges)
     * against payables (what the supplier bills), the price difference within tolerance to
     * write-offs and adjustments — in one transaction with the invoice row.
     */
    async recordSupplierInvoice(input) {
      return db.transaction().execute(async (tx) => {
        let journalEntryId: number | null = null;
        if (input.matched && input.totalMinor > 0) {
          const entry = await postEntry(tx, {
            key: `${input.workflowId}:invoice:${input.invoiceId}:journal`,
            eventType: 'supplier_invoice.matched',
            reference: input.poId,
            memo: `invoice ${input.invoiceId} from ${input.supplierId}`,
            actor: input.actor,
            lines: invoicePostingLines(input.grniMinor, input.totalMinor),
          });
          journalEntryId = entry.entryId;
        }
        await tx
          .insertInto('supplier_invoices')
          .values({
            po_id: input.poId,
            invoice_id: input.invoiceId,
            supplier_id: input.supplierId,
            status: input.matched ? 'matched' : 'mismatch',
            lines: JSON.stringify(input.lines),
            charges_minor: input.chargesMinor,
            total_minor: input.totalMinor,
            differences: JSON.stringify(input.differences),
            journal_entry_id: journalEntryId,
            actor: input.actor,
          })
          .onConflict((oc) => oc.columns(['po_id', 'invoice_id']).doNothing())
          .execute();
        return { journalEntryId };
      });
    },

    /**
     * Finance's decision on a mismatched invoice. Approved, it is taken into payables as the
     * supplier billed it (the difference to PO cost is a price variance); rejected, it is
     * disputed and the PO waits for a corrected invoice. A retry changes nothing twice: the
     * entry is idempotent by key and only a `mismatch` row takes the decision.
     */
    async decideSupplierInvoice(input) {
      return db.transaction().execute(async (tx) => {
        let journalEntryId: number | null = null;
        if (input.decision === 'approve' && input.totalMinor > 0) {
          const entry = await postEntry(tx, {
            key: `${input.workflowId}:invoice:${input.invoiceId}:journal`,
            eventType: 'supplier_invoice.approved',
            reference: input.poId,
            memo: `invoice ${input.invoiceId} from ${input.supplierId}, approved: ${input.reason}`,
            actor: input.actor,
            lines: invoicePostingLines(input.grniMinor, input.totalMinor),
          });
          journalEntryId = entry.entryId;
        }
        await tx
          .updateTable('supplier_invoices')
          .set({
            status: input.decision === 'approve' ? 'approved' : 'rejected',
            journal_entry_id: journalEntryId,
            decided_by: input.actor,
            decision_reason: input.reason,
            decided_at: new Date(),
          })
          .where('po_id', '=', input.poId)
          .where('invoice_id', '=', input.invoiceId)
          .where('status', '=', 'mismatch')
          .execute();
        return { journalEntryId };
      });
    },

    /** Mirrors the process's figures on the PO record (absolute values, so a retry writes the same). */
    async recordPurchaseOrderState(input) {
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable('purchase_orders')
          .set({
            status: input.status,
            status_reason: input.reason ?? null,
            updated_at: new Date(),
            ...(input.approval ? { approval: JSON.stringify(input.approval) } : {}),
            ...(input.acknowledgedAt ? { acknowledged_at: input.acknowledgedAt, confirmed_at: input.confirmedAt ?? null } : {}),
            ...(input.closed ? { closed_at: sql<Date>`coalesce(closed_at, now())` } : {}),
          })
          .where('id', '=', input.poId)
          .execute();
        for (const line of input.lines) {
          await tx
            .updateTable('purchase_order_lines')
            .set({
              confirmed_qty: line.confirmed ?? null,
              received_qty: line.received,
              accepted_qty: line.accepted,
              rejected_qty: line.rejected,
              cancelled_qty: line.cancelled,
              invoiced_qty: line.invoiced,
            })
            .where('po_id', '=', input.poId)
            .where('line_no', '=', line.lineNo)
            .execute();
        }
      });
    },
  };
}
