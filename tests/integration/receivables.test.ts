/**
 * Terms orders: the receivable stays open until the customer pays; GET /receivables ages it;
 * POST /payments/received applies a payment to the oldest due first, once per payment id.
 */
import { describe, expect, it } from 'vitest';
import { journalEntries, trialBalance } from '../../db/journal.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: object, role: Role = 'finance') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const PRICE = 1_999;
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function termsOrder(customerId: string, dueDate: string): Promise<string> {
  const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
  const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
  await stock(stack.db, sku, warehouse, 1, COST);
  const orderId = uniqueId('ord-');
  const res = await post(
    '/orders',
    { orderId, channel: 'wholesale', customerId, shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: PRICE }], payment: { kind: 'terms', dueDate } },
    'system',
  );
  expect(res.statusCode, res.body).toBe(201);
  const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
  await ship(shipmentId!, 250);
  await waitForOrder(orderId, 'shipped');
  return orderId;
}

describe('receivables and payments received', () => {
  it('ages open terms receivables and applies a payment to the oldest due first, once', async () => {
    const customerId = uniqueId('wholesale-');
    const overdue = await termsOrder(customerId, day(-40));
    const current = await termsOrder(customerId, day(20));
    const aged = (await stack.app.inject({ method: 'GET', url: `/receivables?customerId=${customerId}`, headers: authAs('viewer') })).json();
    expect(aged.receivables).toEqual([
      expect.objectContaining({ orderId: overdue, openMinor: PRICE, bucket: '31-60', daysPastDue: 40, dueOn: day(-40) }),
      expect.objectContaining({ orderId: current, openMinor: PRICE, bucket: 'current', daysPastDue: 0 }),
    ]);
    expect(aged.totals.USD).toMatchObject({ current: PRICE, '31-60': PRICE });
    expect((await stack.app.inject({ method: 'GET', url: '/receivables', headers: authAs('ops') })).statusCode).toBe(403);

    const payment = { paymentId: uniqueId('pay-'), customerId, receivedOn: day(0), amountMinor: 3_000, currency: 'USD' };
    const paid = await post('/payments/received', payment);
    expect(paid.statusCode, paid.body).toBe(201);
    expect(paid.json()).toMatchObject({ allocations: [{ orderId: overdue, amountMinor: PRICE }, { orderId: current, amountMinor: 3_000 - PRICE }], unappliedMinor: 0, created: true });
    const again = await post('/payments/received', payment);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, allocations: paid.json().allocations });
    const changed = await post('/payments/received', { ...payment, amountMinor: 3_001 });
    expect(changed.statusCode).toBe(409);

    const after = (await stack.app.inject({ method: 'GET', url: `/receivables?customerId=${customerId}`, headers: authAs('finance') })).json();
    expect(after.receivables).toEqual([expect.objectContaining({ orderId: current, openMinor: 2 * PRICE - 3_000 })]);
    // As of yesterday nothing had shipped: nothing was owed.
    expect((await stack.app.inject({ method: 'GET', url: `/receivables?customerId=${customerId}&asOf=${day(-1)}`, headers: authAs('finance') })).json().receivables).toEqual([]);
    const [entry] = await journalEntries(stack.db, { reference: overdue, limit: 10 });
    expect(entry).toMatchObject({ eventType: 'payment.received', documentDate: day(0) });

    // More than is open is refused; a payment beyond what is open waits unapplied.
    const over = await post('/payments/received', { ...payment, paymentId: uniqueId('pay-'), allocations: [{ orderId: current, amountMinor: 5_000 }], amountMinor: 5_000 });
    expect(over.statusCode).toBe(422);
    expect(over.json().error.code).toBe('over_allocated');
    const extra = await post('/payments/received', { ...payment, paymentId: uniqueId('pay-'), amountMinor: 2_000 });
    expect(extra.json()).toMatchObject({ allocations: [{ orderId: current, amountMinor: 2 * PRICE - 3_000 }], unappliedMinor: 2_000 - (2 * PRICE - 3_000) });
    expect((await stack.app.inject({ method: 'GET', url: `/receivables?customerId=${customerId}`, headers: authAs('finance') })).json().receivables).toEqual([]);
    expect((await post('/payments/received', { ...payment, paymentId: uniqueId('pay-') }, 'ops')).statusCode).toBe(403);
    expect((await trialBalance(stack.db)).balanced).toBe(true);
  });
});
