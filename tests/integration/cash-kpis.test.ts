/**
 * Order-to-cash KPIs in /kpis: days sales outstanding from the receivable, days from order to
 * payout, and the gateways' fee rate, each with numerator, denominator and definition.
 */
import { describe, expect, it } from 'vitest';
import { createLocalPaymentGateway } from '../../activities/payment-gateway.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: object, role: Role = 'system') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const PRICE = 1_999;
const FEE = 88;

interface Ratio { value: number | null; numerator: number; denominator: number; definition: string }

async function shippedOrder(payment: object): Promise<string> {
  const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
  const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
  await stock(stack.db, sku, warehouse, 1, COST);
  const orderId = uniqueId('ord-');
  const placed = await post('/orders', { orderId, channel: 'wholesale', customerId: uniqueId('c-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: PRICE }], payment });
  expect(placed.statusCode, placed.body).toBe(201);
  const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
  await ship(shipmentId!, 250);
  await waitForOrder(orderId, 'shipped');
  return orderId;
}

describe('order-to-cash KPIs', () => {
  it('counts a terms receivable in DSO, a paid-out capture in cash conversion and its fee in the fee rate', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const range = `?from=${today}T00:00:00.000Z&to=${new Date(Date.now() + 3_600_000).toISOString()}`;
    const kpis = async () => {
      const res = await stack.app.inject({ method: 'GET', url: `/kpis${range}`, headers: authAs('viewer') });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().kpis as { daysSalesOutstanding: Ratio & { days: number }; cashConversion: Ratio; paymentFeeRate: Ratio & { settlements: number } };
    };
    const before = await kpis();

    await shippedOrder({ kind: 'terms', dueDate: today });
    const auth = await createLocalPaymentGateway(stack.db).authorize({ reference: 'checkout', amountMinor: PRICE, currency: 'USD', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, uniqueId('auth-'));
    const paid = await shippedOrder({ kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: PRICE, currency: 'USD', expiresAt: auth.expiresAt });
    const capture = await eventually(() => stack.db.selectFrom('payment_captures').selectAll().where('order_id', '=', paid).executeTakeFirst(), 20_000, 'the capture');
    const payoutId = uniqueId('po_');
    const sent = await post('/settlements', {
      gateway: 'local',
      payout: { id: payoutId, amount: PRICE - FEE, currency: 'usd', arrival_date: Math.floor(Date.parse(`${today}T00:00:00Z`) / 1000) },
      balance_transactions: [
        { id: uniqueId('txn_'), type: 'charge', amount: PRICE, fee: FEE, net: PRICE - FEE, currency: 'usd', source: capture.capture_id, reporting_category: 'charge' },
        { id: uniqueId('txn_'), type: 'payout', amount: -(PRICE - FEE), fee: 0, net: -(PRICE - FEE), currency: 'usd', source: payoutId },
      ],
    });
    expect(sent.statusCode, sent.body).toBe(202);
    await eventually(async () => ((await stack.db.selectFrom('settlements').select('status').where('payout_id', '=', payoutId).executeTakeFirst())?.status === 'reconciled' ? true : undefined), 30_000, 'the reconciliation');

    const after = await kpis();
    // Two sales on the receivable; the captured one left it, the terms one is still open.
    expect(after.daysSalesOutstanding.denominator - before.daysSalesOutstanding.denominator).toBe(2 * PRICE);
    expect(after.daysSalesOutstanding.numerator - before.daysSalesOutstanding.numerator).toBe(PRICE);
    const dso = after.daysSalesOutstanding;
    expect(dso.value).toBeCloseTo((dso.numerator / dso.denominator) * dso.days, 2);
    // Ordered and paid out the same day: one capture, zero days.
    expect(after.cashConversion.denominator - before.cashConversion.denominator).toBe(1);
    expect(after.cashConversion.numerator - before.cashConversion.numerator).toBe(0);
    // The fee over the charge.
    expect(after.paymentFeeRate.numerator - before.paymentFeeRate.numerator).toBe(FEE);
    expect(after.paymentFeeRate.denominator - before.paymentFeeRate.denominator).toBe(PRICE);
    expect(after.paymentFeeRate.settlements - before.paymentFeeRate.settlements).toBe(1);
    expect(after.paymentFeeRate.value).toBeCloseTo(after.paymentFeeRate.numerator / after.paymentFeeRate.denominator, 4);
    for (const kpi of [after.daysSalesOutstanding, after.cashConversion, after.paymentFeeRate]) expect(kpi.definition.length).toBeGreaterThan(40);
  });
});
