/**
 * Currencies: rates set by finance (audited), an order in a currency without a rate refused
 * with nothing written, a EUR order booked at its rate with costs in the functional currency,
 * a refund at a newer rate booking the realized exchange difference, and a trial balance that
 * balances in every currency and in total.
 */
import { describe, expect, it } from 'vitest';
import { createLocalPaymentGateway } from '../../activities/payment-gateway.js';
import { createPaymentActivities } from '../../activities/payment.js';
import { journalEntries, trialBalance } from '../../db/journal.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const send = (method: 'POST' | 'PUT', url: string, payload: object, role: Role) => stack.app.inject({ method, url, headers: authAs(role), payload });
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('exchange rates', () => {
  it('are set by finance only, audited with the rate before, and refused when malformed', async () => {
    const first = await send('PUT', '/fx-rates', { rates: [{ date: day(-3), from: 'GBP', rate: '1.25' }] }, 'finance');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ functionalCurrency: 'USD', rates: [{ from: 'GBP', to: 'USD', date: day(-3), rate: '1.25', previous: null }] });
    const again = await send('PUT', '/fx-rates', { rates: [{ date: day(-3), from: 'GBP', to: 'USD', rate: 1.2625 }] }, 'finance');
    expect(again.json().rates[0]).toMatchObject({ rate: '1.2625', previous: '1.25' });
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('action', '=', 'fx_rate.set').orderBy('id').execute();
    expect(audit.at(-1)).toMatchObject({ actor: 'test-finance', subject_type: 'fx_rate', subject_id: 'GBP/USD' });
    expect(audit.at(-1)!.before).toEqual([{ from: 'GBP', date: day(-3), rate: '1.25' }]);

    expect((await send('PUT', '/fx-rates', { rates: [{ date: day(0), from: 'GBP', rate: '1.3' }] }, 'ops')).statusCode).toBe(403);
    for (const [rate, field] of [
      [{ date: day(0), from: 'ABC', rate: '1.3' }, 'from'],
      [{ date: day(0), from: 'GBP', rate: '-1' }, 'rate'],
      [{ date: day(0), from: 'GBP', rate: '0' }, 'rate'],
      [{ date: '2026-13-01', from: 'GBP', rate: '1' }, 'date'],
    ] as const) {
      const res = await send('PUT', '/fx-rates', { rates: [rate] }, 'finance');
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.stringify(res.json().error.details)).toContain(field);
    }
    const notFunctional = await send('PUT', '/fx-rates', { rates: [{ date: day(0), from: 'GBP', to: 'EUR', rate: '1.1' }] }, 'finance');
    expect(notFunctional.statusCode).toBe(422);
    expect(notFunctional.json().error.code).toBe('not_functional_currency');
    // Nothing of the refused requests was kept.
    const kept = (await stack.app.inject({ method: 'GET', url: '/fx-rates?from=GBP', headers: authAs('viewer') })).json();
    expect(kept.rates).toEqual([expect.objectContaining({ from: 'GBP', to: 'USD', date: day(-3), rate: '1.2625', setBy: 'test-finance' })]);
  });
});

