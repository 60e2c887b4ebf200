/**
 * Payments on orders: an authorization captured per shipment for the shipment's share (a
 * split order's captures add up to the authorization exactly), a capture the gateway refuses
 * leaves the shipment posted and asks finance, a cancel voids what is left, and refunds never
 * exceed what was captured (the rest reverses the receivable).
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createLocalPaymentGateway } from '../../activities/payment-gateway.js';
import { journalEntries } from '../../db/journal.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder, orderView } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: object, role: Role = 'ops') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const places = [
  { lat: 40.7, lon: -74.1 },
  { lat: 41.8, lon: -87.6 },
  { lat: 34.0, lon: -118.2 },
];
const PRICE = 1_999;

/** An item stocked one unit per warehouse at `count` warehouses (so an order of `count` ships in `count` parts). */
async function stockedApart(count: number) {
  const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
  const warehouses: string[] = [];
  for (const place of places.slice(0, count)) {
    const code = await addWarehouse(stack.db, undefined, place);
    await stock(stack.db, sku, code, 1, COST);
    warehouses.push(code);
  }
  return { sku, warehouses };
}

async function authorize(amountMinor: number, currency = 'USD') {
  const gateway = createLocalPaymentGateway(stack.db);
  return gateway.authorize({ reference: uniqueId('checkout-'), amountMinor, currency, expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString() }, uniqueId('auth-'));
}

/** 3 × 19.99 − 1.00 discount + 3.33 tax + 10.00 freight = 72.30: shares that do not divide evenly. */
const TOTAL = 3 * PRICE - 100 + 333 + 1_000;

async function placePaid(sku: string, qty: number, payment: object | undefined, extra: object = {}) {
  const orderId = uniqueId('ord-');
  const res = await post(
    '/orders',
    {
      orderId,
      channel: 'dtc',
      customerId: uniqueId('c-'),
      shipTo: { country: 'US', lat: 40.7, lon: -74 },
      freightMinor: qty === 3 ? 1_000 : 0,
      lines: [{ sku, qty, unitPriceMinor: PRICE, discountMinor: qty === 3 ? 100 : 0, taxMinor: qty === 3 ? 333 : 0 }],
      ...(payment ? { payment } : {}),
      ...extra,
    },
    'system',
  );
  expect(res.statusCode, res.body).toBe(201);
  return orderId;
}

const paymentOf = (orderId: string) => stack.db.selectFrom('order_payments').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
const entries = async (orderId: string, eventType: string) => (await journalEntries(stack.db, { reference: orderId, limit: 100 })).filter((e) => e.eventType === eventType);
const sumOf = (list: { lines: { account: string; debitMinor: number; creditMinor: number }[] }[], account: string, side: 'debitMinor' | 'creditMinor') =>
  list.flatMap((e) => e.lines).filter((l) => l.account === account).reduce((n, l) => n + l[side], 0);

