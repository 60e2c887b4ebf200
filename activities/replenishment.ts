/**
 * Replenishment suggestions from the ledger's shipped history and positions: one
 * implementation for the planner workflow (which stores them per run) and for
 * `GET /replenishment/suggestions` when no run exists or other inputs are asked for.
 */
import type { Db } from '../db/connection.js';
import { computeReplenishment, replenishmentRunView } from '../db/replenishment.js';
import { insertException } from './tasks.js';
import type { ReplenishmentRunInput, ReplenishmentRunSummary, ReplenishmentActivities } from '../contracts/replenishment.js';

export function createReplenishmentActivities({ db }: { db: Db }): ReplenishmentActivities {
  return {
    /** Records that the run has begun, once; a retry or a second start keeps the first row. */
    async startReplenishmentRun(input: ReplenishmentRunInput): Promise<void> {
      await db
        .insertInto('replenishment_runs')
        .values({
          id: input.runId,
          workflow_id: input.workflowId,
          trigger: input.trigger,
          requested_by: input.requestedBy,
          status: 'running',
          history_days: input.historyDays,
          review_period_days: input.reviewPeriodDays,
          uplift: input.uplift,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    /**
     * Marks a run whose steps failed every attempt as failed, once, and raises an exception
     * for the buyers: the suggestions they would read are from an older run.
     */
    async failReplenishmentRun(input: { runId: string; workflowId: string; reason: string }): Promise<void> {
      await db.transaction().execute(async (tx) => {
        const failed = await tx
          .updateTable('replenishment_runs')
          .set({ status: 'failed', failed_at: new Date(), failure: input.reason.slice(0, 2_000) })
          .where('id', '=', input.runId)
          .where('status', '=', 'running')
          .returning('id')
          .executeTakeFirst();
        if (!failed) return;
        await insertException(tx, {
          id: `${input.workflowId}:failed`,
          kind: 'replenishment_run_failed',
          reference: input.runId,
          workflowId: input.workflowId,
          ownerRole: 'buyer',
          message: `replenishment run ${input.runId} failed: ${input.reason.slice(0, 500)}`,
          details: { runId: input.runId },
        });
      });
    },

    /**
     * Computes every suggestion and stores them with the run's counts in one transaction;
     * a run already finished answers its stored counts and writes nothing.
     */
    async recordReplenishmentSuggestions(input: ReplenishmentRunInput): Promise<ReplenishmentRunSummary> {
      const lines = await computeReplenishment(db, input);
      return db.transaction().execute(async (tx) => {
        const run = await tx.selectFrom('replenishment_runs').selectAll().where('id', '=', input.runId).forUpdate().executeTakeFirstOrThrow();
        if (run.status === 'finished') {
          const { counts } = replenishmentRunView(run);
          return { runId: input.runId, ...counts! };
        }
        for (let i = 0; i < lines.length; i += 1_000) {
          await tx
            .insertInto('replenishment_suggestions')
            .values(
              lines.slice(i, i + 1_000).map((l) => ({
                run_id: input.runId,
                sku: l.sku,
                warehouse_code: l.warehouse,
                sku_class: l.skuClass,
                supplier_id: l.supplierId,
                unit_cost_minor: l.unitCostMinor,
                moq: l.moq,
                pack_size: l.packSize,
                lead_time_days: l.leadTimeDays,
                stated_lead_time_days: l.statedLeadTimeDays,
                lead_time_source: l.leadTimeSource,
                shipped_in_history: l.shippedInHistory,
                sku_uplift: l.skuUplift,
                average_daily: l.averageDaily,
                deviation: l.deviation,
                forecast_method: l.forecastMethod,
                forecast_wape: l.forecastWape,
                forecast_mase: l.forecastMase,
                forecast_note: l.forecastNote,
                lead_time_demand: l.leadTimeDemand,
                lead_time_demand_low: l.leadTimeDemandLow,
                lead_time_demand_high: l.leadTimeDemandHigh,
                safety_stock: l.safetyStock,
                reorder_point: l.reorderPoint,
                target_level: l.targetLevel,
                position: l.position,
                reorder: l.reorder,
                excess: l.excess,
                transfer_out_qty: l.transferOutQty,
                transfers: JSON.stringify(l.transfers),
                transfer_in_qty: l.transferInQty,
                purchase_qty_before_transfers: l.purchaseQtyBeforeTransfers,
                suggested_qty: l.suggestedQty,
              })),
            )
            .execute();
        }
        const summary: ReplenishmentRunSummary = {
          runId: input.runId,
          placesCount: lines.length,
          reorderCount: lines.filter((l) => l.reorder).length,
          transferCount: lines.reduce((n, l) => n + l.transfers.length, 0),
          purchaseQty: lines.reduce((n, l) => n + l.suggestedQty, 0),
          transferQty: lines.reduce((n, l) => n + l.transferInQty, 0),
        };
        await tx
          .updateTable('replenishment_runs')
          .set({
            status: 'finished',
            finished_at: new Date(),
            places_count: summary.placesCount,
            reorder_count: summary.reorderCount,
            transfer_count: summary.transferCount,
            purchase_qty: summary.purchaseQty,
            transfer_qty: summary.transferQty,
          })
          .where('id', '=', input.runId)
          .execute();
        return summary;
      });
    },
  };
}
