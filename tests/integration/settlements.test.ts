/**
 * Settlement reconciliation: a Stripe-shaped payout report (tests/fixtures/settlements) with
 * three charges, a refund, a chargeback, a platform fee and one charge this product never
 * made reconciles with one exception and one dispute task, posts fees, chargeback and
 * clearing → bank once, and refuses malformed reports with nothing written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLocalPaymentGateway } from '../../activities/payment-gateway.js';
import { journalEntries, trialBalance } from '../../db/journal.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: object, role: Role = 'ops') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const PRICE = 1_999;
const fixture = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'settlements', 'stripe-payout.json'), 'utf8');
const report = (ids: Record<string, string>, payoutId: string) => JSON.parse(fixture.replace(/\{\{(\w+)\}\}/g, (_, name: string) => ids[name]!).replaceAll('po_1TestPayout0001', payoutId));

/** An order of one unit paid by authorization at the local gateway, shipped and captured. */
async function capturedOrder(): Promise<{ orderId: string; sku: string; warehouse: string; captureId: string }> {
  const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
  const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
  await stock(stack.db, sku, warehouse, 1, COST);
  const auth = await createLocalPaymentGateway(stack.db).authorize({ reference: 'checkout', amountMinor: PRICE, currency: 'USD', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, uniqueId('auth-'));
  const orderId = uniqueId('ord-');
  const placed = await post(
    '/orders',
    {
      orderId,
      channel: 'dtc',
      customerId: uniqueId('c-'),
      shipTo: { country: 'US', lat: 40.7, lon: -74 },
      lines: [{ sku, qty: 1, unitPriceMinor: PRICE }],
      payment: { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: PRICE, currency: 'USD', expiresAt: auth.expiresAt },
    },
    'system',
  );
  expect(placed.statusCode, placed.body).toBe(201);
  const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
  await ship(shipmentId!, 250);
  await waitForOrder(orderId, 'shipped');
  const capture = await eventually(() => stack.db.selectFrom('payment_captures').selectAll().where('order_id', '=', orderId).executeTakeFirst(), 20_000, 'the capture');
  return { orderId, sku, warehouse, captureId: capture.capture_id };
}

async function refunded(order: { orderId: string; sku: string; warehouse: string }): Promise<string> {
  const rmaId = uniqueId('rma-');
  expect((await post('/returns', { returnId: rmaId, orderId: order.orderId, lines: [{ sku: order.sku, qty: 1 }], reasonCode: 'defective', resolution: 'refund' })).statusCode).toBe(201);
  expect((await post(`/returns/${rmaId}/receipt`, { parcelId: 'P1', warehouse: order.warehouse, lines: [{ sku: order.sku, qty: 1 }] }, 'system')).statusCode).toBe(200);
  expect((await post(`/returns/${rmaId}/inspection`, { inspectionId: 'I1', lines: [{ sku: order.sku, qty: 1, condition: 'as_new' }] })).statusCode).toBe(200);
  const refund = await eventually(() => stack.db.selectFrom('payment_refunds').selectAll().where('return_id', '=', rmaId).where('refund_id', 'is not', null).executeTakeFirst(), 30_000, 'the refund');
  return refund.refund_id!;
}

const settlementOf = async (id: string) => (await stack.app.inject({ method: 'GET', url: `/settlements/${id}`, headers: authAs('finance') })).json();

describe('settlement reconciliation', () => {
  it('a payout with fees, a refund, a chargeback and one unknown line reconciles with one exception, once', async () => {
    const [first, second, third] = [await capturedOrder(), await capturedOrder(), await capturedOrder()];
    const refundId = await refunded(second!);
    const payoutId = uniqueId('po_');
    const body = report({ capture1: first!.captureId, capture2: second!.captureId, capture3: third!.captureId, refund2: refundId }, payoutId);

    const sent = await post('/settlements', body, 'system');
    expect(sent.statusCode, sent.body).toBe(202);
    const id = sent.json().settlementId;
    expect(sent.json()).toMatchObject({ workflowId: `settlement-${id}`, payoutId, amountMinor: 976, currency: 'USD', created: true });
    const done = await eventually(async () => {
      const s = await settlementOf(id);
      return s.status === 'reconciled' ? s : undefined;
    }, 30_000, 'the reconciliation');

    expect(done.lines.map((l: { outcome: string }) => l.outcome)).toEqual(['matched', 'matched', 'matched', 'matched', 'dispute', 'unmatched', 'fee', 'payout']);
    expect(done.lines[4]).toMatchObject({ orderId: third!.orderId });
    expect(done.summary).toMatchObject({ exceptions: 1, disputes: 1 });

    // One exception, for the charge nobody here made; one dispute task, with the order.
    const exceptions = await stack.db.selectFrom('exceptions').selectAll().where('workflow_id', '=', `settlement-${id}`).execute();
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]).toMatchObject({ kind: 'settlement_unmatched', owner_role: 'finance' });
    expect(exceptions[0]!.message).toContain('ch_3UnknownCharge');
    const disputes = await stack.db.selectFrom('tasks').selectAll().where('kind', '=', 'payment_dispute').where('workflow_id', '=', `settlement-${id}`).execute();
    expect(disputes).toEqual([expect.objectContaining({ reference: third!.orderId, role: 'finance', status: 'open' })]);

    // The payout's entry: bank 9.76, fees 20.23, the chargeback 19.99, against clearing (3 charges − 1 refund) and 10.00 unidentified.
    const [entry] = await journalEntries(stack.db, { reference: `payout ${payoutId}`, limit: 5 });
    const by = Object.fromEntries(entry!.lines.map((l) => [l.account, l.debitMinor - l.creditMinor]));
    expect(by).toEqual({ '1020': 976, '6100': 3 * 88 + 1_500 + 59 + 200, '1150': PRICE, '1010.local': -(3 * PRICE - PRICE), '2400': -1_000 });

    // The same report again changes nothing; the same payout id with other content is 409.
    const again = await post('/settlements', body, 'finance');
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ settlementId: id, status: 'reconciled', created: false });
    expect(await journalEntries(stack.db, { reference: `payout ${payoutId}`, limit: 5 })).toHaveLength(1);
    const other = structuredClone(body);
    other.balance_transactions[6].description = 'changed';
    const conflicting = await post('/settlements', other, 'finance');
    expect(conflicting.statusCode).toBe(409);
    expect(conflicting.json().error.code).toBe('settlement_conflict');
    expect((await trialBalance(stack.db)).balanced).toBe(true);
  });

  it('refuses a malformed report with the field, and a payout that does not add up, writing nothing', async () => {
    const base = report({ capture1: 'ch_a', capture2: 'ch_b', capture3: 'ch_c', refund2: 're_a' }, uniqueId('po_'));
    const cases: [string, (b: typeof base) => void, number, string][] = [
      ['net', (b) => (b.balance_transactions[0].net = 1_900), 400, 'net'],
      ['negative charge', (b) => (b.balance_transactions[0].amount = -5), 400, 'amount'],
      ['negative fee', (b) => (b.balance_transactions[0].fee = -1), 400, 'fee'],
      ['currency', (b) => (b.balance_transactions[1].currency = 'xyz'), 400, 'currency'],
      ['type', (b) => (b.balance_transactions[1].type = 'bonus'), 400, 'type'],
      ['no lines', (b) => (b.balance_transactions = []), 400, 'balance_transactions'],
    ];
    for (const [what, change, status, field] of cases) {
      const body = structuredClone(base);
      change(body);
      const res = await post('/settlements', body, 'system');
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
      expect(JSON.stringify(res.json().error.details), what).toContain(field);
    }
    const short = structuredClone(base);
    short.payout.amount = 1_000;
    short.balance_transactions[7].amount = -1_000;
    short.balance_transactions[7].net = -1_000;
    const mismatch = await post('/settlements', short, 'system');
    expect(mismatch.statusCode, mismatch.body).toBe(422);
    expect(mismatch.json().error).toMatchObject({ code: 'payout_mismatch' });
    expect(await stack.db.selectFrom('settlements').select('id').where('payout_id', '=', base.payout.id).execute()).toEqual([]);
    expect((await post('/settlements', base, 'ops')).statusCode).toBe(403);
  });
});
