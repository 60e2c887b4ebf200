/**
 * Inventory turns, days on hand, aged stock and ATP accuracy in GET /kpis, against values
 * worked out by hand. Receipts are backdated in the ledger (its append-only trigger is off
 * for that one statement in the test's own transaction) so that stock has an age.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { adjust, inspect, receive, transferIn, transferOut } from '../../db/ledger.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { orderDriver, PRICE } from '../support/orders.js';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();
const { placeOrder, shipmentsOf, ship, event, waitForOrder } = orderDriver(stack);

const DAY = 86_400_000;
const ctx = (key: string) => ({ key, actor: 'test' });

/** Moves the movements of one ledger operation `days` days into the past. */
async function backdate(key: string, days: number) {
  await stack.db.transaction().execute(async (tx) => {
    await sql`set local session_replication_role = replica`.execute(tx);
    const updated = await sql`update inventory_movements set created_at = now() - make_interval(days => ${days}) where operation_key = ${key}`.execute(tx);
    expect(Number(updated.numAffectedRows)).toBeGreaterThan(0);
  });
}

async function receiveAged(sku: string, warehouse: string, qty: number, unitCostMinor: number, daysAgo: number, into: 'available' | 'quarantine' = 'available') {
  const key = uniqueId('receipt:');
  await receive(stack.db, ctx(key), { sku, warehouse, qty, into, fromInbound: 0, unitCostMinor, landedCostMinor: 0 });
  await backdate(key, daysAgo);
}

