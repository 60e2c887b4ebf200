import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { journalEntries } from '../../db/journal.js';
import { loadConfig } from '../../runtime/config.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { COST, orderDriver, PRICE } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const defaults = loadConfig({}).policies;
const APPROVAL_LIMIT = 20_000;
const stack = useTestStack({ policies: { ...defaults, returns: { ...defaults.returns, refundApprovalLimitMinor: APPROVAL_LIMIT } } });
const { placeOrder, orderView, shipmentsOf, ship, waitForOrder } = orderDriver(stack);

type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: object, role: Role = 'ops') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const requestReturn = (payload: object, role: Role = 'ops') => post('/returns', payload, role);
const receive = (rmaId: string, parcelId: string, warehouse: string, lines: { sku: string; qty: number }[]) =>
  post(`/returns/${rmaId}/receipt`, { parcelId, warehouse, lines }, 'system');
const inspect = (rmaId: string, inspectionId: string, lines: object[]) => post(`/returns/${rmaId}/inspection`, { inspectionId, lines }, 'ops');
const returnOf = async (rmaId: string) => (await stack.app.inject({ method: 'GET', url: `/returns/${rmaId}`, headers: authAs('viewer') })).json();
const waitForReturn = (rmaId: string, status: string) =>
  eventually(async () => {
    const r = await returnOf(rmaId);
    return r.status === status && r.process?.status === status ? r : undefined;
  }, 30_000, `return ${rmaId} to be ${status}`);
/** Journal lines of an entry as account → signed amount (debit +, credit −). */
const amounts = (e: { lines: { account: string; debitMinor: number; creditMinor: number }[] }) =>
  Object.fromEntries(e.lines.map((l) => [l.account, l.debitMinor || -l.creditMinor]));
const returnEntries = async (orderId: string, eventType: string) =>
  (await journalEntries(stack.db, { reference: orderId, limit: 50 })).filter((e) => e.eventType === eventType).reverse();
const gatewayRefunds = (rmaId: string) => stack.db.selectFrom('payment_gateway_refunds').selectAll().where('reference', '=', rmaId).execute();

/**
 * `RECORD_HISTORIES=1` saves the finished processes' histories for the replay test
 * (tests/workflow/histories), which replays every file there against the current code.
 */
async function recordHistory(name: string, workflowId: string) {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const folder = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflow', 'histories');
  fs.writeFileSync(path.join(folder, `${name}.json`), JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1));
}

/** An order of `qty` units shipped: split over two warehouses when `split` (near has `split`, far the rest). */
async function shippedOrder(qty: number, options: { split?: number; priceMinor?: number; supplier?: boolean } = {}) {
  const price = options.priceMinor ?? PRICE;
  const sku = await addItem(stack.db, undefined, { price_minor: price, average_cost_minor: COST });
  const near = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
  const far = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
  if (options.split) {
    await stock(stack.db, sku, near, options.split, COST);
    await stock(stack.db, sku, far, qty - options.split, COST);
  } else {
    await stock(stack.db, sku, near, qty, COST);
  }
  if (options.supplier) {
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 7 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: COST }).execute();
  }
  const orderId = await placeOrder(sku, qty, { lines: [{ sku, qty, unitPriceMinor: price, discountMinor: 300, taxMinor: 600 }] });
  const shipments = await shipmentsOf(orderId, options.split ? 2 : 1);
  for (const shipmentId of shipments.values()) await ship(shipmentId, 400);
  await waitForOrder(orderId, 'shipped');
  return { sku, near, far, orderId };
}

