import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import type { OrderInput } from '../../domain/order.js';
import { loadConfig } from '../../runtime/config.js';
import { ensureSearchAttributes } from '../../runtime/temporal.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';
import { type OrderPolicy, orderViewQuery, orderWorkflowType, type OrderReleaseWorkflow } from '../../contracts/order.js';
import { wmsEventUpdate } from '../../contracts/shipment.js';

let env: TestWorkflowEnvironment;
let db: Db;
const policy: OrderPolicy = loadConfig({}).policies.order;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('timeSkippingServerPath') } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  if (db) expect((await checkLedger(db)).problems).toEqual([]);
  await db?.destroy();
  await env?.teardown();
});

function anOrder(sku: string, qty: number, overrides: Partial<OrderInput> = {}): OrderInput {
  return {
    orderId: uniqueId('ord-'),
    channel: 'dtc',
    customerId: uniqueId('cust-'),
    currency: 'USD',
    shipTo: { country: 'US', lat: 40.7, lon: -74 },
    freightMinor: 0,
    lines: [{ lineNo: 1, sku, qty, unitPriceMinor: 2_000, discountMinor: 0, taxMinor: 0 }],
    ...overrides,
  };
}

/**
 * One worker for the whole file: a process a test leaves running (a shipment child, say)
 * keeps being served, so it never holds the test server's clock for the next test.
 */
const taskQueue = uniqueId('timers-');
let worker: Worker | undefined;
let running: Promise<void> | undefined;

async function withWorker<T>(run: (taskQueue: string) => Promise<T>): Promise<T> {
  if (!worker) {
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: createActivities({ db, temporal: env.client }),
    });
    running = worker.run();
  }
  return run(taskQueue);
}

