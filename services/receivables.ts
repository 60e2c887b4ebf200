/**
 * What customers owe and what they pay: open receivables per order (aged as of a date), and
 * payments received applied to them, oldest due first unless the payment says where.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Db } from '../db/connection.js';
import { functionalCurrency, rateOn } from '../db/fx-rates.js';
import { postEntry, type JournalLineInput } from '../db/journal.js';
import { isClosed } from '../db/periods.js';
import type { Database } from '../db/schema.js';
import { atBookedRatio } from '../domain/currency.js';
import { conflict, invalid, type Refusal } from './refusal.js';

export interface OpenReceivable {
  orderId: string;
  customerId: string;
  currency: string;
  openMinor: number;
  functionalOpenMinor: number;
  invoicedOn: string;
  /** Terms orders: their due date; others are due when shipped. */
  dueOn: string;
  daysPastDue: number;
  bucket: 'current' | '1-30' | '31-60' | '61-90' | '90+';
}

const bucketOf = (days: number): OpenReceivable['bucket'] => (days <= 0 ? 'current' : days <= 30 ? '1-30' : days <= 60 ? '31-60' : days <= 90 ? '61-90' : '90+');
const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** Orders with a receivable open as of `asOf` (entries posted on or before it), oldest due first. */
export async function openReceivables(db: Kysely<Database>, filter: { asOf: string; customerId?: string; currency?: string }): Promise<OpenReceivable[]> {
  const rows = await sql<{ order_id: string; customer_id: string; currency: string; open_txn: number; open_functional: number; invoiced_on: string; due_on: string | null }>`
    select e.reference as order_id, o.customer_id, l.currency,
      sum(l.txn_debit_minor - l.txn_credit_minor)::bigint as open_txn,
      sum(l.debit_minor - l.credit_minor)::bigint as open_functional,
      min(e.document_date)::text as invoiced_on, p.due_date::text as due_on
    from journal_lines l
    join journal_entries e on e.id = l.entry_id
    join orders o on o.id = e.reference
    left join order_payments p on p.order_id = o.id
    where l.account_code = '1100' and e.posting_date <= ${filter.asOf}::date
      ${filter.customerId ? sql`and o.customer_id = ${filter.customerId}` : sql``}
      ${filter.currency ? sql`and l.currency = ${filter.currency}` : sql``}
    group by e.reference, o.customer_id, l.currency, p.due_date
    having sum(l.txn_debit_minor - l.txn_credit_minor) <> 0`.execute(db);
  return rows.rows
    .map((r) => {
      const dueOn = r.due_on ?? r.invoiced_on;
      const days = daysBetween(dueOn, filter.asOf);
      return {
        orderId: r.order_id,
        customerId: r.customer_id,
        currency: r.currency,
        openMinor: r.open_txn,
        functionalOpenMinor: r.open_functional,
        invoicedOn: r.invoiced_on,
        dueOn,
        daysPastDue: Math.max(0, days),
        bucket: bucketOf(days),
      };
    })
    .sort((a, b) => a.dueOn.localeCompare(b.dueOn) || a.orderId.localeCompare(b.orderId));
}

export interface PaymentReceived {
  paymentId: string;
  customerId: string;
  receivedOn: string;
  amountMinor: number;
  currency: string;
  /** Where it goes; without it, the customer's open orders oldest due first. */
  allocations?: { orderId: string; amountMinor: number }[];
}

export interface PaymentApplied {
  paymentId: string;
  allocations: { orderId: string; amountMinor: number }[];
  unappliedMinor: number;
  /** The last of its entries (one per order paid, one for what is not applied). */
  journalEntryId: number;
  created: boolean;
}

/**
 * Records a customer's payment once per id (the same again answers the first; other content
 * is a conflict): bank against the receivables it pays, what pays nothing open against
 * payments not yet applied. In another currency each receivable leaves at the rate it was
 * booked at; the bank takes the rate of the day received; the difference is exchange gain or loss.
 */