const kpis = async (from: Date, to: Date) => {
  const res = await stack.app.inject({
    method: 'GET',
    url: `/kpis?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`,
    headers: authAs('viewer'),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().kpis;
};

describe('inventory turns, days on hand and aged stock', () => {
  let to: Date;

  beforeAll(async () => {
    const db = stack.db;
    const w1 = await addWarehouse(db, undefined, { lat: 40.7, lon: -74.0 });
    const w2 = await addWarehouse(db, undefined, { lat: 34.0, lon: -118.2 });
    // Each item is received at its own cost only, so its average cost never moves.
    const a = await addItem(db, undefined, { price_minor: PRICE, average_cost_minor: 1_000 });
    const b = await addItem(db, undefined, { average_cost_minor: 500 });
    const c = await addItem(db, undefined, { average_cost_minor: 300 });

    // A at W1: 10 received 100 days ago, 5 45 days ago, 4 10 days ago; 9 written off today; 3 sold today.
    await receiveAged(a, w1, 10, 1_000, 100);
    await receiveAged(a, w1, 5, 1_000, 45);
    await receiveAged(a, w1, 4, 1_000, 10);
    await adjust(db, ctx(uniqueId('adj:')), { sku: a, warehouse: w1, delta: -9, reasonCode: 'damaged_on_shelf' });
    // B at W1: 6 received 75 days ago. B at W2: 8 into quarantine 95 days ago, released today (not a receipt).
    await receiveAged(b, w1, 6, 500, 75);
    await receiveAged(b, w2, 8, 500, 95, 'quarantine');
    await inspect(db, ctx(uniqueId('inspect:')), { sku: b, warehouse: w2, accepted: 8, rejected: 0 });
    // C: 5 received at W1 120 days ago, moved to W2 today (a receipt at W2).
    await receiveAged(c, w1, 5, 300, 120);
    await transferOut(db, ctx(uniqueId('tout:')), { sku: c, from: w1, to: w2, qty: 5 });
    await transferIn(db, ctx(uniqueId('tin:')), { sku: c, warehouse: w2, received: 5, lost: 0 });

    // The sale: 3 × A at cost 1 000 → COGS 3 000.
    const orderId = await placeOrder(a, 3);
    await ship((await shipmentsOf(orderId, 1)).get(w1)!, 500);
    await waitForOrder(orderId, 'shipped');
    to = new Date(Date.now() + 60_000);
  }, 120_000);

  it('turns: COGS ÷ average of the opening and closing inventory value', async () => {
    const k = await kpis(new Date(to.getTime() - 30 * DAY), to);
    // Opening (30 days ago): A 15 × 1 000 + B 14 × 500 (6 available, 8 in quarantine) + C 5 × 300 = 23 500.
    // Closing: A 7 × 1 000 + B 14 × 500 + C 5 × 300 = 15 500. Average 19 500.
    expect(k.inventoryTurns).toMatchObject({ cogsMinor: 3_000, openingValueMinor: 23_500, closingValueMinor: 15_500, averageValueMinor: 19_500, value: 0.1538 });
    expect(k.inventoryTurns.definition).toMatch(/average inventory value/);
    // 15 500 ÷ (3 000 ÷ 30 days) = 155 days.
    expect(k.daysOnHand).toMatchObject({ value: 155, closingValueMinor: 15_500, cogsMinor: 3_000, days: 30 });
  });

  it('aged stock: on-hand units by days since receipt, first in first out', async () => {
    const k = await kpis(new Date(to.getTime() - 30 * DAY), to);
    // A@W1 has 7: the 4 of 10 days ago and 3 of the 5 of 45 days ago. B@W1: 6 of 75 days.
    // B@W2: 8 of 95 days (the quarantine release moves nothing in). C@W2: 5 arrived today.
    expect(k.agedStock).toMatchObject({
      asOf: to.toISOString(),
      unexplainedQty: 0,
      buckets: [
        { label: '0-30', qty: 9, valueMinor: 4 * 1_000 + 5 * 300 },
        { label: '31-60', qty: 3, valueMinor: 3_000 },
        { label: '61-90', qty: 6, valueMinor: 3_000 },
        { label: '90+', qty: 8, valueMinor: 4_000 },
      ],
    });
  });

  it('as of an earlier end of range: the stock then, aged then, and nothing sold', async () => {
    const earlier = new Date(Date.now() - 50 * DAY);
    const k = await kpis(new Date(earlier.getTime() - 30 * DAY), earlier);
    // 50 days ago: A@W1 10 (50 days old), B@W1 6 (25), B@W2 8 in quarantine (45), C@W1 5 (70).
    expect(k.agedStock.buckets).toEqual([
      { label: '0-30', qty: 6, valueMinor: 3_000 },
      { label: '31-60', qty: 18, valueMinor: 10_000 + 4_000 },
      { label: '61-90', qty: 5, valueMinor: 1_500 },
      { label: '90+', qty: 0, valueMinor: 0 },
    ]);
    // 80 days ago: A 10 × 1 000 + B@W2 8 × 500 + C 5 × 300 = 15 500; 50 days ago: + B@W1 6 × 500 = 18 500; no COGS.
    expect(k.inventoryTurns).toMatchObject({ cogsMinor: 0, openingValueMinor: 15_500, closingValueMinor: 18_500, averageValueMinor: 17_000, value: 0 });
    expect(k.daysOnHand.value).toBeNull();
  });
});

describe('ATP accuracy', () => {
  let from: Date;

  beforeAll(async () => {
    const db = stack.db;
    from = new Date();
    const wh = await addWarehouse(db, undefined, { lat: 40.7, lon: -74.0 });
    const p = await addItem(db);
    const q = await addItem(db);
    const r = await addItem(db);
    const pricey = await addItem(db, undefined, { price_minor: 60_000 });
    await stock(db, p, wh, 5);
    await stock(db, q, wh, 2);
    await stock(db, r, wh, 4);
    await stock(db, pricey, wh, 5);

    // 1. Allocated in full and shipped: kept.
    const kept = await placeOrder(p, 2);
    await ship((await shipmentsOf(kept, 1)).get(wh)!, 100);
    // 2. Three wanted, two there: short at allocation (backordered).
    const backordered = await placeOrder(q, 3);
    await eventually(async () => {
      const line = await db.selectFrom('order_lines').select('backordered_qty').where('order_id', '=', backordered).executeTakeFirst();
      return line && line.backordered_qty === 1 ? true : undefined;
    }, 20_000, 'the backorder');
    // 3. Allocated in full, but only 2 of 3 found at picking: short picked.
    const shortPicked = await placeOrder(r, 3);
    const shipmentId = (await shipmentsOf(shortPicked, 1)).get(wh)!;
    const short = await event(shipmentId, { type: 'short_pick', found: [{ lineNo: 1, sku: r, qty: 2 }] });
    expect(short.statusCode, short.body).toBe(200);
    // 4. Two lines: P is there (kept), Q is gone (short at allocation).
    const twoLines = await placeOrder(p, 1, {
      lines: [
        { sku: p, qty: 1, unitPriceMinor: PRICE },
        { sku: q, qty: 1, unitPriceMinor: PRICE },
      ],
    });
    await eventually(async () => {
      const row = await db.selectFrom('orders').select(['routing', 'status']).where('id', '=', twoLines).executeTakeFirst();
      return row?.routing && row.status === 'backordered' ? true : undefined;
    }, 20_000, 'the two-line order to be allocated');
    // 5. On hold (never allocated) and 6. rejected (a price off the list): not counted.
    const held = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: { orderId: uniqueId('ord-'), channel: 'dtc', customerId: uniqueId('cust-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku: pricey, qty: 2, unitPriceMinor: 60_000 }] },
    });
    expect(held.json()).toMatchObject({ status: 'on_hold' });
    const rejected = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: { orderId: uniqueId('ord-'), channel: 'dtc', customerId: uniqueId('cust-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku: p, qty: 1, unitPriceMinor: 1 }] },
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected' });
    await waitForOrder(kept, 'shipped');
    await eventually(async () => {
      const line = await db.selectFrom('shipment_lines').select('picked_qty').where('shipment_id', '=', shipmentId).executeTakeFirst();
      return line?.picked_qty === 2 ? true : undefined;
    }, 20_000, 'the short pick on record');
  }, 120_000);

  it('counts the lines allocated in full at first and picked in full, of the lines that reached allocation', async () => {
    const k = await kpis(from, new Date(Date.now() + 60_000));
    // Lines: kept (P×2), backordered (Q×3), short picked (R×3), two-line order (P×1 kept, Q×1 short).
    expect(k.atpAccuracy).toMatchObject({ numerator: 2, denominator: 5, value: 0.4, shortAtAllocation: 2, shortPicked: 1 });
    expect(k.atpAccuracy.definition).toMatch(/first allocation/);
    // Before them: only the first part's sale of 3 × A, allocated and picked in full.
    expect((await kpis(new Date(from.getTime() - DAY), from)).atpAccuracy).toMatchObject({ numerator: 1, denominator: 1, value: 1 });
    expect((await kpis(new Date(from.getTime() - 2 * DAY), new Date(from.getTime() - DAY))).atpAccuracy).toMatchObject({ numerator: 0, denominator: 0, value: null });
  });
});

describe('GET /kpis/series', () => {
  const series = (query: string, role: Parameters<typeof authAs>[0] = 'viewer') =>
    stack.app.inject({ method: 'GET', url: `/kpis/series${query}`, headers: authAs(role) });

  it('one point per UTC day, oldest first, today last, with numerators and denominators', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const shipped = (await series('?metric=orders_shipped&days=7')).json();
    expect(shipped.points).toHaveLength(7);
    expect(shipped.points.map((p: { date: string }) => p.date)).toEqual(
      Array.from({ length: 7 }, (_, i) => new Date(Date.parse(`${today}T00:00:00Z`) - (6 - i) * DAY).toISOString().slice(0, 10)),
    );
    // This file shipped two orders today (3 × A, then 2 × P); nothing before.
    expect(shipped.points.at(-1)).toEqual({ date: today, value: 2, numerator: 2, denominator: 2 });
    expect(shipped.points.slice(0, -1).every((p: { value: number }) => p.value === 0)).toBe(true);
    // Closed today: the two shipped orders (5 of 5 units) and the rejected one (not counted).
    const fill = (await series('?metric=fill_rate')).json();
    expect(fill.points).toHaveLength(14);
    expect(fill.points.at(-1)).toEqual({ date: today, value: 1, numerator: 5, denominator: 5 });
    expect(fill.points[0]).toEqual({ date: expect.any(String), value: null, numerator: 0, denominator: 0 });
    const onTime = (await series('?metric=on_time&days=1')).json();
    expect(onTime).toMatchObject({ metric: 'on_time', days: 1, points: [{ date: today, value: 1, numerator: 2, denominator: 2 }] });
    expect(onTime.definition).toMatch(/ship-by/);
  });

  it('refuses unknown metrics and day counts out of range, and system keys', async () => {
    for (const query of ['', '?metric=revenue', '?metric=on_time&days=0', '?metric=on_time&days=91']) {
      expect((await series(query)).statusCode, query).toBe(400);
    }
    expect((await series('?metric=on_time', 'system')).statusCode).toBe(403);
    for (const role of ['ops', 'buyer', 'finance'] as const) expect((await series('?metric=on_time', role)).statusCode).toBe(200);
  });
});