describe('capture per shipment', () => {
  it('a split order of three shipments captures exactly the authorization, clearing against receivable', async () => {
    const { sku } = await stockedApart(3);
    const auth = await authorize(TOTAL);
    const orderId = await placePaid(sku, 3, { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: TOTAL, currency: 'USD', expiresAt: auth.expiresAt });
    const shipments = await shipmentsOf(orderId, 3);
    for (const id of shipments.values()) await ship(id, 250);
    await waitForOrder(orderId, 'shipped');
    await eventually(async () => ((await paymentOf(orderId)).captured_minor === TOTAL ? true : undefined), 20_000, 'all captures');

    const captures = await stack.db.selectFrom('payment_captures').selectAll().where('order_id', '=', orderId).execute();
    expect(captures).toHaveLength(3);
    expect(captures.reduce((n, c) => n + c.amount_minor, 0)).toBe(TOTAL);
    const atGateway = await stack.db.selectFrom('payment_gateway_authorizations').selectAll().where('authorization_id', '=', auth.authorizationId).executeTakeFirstOrThrow();
    expect(atGateway.captured_minor).toBe(TOTAL);

    // Each capture credits what its shipment put on the receivable; the order's receivable is closed.
    const sales = await entries(orderId, 'shipment.confirmed');
    const captured = await entries(orderId, 'payment.captured');
    expect(captured).toHaveLength(3);
    expect(sumOf(sales, '1100', 'debitMinor')).toBe(TOTAL);
    expect(sumOf(captured, '1100', 'creditMinor')).toBe(TOTAL);
    expect(sumOf(captured, '1010.local', 'debitMinor')).toBe(TOTAL);
    for (const capture of captures) {
      const sale = sales.find((e) => e.memo?.includes(`shipment ${capture.shipment_id} `))!;
      expect(sale.lines.find((l) => l.account === '1100')!.debitMinor).toBe(capture.amount_minor);
    }
    const view = (await stack.app.inject({ method: 'GET', url: `/shipments/${captures[0]!.shipment_id}`, headers: authAs('viewer') })).json();
    expect(view.process?.payment ?? view.payment).toMatchObject({ status: 'captured', amountMinor: captures[0]!.amount_minor });
  });

  it('a capture the gateway refuses: the shipment stays posted, the receivable open, an exception and a finance task', async () => {
    const { sku } = await stockedApart(1);
    const auth = await authorize(PRICE);
    const orderId = await placePaid(sku, 1, { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: PRICE, currency: 'USD', expiresAt: auth.expiresAt });
    const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
    await stack.db.insertInto('payment_gateway_faults').values({ idempotency_key: `shipment-${shipmentId}:capture`, kind: 'declined', remaining: 1 }).execute();
    await ship(shipmentId!, 250);
    await waitForOrder(orderId, 'shipped');
    const exception = await eventually(
      () => stack.db.selectFrom('exceptions').selectAll().where('id', '=', `shipment-${shipmentId}:capture`).executeTakeFirst(),
      20_000,
      'the capture exception',
    );
    expect(exception).toMatchObject({ kind: 'payment_capture_failed', owner_role: 'finance', reference: orderId });
    const task = await stack.db.selectFrom('tasks').selectAll().where('id', '=', `shipment-${shipmentId}:capture`).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ kind: 'payment_capture_failed', role: 'finance', status: 'open' });
    expect(await entries(orderId, 'shipment.confirmed')).toHaveLength(1);
    expect(await entries(orderId, 'payment.captured')).toHaveLength(0);
    expect((await paymentOf(orderId)).captured_minor).toBe(0);
  });

  it('an order without a payment ships as before, and a payment that does not fit the order is 422 with nothing written', async () => {
    const { sku } = await stockedApart(1);
    const auth = await authorize(PRICE);
    const base = { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, currency: 'USD', expiresAt: auth.expiresAt };
    for (const [payment, code, extra] of [
      [{ ...base, amountMinor: PRICE - 1 }, 'authorization_short', {}],
      [{ ...base, amountMinor: PRICE, currency: 'EUR' }, 'payment_currency_mismatch', {}],
      [{ kind: 'terms', dueDate: '2027-01-31' }, 'terms_not_allowed', {}],
    ] as const) {
      const orderId = uniqueId('ord-');
      const res = await post('/orders', { orderId, channel: 'dtc', customerId: 'c', shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: PRICE }], payment, ...extra }, 'system');
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error.code).toBe(code);
      expect(await stack.db.selectFrom('orders').select('id').where('id', '=', orderId).executeTakeFirst()).toBeUndefined();
    }
    const negative = await post('/orders', { orderId: uniqueId('ord-'), channel: 'dtc', customerId: 'c', shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: PRICE }], payment: { ...base, amountMinor: -5 } }, 'system');
    expect(negative.statusCode).toBe(400);
  });
});

