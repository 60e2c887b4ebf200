/**
 * Payments on orders through the gateway: a capture per confirmed shipment for its share
 * of the authorization, a void of what is left when the order is cancelled. Each gateway
 * call carries its process's key, so a retry (or a worker killed mid-call) moves no money
 * twice; each posting carries the same key, so nothing is posted twice.
 */
import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { Db } from '../db/connection.js';
import { functionalCurrency } from '../db/fx-rates.js';
import { postEntry } from '../db/journal.js';
import type { Database } from '../db/schema.js';
import { atBookedRatio } from '../domain/currency.js';
import { captureAttempts, type CaptureOutcome, type PaymentActivities, type VoidOutcome } from '../contracts/payment.js';
import { orderWorkflowId } from '../contracts/order.js';
import { shipmentWorkflowId } from '../contracts/shipment.js';
import { PaymentGatewayError, type PaymentGateway } from './payment-gateway.js';
import { createTaskActivities, insertException } from './tasks.js';

/** The clearing account of a gateway: money captured there and not yet paid out to the bank. */
export const clearingAccount = (gateway: string) => `1010.${gateway}`;

export async function ensureClearingAccount(db: Kysely<Database>, gateway: string): Promise<string> {
  const code = clearingAccount(gateway);
  await db.insertInto('accounts').values({ code, name: `Payment clearing (${gateway})`, type: 'asset' }).onConflict((oc) => oc.column('code').doNothing()).execute();
  return code;
}

/** The attempt of the running activity (1 outside one, as in a direct call). */
function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

