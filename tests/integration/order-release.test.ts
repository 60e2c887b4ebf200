import { describe, expect, it } from 'vitest';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

const PRICE = 2_000;

function anOrder(lines: { sku: string; qty: number; unitPriceMinor?: number }[], overrides: Record<string, unknown> = {}) {
  return {
    orderId: uniqueId('ord-'),
    channel: 'dtc',
    // One customer per order keeps the velocity rule out of the way; these orders are below the new-customer threshold.
    customerId: uniqueId('cust-'),
    shipTo: { country: 'US', lat: 40.7, lon: -74.0 },
    lines: lines.map((l) => ({ unitPriceMinor: PRICE, ...l })),
    ...overrides,
  };
}

const post = (body: object) => stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: body });
const getOrder = async (orderId: string) =>
  (await stack.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: authAs('viewer') })).json();
const statusOf = async (orderId: string) => (await getOrder(orderId)).process?.status;
const waitForStatus = (orderId: string, status: string) =>
  eventually(async () => ((await statusOf(orderId)) === status ? true : undefined), 20_000, `order ${orderId} to be ${status}`);

async function activeReserved(orderId: string): Promise<number> {
  const rows = await stack.db.selectFrom('reservations').select(['qty', 'consumed_qty']).where('order_id', '=', orderId).where('status', '=', 'active').execute();
  return rows.reduce((n, r) => n + r.qty - r.consumed_qty, 0);
}

describe('order release', () => {
  it('allocates from the nearest warehouse that fills the whole order and releases it', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const near = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const far = await addWarehouse(stack.db, undefined, { lat: 34.0, lon: -118.2 });
    await stock(stack.db, sku, near, 5);
    await stock(stack.db, sku, far, 50);
    const order = anOrder([{ sku, qty: 3 }]);
    const res = await post(order);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ created: true, orderId: order.orderId });
    expect(['allocating', 'released']).toContain(res.json().status);

    await waitForStatus(order.orderId, 'released');
    const view = await getOrder(order.orderId);
    expect(view.process.lines[0]).toMatchObject({ ordered: 3, allocated: 3, backordered: 0 });
    expect(view.process.lines[0].allocations).toEqual([expect.objectContaining({ warehouse: near, qty: 3 })]);
    expect(view.record).toMatchObject({ status: 'released', lines: [{ allocated: 3, backordered: 0 }] });
    expect(view.process.routing[0].reason).toContain(near);
    expect(await balance(stack.db, sku, near, 'allocated')).toBe(3);
    expect(await balance(stack.db, sku, far, 'allocated')).toBe(0);

    const again = await post(order);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, status: 'released' });
    expect(await balance(stack.db, sku, near, 'allocated')).toBe(3);
  });

  it('splits across warehouses when no single one can fill', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const a = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const b = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
    await stock(stack.db, sku, a, 2);
    await stock(stack.db, sku, b, 2);
    const order = anOrder([{ sku, qty: 3 }]);
    await post(order);
    await waitForStatus(order.orderId, 'released');
    const view = await getOrder(order.orderId);
    expect(view.process.lines[0].allocations.map((x: { warehouse: string; qty: number }) => [x.warehouse, x.qty])).toEqual([
      [a, 2],
      [b, 1],
    ]);
  });

  it('rejects an order with an unknown sku or a wrong price, and says why', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const order = anOrder([
      { sku: 'NO-SUCH-SKU', qty: 1 },
      { sku, qty: 1, unitPriceMinor: 1_000 },
    ]);
    const res = await post(order);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.status).toBe('rejected');
    expect(body.problems.map((p: { problem: string }) => p.problem)).toEqual(['unknown_sku', 'price_mismatch']);
    expect(await activeReserved(order.orderId)).toBe(0);
  });

  it('substitutes where the item master allows it', async () => {
    const substitute = await addItem(stack.db, undefined, { price_minor: PRICE });
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, substitutes: [substitute] });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 1);
    await stock(stack.db, substitute, wh, 5);
    const order = anOrder([{ sku, qty: 3 }]);
    await post(order);
    await waitForStatus(order.orderId, 'released');
    const view = await getOrder(order.orderId);
    expect(view.process.lines[0].allocations.map((x: { sku: string; qty: number }) => [x.sku, x.qty])).toEqual([
      [sku, 1],
      [substitute, 2],
    ]);
  });
});

