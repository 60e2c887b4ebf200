/**
 * The exception sweep watches payments: an authorization about to expire before its order has
 * shipped, and a capture no payout has matched after SETTLEMENT_PAYOUT_DAYS, each raised once
 * for finance and cleared when the condition goes (the order cancelled, the payout arrived).
 */
import { describe, expect, it } from 'vitest';
import { createLocalPaymentGateway } from '../../activities/payment-gateway.js';
import { exceptionSweepWorkflowType, type ExceptionSweepInput, type ExceptionSweepReport, type ExceptionSweepWorkflow } from '../../contracts/exception-sweep.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { shipmentsOf, ship, waitForOrder } = orderDriver(stack);
type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: object, role: Role = 'ops') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const PRICE = 1_999;
const HOUR = 3_600_000;

const sweep = (settings: Partial<ExceptionSweepInput> = {}): Promise<ExceptionSweepReport> =>
  stack.client.workflow.execute<ExceptionSweepWorkflow>(exceptionSweepWorkflowType, {
    taskQueue: stack.config.taskQueue,
    workflowId: uniqueId('exception-sweep-test-'),
    args: [{ returnSla: '5d', returnSlaMs: 5 * 86_400_000, ...settings }],
  });
const exceptionOf = (id: string) => stack.db.selectFrom('exceptions').selectAll().where('id', '=', id).executeTakeFirst();

async function placeAuthorized(sku: string, expiresInMs: number) {
  const auth = await createLocalPaymentGateway(stack.db).authorize({ reference: 'checkout', amountMinor: PRICE, currency: 'USD', expiresAt: new Date(Date.now() + expiresInMs).toISOString() }, uniqueId('auth-'));
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
  return { orderId, authorizationId: auth.authorizationId };
}

describe('payment exceptions from the sweep', () => {
  it('raises an authorization expiring within the lead before its order shipped, once, and clears it when the order is cancelled', async () => {
    // Nothing in stock: the order waits (backordered) while its authorization runs out.
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const soon = await placeAuthorized(sku, 6 * HOUR);
    const later = await placeAuthorized(sku, 5 * 24 * HOUR);
    await eventually(async () => ((await stack.db.selectFrom('orders').select('status').where('id', '=', soon.orderId).executeTakeFirst())?.status === 'backordered' ? true : undefined), 20_000, 'backordered');
    const id = `authorization-expiring:${soon.orderId}`;

    // Listed before any sweep, for finance.
    const listed = (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=authorization_expiring', headers: authAs('finance') })).json().exceptions;
    expect(listed.map((e: { id: string }) => e.id)).toContain(id);
    expect(listed.map((e: { id: string }) => e.id)).not.toContain(`authorization-expiring:${later.orderId}`);

    const first = await sweep({ authExpiryLeadMs: 48 * HOUR });
    expect(first.found.authorization_expiring).toBeGreaterThanOrEqual(1);
    expect(await exceptionOf(id)).toMatchObject({ kind: 'authorization_expiring', status: 'open', owner_role: 'finance', reference: soon.orderId });
    expect((await exceptionOf(id))!.details).toMatchObject({ authorizationId: soon.authorizationId, openMinor: PRICE, currency: 'USD' });
    expect(await exceptionOf(`authorization-expiring:${later.orderId}`)).toBeUndefined();
    // A second sweep raises nothing new for it.
    const second = await sweep({ authExpiryLeadMs: 48 * HOUR });
    expect(second.raised).toBe(0);

    // A longer lead (PAYMENT_AUTH_EXPIRY_LEAD) takes the later one in too.
    await sweep({ authExpiryLeadMs: 6 * 24 * HOUR });
    expect(await exceptionOf(`authorization-expiring:${later.orderId}`)).toMatchObject({ status: 'open' });

    // Cancelled, the authorization is voided: the condition has gone.
    for (const order of [soon, later]) {
      const cancelled = await post(`/orders/${order.orderId}/cancel`, { reason: 'out of stock' });
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      await waitForOrder(order.orderId, 'cancelled');
    }
    const after = await sweep({ authExpiryLeadMs: 6 * 24 * HOUR });
    expect(after.cleared).toBeGreaterThanOrEqual(2);
    expect(await exceptionOf(id)).toMatchObject({ status: 'resolved' });
    expect(await exceptionOf(`authorization-expiring:${later.orderId}`)).toMatchObject({ status: 'resolved' });
  });

  it('raises a capture no payout matched after N days, and clears it when its settlement line matches', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const warehouse = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stock(stack.db, sku, warehouse, 1, COST);
    const { orderId } = await placeAuthorized(sku, 24 * HOUR);
    const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
    await ship(shipmentId!, 250);
    await waitForOrder(orderId, 'shipped');
    const capture = await eventually(() => stack.db.selectFrom('payment_captures').selectAll().where('order_id', '=', orderId).executeTakeFirst(), 20_000, 'the capture');
    const id = `capture-not-paid-out:${capture.capture_id}`;

    // Captured just now: not yet due under the default of 7 days.
    await sweep({ settlementPayoutDays: 7 });
    expect(await exceptionOf(id)).toBeUndefined();
    // With no days allowed it is overdue at once.
    const raised = await sweep({ settlementPayoutDays: 0 });
    expect(raised.found.capture_not_paid_out).toBeGreaterThanOrEqual(1);
    expect(await exceptionOf(id)).toMatchObject({ kind: 'capture_not_paid_out', status: 'open', owner_role: 'finance', reference: orderId });
    expect((await exceptionOf(id))!.details).toMatchObject({ captureId: capture.capture_id, amountMinor: PRICE, shipmentId });

    // The payout arrives with the charge: the capture is paid out, its exception clears.
    const payoutId = uniqueId('po_');
    const fee = 88;
    const sent = await post(
      '/settlements',
      {
        gateway: 'local',
        payout: { id: payoutId, amount: PRICE - fee, currency: 'usd', arrival_date: Math.floor(Date.now() / 1000) },
        balance_transactions: [
          { id: uniqueId('txn_'), type: 'charge', amount: PRICE, fee, net: PRICE - fee, currency: 'usd', source: capture.capture_id, reporting_category: 'charge' },
          { id: uniqueId('txn_'), type: 'payout', amount: -(PRICE - fee), fee: 0, net: -(PRICE - fee), currency: 'usd', source: payoutId },
        ],
      },
      'system',
    );
    expect(sent.statusCode, sent.body).toBe(202);
    await eventually(async () => ((await stack.db.selectFrom('settlements').select('status').where('payout_id', '=', payoutId).executeTakeFirst())?.status === 'reconciled' ? true : undefined), 30_000, 'the reconciliation');
    const cleared = await sweep({ settlementPayoutDays: 0 });
    expect(cleared.cleared).toBeGreaterThanOrEqual(1);
    expect(await exceptionOf(id)).toMatchObject({ status: 'resolved' });
  });
});