describe('orders in other currencies', () => {
  it('an order in a currency with no rate is refused with 422 and nothing is written', async () => {
    const sku = await addItem(stack.db);
    const orderId = uniqueId('ord-');
    const res = await send(
      'POST',
      '/orders',
      { orderId, channel: 'dtc', customerId: uniqueId('c-'), currency: 'CHF', shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: 1_800 }] },
      'system',
    );
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'no_fx_rate', details: [{ in: 'body', path: 'currency' }] });
    expect(res.json().error.message).toContain('no CHF→USD exchange rate');
    expect(await stack.db.selectFrom('orders').select('id').where('id', '=', orderId).executeTakeFirst()).toBeUndefined();
    await expect(stack.client.workflow.getHandle(`order-${orderId}`).describe()).rejects.toThrow();
    // A code that is not ISO 4217 is bad input.
    const bogus = await send('POST', '/orders', { orderId, channel: 'dtc', customerId: 'c', currency: 'ABC', shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: 1 }] }, 'system');
    expect(bogus.statusCode).toBe(400);
  });

  it('a EUR order posts functional amounts at its rate; a refund at a newer rate books the realized difference', async () => {
    expect((await send('PUT', '/fx-rates', { rates: [{ date: day(-2), from: 'EUR', rate: '1.1' }] }, 'finance')).statusCode).toBe(200);
    const sku = await addItem(stack.db, undefined, { price_minor: 2_000, average_cost_minor: COST });
    const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stock(stack.db, sku, warehouse, 2, COST);
    const orderId = uniqueId('ord-');
    // 18.18 EUR × 1.1 = 20.00 USD: within the price tolerance of the list price.
    const placed = await send(
      'POST',
      '/orders',
      {
        orderId,
        channel: 'dtc',
        customerId: uniqueId('c-'),
        currency: 'EUR',
        shipTo: { country: 'US', lat: 40.7, lon: -74 },
        freightMinor: 500,
        lines: [{ sku, qty: 2, unitPriceMinor: 1_818, taxMinor: 200 }],
      },
      'system',
    );
    expect(placed.statusCode, placed.body).toBe(201);
    const shipments = await shipmentsOf(orderId, 1);
    await ship([...shipments.values()][0]!, 400);
    await waitForOrder(orderId, 'shipped');

    const [sale] = (await journalEntries(stack.db, { reference: orderId, limit: 10 })).filter((e) => e.eventType === 'shipment.confirmed');
    const line = (account: string) => sale!.lines.find((l) => l.account === account)!;
    // Receivable 36.36 + 2.00 + 5.00 = 43.36 EUR → 47.70 USD; credits converted cumulatively to the same total.
    expect(line('1100')).toEqual({ account: '1100', currency: 'EUR', amountDebitMinor: 4_336, amountCreditMinor: 0, rate: '1.1', debitMinor: 4_770, creditMinor: 0 });
    expect(line('4000')).toMatchObject({ currency: 'EUR', amountCreditMinor: 3_636, creditMinor: 4_000 });
    expect(line('2200')).toMatchObject({ currency: 'EUR', amountCreditMinor: 200, creditMinor: 220 });
    expect(line('4100')).toMatchObject({ currency: 'EUR', amountCreditMinor: 500, creditMinor: 550 });
    // Costs stay in the functional currency.
    expect(line('5000')).toMatchObject({ currency: 'USD', amountDebitMinor: 2 * COST, debitMinor: 2 * COST, rate: '1' });
    expect(line('5100')).toMatchObject({ currency: 'USD', debitMinor: 400 });

    // The euro rises; the refund pays back 43.36 EUR at 1.2 = 52.03 USD for a sale booked at 47.70.
    expect((await send('PUT', '/fx-rates', { rates: [{ date: day(0), from: 'EUR', rate: '1.2' }] }, 'finance')).statusCode).toBe(200);
    const rmaId = uniqueId('rma-');
    expect((await send('POST', '/returns', { returnId: rmaId, orderId, lines: [{ sku, qty: 2 }], reasonCode: 'defective', resolution: 'refund' }, 'ops')).statusCode).toBe(201);
    expect((await send('POST', `/returns/${rmaId}/receipt`, { parcelId: 'P1', warehouse, lines: [{ sku, qty: 2 }] }, 'system')).statusCode).toBe(200);
    expect((await send('POST', `/returns/${rmaId}/inspection`, { inspectionId: 'I1', lines: [{ sku, qty: 2, condition: 'as_new' }] }, 'ops')).statusCode).toBe(200);
    await eventually(async () => {
      const r = (await stack.app.inject({ method: 'GET', url: `/returns/${rmaId}`, headers: authAs('viewer') })).json();
      return r.status === 'refunded' ? r : undefined;
    }, 30_000, 'the refund');
    const [refund] = (await journalEntries(stack.db, { reference: orderId, limit: 20 })).filter((e) => e.eventType === 'return.refunded');
    const refundLine = (account: string) => refund!.lines.find((l) => l.account === account)!;
    // What reverses the sale at the sale's rate; the cash at today's; the difference a realized loss.
    expect(refundLine('4300')).toMatchObject({ currency: 'EUR', amountDebitMinor: 3_636, debitMinor: 4_000 });
    expect(refundLine('2200')).toMatchObject({ currency: 'EUR', amountDebitMinor: 200, debitMinor: 220 });
    expect(refundLine('4100')).toMatchObject({ currency: 'EUR', amountDebitMinor: 500, debitMinor: 550 });
    expect(refundLine('1000')).toMatchObject({ currency: 'EUR', amountCreditMinor: 4_336, creditMinor: 5_203, rate: '1.2' });
    expect(refundLine('4900')).toEqual({ account: '4900', currency: 'EUR', amountDebitMinor: 0, amountCreditMinor: 0, rate: null, debitMinor: 433, creditMinor: 0 });

    const tb = await trialBalance(stack.db);
    expect(tb.balanced).toBe(true);
    expect(tb.totalDebits).toBe(tb.totalCredits);
    const eur = tb.currencies.find((c) => c.currency === 'EUR')!;
    expect(eur).toMatchObject({ balanced: true });
    expect(eur.totalDebits).toBe(eur.totalCredits);
    expect(tb.currencies.every((c) => c.balanced)).toBe(true);
    // The API answers the same view.
    const api = (await stack.app.inject({ method: 'GET', url: '/trial-balance', headers: authAs('viewer') })).json();
    expect(api).toMatchObject({ functionalCurrency: 'USD', balanced: true });
    expect(api.currencies.map((c: { currency: string }) => c.currency)).toEqual(expect.arrayContaining(['EUR', 'USD']));
  });

  it('a capture at another rate than the sale books the difference; retried after a refusal, it captures once', async () => {
    expect((await send('PUT', '/fx-rates', { rates: [{ date: day(-2), from: 'CAD', rate: '1.5' }] }, 'finance')).statusCode).toBe(200);
    const sku = await addItem(stack.db, undefined, { price_minor: 2_000, average_cost_minor: COST });
    const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stock(stack.db, sku, warehouse, 1, COST);
    const gateway = createLocalPaymentGateway(stack.db);
    const auth = await gateway.authorize({ reference: 'checkout', amountMinor: 1_333, currency: 'CAD', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, uniqueId('auth-'));
    const orderId = uniqueId('ord-');
    const placed = await send(
      'POST',
      '/orders',
      {
        orderId,
        channel: 'dtc',
        customerId: uniqueId('c-'),
        currency: 'CAD',
        shipTo: { country: 'US', lat: 40.7, lon: -74 },
        lines: [{ sku, qty: 1, unitPriceMinor: 1_333 }],
        payment: { kind: 'authorization', gateway: 'local', authorizationId: auth.authorizationId, amountMinor: 1_333, currency: 'CAD', expiresAt: auth.expiresAt },
      },
      'system',
    );
    expect(placed.statusCode, placed.body).toBe(201);
    const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
    // The first capture is refused: the shipment is booked at 1.5 and the receivable stays open.
    await stack.db.insertInto('payment_gateway_faults').values({ idempotency_key: `shipment-${shipmentId}:capture`, kind: 'declined', remaining: 1 }).execute();
    await ship(shipmentId!, 400);
    await waitForOrder(orderId, 'shipped');
    await eventually(() => stack.db.selectFrom('payment_capture_failures').selectAll().where('shipment_id', '=', shipmentId!).executeTakeFirst(), 20_000, 'the refused capture');

    // Taken again once the rate is 1.4: 13.33 CAD comes in at 18.66 USD for a receivable booked at 20.00.
    expect((await send('PUT', '/fx-rates', { rates: [{ date: day(0), from: 'CAD', rate: '1.4' }] }, 'finance')).statusCode).toBe(200);
    const payments = createPaymentActivities({ db: stack.db, paymentGateway: gateway });
    const captured = await payments.capturePayment({ shipmentId: shipmentId!, orderId });
    expect(captured).toMatchObject({ status: 'captured', amountMinor: 1_333, currency: 'CAD' });
    expect(await payments.capturePayment({ shipmentId: shipmentId!, orderId })).toEqual(captured);
    const [capture] = (await journalEntries(stack.db, { reference: orderId, limit: 10 })).filter((e) => e.eventType === 'payment.captured');
    const at = (account: string) => capture!.lines.find((l) => l.account === account)!;
    expect(at('1010.local')).toMatchObject({ currency: 'CAD', amountDebitMinor: 1_333, debitMinor: 1_866, rate: '1.4' });
    expect(at('1100')).toMatchObject({ currency: 'CAD', amountCreditMinor: 1_333, creditMinor: 2_000 });
    expect(at('4900')).toMatchObject({ currency: 'CAD', amountDebitMinor: 0, amountCreditMinor: 0, debitMinor: 134, creditMinor: 0, rate: null });
    const atGateway = await stack.db.selectFrom('payment_gateway_authorizations').select('captured_minor').where('authorization_id', '=', auth.authorizationId).executeTakeFirstOrThrow();
    expect(atGateway.captured_minor).toBe(1_333);
    expect((await trialBalance(stack.db)).balanced).toBe(true);
  });

  it('the database refuses an entry that does not balance in its transaction currency', async () => {
    const { postEntry } = await import('../../db/journal.js');
    const { sql } = await import('kysely');
    await expect(
      stack.db.transaction().execute(async (tx) => {
        const { entryId } = await postEntry(tx, { key: uniqueId('t-'), eventType: 'test', reference: 'x', actor: 'test', lines: [{ account: '1000', debitMinor: 5 }, { account: '3000', creditMinor: 5 }] });
        // Turn one line's currency behind the code's back: functional totals still agree, EUR does not.
        await sql`insert into journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, currency, txn_debit_minor, txn_credit_minor, rate)
          values (${entryId}, 3, '1000', 0, 0, 'EUR', 7, 0, 1)`.execute(tx);
      }),
    ).rejects.toThrow(/does not balance in EUR/);
  });
});