describe('risk holds', () => {
  it('holds a large order, lists it as a task, and releases it on approval', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: 60_000 });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5);
    const order = anOrder([{ sku, qty: 2, unitPriceMinor: 60_000 }]);
    const res = await post(order);
    expect(res.json()).toMatchObject({ status: 'on_hold', hold: { flags: [{ rule: 'order_value' }] } });
    expect(await activeReserved(order.orderId)).toBe(0);

    const tasks = (await stack.app.inject({ method: 'GET', url: '/tasks?kind=order_hold', headers: authAs('ops') })).json().tasks;
    const task = tasks.find((t: { reference: string }) => t.reference === order.orderId);
    expect(task).toMatchObject({ kind: 'order_hold', role: 'ops', status: 'open', priority: 'normal' });
    expect(task.reason).toContain('order value');
    expect(task.ageSeconds).toBeGreaterThanOrEqual(0);

    const url = `/orders/${order.orderId}/hold-decision`;
    const forbidden = await stack.app.inject({ method: 'POST', url, headers: authAs('viewer'), payload: { decision: 'approve', reason: 'known buyer' } });
    expect(forbidden.statusCode).toBe(403);
    const approved = await stack.app.inject({ method: 'POST', url, headers: authAs('ops'), payload: { decision: 'approve', reason: 'known buyer' } });
    expect(approved.statusCode).toBe(200);
    expect(approved.json().hold.decision).toMatchObject({ decision: 'approve', reason: 'known buyer', actor: 'test-ops' });

    await waitForStatus(order.orderId, 'released');
    expect(await activeReserved(order.orderId)).toBe(2);
    const again = await stack.app.inject({ method: 'POST', url, headers: authAs('ops'), payload: { decision: 'reject', reason: 'second thoughts' } });
    expect(again.statusCode).toBe(409);
    const record = await getOrder(order.orderId);
    expect(record.record.hold.decision).toMatchObject({ decision: 'approve', reason: 'known buyer' });
    const closed = await stack.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(closed).toMatchObject({ status: 'done', outcome: 'approve' });
  });

  it('a rejected hold reserves nothing and ends the order', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5);
    const order = anOrder([{ sku, qty: 1 }], { billingCountry: 'FR' });
    expect((await post(order)).json()).toMatchObject({ status: 'on_hold', hold: { flags: [{ rule: 'country_mismatch' }] } });
    const res = await stack.app.inject({
      method: 'POST',
      url: `/orders/${order.orderId}/hold-decision`,
      headers: authAs('ops'),
      payload: { decision: 'reject', reason: 'card country mismatch confirmed as fraud' },
    });
    expect(res.json().status).toBe('rejected');
    expect(await activeReserved(order.orderId)).toBe(0);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(5);
  });

  it('a hold decision for an order that is not on hold is 409, for no such order 404', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5);
    const order = anOrder([{ sku, qty: 1 }]);
    await post(order);
    const res = await stack.app.inject({ method: 'POST', url: `/orders/${order.orderId}/hold-decision`, headers: authAs('ops'), payload: { decision: 'approve', reason: 'looks fine' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('not_on_hold');
    const none = await stack.app.inject({ method: 'POST', url: `/orders/${uniqueId('nope-')}/hold-decision`, headers: authAs('ops'), payload: { decision: 'approve', reason: 'looks fine' } });
    expect(none.statusCode).toBe(404);
  });
});

