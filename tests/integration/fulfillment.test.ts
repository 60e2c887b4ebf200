import { describe, expect, it } from 'vitest';
import { journalEntries } from '../../db/journal.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { COST, orderDriver, PRICE } from '../support/orders.js';
import { authAs, eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack();

const { placeOrder, orderView, shipmentsOf, event, ship, waitForOrder } = orderDriver(stack);

describe('fulfillment', () => {
  it('ships a split order in two shipments and posts each exactly, to the minor unit', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const near = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const far = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
    // No warehouse holds all 3: the order splits, nearest stock first.
    await stock(stack.db, sku, near, 2, COST);
    await stock(stack.db, sku, far, 2, COST);
    const orderId = await placeOrder(sku, 3);
    const shipments = await shipmentsOf(orderId, 2);

    await ship(shipments.get(near)!, 450);
    await ship(shipments.get(far)!, 300);
    await waitForOrder(orderId, 'shipped');

    const entries = (await journalEntries(stack.db, { reference: orderId, limit: 10 })).filter((e) => e.eventType === 'shipment.confirmed').reverse();
    const amounts = (e: (typeof entries)[number]) => Object.fromEntries(e.lines.map((l) => [l.account, l.debitMinor || -l.creditMinor]));
    // 2 of 3 units first: discount floor(300×2/3) = 200, tax 400, freight floor(999×2/3) = 666.
    expect(amounts(entries[0]!)).toEqual({ '1100': 4_000 - 200 + 400 + 666, '4200': 200, '4000': -4_000, '2200': -400, '4100': -666, '5000': 1_600, '1300': -1_600, '5100': 450, '2000': -450 });
    // The last unit takes what is left: discount 100, tax 200, freight 333.
    expect(amounts(entries[1]!)).toEqual({ '1100': 2_000 - 100 + 200 + 333, '4200': 100, '4000': -2_000, '2200': -200, '4100': -333, '5000': 800, '1300': -800, '5100': 300, '2000': -300 });

    const view = await orderView(orderId);
    expect(view.record).toMatchObject({ status: 'shipped', lines: [{ qty: 3, shipped: 3, allocated: 0, cancelled: 0 }] });
    expect(await balance(stack.db, sku, near, 'allocated')).toBe(0);
    expect(await balance(stack.db, sku, near, 'customer')).toBe(2);
    expect(await balance(stack.db, sku, far, 'customer')).toBe(1);
    const shipment = (await stack.app.inject({ method: 'GET', url: `/shipments/${shipments.get(near)}`, headers: authAs('viewer') })).json();
    expect(shipment).toMatchObject({ status: 'shipped', carrier: 'UPS', freightCostMinor: 450, lines: [{ qty: 2, shipped: 2 }] });
  });

  it('takes WMS events in order only: out of order 409, a repeat changes nothing, a finished shipment 409', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5, COST);
    const orderId = await placeOrder(sku, 1);
    const shipmentId = (await shipmentsOf(orderId, 1)).get(wh)!;

    const early = await event(shipmentId, { type: 'shipped', carrier: 'UPS', tracking: 'T1', freightCostMinor: 100 });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('out_of_order');
    expect((await event(shipmentId, { type: 'picked' }, 'viewer')).statusCode).toBe(403);
    expect((await event(shipmentId, { type: 'teleported' })).statusCode).toBe(400);
    expect((await event(shipmentId, { type: 'picked' })).json().status).toBe('picked');
    const again = await event(shipmentId, { type: 'picked' });
    expect(again.statusCode).toBe(200);
    expect(again.json().timeline.filter((t: { status: string }) => t.status === 'picked')).toHaveLength(1);
    await event(shipmentId, { type: 'packed' });
    await event(shipmentId, { type: 'shipped', carrier: 'UPS', tracking: 'T1', freightCostMinor: 100 });
    const late = await event(shipmentId, { type: 'packed' });
    expect(late.statusCode).toBe(409);
    await waitForOrder(orderId, 'shipped');
    const posted = (await journalEntries(stack.db, { reference: orderId, limit: 10 })).filter((e) => e.eventType === 'shipment.confirmed');
    expect(posted).toHaveLength(1);
  });

  it('routes units missing at picking to another warehouse and writes the loss off', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const near = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const far = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
    await stock(stack.db, sku, near, 2, COST);
    await stock(stack.db, sku, far, 5, COST);
    const orderId = await placeOrder(sku, 2);
    const first = (await shipmentsOf(orderId, 1)).get(near)!;

    const short = await event(first, { type: 'short_pick', found: [{ lineNo: 1, sku, qty: 1 }] });
    expect(short.statusCode).toBe(200);
    expect(short.json()).toMatchObject({ status: 'picked', missing: [{ lineNo: 1, sku, qty: 1 }] });
    expect(await balance(stack.db, sku, near, 'adjustment')).toBe(1);
    const writeOff = await stack.db.selectFrom('journal_entries').selectAll().where('event_type', '=', 'shipment.short_pick').where('reference', '=', first).execute();
    expect(writeOff).toHaveLength(1);

    const second = (await shipmentsOf(orderId, 2)).get(far)!;
    await event(first, { type: 'packed' });
    await event(first, { type: 'shipped', carrier: 'DHL', tracking: 'D1', freightCostMinor: 200 });
    await ship(second, 250);
    await waitForOrder(orderId, 'shipped');
    expect((await orderView(orderId)).record.lines[0]).toMatchObject({ qty: 2, shipped: 2 });
    expect(await balance(stack.db, sku, near, 'customer')).toBe(1);
    expect(await balance(stack.db, sku, far, 'customer')).toBe(1);
  });

  it('cancels the unshipped part after one shipment left', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const near = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const far = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
    await stock(stack.db, sku, near, 2, COST);
    await stock(stack.db, sku, far, 2, COST);
    const orderId = await placeOrder(sku, 3);
    const shipments = await shipmentsOf(orderId, 2);
    await ship(shipments.get(near)!, 450);
    await eventually(async () => ((await orderView(orderId)).process.lines[0].shipped === 2 ? true : undefined));

    const res = await stack.app.inject({ method: 'POST', url: `/orders/${orderId}/cancel`, headers: authAs('ops'), payload: { reason: 'customer keeps what arrived' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'partially_shipped', lines: [{ shipped: 2, cancelled: 1, allocated: 0 }] });
    expect(await balance(stack.db, sku, far, 'allocated')).toBe(0);
    expect(await balance(stack.db, sku, far, 'available')).toBe(2);
    const cancelled = (await stack.app.inject({ method: 'GET', url: `/shipments/${shipments.get(far)}`, headers: authAs('viewer') })).json();
    expect(cancelled.status).toBe('cancelled');
    expect((await event(shipments.get(far)!, { type: 'picked' })).statusCode).toBe(409);
  });
  it('queues released shipments in waves by channel priority, with pick lists by zone and bin', async () => {
    const [tee, mug] = [await addItem(stack.db, undefined, { price_minor: PRICE }), await addItem(stack.db, undefined, { price_minor: PRICE })];
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, tee, wh, 20);
    await stock(stack.db, mug, wh, 20);
    const located = await stack.app.inject({
      method: 'PUT',
      url: `/warehouses/${wh}/locations`,
      headers: authAs('ops'),
      payload: { locations: [{ sku: tee, zone: 'A', bin: 'A-02' }, { sku: mug, zone: 'A', bin: 'A-01' }] },
    });
    expect(located.statusCode).toBe(200);
    const badBin = await stack.app.inject({ method: 'PUT', url: `/warehouses/${wh}/locations`, headers: authAs('ops'), payload: { locations: [{ sku: tee, zone: 'A', bin: 'Z-99' }] } });
    expect(badBin.statusCode).toBe(422);
    expect(badBin.json().error.code).toBe('unknown_bin');

    const marketplace = await placeOrder(tee, 2, { channel: 'marketplace' });
    const dtc = await placeOrder(mug, 1);
    const wholesale = await placeOrder(tee, 3, { channel: 'wholesale', lines: [{ sku: tee, qty: 3, unitPriceMinor: PRICE }, { sku: mug, qty: 1, unitPriceMinor: PRICE }] });
    for (const orderId of [marketplace, dtc, wholesale]) await shipmentsOf(orderId, 1);

    const res = await stack.app.inject({ method: 'GET', url: `/warehouses/${wh}/waves?waveSize=2`, headers: authAs('viewer') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.waiting).toBe(3);
    expect(body.waves.map((w: { shipments: { orderId: string }[] }) => w.shipments.map((x) => x.orderId))).toEqual([[dtc, wholesale], [marketplace]]);
    expect(body.waves[0].pickList).toEqual([
      {
        zone: 'A',
        picks: [
          { bin: 'A-01', sku: mug, qty: 2, shipments: [`${dtc}-1`, `${wholesale}-1`] },
          { bin: 'A-02', sku: tee, qty: 3, shipments: [`${wholesale}-1`] },
        ],
      },
    ]);

    await event(`${dtc}-1`, { type: 'picked' });
    const after = (await stack.app.inject({ method: 'GET', url: `/warehouses/${wh}/waves?waveSize=2`, headers: authAs('viewer') })).json();
    expect(after.waves[0].shipments.map((x: { orderId: string }) => x.orderId)).toEqual([wholesale, marketplace]);
    for (const orderId of [marketplace, dtc, wholesale]) {
      await stack.app.inject({ method: 'POST', url: `/orders/${orderId}/cancel`, headers: authAs('ops'), payload: { reason: 'test over' } });
    }
  });
});