export function createPaymentActivities({ db, paymentGateway }: { db: Db; paymentGateway: PaymentGateway }): PaymentActivities {
  const tasks = createTaskActivities({ db });

  async function captureFailed(request: { shipmentId: string; orderId: string }, amountMinor: number, currency: string, reason: string): Promise<CaptureOutcome> {
    const workflowId = shipmentWorkflowId(request.shipmentId);
    const id = `${workflowId}:capture`;
    await db.insertInto('payment_capture_failures').values({ shipment_id: request.shipmentId, order_id: request.orderId, amount_minor: amountMinor, reason }).onConflict((oc) => oc.column('shipment_id').doNothing()).execute();
    const message = `capture of ${amountMinor} ${currency} minor units for shipment ${request.shipmentId} of order ${request.orderId} failed: ${reason}; the shipment is posted and the receivable stays open`;
    await insertException(db, { id, kind: 'payment_capture_failed', reference: request.orderId, workflowId, ownerRole: 'finance', message, details: { shipmentId: request.shipmentId, amountMinor, currency, reason } });
    await tasks.openTask({
      id,
      kind: 'payment_capture_failed',
      reference: request.orderId,
      workflowId,
      role: 'finance',
      title: `Collect ${amountMinor} ${currency} for shipment ${request.shipmentId}`,
      reason: message,
      details: { shipmentId: request.shipmentId, amountMinor, currency },
    });
    return { status: 'failed', amountMinor, currency, reason };
  }

  return {
    async capturePayment(request) {
      const key = `${shipmentWorkflowId(request.shipmentId)}:capture`;
      const payment = await db.selectFrom('order_payments').selectAll().where('order_id', '=', request.orderId).executeTakeFirst();
      if (!payment || payment.kind !== 'authorization') return { status: 'none', amountMinor: 0 };
      const done = await db.selectFrom('payment_captures').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
      if (done) return { status: 'captured', amountMinor: done.amount_minor, currency: done.currency, captureId: done.capture_id, journalEntryId: done.journal_entry_id ?? undefined };

      // The shipment's receivable: the same cumulative share its posting took, so the captures of the order add up to its total.
      const receivable = await db
        .selectFrom('shipments as s')
        .innerJoin('journal_lines as l', 'l.entry_id', 's.journal_entry_id')
        .select(['l.txn_debit_minor', 'l.debit_minor'])
        .where('s.id', '=', request.shipmentId)
        .where('l.account_code', '=', '1100')
        .executeTakeFirst();
      if (!receivable || receivable.txn_debit_minor <= 0) return { status: 'none', amountMinor: 0 };
      const others = await db
        .selectFrom('payment_captures')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_minor'), eb.lit(0)).as('n'))
        .where('order_id', '=', request.orderId)
        .executeTakeFirstOrThrow();
      const left = payment.authorized_minor - payment.voided_minor - Number(others.n);
      const amountMinor = Math.min(receivable.txn_debit_minor, left);
      if (amountMinor <= 0) return captureFailed(request, receivable.txn_debit_minor, payment.currency, 'nothing is left of the authorization');

      let captureId: string;
      try {
        const captured = await paymentGateway.capture({ authorizationId: payment.authorization_id!, reference: request.shipmentId, amountMinor, currency: payment.currency }, key);
        captureId = captured.captureId;
      } catch (error) {
        if (!(error instanceof PaymentGatewayError)) throw error;
        // Transient failures are retried with the same key; past the attempts, or refused, finance steps in.
        if (error.retryable && attempt() < captureAttempts) throw error;
        return captureFailed(request, amountMinor, payment.currency, error.message);
      }

      return db.transaction().execute(async (tx) => {
        const inserted = await tx
          .insertInto('payment_captures')
          .values({ idempotency_key: key, order_id: request.orderId, shipment_id: request.shipmentId, capture_id: captureId, amount_minor: amountMinor, currency: payment.currency })
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .returning('idempotency_key')
          .executeTakeFirst();
        if (inserted) {
          await tx
            .updateTable('order_payments')
            .set((eb) => ({ captured_minor: eb('captured_minor', '+', amountMinor), updated_at: new Date() }))
            .where('order_id', '=', request.orderId)
            .execute();
        }
        const clearing = await ensureClearingAccount(tx, payment.gateway!);
        const foreign = payment.currency !== (await functionalCurrency(tx));
        // In another currency the receivable leaves at the rate it was booked at; the cash comes in at today's.
        const entry = await postEntry(tx, {
          key,
          eventType: 'payment.captured',
          reference: request.orderId,
          memo: `capture ${captureId} at ${payment.gateway} for shipment ${request.shipmentId}`,
          actor: payment.gateway!,
          ...(foreign ? { currency: payment.currency } : {}),
          lines: [
            { account: clearing, debitMinor: amountMinor },
            foreign
              ? { account: '1100', creditMinor: amountMinor, functionalMinor: atBookedRatio(amountMinor, receivable.debit_minor, receivable.txn_debit_minor) }
              : { account: '1100', creditMinor: amountMinor },
          ],
        });
        await tx.updateTable('payment_captures').set({ journal_entry_id: entry.entryId }).where('idempotency_key', '=', key).execute();
        return { status: 'captured', amountMinor, currency: payment.currency, captureId, journalEntryId: entry.entryId } satisfies CaptureOutcome;
      });
    },

    async voidPayment(request): Promise<VoidOutcome> {
      const payment = await db.selectFrom('order_payments').selectAll().where('order_id', '=', request.orderId).executeTakeFirst();
      if (!payment || payment.kind !== 'authorization') return { status: 'none', releasedMinor: 0 };
      const left = payment.authorized_minor - payment.captured_minor - payment.voided_minor;
      if (left <= 0) return { status: payment.voided_minor > 0 ? 'voided' : 'none', releasedMinor: payment.voided_minor };
      const key = `${orderWorkflowId(request.orderId)}:void`;
      try {
        await paymentGateway.void({ authorizationId: payment.authorization_id!, reference: request.orderId }, key);
      } catch (error) {
        if (!(error instanceof PaymentGatewayError) || error.retryable) throw error;
        const message = `void of the authorization ${payment.authorization_id} of order ${request.orderId} refused: ${error.message}; ${left} ${payment.currency} minor units may still be held on the customer's card`;
        await insertException(db, { id: key, kind: 'payment_void_failed', reference: request.orderId, workflowId: orderWorkflowId(request.orderId), ownerRole: 'finance', message });
        return { status: 'failed', releasedMinor: 0, reason: error.message };
      }
      await db
        .updateTable('order_payments')
        .set((eb) => ({ voided_minor: eb('authorized_minor', '-', eb.ref('captured_minor')), updated_at: new Date() }))
        .where('order_id', '=', request.orderId)
        .where('voided_minor', '=', 0)
        .execute();
      return { status: 'voided', releasedMinor: left };
    },
  };
}
