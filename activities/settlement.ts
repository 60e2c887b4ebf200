/**
 * Reconciling a recorded payout: each line matched to a capture or refund already posted,
 * one journal entry for the payout (fees, chargebacks, unidentified receipts, clearing to
 * bank), an exception for every line that matches nothing or differs, a dispute task per
 * chargeback. All in one transaction under the settlement's key: a retry changes nothing.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry } from '../db/journal.js';
import { reconcile, referenceOf, type Match, type SettlementLine, type SettlementLineType } from '../domain/settlement.js';
import { settlementWorkflowId, type SettlementActivities, type SettlementSummary } from '../contracts/settlement.js';
import { ensureClearingAccount } from './payment.js';
import { createTaskActivities, insertException } from './tasks.js';

export function createSettlementActivities({ db }: { db: Db }): SettlementActivities {
  const tasks = createTaskActivities({ db });
  return {
    async reconcileSettlement({ settlementId }) {
      const workflowId = settlementWorkflowId(settlementId);
      const summary = await db.transaction().execute(async (tx) => {
        const settlement = await tx.selectFrom('settlements').selectAll().select(sql<string>`arrival_date::text`.as('arrival_day')).where('id', '=', settlementId).forUpdate().executeTakeFirstOrThrow();
        if (settlement.status === 'reconciled') return settlement.summary as SettlementSummary;
        const rows = await tx.selectFrom('settlement_lines').selectAll().where('settlement_id', '=', settlementId).orderBy('line_no').execute();
        const lines: SettlementLine[] = rows.map((r) => ({
          lineNo: r.line_no,
          id: r.txn_id,
          type: r.type as SettlementLineType,
          amountMinor: r.amount_minor,
          feeMinor: r.fee_minor,
          netMinor: r.net_minor,
          source: r.source ?? undefined,
          charge: r.charge ?? undefined,
          reportingCategory: r.reporting_category ?? undefined,
        }));
        const references = [...new Set(lines.map(referenceOf).filter((r): r is string => !!r))];
        const captures = references.length
          ? await tx.selectFrom('payment_captures').select(['capture_id', 'order_id', 'amount_minor']).where('capture_id', 'in', references).execute()
          : [];
        const refunds = references.length
          ? await tx.selectFrom('payment_refunds').select(['refund_id', 'order_id', 'amount_minor']).where('refund_id', 'in', references).execute()
          : [];
        const matchOf = (line: SettlementLine): Match => {
          const reference = referenceOf(line);
          if (line.type === 'refund') {
            const refund = refunds.find((r) => r.refund_id === reference);
            return refund ? { kind: 'refund', orderId: refund.order_id, amountMinor: refund.amount_minor } : { kind: 'none' };
          }
          const capture = captures.find((c) => c.capture_id === reference);
          return capture ? { kind: 'capture', orderId: capture.order_id, amountMinor: capture.amount_minor } : { kind: 'none' };
        };
        const clearing = await ensureClearingAccount(tx, settlement.gateway);
        const { results, entry } = reconcile(lines, matchOf, clearing, settlement.amount_minor);
        const posted = await postEntry(tx, {
          key: `${workflowId}:reconciled`,
          eventType: 'settlement.reconciled',
          reference: `payout ${settlement.payout_id}`,
          memo: `${settlement.gateway} payout ${settlement.payout_id} of ${settlement.amount_minor} ${settlement.currency}`,
          actor: settlement.gateway,
          currency: settlement.currency,
          documentDate: settlement.arrival_day,
          lines: entry,
        });
        for (const result of results) {
          await tx
            .updateTable('settlement_lines')
            .set({ outcome: result.outcome, order_id: result.orderId ?? null, difference_minor: result.differenceMinor ?? null })
            .where('settlement_id', '=', settlementId)
            .where('line_no', '=', result.lineNo)
            .execute();
        }
        const done: SettlementSummary = {
          settlementId,
          journalEntryId: posted.entryId,
          lines: results,
          exceptions: results.filter((r) => r.outcome === 'unmatched' || r.outcome === 'differs').length,
          disputes: results.filter((r) => r.outcome === 'dispute').length,
        };
        await tx
          .updateTable('settlements')
          .set({ status: 'reconciled', summary: JSON.stringify(done), journal_entry_id: posted.entryId, reconciled_at: new Date() })
          .where('id', '=', settlementId)
          .execute();
        for (const result of results.filter((r) => r.outcome === 'unmatched' || r.outcome === 'differs')) {
          const line = lines.find((l) => l.lineNo === result.lineNo)!;
          await insertException(tx, {
            id: `${workflowId}:${line.id}`,
            kind: result.outcome === 'differs' ? 'settlement_amount_differs' : 'settlement_unmatched',
            reference: settlement.payout_id,
            workflowId,
            ownerRole: 'finance',
            message: `payout ${settlement.payout_id} line ${line.id} (${line.type} ${line.amountMinor} ${settlement.currency}): ${result.reason}${result.differenceMinor !== undefined ? `; difference ${result.differenceMinor}` : ''}`,
            details: { line, differenceMinor: result.differenceMinor ?? null, orderId: result.orderId ?? null },
          });
        }
        return done;
      });
      // Each chargeback: a task with the order, for finance to answer the dispute (idempotent by id).
      for (const result of summary.lines.filter((r) => r.outcome === 'dispute')) {
        const line = await db.selectFrom('settlement_lines').selectAll().where('settlement_id', '=', settlementId).where('line_no', '=', result.lineNo).executeTakeFirstOrThrow();
        await tasks.openTask({
          id: `${workflowId}:dispute:${line.txn_id}`,
          kind: 'payment_dispute',
          reference: result.orderId!,
          workflowId,
          role: 'finance',
          title: `Answer the chargeback of ${-line.amount_minor} on order ${result.orderId}`,
          reason: `dispute ${line.source ?? line.txn_id} of charge ${line.charge ?? line.source} in payout ${settlementId}`,
          details: { orderId: result.orderId, amountMinor: -line.amount_minor, feeMinor: line.fee_minor, dispute: line.source },
        });
      }
      return summary;
    },
  };
}