export async function recordPaymentReceived(db: Db, input: PaymentReceived, actor: string): Promise<PaymentApplied | Refusal> {
  if (await isClosed(db, input.receivedOn)) return invalid('period_closed', `period ${input.receivedOn.slice(0, 7)} is closed`, [{ path: 'receivedOn', message: 'in a closed period' }]);
  const functional = await functionalCurrency(db);
  if (input.currency !== functional && !(await rateOn(db, input.currency, functional, input.receivedOn))) {
    return invalid('no_fx_rate', `no ${input.currency}→${functional} exchange rate on or before ${input.receivedOn}`, [{ path: 'currency', message: 'no rate' }]);
  }
  const hash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
  return db.transaction().execute(async (tx) => {
    const first = await tx.selectFrom('customer_payments').selectAll().where('id', '=', input.paymentId).executeTakeFirst();
    if (first) {
      if (first.payload_hash !== hash) return conflict('payment_id_used', `payment ${input.paymentId} was recorded with other content`);
      const allocations = await tx.selectFrom('customer_payment_allocations').select(['order_id', 'amount_minor']).where('payment_id', '=', input.paymentId).orderBy('seq').execute();
      return { paymentId: first.id, allocations: allocations.map((a) => ({ orderId: a.order_id, amountMinor: a.amount_minor })), unappliedMinor: first.unapplied_minor, journalEntryId: first.journal_entry_id!, created: false };
    }
    // Serialize payments of one customer, so two never apply the same open amount.
    await sql`select pg_advisory_xact_lock(hashtext(${`customer-payment:${input.customerId}`}))`.execute(tx);
    const open = await openReceivables(tx, { asOf: '9999-12-31', customerId: input.customerId, currency: input.currency });
    const allocations: { orderId: string; amountMinor: number }[] = [];
    if (input.allocations) {
      const problems = input.allocations.flatMap((a, index) => {
        const o = open.find((r) => r.orderId === a.orderId);
        if (!o) return [{ path: `allocations.${index}.orderId`, message: `order ${a.orderId} of customer ${input.customerId} has nothing open in ${input.currency}` }];
        if (a.amountMinor > o.openMinor) return [{ path: `allocations.${index}.amountMinor`, message: `order ${a.orderId} has ${o.openMinor} open` }];
        return [];
      });
      const total = input.allocations.reduce((n, a) => n + a.amountMinor, 0);
      if (total > input.amountMinor) problems.push({ path: 'allocations', message: `allocations add up to ${total}, more than the ${input.amountMinor} received` });
      if (problems.length) return invalid('over_allocated', problems.map((p) => p.message).join('; '), problems);
      allocations.push(...input.allocations);
    } else {
      let left = input.amountMinor;
      for (const o of open) {
        if (left <= 0) break;
        const take = Math.min(left, o.openMinor);
        if (take > 0) allocations.push({ orderId: o.orderId, amountMinor: take });
        left -= take;
      }
    }
    const applied = allocations.reduce((n, a) => n + a.amountMinor, 0);
    const unappliedMinor = input.amountMinor - applied;
    const foreign = input.currency !== functional;
    await tx
      .insertInto('customer_payments')
      .values({ id: input.paymentId, customer_id: input.customerId, received_on: input.receivedOn, amount_minor: input.amountMinor, currency: input.currency, payload_hash: hash, unapplied_minor: unappliedMinor, recorded_by: actor })
      .execute();
    if (allocations.length) await tx.insertInto('customer_payment_allocations').values(allocations.map((a, index) => ({ payment_id: input.paymentId, seq: index + 1, order_id: a.orderId, amount_minor: a.amountMinor }))).execute();
    // One entry per order paid (its reference is the order, as its sale's is), one for what pays nothing open.
    const parts: { key: string; reference: string; lines: JournalLineInput[] }[] = allocations.map((a) => {
      const o = open.find((r) => r.orderId === a.orderId)!;
      return {
        key: `customer-payment-${input.paymentId}:${a.orderId}`,
        reference: a.orderId,
        lines: [
          { account: '1020', debitMinor: a.amountMinor },
          foreign ? { account: '1100', creditMinor: a.amountMinor, functionalMinor: atBookedRatio(a.amountMinor, o.functionalOpenMinor, o.openMinor) } : { account: '1100', creditMinor: a.amountMinor },
        ],
      };
    });
    if (unappliedMinor > 0) {
      parts.push({ key: `customer-payment-${input.paymentId}:unapplied`, reference: `customer ${input.customerId}`, lines: [{ account: '1020', debitMinor: unappliedMinor }, { account: '2300', creditMinor: unappliedMinor }] });
    }
    let entry = { entryId: 0 };
    for (const part of parts) {
      entry = await postEntry(tx, {
        key: part.key,
        eventType: 'payment.received',
        reference: part.reference,
        memo: `payment ${input.paymentId} from ${input.customerId} received ${input.receivedOn}`,
        actor,
        documentDate: input.receivedOn,
        ...(foreign ? { currency: input.currency } : {}),
        lines: part.lines,
      });
    }
    await tx.updateTable('customer_payments').set({ journal_entry_id: entry.entryId }).where('id', '=', input.paymentId).execute();
    return { paymentId: input.paymentId, allocations, unappliedMinor, journalEntryId: entry.entryId, created: true };
  });
}
