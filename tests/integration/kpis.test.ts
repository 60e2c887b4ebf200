import { beforeAll, describe, expect, it } from 'vitest';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver, PRICE } from '../support/orders.js';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

const { placeOrder, shipmentsOf, ship, waitForOrder } = orderDriver(stack);

const count = async (sku: string, warehouse: string, countedQty: number) => {
  const res = await stack.app.inject({
    method: 'POST',
    url: '/inventory/adjustments',
    headers: authAs('ops'),
    payload: { adjustmentId: uniqueId('cnt-'), sku, warehouse, reasonCode: 'cycle_count', countedQty },
  });
  expect([200, 202], res.body).toContain(res.statusCode);
  return res.json() as { status: string };
};

const kpis = async (query = '') => {
  const res = await stack.app.inject({ method: 'GET', url: `/kpis${query}`, headers: authAs('viewer') });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

/** percentile_cont over a sorted list. */
function percentile(sorted: number[], p: number): number {
  const at = p * (sorted.length - 1);
  const lower = Math.floor(at);
  const upper = Math.ceil(at);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (at - lower);
}

describe('GET /kpis', () => {
  let splitOrder: string;
  let lateOrder: string;

  beforeAll(async () => {
    const db = stack.db;
    // 1. Split: near has 2, far has 2, the order wants 3 → two shipments, both shipped.
    const skuA = await addItem(db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const near = await addWarehouse(db, undefined, { lat: 40.7, lon: -74.1 });
    const far = await addWarehouse(db, undefined, { lat: 41.8, lon: -87.6 });
    await stock(db, skuA, near, 2, COST);
    await stock(db, skuA, far, 2, COST);
    splitOrder = await placeOrder(skuA, 3);
    const split = await shipmentsOf(splitOrder, 2);
    await ship(split.get(near)!, 450);
    await ship(split.get(far)!, 300);

    // 2. One unit promised for yesterday: shipped, but late.
    const skuB = await addItem(db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const wh = await addWarehouse(db, undefined, { lat: 40.7, lon: -74.1 });
    await stock(db, skuB, wh, 5, COST);
    lateOrder = await placeOrder(skuB, 1, { promisedBy: new Date(Date.now() - 86_400_000).toISOString() });
    await ship((await shipmentsOf(lateOrder, 1)).get(wh)!, 200);

    // 3. Cancelled before it shipped.
    const cancelled = await placeOrder(skuB, 1);
    await shipmentsOf(cancelled, 1);
    const cancel = await stack.app.inject({ method: 'POST', url: `/orders/${cancelled}/cancel`, headers: authAs('ops'), payload: { reason: 'customer changed mind' } });
    expect(cancel.statusCode, cancel.body).toBe(200);

    // 4. Open and backordered: no stock anywhere. 5. Open, released, not shipped yet.
    const skuC = await addItem(db, undefined, { price_minor: PRICE, average_cost_minor: COST });
    const backordered = await placeOrder(skuC, 2);
    const open = await placeOrder(skuB, 1);
    await shipmentsOf(open, 1);

    await waitForOrder(splitOrder, 'shipped');
    await waitForOrder(lateOrder, 'shipped');
    await waitForOrder(cancelled, 'cancelled');
    await eventually(async () => {
      const line = await db.selectFrom('order_lines').select('backordered_qty').where('order_id', '=', backordered).executeTakeFirst();
      return line && line.backordered_qty > 0 ? true : undefined;
    }, 20_000, 'the backorder');

    // Cycle counts: 20 expected, 19 found (5 %: posted at once); 10 expected, 10 found;
    // a large variance waits for approval and is not counted.
    const skuD = await addItem(db, undefined, { average_cost_minor: COST });
    const skuE = await addItem(db, undefined, { average_cost_minor: COST });
    const skuF = await addItem(db, undefined, { average_cost_minor: COST });
    await stock(db, skuD, wh, 20, COST);
    await stock(db, skuE, wh, 10, COST);
    await stock(db, skuF, wh, 10, COST);
    expect((await count(skuD, wh, 19)).status).toBe('posted');
    expect((await count(skuE, wh, 10)).status).toBe('posted');
    expect((await count(skuF, wh, 5)).status).toBe('awaiting_approval');
  }, 120_000);

  it('answers each KPI with its exact numerator, denominator and value', async () => {
    const report = await kpis();
    const k = report.kpis;

    // Cycle time: the two fully shipped orders, from creation to the last shipment out.
    const rows = await stack.db
      .selectFrom('orders as o')
      .innerJoin('shipments as s', 's.order_id', 'o.id')
      .select(['o.id', 'o.created_at', (eb) => eb.fn.max('s.shipped_at').as('last')])
      .where('o.id', 'in', [splitOrder, lateOrder])
      .groupBy(['o.id', 'o.created_at'])
      .execute();
    const hours = rows.map((r) => ((r.last as Date).getTime() - r.created_at.getTime()) / 3_600_000).sort((a, b) => a - b);
    expect(k.orderCycleTime.orders).toBe(2);
    expect(Math.abs(k.orderCycleTime.p50Hours - percentile(hours, 0.5))).toBeLessThan(0.006);
    expect(Math.abs(k.orderCycleTime.p90Hours - percentile(hours, 0.9))).toBeLessThan(0.006);
    expect(k.orderCycleTime.definition).toMatch(/last shipment/);

    // Three shipments went out; the one promised for yesterday was late.
    expect(k.onTimeShipment).toMatchObject({ numerator: 2, denominator: 3, value: 0.6667 });
    // Closed: split (3 of 3 shipped), late (1 of 1), cancelled (0 of 1).
    expect(k.fillRate).toMatchObject({ numerator: 4, denominator: 5, value: 0.8 });
    expect(k.cancellationRate).toMatchObject({ numerator: 1, denominator: 3, value: 0.3333 });
    // Open: the backordered order and the released one.
    expect(k.backorderRate).toMatchObject({ numerator: 1, denominator: 2, value: 0.5 });
    expect(k.backorderRate.definition).toMatch(/snapshot/);
    expect(k.splitShipmentRate).toMatchObject({ numerator: 1, denominator: 2, value: 0.5 });
    // (450 + 300 + 200) ÷ 2 shipped orders.
    expect(k.freightCostPerOrder).toMatchObject({ numerator: 950, denominator: 2, valueMinor: 475 });

    // Split order: revenue 6000, discount 300, freight revenue 999, COGS 2400, freight 750.
    // Late order: revenue 2000, discount 300, freight revenue 999, COGS 800, freight 200.
    expect(k.marginAfterFreightAndDiscount).toMatchObject({
      entries: 3,
      revenueMinor: 8_000,
      discountsMinor: 600,
      freightRevenueMinor: 1_998,
      cogsMinor: 3_200,
      freightExpenseMinor: 950,
      netRevenueMinor: 9_398,
      valueMinor: 9_398 - 3_200 - 950,
      pctOfNetRevenue: 55.84,
    });

    // 1 − |−1| ÷ (20 + 10); the count awaiting approval is left out.
    expect(k.inventoryAccuracy).toMatchObject({ counts: 2, numerator: 1, denominator: 30, value: 0.9667 });
    for (const kpi of Object.values(k)) expect((kpi as { definition: string }).definition.length).toBeGreaterThan(20);
  });

  it('counts nothing outside the range', async () => {
    const { kpis: k, from, to } = await kpis('?from=2020-01-01&to=2020-02-01T00:00:00Z');
    expect(from).toBe('2020-01-01T00:00:00.000Z');
    expect(to).toBe('2020-02-01T00:00:00.000Z');
    expect(k.orderCycleTime).toMatchObject({ orders: 0, p50Hours: null, p90Hours: null });
    expect(k.onTimeShipment).toMatchObject({ numerator: 0, denominator: 0, value: null });
    expect(k.fillRate).toMatchObject({ numerator: 0, denominator: 0, value: null });
    expect(k.freightCostPerOrder).toMatchObject({ numerator: 0, denominator: 0, valueMinor: null });
    expect(k.marginAfterFreightAndDiscount).toMatchObject({ entries: 0, valueMinor: 0, pctOfNetRevenue: null });
    expect(k.inventoryAccuracy).toMatchObject({ counts: 0, value: null });
    // The backorder rate is a snapshot, whatever the range.
    expect(k.backorderRate).toMatchObject({ numerator: 1, denominator: 2 });
  });

  it('defaults to the last 30 days', async () => {
    const { from, to } = await kpis();
    expect(Date.parse(to) - Date.parse(from)).toBe(30 * 86_400_000);
    expect(Math.abs(Date.parse(to) - Date.now())).toBeLessThan(60_000);
  });

  it('refuses a backwards or too long range with 400, and a missing key with 401', async () => {
    const get = (url: string, headers: Record<string, string> = authAs('viewer')) => stack.app.inject({ method: 'GET', url, headers });
    const backwards = await get('/kpis?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().error.code).toBe('invalid_request');
    expect((await get('/kpis?from=2024-01-01&to=2025-01-02T00:00:01Z')).statusCode).toBe(400);
    expect((await get('/kpis?from=2025-01-01&to=2026-01-01')).statusCode).toBe(200);
    expect((await get('/kpis?from=yesterday')).statusCode).toBe(400);
    expect((await get('/kpis', {})).statusCode).toBe(401);
    for (const role of ['system', 'ops', 'buyer', 'finance', 'viewer'] as const) expect((await get('/kpis', authAs(role))).statusCode).toBe(200);
  });
});

describe('GET /metrics', () => {
  it('answers Prometheus text with request, task, exception and refusal metrics, to any key only', async () => {
    expect((await stack.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    await stack.app.inject({ method: 'GET', url: '/kpis', headers: authAs('viewer') });
    const res = await stack.app.inject({ method: 'GET', url: '/metrics', headers: authAs('viewer') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/^http_requests_total\{method="GET",route="\/kpis",status_code="200"\} \d+$/m);
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{.*route="\/kpis".*\} \d+$/m);
    expect(text).toContain('# TYPE ops_open_tasks gauge');
    expect(text).toMatch(/^ops_open_tasks\{kind="adjustment_approval"\} 1$/m);
    expect(text).toContain('# TYPE ops_open_exceptions gauge');
    expect(text).toMatch(/^ops_ledger_refusals 0$/m);
    expect(text).toMatch(/^ops_open_task_oldest_age_seconds\{kind="adjustment_approval"\} [\d.]+$/m);
    expect(text).toMatch(/^temporal_task_queue_backlog\{type="workflow"\} \d+$/m);
    expect(text).toMatch(/^temporal_task_queue_backlog_age_seconds\{type="activity"\} [\d.e-]+$/m);
  });

  it('counts the processes of its task queue by workflow type and status', async () => {
    // The orders placed above ran on this stack's task queue; other test files' processes are not counted.
    const orders = await stack.db.selectFrom('orders').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    // Without orders the count below would match an empty scrape.
    expect(Number(orders.n)).toBeGreaterThan(0);
    const counted = await eventually(async () => {
      const text = (await stack.app.inject({ method: 'GET', url: '/metrics', headers: authAs('viewer') })).body;
      const lines = text.split('\n').filter((l) => l.startsWith('ops_workflow_executions{workflow_type="orderRelease"'));
      const total = lines.reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
      return total === Number(orders.n) ? lines : undefined;
    }, 20_000, 'every order of this stack counted in /metrics');
    expect(counted.every((l) => /^ops_workflow_executions\{workflow_type="orderRelease",status="\w+"\} \d+$/.test(l))).toBe(true);
  });
});