describe('cancel', () => {
  it('two different orders sent at once under one id: one starts, the other is 409', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 10);
    const a = anOrder([{ sku, qty: 2 }]);
    const b = { ...a, lines: [{ sku, qty: 5, unitPriceMinor: PRICE }] };
    const answers = await Promise.all([post(a), post(b)]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const winner = answers.find((r) => r.statusCode === 201)!.json();
    await waitForStatus(a.orderId, 'released');
    expect((await getOrder(a.orderId)).process.lines[0].ordered).toBe(winner.lines[0].ordered);
  });

  it('the same order sent three times at once: one process, one 201, the others 200 created false', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 10);
    const a = anOrder([{ sku, qty: 2 }]);
    const answers = await Promise.all([post(a), post(a), post(a)]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 200, 201]);
    expect(answers.map((r) => r.json().created).sort()).toEqual([false, false, true]);
    await waitForStatus(a.orderId, 'released');
    expect(await stack.db.selectFrom('reservations').select('id').where('order_id', '=', a.orderId).execute()).toHaveLength(1);
  });

  it('a hold approval and a cancel at once: one of them decides, and the task is closed', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: 60_000 });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5);
    const order = anOrder([{ sku, qty: 2, unitPriceMinor: 60_000 }]);
    expect((await post(order)).json().status).toBe('on_hold');
    const [approve, cancel] = await Promise.all([
      stack.app.inject({ method: 'POST', url: `/orders/${order.orderId}/hold-decision`, headers: authAs('ops'), payload: { decision: 'approve', reason: 'fine' } }),
      stack.app.inject({ method: 'POST', url: `/orders/${order.orderId}/cancel`, headers: authAs('ops'), payload: { reason: 'customer cancelled' } }),
    ]);
    expect([approve.statusCode, cancel.statusCode]).toContain(200);
    const final = await eventually(async () => {
      const status = await statusOf(order.orderId);
      return status === 'cancelled' || status === 'released' ? status : undefined;
    });
    const task = await stack.db.selectFrom('tasks').selectAll().where('reference', '=', order.orderId).executeTakeFirstOrThrow();
    await eventually(async () => ((await stack.db.selectFrom('tasks').select('status').where('id', '=', task.id).executeTakeFirst())?.status !== 'open' ? true : undefined));
    if (final === 'cancelled') expect(await activeReserved(order.orderId)).toBe(0);
  });

  it('during a hold: the task closes and nothing was reserved', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5);
    // A first order from a new customer over the smaller threshold is held.
    const held = anOrder([{ sku, qty: 2, unitPriceMinor: PRICE }], { customerId: uniqueId('new-'), freightMinor: 30_000 });
    expect((await post(held)).json().status).toBe('on_hold');
    const res = await stack.app.inject({ method: 'POST', url: `/orders/${held.orderId}/cancel`, headers: authAs('ops'), payload: { reason: 'customer called to cancel' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'cancelled', cancellation: { reason: 'customer called to cancel' } });
    const task = await stack.db.selectFrom('tasks').selectAll().where('reference', '=', held.orderId).executeTakeFirstOrThrow();
    expect(task.status).toBe('cancelled');
    expect(await activeReserved(held.orderId)).toBe(0);
  });

  it('after allocation: every reservation goes back, and a second cancel is 409', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const other = await addItem(stack.db, undefined, { price_minor: PRICE });
    const a = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const b = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
    await stock(stack.db, sku, a, 2);
    await stock(stack.db, sku, b, 5);
    await stock(stack.db, other, b, 5);
    const order = anOrder([
      { sku, qty: 4 },
      { sku: other, qty: 1 },
    ]);
    await post(order);
    await waitForStatus(order.orderId, 'released');
    expect(await activeReserved(order.orderId)).toBe(5);

    const res = await stack.app.inject({ method: 'POST', url: `/orders/${order.orderId}/cancel`, headers: authAs('system'), payload: { reason: 'storefront cancelled' } });
    expect(res.json()).toMatchObject({ status: 'cancelled', lines: [{ cancelled: 4, allocated: 0 }, { cancelled: 1, allocated: 0 }] });
    expect(await activeReserved(order.orderId)).toBe(0);
    expect(await balance(stack.db, sku, a, 'available')).toBe(2);
    expect(await balance(stack.db, sku, b, 'available')).toBe(5);
    expect(await balance(stack.db, other, b, 'available')).toBe(5);
    const second = await stack.app.inject({ method: 'POST', url: `/orders/${order.orderId}/cancel`, headers: authAs('system'), payload: { reason: 'again' } });
    expect(second.statusCode).toBe(409);
    expect((await getOrder(order.orderId)).record).toMatchObject({ status: 'cancelled', statusReason: 'storefront cancelled' });
  });
});