describe('return to refund', () => {
  it('a partial return of a split-shipped order in two parcels: every disposition, refund to the minor unit, stock and books', async () => {
    const { sku, near, far, orderId } = await shippedOrder(5, { split: 3, supplier: true });
    const rmaId = uniqueId('rma-');
    const created = await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 4 }], reasonCode: 'defective', resolution: 'refund' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ returnId: rmaId, workflowId: `rma-${rmaId}`, status: 'authorized', created: true, lines: [{ lineNo: 1, sku, authorized: 4 }] });

    // First parcel: 2 units at the near warehouse; 2 still expected.
    const first = await receive(rmaId, 'P1', near, [{ sku, qty: 2 }]);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ status: 'receiving', lines: [{ received: 2 }] });
    expect(await balance(stack.db, sku, near, 'return_pending')).toBe(2);
    // A repeat of the parcel changes nothing; the same id with other content is refused.
    expect((await receive(rmaId, 'P1', near, [{ sku, qty: 2 }])).json().lines[0].received).toBe(2);
    expect((await receive(rmaId, 'P1', near, [{ sku, qty: 1 }])).statusCode).toBe(409);
    // More than expected is refused and moves nothing.
    const tooMany = await receive(rmaId, 'P2', far, [{ sku, qty: 3 }]);
    expect(tooMany.statusCode).toBe(409);
    expect(tooMany.json().error.code).toBe('unexpected_units');
    expect(await balance(stack.db, sku, far, 'return_pending')).toBe(0);

    // The near units can be inspected while the second parcel is on its way.
    const nearInspection = await inspect(rmaId, 'I1', [
      { sku, qty: 1, condition: 'as_new' },
      { sku, qty: 1, condition: 'opened' },
    ]);
    expect(nearInspection.statusCode, nearInspection.body).toBe(200);
    expect(nearInspection.json().lines[0]).toMatchObject({ inspected: 2, restocked: 1, refurbished: 1 });

    expect((await receive(rmaId, 'P2', far, [{ sku, qty: 2 }])).json()).toMatchObject({ status: 'inspecting', lines: [{ received: 4 }] });
    // Only what waits at that warehouse can be inspected there.
    expect((await inspect(rmaId, 'I2', [{ sku, qty: 3, condition: 'damaged' }])).statusCode).toBe(409);
    const farInspection = await inspect(rmaId, 'I2', [
      { sku, qty: 1, condition: 'damaged' },
      { sku, qty: 1, condition: 'defective' },
    ]);
    expect(farInspection.statusCode, farInspection.body).toBe(200);

    const done = await waitForReturn(rmaId, 'refunded');
    // 4 of 5 units: discount floor(300×4/5) = 240, tax 480, freight (defective: refunded) floor(999×4/5) = 799.
    expect(done.refund).toMatchObject({ merchandiseMinor: 8_000, discountMinor: 240, taxMinor: 480, freightMinor: 799, restockingFeeMinor: 0, totalMinor: 9_039 });
    expect(done.refundedMinor).toBe(9_039);
    expect(done.lines[0]).toMatchObject({ authorized: 4, received: 4, inspected: 4, restocked: 1, refurbished: 1, damaged: 1, vendorReturned: 1, refunded: 4 });
    expect(done.inspections.map((i: { disposition: string; ruleDisposition: string }) => i.disposition)).toEqual(['restock', 'refurbish', 'damaged', 'vendor_return']);

    // Stock: near +1 available and 1 in quarantine; far 2 damaged (one owed to the supplier); nothing left pending.
    expect(await balance(stack.db, sku, near, 'available')).toBe(1);
    expect(await balance(stack.db, sku, near, 'quarantine')).toBe(1);
    expect(await balance(stack.db, sku, far, 'damaged')).toBe(2);
    expect(await balance(stack.db, sku, near, 'return_pending')).toBe(0);
    expect(await balance(stack.db, sku, far, 'return_pending')).toBe(0);

    // Books: each parcel brings its units back at the original cost, the damaged unit is written off, one refund.
    expect((await returnEntries(orderId, 'return.received')).map(amounts)).toEqual([
      { '1300': 2 * COST, '5000': -2 * COST },
      { '1300': 2 * COST, '5000': -2 * COST },
    ]);
    expect((await returnEntries(orderId, 'return.written_off')).map(amounts)).toEqual([{ '5200': COST, '1300': -COST }]);
    const refunds = await returnEntries(orderId, 'return.refunded');
    expect(refunds.map(amounts)).toEqual([{ '4300': 8_000, '4200': -240, '2200': 480, '4100': 799, '1000': -9_039 }]);
    const [gateway] = await gatewayRefunds(rmaId);
    expect(gateway).toMatchObject({ amount_minor: 9_039, idempotency_key: `rma-${rmaId}:refund` });
    expect(done.gatewayRefundId).toBe(gateway!.refund_id);

    // The defective unit goes back to the supplier by the vendor-return path.
    const [vendorReturn] = done.vendorReturns;
    expect(vendorReturn).toMatchObject({ sku, qty: 1, status: 'open' });
    const shipped = await post(`/vendor-returns/${vendorReturn.vendorReturnId}/ship`, { carrierReference: 'RTV-1' });
    expect(shipped.statusCode, shipped.body).toBe(200);
    expect(shipped.json()).toMatchObject({ returnId: rmaId, poId: null, status: 'shipped', valueMinor: COST });
    expect(await balance(stack.db, sku, far, 'damaged')).toBe(1);

    // The refurbished unit comes back to the shelf later; once only.
    const refurbished = await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F1', lines: [{ sku, qty: 1, outcome: 'restock' }] });
    expect(refurbished.statusCode, refurbished.body).toBe(200);
    expect(refurbished.json()).toMatchObject({ restockedMinor: COST, replayed: false });
    expect((await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F1', lines: [{ sku, qty: 1, outcome: 'restock' }] })).json().replayed).toBe(true);
    expect((await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F2', lines: [{ sku, qty: 1, outcome: 'restock' }] })).statusCode).toBe(409);
    expect(await balance(stack.db, sku, near, 'available')).toBe(2);
    expect(await balance(stack.db, sku, near, 'quarantine')).toBe(0);

    // The order shows what came back and what was refunded.
    const order = await orderView(orderId);
    expect(order.returns).toMatchObject({ returnIds: [rmaId], returnedLines: [{ lineNo: 1, authorized: 4, returned: 4 }], refundedMinor: 9_039, creditedMinor: 0 });

    // The last unit: only 1 is left to return, and it takes what is left of each share.
    expect((await requestReturn({ orderId, lines: [{ sku, qty: 2 }], reasonCode: 'defective' })).statusCode).toBe(409);
    const last = uniqueId('rma-');
    expect((await requestReturn({ returnId: last, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'damaged_in_transit' })).statusCode).toBe(201);
    await receive(last, 'P1', near, [{ sku, qty: 1 }]);
    await inspect(last, 'I1', [{ sku, qty: 1, condition: 'as_new' }]);
    const lastDone = await waitForReturn(last, 'refunded');
    // 2000 − (300 − 240) + (600 − 480) + (999 − 799): the order's returns add up to what was charged.
    expect(lastDone.refund).toMatchObject({ discountMinor: 60, taxMinor: 120, freightMinor: 200, totalMinor: 2_260 });
    expect(9_039 + 2_260).toBe(5 * PRICE - 300 + 600 + 999);
    // Every unit back: the returns reverse, account by account, what the two shipments posted.
    const total = async (eventType: string, account: string, side: 'debitMinor' | 'creditMinor') =>
      (await returnEntries(orderId, eventType)).flatMap((e) => e.lines).filter((l) => l.account === account).reduce((n, l) => n + l[side], 0);
    expect(await returnEntries(orderId, 'shipment.confirmed')).toHaveLength(2);
    expect(await total('return.refunded', '1000', 'creditMinor')).toBe(await total('shipment.confirmed', '1100', 'debitMinor'));
    expect(await total('return.refunded', '4300', 'debitMinor')).toBe(await total('shipment.confirmed', '4000', 'creditMinor'));
    expect(await total('return.refunded', '4200', 'creditMinor')).toBe(await total('shipment.confirmed', '4200', 'debitMinor'));
    expect(await total('return.refunded', '2200', 'debitMinor')).toBe(await total('shipment.confirmed', '2200', 'creditMinor'));
    expect(await total('return.refunded', '4100', 'debitMinor')).toBe(await total('shipment.confirmed', '4100', 'creditMinor'));
    expect(await total('return.received', '5000', 'creditMinor')).toBe(await total('shipment.confirmed', '5000', 'debitMinor'));
    await recordHistory('return-two-parcels-every-disposition-refunded', `rma-${rmaId}`);
  });

  it('refuses what cannot be returned, says why and writes nothing; a second RMA cannot take what the first covers', async () => {
    const { sku, orderId } = await shippedOrder(2);
    const other = await addItem(stack.db);
    const refused = async (payload: object, status: number, code: string) => {
      const returnId = uniqueId('rma-');
      const res = await requestReturn({ returnId, ...payload });
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(await stack.db.selectFrom('returns').select('id').where('id', '=', returnId).executeTakeFirst()).toBeUndefined();
      await expect(stack.client.workflow.getHandle(`rma-${returnId}`).describe()).rejects.toThrow();
      return res.json().error;
    };
    await refused({ orderId, lines: [{ sku: other, qty: 1 }], reasonCode: 'defective' }, 422, 'sku_not_on_order');
    await refused({ orderId, lines: [{ sku, qty: 1 }], reasonCode: 'bored' }, 400, 'invalid_request');
    await refused({ orderId: 'no-such-order', lines: [{ sku, qty: 1 }], reasonCode: 'defective' }, 422, 'unknown_order');
    await refused({ orderId, lines: [{ sku, qty: 3 }], reasonCode: 'defective' }, 409, 'not_returnable');
    await refused({ orderId, lines: [{ sku, qty: 1, replacementSku: other }], reasonCode: 'defective', resolution: 'refund' }, 422, 'replacement_needs_exchange');
    expect((await requestReturn({ orderId, lines: [{ sku, qty: 1 }], reasonCode: 'defective' }, 'viewer')).statusCode).toBe(403);

    const first = uniqueId('rma-');
    const body = { returnId: first, orderId, lines: [{ sku, qty: 2 }], reasonCode: 'changed_mind' };
    expect((await requestReturn(body)).statusCode).toBe(201);
    const repeat = await requestReturn(body, 'system');
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().created).toBe(false);
    expect((await requestReturn({ ...body, reasonCode: 'defective' })).statusCode).toBe(409);
    const covered = await refused({ orderId, lines: [{ sku, qty: 1 }], reasonCode: 'defective' }, 409, 'not_returnable');
    expect(covered.message).toContain('already covered');

    // A fresh order, two requests for the same units at once: exactly one wins.
    const race = await shippedOrder(2);
    const ids = [uniqueId('rma-'), uniqueId('rma-')];
    const answers = await Promise.all(ids.map((returnId) => requestReturn({ returnId, orderId: race.orderId, lines: [{ sku: race.sku, qty: 2 }], reasonCode: 'changed_mind' })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409]);
    expect(await stack.db.selectFrom('returns').select('id').where('order_id', '=', race.orderId).execute()).toHaveLength(1);

    // The window (30 days for dtc) runs per shipment: units that left 40 days ago are out of it.
    const late = await shippedOrder(3, { split: 2 });
    await stack.db
      .updateTable('shipments')
      .set({ shipped_at: new Date(Date.now() - 40 * 86_400_000) })
      .where('order_id', '=', late.orderId)
      .where('warehouse_code', '=', late.near)
      .execute();
    const outside = await refused({ orderId: late.orderId, lines: [{ sku: late.sku, qty: 2 }], reasonCode: 'changed_mind' }, 409, 'not_returnable');
    expect(outside.message).toContain('2 requested, 1 returnable');
    expect((await requestReturn({ orderId: late.orderId, lines: [{ sku: late.sku, qty: 1 }], reasonCode: 'changed_mind' })).statusCode).toBe(201);
    await stack.db.updateTable('shipments').set({ shipped_at: new Date(Date.now() - 40 * 86_400_000) }).where('order_id', '=', late.orderId).execute();
    const closedWindow = await refused({ orderId: late.orderId, lines: [{ sku: late.sku, qty: 1 }], reasonCode: 'changed_mind' }, 409, 'not_returnable');
    expect(closedWindow.message).toContain('the return window has closed');

    // An order not yet shipped has nothing to return.
    const wh = await addWarehouse(stack.db);
    const pendingSku = await addItem(stack.db, undefined, { price_minor: PRICE });
    await stock(stack.db, pendingSku, wh, 1);
    const pending = await placeOrder(pendingSku, 1);
    await shipmentsOf(pending, 1);
    const notShipped = await refused({ orderId: pending, lines: [{ sku: pendingSku, qty: 1 }], reasonCode: 'defective' }, 409, 'not_returnable');
    expect(notShipped.message).toContain('nothing of it has shipped');
  });

  it('a refund above the approval limit waits for finance in the task queue; approve pays, reject pays nothing', async () => {
    const expensive = 20_000;
    const a = await shippedOrder(1, { priceMinor: expensive });
    const rmaId = uniqueId('rma-');
    expect((await requestReturn({ returnId: rmaId, orderId: a.orderId, lines: [{ sku: a.sku, qty: 1 }], reasonCode: 'not_as_described' })).statusCode).toBe(201);
    expect((await post(`/returns/${rmaId}/refund-approval`, { decision: 'approve', reason: 'too early' }, 'finance')).statusCode).toBe(409);
    await receive(rmaId, 'P1', a.near, [{ sku: a.sku, qty: 1 }]);
    await inspect(rmaId, 'I1', [{ sku: a.sku, qty: 1, condition: 'as_new' }]);
    const waiting = await waitForReturn(rmaId, 'awaiting_refund_approval');
    // 20000 − 300 + 600 + 999 (freight back: not as described).
    expect(waiting.refund.totalMinor).toBe(21_299);
    const tasks = (await stack.app.inject({ method: 'GET', url: '/tasks?role=finance&kind=refund_approval', headers: authAs('viewer') })).json().tasks;
    expect(tasks.find((t: { reference: string }) => t.reference === rmaId)).toMatchObject({ role: 'finance', status: 'open', workflowId: `rma-${rmaId}` });
    expect(await gatewayRefunds(rmaId)).toEqual([]);

    expect((await post(`/returns/${rmaId}/refund-approval`, { decision: 'approve', reason: 'ok' }, 'ops')).statusCode).toBe(403);
    expect((await post(`/returns/${rmaId}/refund-approval`, { decision: 'approve' }, 'finance')).statusCode).toBe(400);
    const approved = await post(`/returns/${rmaId}/refund-approval`, { decision: 'approve', reason: 'photos confirm the listing was wrong' }, 'finance');
    expect(approved.statusCode, approved.body).toBe(200);
    const done = await waitForReturn(rmaId, 'refunded');
    expect(done.approval).toMatchObject({ limitMinor: APPROVAL_LIMIT, decision: { decision: 'approve', actor: expect.stringContaining('finance') } });
    expect((await gatewayRefunds(rmaId)).map((r) => r.amount_minor)).toEqual([21_299]);
    const closed = await stack.db.selectFrom('tasks').selectAll().where('id', '=', `rma-${rmaId}:refund-approval`).executeTakeFirstOrThrow();
    expect(closed).toMatchObject({ status: 'done', outcome: 'approve' });
    expect((await post(`/returns/${rmaId}/refund-approval`, { decision: 'approve', reason: 'again' }, 'finance')).statusCode).toBe(409);

    const b = await shippedOrder(1, { priceMinor: 25_000 });
    const rejectedId = uniqueId('rma-');
    await requestReturn({ returnId: rejectedId, orderId: b.orderId, lines: [{ sku: b.sku, qty: 1 }], reasonCode: 'changed_mind' });
    await receive(rejectedId, 'P1', b.near, [{ sku: b.sku, qty: 1 }]);
    await inspect(rejectedId, 'I1', [{ sku: b.sku, qty: 1, condition: 'damaged', disposition: 'restock', overrideReason: 'scuff only on the box' }]);
    const waitingB = await waitForReturn(rejectedId, 'awaiting_refund_approval');
    expect(waitingB.inspections[0]).toMatchObject({ disposition: 'restock', ruleDisposition: 'damaged', overrideReason: 'scuff only on the box' });
    // Changed mind: 25000 − 300 + 600 − floor(24700 × 10%) = 22830, no freight back.
    expect(waitingB.refund).toMatchObject({ restockingFeeMinor: 2_470, freightMinor: 0, totalMinor: 22_830 });
    const rejected = await post(`/returns/${rejectedId}/refund-approval`, { decision: 'reject', reason: 'outside policy: worn' }, 'finance');
    expect(rejected.statusCode).toBe(200);
    await waitForReturn(rejectedId, 'rejected');
    expect(await gatewayRefunds(rejectedId)).toEqual([]);
    expect(await returnEntries(b.orderId, 'return.refunded')).toEqual([]);
    await recordHistory('return-approval-approved-refunded', `rma-${rmaId}`);
  });

  it('the gateway failing twice (once after recording the refund) then succeeding refunds exactly once', async () => {
    const { sku, near, orderId } = await shippedOrder(1);
    const rmaId = uniqueId('rma-');
    await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'wrong_item' });
    await stack.db
      .insertInto('payment_gateway_faults')
      .values([
        { idempotency_key: `rma-${rmaId}:refund`, kind: 'lost_response', remaining: 1 },
        { idempotency_key: `rma-${rmaId}:refund`, kind: 'unavailable', remaining: 1 },
      ])
      .execute();
    await receive(rmaId, 'P1', near, [{ sku, qty: 1 }]);
    await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'as_new' }]);
    const done = await waitForReturn(rmaId, 'refunded');
    const faults = await stack.db.selectFrom('payment_gateway_faults').selectAll().where('idempotency_key', '=', `rma-${rmaId}:refund`).orderBy('kind').execute();
    expect(faults.map((f) => [f.kind, f.hits, f.remaining])).toEqual([
      ['lost_response', 1, 0],
      ['unavailable', 1, 0],
    ]);
    const refunds = await gatewayRefunds(rmaId);
    // 2000 − 300 + 600 + 999 (wrong item: freight back).
    expect(refunds.map((r) => r.amount_minor)).toEqual([3_299]);
    expect(done.gatewayRefundId).toBe(refunds[0]!.refund_id);
    expect(await returnEntries(orderId, 'return.refunded')).toHaveLength(1);
    const history = await stack.client.workflow.getHandle(`rma-${rmaId}`).fetchHistory();
    // The activity's third attempt succeeded (its started event records the attempt that completed).
    expect(history.events!.some((e) => e.activityTaskStartedEventAttributes?.attempt === 3)).toBe(true);
  });

  it('an exchange ships a replacement through order release and moves no money', async () => {
    const { sku, near, orderId } = await shippedOrder(1);
    const rmaId = uniqueId('rma-');
    const created = await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'wrong_size', resolution: 'exchange' });
    expect(created.statusCode, created.body).toBe(201);
    await receive(rmaId, 'P1', near, [{ sku, qty: 1 }]);
    await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'as_new' }]);
    const replacing = await waitForReturn(rmaId, 'replacing');
    const replacementId = `${rmaId}-r1`;
    expect(replacing.replacementOrderId).toBe(replacementId);
    // The returned unit went back on the shelf; the replacement takes it.
    const [shipmentId] = [...(await shipmentsOf(replacementId, 1)).values()];
    await ship(shipmentId!, 350);
    await waitForOrder(replacementId, 'shipped');
    const done = await waitForReturn(rmaId, 'exchanged');
    // Credit 2000 − 300 + 600 = 2300, no fee or freight on an exchange; the replacement is priced the same.
    expect(done.refund).toMatchObject({ totalMinor: 2_300, restockingFeeMinor: 0, freightMinor: 0 });
    expect(done.process.replacement).toMatchObject({ orderId: replacementId, workflowId: `order-${replacementId}`, status: 'shipped', receivableMinor: 2_300 });
    expect(done).toMatchObject({ refundedMinor: 0, creditedMinor: 2_300 });
    expect(await gatewayRefunds(rmaId)).toEqual([]);
    expect((await returnEntries(orderId, 'return.credited')).map(amounts)).toEqual([{ '4300': 2_000, '4200': -300, '2200': 600, '1100': -2_300 }]);
    const replacement = await orderView(replacementId);
    expect(replacement.record).toMatchObject({ status: 'shipped', customerId: expect.any(String), freightMinor: 0, lines: [{ sku, qty: 1, unitPriceMinor: PRICE, discountMinor: 300, taxMinor: 600 }] });
    expect((await orderView(orderId)).returns).toMatchObject({ refundedMinor: 0, creditedMinor: 2_300 });
    await recordHistory('return-exchange-replacement-shipped', `rma-${rmaId}`);
  });

  it('a refund the gateway refuses closes the return with nothing paid or posted, and an exception for finance', async () => {
    const { sku, near, orderId } = await shippedOrder(1);
    const rmaId = uniqueId('rma-');
    await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'defective' });
    await stack.db.insertInto('payment_gateway_faults').values({ idempotency_key: `rma-${rmaId}:refund`, kind: 'declined', remaining: 1 }).execute();
    await receive(rmaId, 'P1', near, [{ sku, qty: 1 }]);
    await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'as_new' }]);
    const done = await waitForReturn(rmaId, 'closed');
    expect(done.statusReason).toContain('refused by the payment gateway');
    expect(await gatewayRefunds(rmaId)).toEqual([]);
    expect(await returnEntries(orderId, 'return.refunded')).toEqual([]);
    const exceptions = (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=refund_refused', headers: authAs('viewer') })).json().exceptions;
    expect(exceptions.find((e: { reference: string }) => e.reference === rmaId)).toMatchObject({ ownerRole: 'finance' });
  });

  it('an exchange whose replacement cannot ship pays the credit back as money', async () => {
    const { sku, near, orderId } = await shippedOrder(1);
    const rmaId = uniqueId('rma-');
    await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'defective', resolution: 'exchange' });
    await receive(rmaId, 'P1', near, [{ sku, qty: 1 }]);
    // Written off: no unit on the shelf for the replacement, which waits on backorder.
    await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'damaged' }]);
    const replacementId = `${rmaId}-r1`;
    await waitForOrder(replacementId, 'backordered');
    const cancelled = await post(`/orders/${replacementId}/cancel`, { reason: 'customer prefers the money' });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    const done = await waitForReturn(rmaId, 'refunded');
    // An exchange credit: no freight back even for a defect (the replacement would have shipped free).
    expect(done).toMatchObject({ refundedMinor: 2_300, creditedMinor: 0 });
    expect(done.process.replacement).toMatchObject({ status: 'cancelled', receivableMinor: 0 });
    expect((await gatewayRefunds(rmaId)).map((r) => r.amount_minor)).toEqual([2_300]);
    expect((await returnEntries(orderId, 'return.credited')).map(amounts)).toEqual([{ '4300': 2_000, '4200': -300, '2200': 600, '1000': -2_300 }]);
  });

  it('an exchange for a cheaper sku pays back the difference', async () => {
    const { sku, near, orderId } = await shippedOrder(1);
    const cheaper = await addItem(stack.db, undefined, { price_minor: 1_500, average_cost_minor: 600 });
    await stock(stack.db, cheaper, near, 3, 600);
    const rmaId = uniqueId('rma-');
    const created = await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 1, replacementSku: cheaper }], reasonCode: 'wrong_size', resolution: 'exchange' });
    expect(created.statusCode, created.body).toBe(201);
    await receive(rmaId, 'P1', near, [{ sku, qty: 1 }]);
    await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'as_new' }]);
    const replacementId = `${rmaId}-r1`;
    const [shipmentId] = [...(await shipmentsOf(replacementId, 1)).values()];
    await ship(shipmentId!, 350);
    const done = await waitForReturn(rmaId, 'exchanged');
    // Replacement: 1500 at list price, taxed at the returned unit's rate: round(600 × 1500 / 1700) = 529.
    expect((await orderView(replacementId)).record.lines).toMatchObject([{ sku: cheaper, qty: 1, unitPriceMinor: 1_500, discountMinor: 0, taxMinor: 529 }]);
    // Credit 2300: 2029 settles the replacement, 271 goes back through the gateway.
    expect(done).toMatchObject({ creditedMinor: 2_029, refundedMinor: 271 });
    expect((await gatewayRefunds(rmaId)).map((r) => r.amount_minor)).toEqual([271]);
    expect((await returnEntries(orderId, 'return.credited')).map(amounts)).toEqual([{ '4300': 2_000, '4200': -300, '2200': 600, '1100': -2_029, '1000': -271 }]);
  });

  it('refurbished units leave quarantine where they are, at two warehouses', async () => {
    const { sku, near, far, orderId } = await shippedOrder(2, { split: 1 });
    const rmaId = uniqueId('rma-');
    await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 2 }], reasonCode: 'defective' });
    expect((await receive(rmaId, 'P1', far, [{ sku, qty: 1 }])).statusCode).toBe(200);
    expect((await receive(rmaId, 'P2', near, [{ sku, qty: 1 }])).statusCode).toBe(200);
    expect((await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'opened', warehouse: far }])).statusCode).toBe(200);
    expect((await inspect(rmaId, 'I2', [{ sku, qty: 1, condition: 'needs_repair', warehouse: near }])).statusCode).toBe(200);
    await waitForReturn(rmaId, 'refunded');
    expect([await balance(stack.db, sku, near, 'quarantine'), await balance(stack.db, sku, far, 'quarantine')]).toEqual([1, 1]);

    const first = await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F1', lines: [{ sku, qty: 1, outcome: 'restock' }] });
    expect(first.statusCode, first.body).toBe(200);
    // The same id for other lines is a conflict, not a server error; nothing moves.
    expect((await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F1', lines: [{ sku, qty: 1, outcome: 'scrap' }] })).statusCode).toBe(409);
    const second = await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F2', lines: [{ sku, qty: 1, outcome: 'scrap' }] });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({ scrappedMinor: COST, restockedMinor: 0 });
    // One unit from each warehouse's quarantine: far first (warehouse order is by code), then near.
    const moved = [...first.json().moved, ...second.json().moved].map((m: { warehouse: string; outcome: string }) => [m.warehouse, m.outcome]);
    expect(moved.map(([w]) => w).sort()).toEqual([near, far].sort());
    expect([await balance(stack.db, sku, near, 'quarantine'), await balance(stack.db, sku, far, 'quarantine')]).toEqual([0, 0]);
    const [restockedAt] = moved.find(([, outcome]) => outcome === 'restock')!;
    const [scrappedAt] = moved.find(([, outcome]) => outcome === 'scrap')!;
    expect(await balance(stack.db, sku, restockedAt!, 'available')).toBe(1);
    expect(await balance(stack.db, sku, scrappedAt!, 'damaged')).toBe(1);
    expect((await post(`/returns/${rmaId}/refurbishment`, { refurbishmentId: 'F3', lines: [{ sku, qty: 1, outcome: 'restock' }] })).statusCode).toBe(409);
  });

  it('units of a shipment of several skus come back at their own original cost', async () => {
    const a = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const b = await addItem(stack.db, undefined, { price_minor: 3_000, average_cost_minor: 1_200 });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, a, wh, 2, COST);
    await stock(stack.db, b, wh, 1, 1_200);
    const orderId = await placeOrder(a, 2, {
      lines: [
        { sku: a, qty: 2, unitPriceMinor: PRICE, discountMinor: 0, taxMinor: 0 },
        { sku: b, qty: 1, unitPriceMinor: 3_000, discountMinor: 0, taxMinor: 0 },
      ],
      freightMinor: 0,
    });
    const [shipmentId] = [...(await shipmentsOf(orderId, 1)).values()];
    await ship(shipmentId!, 300);
    await waitForOrder(orderId, 'shipped');
    const rmaId = uniqueId('rma-');
    await requestReturn({ returnId: rmaId, orderId, lines: [{ sku: a, qty: 1 }, { sku: b, qty: 1 }], reasonCode: 'wrong_item' });
    await receive(rmaId, 'P1', wh, [{ sku: a, qty: 1 }, { sku: b, qty: 1 }]);
    expect((await returnEntries(orderId, 'return.received')).map(amounts)).toEqual([{ '1300': COST + 1_200, '5000': -(COST + 1_200) }]);
    const receipts = (await returnOf(rmaId)).receipts;
    expect(receipts.map((r: { sku: string; costMinor: number }) => [r.sku, r.costMinor])).toEqual([
      [a, COST],
      [b, 1_200],
    ]);
    await inspect(rmaId, 'I1', [
      { sku: a, qty: 1, condition: 'as_new' },
      { sku: b, qty: 1, condition: 'as_new' },
    ]);
    const done = await waitForReturn(rmaId, 'refunded');
    expect(done).toMatchObject({ refundedMinor: PRICE + 3_000, returnedValueMinor: COST + 1_200, restockedValueMinor: COST + 1_200 });
  });

  it('lists returns by order and status; KPIs and the exception list include returns', async () => {
    const { sku, near, orderId } = await shippedOrder(2);
    const rmaId = uniqueId('rma-');
    await requestReturn({ returnId: rmaId, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'changed_mind' });
    await receive(rmaId, 'P1', near, [{ sku, qty: 1 }]);
    const list = (await stack.app.inject({ method: 'GET', url: `/returns?orderId=${orderId}`, headers: authAs('viewer') })).json();
    expect(list.returns).toMatchObject([{ returnId: rmaId, orderId, status: 'inspecting' }]);
    expect((await stack.app.inject({ method: 'GET', url: `/returns?status=inspecting&orderId=${orderId}`, headers: authAs('viewer') })).json().returns).toHaveLength(1);
    expect((await stack.app.inject({ method: 'GET', url: `/returns/nope-${rmaId}`, headers: authAs('viewer') })).statusCode).toBe(404);

    // Received a week ago and still waiting: past the 5-day SLA.
    await stack.db.updateTable('returns').set({ first_received_at: new Date(Date.now() - 7 * 86_400_000) }).where('id', '=', rmaId).execute();
    const exceptions = (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=return_past_sla', headers: authAs('viewer') })).json().exceptions;
    expect(exceptions.find((e: { reference: string }) => e.reference === rmaId)).toMatchObject({ kind: 'return_past_sla', ownerRole: 'ops' });

    const kpis = (await stack.app.inject({ method: 'GET', url: '/kpis', headers: authAs('viewer') })).json().kpis;
    expect(kpis.returnRate.numerator).toBeGreaterThanOrEqual(1);
    expect(kpis.returnRate.denominator).toBeGreaterThanOrEqual(2);
    expect(kpis.returnBacklog.buckets.find((b: { label: string }) => b.label === '7 days or more').returns).toBeGreaterThanOrEqual(1);
    expect(kpis.recoveryYield.numerator).toBeLessThanOrEqual(kpis.recoveryYield.denominator);

    // Settled: it leaves the exception list, and counts in the refund cycle time (7 days after receipt).
    await inspect(rmaId, 'I1', [{ sku, qty: 1, condition: 'as_new' }]);
    await waitForReturn(rmaId, 'refunded');
    const settled = (await stack.app.inject({ method: 'GET', url: '/kpis', headers: authAs('viewer') })).json().kpis;
    expect(settled.refundCycleTime.returns).toBe(kpis.refundCycleTime.returns + 1);
    expect(settled.refundCycleTime.p90Hours).toBeGreaterThan(kpis.refundCycleTime.p90Hours ?? 0);
    const after = (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=return_past_sla', headers: authAs('viewer') })).json().exceptions;
    expect(after.find((e: { reference: string }) => e.reference === rmaId)).toBeUndefined();
  });
});
