import type { Db } from '../db/connection.js';
import { adjust } from '../db/ledger.js';
import { adjustmentApproval } from '../domain/adjustment.js';
import { ledgerCall } from './failures.js';
import { adjustmentWorkflowId, type AdjustmentEvaluation, type AdjustmentInput, type InventoryAdjustmentActivities } from '../contracts/inventory-adjustment.js';

export function createInventoryAdjustmentActivities({ db }: { db: Db }): InventoryAdjustmentActivities {
  return {
    /** Works out the variance against the books and whether it needs approval; records the request once. */
    async evaluateAdjustment(input: AdjustmentInput): Promise<AdjustmentEvaluation> {
      const item = await db.selectFrom('items').select('average_cost_minor').where('sku', '=', input.sku).executeTakeFirstOrThrow();
      const shelf = await db
        .selectFrom('inventory_balances')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('qty'), eb.lit(0)).as('qty'))
        .where('sku', '=', input.sku)
        .where('warehouse_code', '=', input.warehouse)
        .where('bucket', 'in', ['available', 'allocated'])
        .executeTakeFirstOrThrow();
      const expected = Number(shelf.qty);
      const delta = input.countedQty !== undefined ? input.countedQty - expected : (input.delta ?? 0);
      const approval = adjustmentApproval({ expected, delta, unitCostMinor: item.average_cost_minor }, input.policy);
      const inserted = await db
        .insertInto('inventory_adjustments')
        .values({
          id: input.adjustmentId,
          sku: input.sku,
          warehouse_code: input.warehouse,
          kind: input.countedQty !== undefined ? 'count' : 'delta',
          reason_code: input.reasonCode,
          counted_qty: input.countedQty ?? null,
          expected_qty: expected,
          delta,
          value_minor: approval.valueMinor,
          status: 'evaluated',
          requested_by: input.requestedBy,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) {
        // A retry: the first evaluation stands, whatever the stock did since.
        const first = await db.selectFrom('inventory_adjustments').selectAll().where('id', '=', input.adjustmentId).executeTakeFirstOrThrow();
        const again = adjustmentApproval({ expected: first.expected_qty!, delta: first.delta!, unitCostMinor: item.average_cost_minor }, input.policy);
        return { expected: first.expected_qty!, delta: first.delta!, ...again, valueMinor: first.value_minor! };
      }
      return { expected, delta, ...approval };
    },

    /** Posts the adjustment through the ledger (movement and journal entry, once per adjustment id). */
    async postAdjustment(input: { adjustmentId: string; sku: string; warehouse: string; delta: number; reasonCode: string; actor: string; lot?: string; expiresOn?: string }) {
      const result = await ledgerCall(() =>
        adjust(
          db,
          {
            key: adjustmentWorkflowId(input.adjustmentId),
            actor: input.actor,
            process: adjustmentWorkflowId(input.adjustmentId),
            step: 'post',
            reason: input.reasonCode,
          },
          {
            sku: input.sku,
            warehouse: input.warehouse,
            delta: input.delta,
            reasonCode: input.reasonCode,
            ...(input.lot ? { lot: input.lot } : {}),
            ...(input.expiresOn ? { expiresOn: input.expiresOn } : {}),
          },
        ),
      );
      return { valueMinor: result.valueMinor, journalEntryId: result.journalEntryId };
    },

    async recordAdjustmentStatus(input: {
      adjustmentId: string;
      status: string;
      decidedBy?: string;
      decisionReason?: string;
      decidedAt?: string;
      posted?: boolean;
    }): Promise<void> {
      await db
        .updateTable('inventory_adjustments')
        .set({
          status: input.status,
          ...(input.decidedBy ? { decided_by: input.decidedBy, decision_reason: input.decisionReason ?? null, decided_at: input.decidedAt ?? null } : {}),
          ...(input.posted ? { posted_at: new Date() } : {}),
        })
        .where('id', '=', input.adjustmentId)
        .execute();
    },
  };
}
