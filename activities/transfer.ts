import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry } from '../db/journal.js';
import { move, transferIn, transferOut } from '../db/ledger.js';
import { ledgerCall } from './failures.js';
import { type ReceivedTransfer, type TransferInput, type TransferReceipt, transferWorkflowId, type TransferActivities } from '../contracts/transfer.js';

export function createTransferActivities({ db }: { db: Db }): TransferActivities {
  return {
    /**
     * The stock leaves the origin (available → in_transit at the destination) and the
     * transfer is recorded, once. A refusal for lack of stock writes no transfer.
     */
    async shipTransfer(input: TransferInput): Promise<void> {
      const process = transferWorkflowId(input.transferId);
      const key = `${process}:ship`;
      await ledgerCall(() =>
        transferOut(db, { key, actor: input.requestedBy, process, step: 'ship', reason: input.reason }, { sku: input.sku, from: input.from, to: input.to, qty: input.qty }),
      );
      await db
        .insertInto('transfers')
        .values({
          id: input.transferId,
          workflow_id: process,
          sku: input.sku,
          from_warehouse: input.from,
          to_warehouse: input.to,
          qty: input.qty,
          reason: input.reason,
          status: 'in_transit',
          requested_by: input.requestedBy,
          ship_operation_key: key,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    /**
     * The transfer arrives: damaged units → damaged, received units → available, the rest
     * lost in transit → adjustment and written off at average cost (Dr 5200 / Cr 1300).
     * Each step has its own key from the workflow id, so a retry moves nothing twice.
     */
    async receiveTransfer(request: { transferId: string } & TransferReceipt): Promise<ReceivedTransfer> {
      const process = transferWorkflowId(request.transferId);
      const transfer = await db.selectFrom('transfers').selectAll().where('id', '=', request.transferId).executeTakeFirstOrThrow();
      const lost = transfer.qty - request.received - request.damaged;
      const ctx = (step: string) => ({ key: `${process}:${step}`, actor: request.actor, process, step, reason: 'transfer receipt' });
      if (request.damaged > 0) {
        await ledgerCall(() =>
          move(db, ctx('damaged'), 'transfer_damaged', [
            { sku: transfer.sku, qty: request.damaged, from: { warehouse: transfer.to_warehouse, bucket: 'in_transit' }, to: { warehouse: transfer.to_warehouse, bucket: 'damaged' } },
          ]),
        );
      }
      if (request.received + lost > 0) {
        await ledgerCall(() => transferIn(db, ctx('receive'), { sku: transfer.sku, warehouse: transfer.to_warehouse, received: request.received, lost }));
      }
      return db.transaction().execute(async (tx) => {
        // The unit cost is fixed at the first attempt, so a retry posts the same entry.
        const costed = await sql<{ loss_unit_cost_minor: number }>`
          update transfers set loss_unit_cost_minor = coalesce(loss_unit_cost_minor, (select average_cost_minor from items where sku = ${transfer.sku}))
          where id = ${request.transferId} returning loss_unit_cost_minor`.execute(tx);
        const lossValueMinor = lost * Number(costed.rows[0]!.loss_unit_cost_minor);
        let journalEntryId: number | null = null;
        if (lossValueMinor > 0) {
          const entry = await postEntry(tx, {
            key: `${process}:lost-in-transit`,
            eventType: 'transfer.lost_in_transit',
            reference: request.transferId,
            memo: `${lost} × ${transfer.sku} lost between ${transfer.from_warehouse} and ${transfer.to_warehouse}`,
            actor: request.actor,
            lines: [
              { account: '5200', debitMinor: lossValueMinor },
              { account: '1300', creditMinor: lossValueMinor },
            ],
          });
          journalEntryId = entry.entryId;
        }
        await tx
          .updateTable('transfers')
          .set({
            status: 'received',
            received_qty: request.received,
            damaged_qty: request.damaged,
            lost_qty: lost,
            journal_entry_id: journalEntryId,
            received_by: request.actor,
            received_at: new Date(),
          })
          .where('id', '=', request.transferId)
          .where('status', '=', 'in_transit')
          .execute();
        return { received: request.received, damaged: request.damaged, lost, lossValueMinor, journalEntryId };
      });
    },
  };
}