describe('shortage', () => {
  it('backorders the rest, then a stock adjustment fills it', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 3);
    const order = anOrder([{ sku, qty: 5 }]);
    await post(order);
    await waitForStatus(order.orderId, 'backordered');
    expect((await getOrder(order.orderId)).record.lines[0]).toMatchObject({ allocated: 3, backordered: 2 });

    const adjustmentId = uniqueId('adj-');
    const adj = await stack.app.inject({
      method: 'POST',
      url: '/inventory/adjustments',
      headers: authAs('ops'),
      payload: { adjustmentId, sku, warehouse: wh, reasonCode: 'found_stock', delta: 4 },
    });
    expect(adj.json().status).toBe('awaiting_approval');
    await stack.app.inject({
      method: 'POST',
      url: `/inventory/adjustments/${adjustmentId}/decision`,
      headers: authAs('finance'),
      payload: { decision: 'approve', reason: 'pallet found in receiving' },
    });
    await waitForStatus(order.orderId, 'released');
    expect((await getOrder(order.orderId)).record.lines[0]).toMatchObject({ allocated: 5, backordered: 0 });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(2);
  });

  it('marketplace cancels the remainder by channel policy', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 2);
    const order = anOrder([{ sku, qty: 5 }], { channel: 'marketplace' });
    await post(order);
    await waitForStatus(order.orderId, 'released');
    expect((await getOrder(order.orderId)).record.lines[0]).toMatchObject({ allocated: 2, cancelled: 3, backordered: 0 });
  });

  it('200 concurrent orders for one sku with 50 units allocate exactly 50', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE });
    const [a, b] = [await addWarehouse(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, a, 30);
    await stock(stack.db, sku, b, 20);
    const orders = Array.from({ length: 200 }, (_, i) => anOrder([{ sku, qty: 1 }], { channel: i % 2 ? 'marketplace' : 'dtc' }));
    const responses = await Promise.all(orders.map((o) => post(o)));
    expect(responses.every((r) => r.statusCode === 201)).toBe(true);
    await eventually(
      async () => {
        const rows = await stack.db
          .selectFrom('orders')
          .select('status')
          .where('id', 'in', orders.map((o) => o.orderId))
          .execute();
        return rows.length === 200 && rows.every((r) => ['released', 'backordered', 'cancelled'].includes(r.status)) ? true : undefined;
      },
      60_000,
      'all 200 orders to settle',
    );
    const lines = await stack.db.selectFrom('order_lines').selectAll().where('sku', '=', sku).where('order_id', 'in', orders.map((o) => o.orderId)).execute();
    expect(lines.reduce((n, l) => n + l.allocated_qty, 0)).toBe(50);
    expect(lines.reduce((n, l) => n + l.allocated_qty + l.backordered_qty + l.cancelled_qty, 0)).toBe(200);
    expect(await balance(stack.db, sku, a, 'allocated') + (await balance(stack.db, sku, b, 'allocated'))).toBe(50);
    expect(await balance(stack.db, sku, a, 'available') + (await balance(stack.db, sku, b, 'available'))).toBe(0);
    const byOrder = new Map(orders.map((o) => [o.orderId, o.channel]));
    for (const line of lines) {
      if (line.allocated_qty === 0) expect(byOrder.get(line.order_id) === 'marketplace' ? line.cancelled_qty : line.backordered_qty).toBe(1);
    }
  }, 120_000);
});