describe('order release timers (time-skipping server)', () => {
  it('a hold nobody decides escalates after 4h and cancels itself after 48h', async () => {
    const sku = await addItem(db, undefined, { price_minor: 60_000 });
    const wh = await addWarehouse(db);
    await stock(db, sku, wh, 5);
    const order = anOrder(sku, 2, { lines: [{ lineNo: 1, sku, qty: 2, unitPriceMinor: 60_000, discountMinor: 0, taxMinor: 0 }] });
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start<OrderReleaseWorkflow>(orderWorkflowType, { args: [order, policy], workflowId: `order-${order.orderId}`, taskQueue });
      await env.sleep('1h');
      expect(await handle.query(orderViewQuery)).toMatchObject({ status: 'on_hold', hold: { escalated: false } });
      await env.sleep('4h');
      expect((await handle.query(orderViewQuery)).hold?.escalated).toBe(true);
      const task = await db.selectFrom('tasks').selectAll().where('reference', '=', order.orderId).executeTakeFirstOrThrow();
      expect(task).toMatchObject({ priority: 'high', status: 'open' });
      const exception = await db.selectFrom('exceptions').selectAll().where('reference', '=', order.orderId).executeTakeFirstOrThrow();
      expect(exception).toMatchObject({ kind: 'hold_escalated', status: 'open' });

      const result = await handle.result();
      expect(result.status).toBe('cancelled');
      expect(result.cancellation).toMatchObject({ actor: 'system', reason: expect.stringContaining('not decided within 48h') });
      const closed = await db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
      expect(closed.status).toBe('cancelled');
      const record = await db.selectFrom('orders').selectAll().where('id', '=', order.orderId).executeTakeFirstOrThrow();
      expect(record.status).toBe('cancelled');
    });
  });

  it('a backordered line nobody restocks is cancelled with notice at the deadline; the allocated part stays', async () => {
    const sku = await addItem(db);
    const wh = await addWarehouse(db);
    await stock(db, sku, wh, 2);
    const order = anOrder(sku, 5);
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start<OrderReleaseWorkflow>(orderWorkflowType, { args: [order, policy], workflowId: `order-${order.orderId}`, taskQueue });
      await env.sleep('1d');
      expect(await handle.query(orderViewQuery)).toMatchObject({ status: 'backordered', lines: [{ allocated: 2, backordered: 3 }] });
      await env.sleep('14d');
      const view = await handle.query(orderViewQuery);
      expect(view).toMatchObject({ status: 'released', lines: [{ allocated: 2, backordered: 0, cancelled: 3 }] });
      const notice = await db.selectFrom('exceptions').selectAll().where('reference', '=', order.orderId).executeTakeFirstOrThrow();
      expect(notice).toMatchObject({ kind: 'backorder_cancelled' });
      expect(await balance(db, sku, wh, 'allocated')).toBe(2);
      await handle.terminate('test done');
    });
  });

  it('the wait policy holds a partial allocation, expires it after 72h, and ships complete when stock comes', async () => {
    const sku = await addItem(db);
    const wh = await addWarehouse(db);
    await stock(db, sku, wh, 3);
    const order = anOrder(sku, 5, { channel: 'wholesale' });
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start<OrderReleaseWorkflow>(orderWorkflowType, { args: [order, policy], workflowId: `order-${order.orderId}`, taskQueue });
      await env.sleep('1h');
      // Held, not released: wholesale ships complete.
      expect(await handle.query(orderViewQuery)).toMatchObject({ status: 'backordered', lines: [{ allocated: 3, backordered: 2 }] });
      expect(await balance(db, sku, wh, 'allocated')).toBe(3);
      const held = await db.selectFrom('reservations').selectAll().where('order_id', '=', order.orderId).executeTakeFirstOrThrow();
      expect(held.expires_at).not.toBeNull();

      await env.sleep('72h');
      expect(await handle.query(orderViewQuery)).toMatchObject({ status: 'backordered', lines: [{ allocated: 0, backordered: 5 }] });
      expect(await balance(db, sku, wh, 'available')).toBe(3);
      const expired = await db.selectFrom('reservations').selectAll().where('id', '=', held.id).executeTakeFirstOrThrow();
      expect(expired.status).toBe('expired');

      await stock(db, sku, wh, 2);
      await env.sleep('7h');
      expect(await handle.query(orderViewQuery)).toMatchObject({ status: 'released', lines: [{ allocated: 5, backordered: 0 }] });
      expect(await balance(db, sku, wh, 'available')).toBe(0);
      const released = await db.selectFrom('reservations').selectAll().where('order_id', '=', order.orderId).where('status', '=', 'active').execute();
      expect(released.map((r) => r.expires_at)).toEqual([null]);
      await handle.terminate('test done');
    });
  });
  it('a shipment that misses its ship-by raises a late-shipment exception and task, closed once it ships', async () => {
    const sku = await addItem(db);
    const wh = await addWarehouse(db);
    await stock(db, sku, wh, 5);
    const order = anOrder(sku, 1);
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start<OrderReleaseWorkflow>(orderWorkflowType, { args: [order, policy], workflowId: `order-${order.orderId}`, taskQueue });
      await env.sleep('1h');
      expect((await handle.query(orderViewQuery)).shipments).toHaveLength(1);
      const shipmentId = `${order.orderId}-1`;
      expect(await db.selectFrom('exceptions').selectAll().where('reference', '=', shipmentId).execute()).toEqual([]);
      // The default ship-by is 2 days after release.
      await env.sleep('2d');
      const late = await db.selectFrom('exceptions').selectAll().where('reference', '=', shipmentId).executeTakeFirstOrThrow();
      expect(late).toMatchObject({ kind: 'late_shipment', status: 'open' });
      const task = await db.selectFrom('tasks').selectAll().where('reference', '=', shipmentId).executeTakeFirstOrThrow();
      expect(task).toMatchObject({ kind: 'late_shipment', status: 'open' });

      const child = env.client.workflow.getHandle(`shipment-${shipmentId}`);
      for (const event of [{ type: 'picked' }, { type: 'packed' }, { type: 'shipped', carrier: 'UPS', tracking: 'L1', freightCostMinor: 100 }] as const) {
        await child.executeUpdate(wmsEventUpdate, { args: [event] });
      }
      expect((await handle.result()).status).toBe('shipped');
      // The shipment closed its late task and exception before its last report to the order.
      expect((await db.selectFrom('exceptions').selectAll().where('id', '=', late.id).executeTakeFirstOrThrow()).status).toBe('resolved');
      expect((await db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow()).status).toBe('done');
    });
  });
});
