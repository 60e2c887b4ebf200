/**
 * The anomaly scan as the hourly schedule runs it: a workflow whose one activity runs every
 * check and raises each alert as an exception with its evidence. Patterns built here are
 * raised; normal noise built beside them is not; the same scan twice raises each alert once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ANOMALY_SCAN_SCHEDULE_ID, anomalyScanWorkflowType, type AnomalyScanWorkflow } from '../../contracts/anomaly-scan.js';
import { anomalyThresholdsFrom, ensureAnomalyScanSchedule } from '../../runtime/schedules.js';
import { addItem, addWarehouse } from '../support/fixtures.js';
import { eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const HOUR = 3_600_000;

async function order(customerId: string, totalMinor: number, createdAt: Date) {
  const id = uniqueId('ord-');
  await stack.db
    .insertInto('orders')
    .values({ id, workflow_id: `wf-${id}`, channel: 'dtc', customer_id: customerId, currency: 'USD', status: 'closed', ship_to: JSON.stringify({ country: 'US' }), freight_minor: 0, total_minor: totalMinor, created_at: createdAt })
    .execute();
  return id;
}

async function loss(sku: string, warehouse: string, qty: number, at: Date) {
  await stack.db
    .insertInto('inventory_adjustments')
    .values({ id: uniqueId('adj-'), sku, warehouse_code: warehouse, kind: 'delta', reason_code: 'damaged', delta: -qty, status: 'approved', requested_by: 'test', posted_at: at })
    .execute();
}

const scan = (at: Date, thresholds = {}) =>
  stack.client.workflow.execute<AnomalyScanWorkflow>(anomalyScanWorkflowType, { workflowId: uniqueId('anomaly-scan-test-'), taskQueue: stack.config.taskQueue, args: [{ at: at.toISOString(), thresholds }] });

const alertsAbout = (reference: string) => stack.db.selectFrom('exceptions').selectAll().where('reference', '=', reference).execute();

describe('anomaly scan', () => {
  it('raises an order far above the customer’s usual and repeated losses at a warehouse, with evidence, once', async () => {
    const now = new Date();
    const big = uniqueId('cust-');
    const usual = uniqueId('cust-');
    for (const [i, total] of [5_000, 6_000, 4_500].entries()) {
      await order(big, total, new Date(now.getTime() - (30 - i) * 24 * HOUR));
      await order(usual, total, new Date(now.getTime() - (30 - i) * 24 * HOUR));
    }
    const bigOrder = await order(big, 90_000, new Date(now.getTime() - 10 * 60_000));
    await order(usual, 7_000, new Date(now.getTime() - 10 * 60_000));

    const sku = await addItem(stack.db);
    const leaky = await addWarehouse(stack.db);
    const quiet = await addWarehouse(stack.db);
    for (const qty of [2, 1, 3]) await loss(sku, leaky, qty, new Date(now.getTime() - 2 * 24 * HOUR));
    await loss(sku, quiet, 1, new Date(now.getTime() - 2 * 24 * HOUR));

    const first = await scan(now);
    expect(first.raised).toBeGreaterThanOrEqual(2);
    expect(first.checked.orderSize).toBeGreaterThanOrEqual(2);

    const [orderAlert] = await alertsAbout(big);
    expect(orderAlert).toMatchObject({ kind: 'anomaly_order_size', owner_role: 'ops', status: 'open' });
    expect(orderAlert!.message).toContain(bigOrder);
    expect(orderAlert!.details).toMatchObject({ observed: 90_000, direction: 'above', expected: { low: 0, high: 25_000 }, series: [5_000, 6_000, 4_500], judged: bigOrder });
    const [shrinkage] = await alertsAbout(leaky);
    expect(shrinkage).toMatchObject({ kind: 'anomaly_shrinkage', owner_role: 'ops' });
    expect(shrinkage!.details).toMatchObject({ observed: 3, series: [2, 1, 3] });
    // Normal noise beside them: nothing.
    expect(await alertsAbout(usual)).toEqual([]);
    expect(await alertsAbout(quiet)).toEqual([]);

    // The same scan again, and one an hour later over the same data: no second alert, no second case.
    const again = await scan(now);
    expect(again.found).toBe(first.found);
    expect(again.raised).toBe(0);
    await scan(new Date(now.getTime() + 5 * 60_000));
    expect(await alertsAbout(big)).toHaveLength(1);
    expect(await alertsAbout(leaky)).toHaveLength(1);
    const cases = await stack.db.selectFrom('exception_cases').select(['kind', 'occurrences']).where('reference', 'in', [big, leaky]).execute();
    expect(cases).toHaveLength(2);
    expect(cases.every((c) => c.occurrences === 1)).toBe(true);

    // Thresholds are configurable: three losses are not a pattern when five are needed.
    const other = await addWarehouse(stack.db);
    for (const qty of [1, 1, 1]) await loss(sku, other, qty, new Date(now.getTime() - 24 * HOUR));
    await scan(now, { shrinkageCount: 5 });
    expect(await alertsAbout(other)).toEqual([]);
  });
});

describe('anomaly scan schedule', () => {
  afterAll(async () => {
    await stack.client.schedule.getHandle(ANOMALY_SCAN_SCHEDULE_ID).delete().catch(() => {});
  });

  it('runs hourly with the configured thresholds; a scheduled run scans as of its start', async () => {
    await stack.client.schedule.getHandle(ANOMALY_SCAN_SCHEDULE_ID).delete().catch(() => {});
    const thresholds = anomalyThresholdsFrom('{"demandSigmas": 4}');
    expect(await ensureAnomalyScanSchedule(stack.client, { taskQueue: stack.config.taskQueue, thresholds })).toBe('created');
    const handle = stack.client.schedule.getHandle(ANOMALY_SCAN_SCHEDULE_ID);
    const described = await handle.describe();
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: anomalyScanWorkflowType, args: [{ thresholds: { demandSigmas: 4 } }] });
    expect(await ensureAnomalyScanSchedule(stack.client, { taskQueue: stack.config.taskQueue })).toBe('updated');

    await handle.trigger();
    const started = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action.workflow, 20_000, 'a scheduled scan');
    const result = await stack.client.workflow.getHandle(started.workflowId).result();
    expect(result).toMatchObject({ found: expect.any(Number), raised: expect.any(Number), checked: expect.objectContaining({ demand: expect.any(Number) }) });
  });

  it.each([
    { value: '{"nope": 1}', error: /unknown threshold nope/ },
    { value: '{"demandSigmas": -1}', error: /positive number/ },
    { value: '[1]', error: /JSON object/ },
  ])('ANOMALY_THRESHOLDS $value refuses to start', ({ value, error }) => {
    expect(() => anomalyThresholdsFrom(value)).toThrow(error);
  });
});