describe('void and refunds', () => {
  it('cancelling an order after one of two shipments left voids what is left of the authorization', async () => {
    const { sku } = await stockedApart(2);
    const amount = 2 * PRICE + 500;
    const auth = await authorize(amount);
    const orderId = await placePaid(sku, 2, { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: amount, currency: 'USD', expiresAt: auth.expiresAt });
    const shipments = [...(await shipmentsOf(orderId, 2)).values()];
    await ship(shipments[0]!, 250);
    await eventually(async () => ((await paymentOf(orderId)).captured_minor === PRICE ? true : undefined), 20_000, 'the first capture');
    const cancelled = await post(`/orders/${orderId}/cancel`, { reason: 'customer changed their mind' });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    await waitForOrder(orderId, 'partially_shipped');
    const payment = await eventually(async () => {
      const p = await paymentOf(orderId);
      return p.voided_minor > 0 ? p : undefined;
    }, 20_000, 'the void');
    expect(payment).toMatchObject({ captured_minor: PRICE, voided_minor: amount - PRICE });
    const atGateway = await stack.db.selectFrom('payment_gateway_authorizations').selectAll().where('authorization_id', '=', auth.authorizationId).executeTakeFirstOrThrow();
    expect(atGateway.voided_at).not.toBeNull();
    expect((await orderView(orderId)).process.payment).toMatchObject({ status: 'voided', releasedMinor: amount - PRICE });
  });

  it('a return refunds no more than was captured: the uncaptured part reverses the receivable; a terms order refunds nothing in cash', async () => {
    // Two shipments; the second's capture is refused, so only the first share is captured.
    const { sku, warehouses } = await stockedApart(2);
    const amount = 2 * PRICE;
    const auth = await authorize(amount);
    const orderId = await placePaid(sku, 2, { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: amount, currency: 'USD', expiresAt: auth.expiresAt });
    const shipments = [...(await shipmentsOf(orderId, 2)).values()];
    await stack.db.insertInto('payment_gateway_faults').values({ idempotency_key: `shipment-${shipments[1]}:capture`, kind: 'declined', remaining: 1 }).execute();
    for (const id of shipments) await ship(id, 250);
    await waitForOrder(orderId, 'shipped');
    await eventually(() => stack.db.selectFrom('exceptions').select('id').where('id', '=', `shipment-${shipments[1]}:capture`).executeTakeFirst(), 20_000, 'the refused capture');
    expect((await paymentOf(orderId)).captured_minor).toBe(PRICE);

    const rmaId = uniqueId('rma-');
    expect((await post('/returns', { returnId: rmaId, orderId, lines: [{ sku, qty: 2 }], reasonCode: 'defective', resolution: 'refund' })).statusCode).toBe(201);
    for (const [n, warehouse] of warehouses.entries()) {
      expect((await post(`/returns/${rmaId}/receipt`, { parcelId: `P${n}`, warehouse, lines: [{ sku, qty: 1 }] }, 'system')).statusCode).toBe(200);
      expect((await post(`/returns/${rmaId}/inspection`, { inspectionId: `I${n}`, lines: [{ sku, qty: 1, condition: 'as_new' }] })).statusCode).toBe(200);
    }
    await eventually(async () => {
      const r = (await stack.app.inject({ method: 'GET', url: `/returns/${rmaId}`, headers: authAs('viewer') })).json();
      return r.status === 'refunded' ? r : undefined;
    }, 30_000, 'the refund');
    const payment = await paymentOf(orderId);
    expect(payment).toMatchObject({ captured_minor: PRICE, refunded_minor: PRICE });
    const refunds = await stack.db.selectFrom('payment_gateway_refunds').selectAll().where('reference', '=', rmaId).execute();
    expect(refunds.map((r) => r.amount_minor)).toEqual([PRICE]);
    const [refund] = await entries(orderId, 'return.refunded');
    expect(sumOf([refund!], '1010.local', 'creditMinor')).toBe(PRICE);
    expect(sumOf([refund!], '1100', 'creditMinor')).toBe(PRICE);
    expect(sumOf([refund!], '4300', 'debitMinor')).toBe(2 * PRICE);

    // The database holds the promise whatever the code says.
    await expect(sql`update order_payments set refunded_minor = captured_minor + 1 where order_id = ${orderId}`.execute(stack.db)).rejects.toThrow(/order_payments_refunds_within_captures/);

    // A wholesale order on terms: nothing captured, the refund reverses the receivable.
    const terms = await stockedApart(1);
    const termsOrder = await placePaid(terms.sku, 1, { kind: 'terms', dueDate: '2027-01-31' }, { channel: 'wholesale' });
    const [termsShipment] = [...(await shipmentsOf(termsOrder, 1)).values()];
    await ship(termsShipment!, 250);
    await waitForOrder(termsOrder, 'shipped');
    const termsRma = uniqueId('rma-');
    expect((await post('/returns', { returnId: termsRma, orderId: termsOrder, lines: [{ sku: terms.sku, qty: 1 }], reasonCode: 'defective', resolution: 'refund' })).statusCode).toBe(201);
    expect((await post(`/returns/${termsRma}/receipt`, { parcelId: 'P1', warehouse: terms.warehouses[0], lines: [{ sku: terms.sku, qty: 1 }] }, 'system')).statusCode).toBe(200);
    expect((await post(`/returns/${termsRma}/inspection`, { inspectionId: 'I1', lines: [{ sku: terms.sku, qty: 1, condition: 'as_new' }] })).statusCode).toBe(200);
    await eventually(async () => {
      const r = (await stack.app.inject({ method: 'GET', url: `/returns/${termsRma}`, headers: authAs('viewer') })).json();
      return r.status === 'refunded' ? r : undefined;
    }, 30_000, 'the terms refund');
    const [termsRefund] = await entries(termsOrder, 'return.refunded');
    expect(sumOf([termsRefund!], '1100', 'creditMinor')).toBe(PRICE);
    expect(termsRefund!.lines.some((l) => l.account === '1000' || l.account.startsWith('1010'))).toBe(false);
    expect(await stack.db.selectFrom('payment_gateway_refunds').selectAll().where('reference', '=', termsRma).execute()).toEqual([]);
  });
});
