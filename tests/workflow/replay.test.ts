/**
 * Recorded histories of real processes replay against the current workflow code, so a
 * change that would break processes already running fails here first.
 * `RECORD_HISTORIES=1 npx vitest run tests/workflow/replay.test.ts` records them afresh
 * (only when a change to the processes is meant to be incompatible and versioned); add
 * `-t purchasing`, `-t publisher`, `-t storefront` (or `-t "each scenario"`) to record one group and keep the
 * others' files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { adjust } from '../../db/ledger.js';
import { ChannelReceiver } from '../support/channel-receiver.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, startTestStack, uniqueId } from '../support/stack.js';
import { channelPublisherStateQuery, channelPublisherWorkflowId } from '../../contracts/channel-publishing.js';
import { channelOrderWorkflowId } from '../../contracts/channel-order.js';
import { channelOrderPublisherWorkflowId, orderPublisherStateQuery } from '../../contracts/channel-order-publisher.js';
import { loadConfig } from '../../runtime/config.js';
import { FakeShopify } from '../support/fake-platforms.js';
import { postShopify, SHOPIFY_SHOP, shopifyOrder } from '../support/storefront.js';

const folder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'histories');
const recording = process.env.RECORD_HISTORIES === '1';

/** Histories are kept in the JSON form the Temporal CLI and UI export (`<workflowId>.json` names the scenario). */
function save(name: string, workflowId: string, history: Parameters<typeof historyToJSON>[0]) {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, `${name}.json`), JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1));
}

describe.runIf(recording)('record histories', () => {
  it('runs each scenario on the real stack and saves its history', async () => {
    const stack = await startTestStack();
    try {
      const post = (url: string, payload: object, role: Parameters<typeof authAs>[0] = 'system') =>
        stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
      const order = async (sku: string, qty: number, extra: object = {}) => {
        const body = { orderId: uniqueId('ord-'), channel: 'dtc', customerId: uniqueId('cust-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty, unitPriceMinor: 2_000 }], ...extra };
        await post('/orders', body);
        return body.orderId;
      };
      const settled = (orderId: string, status: string) =>
        eventually(
          async () => ((await stack.db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirst())?.status === status ? true : undefined),
          20_000,
          `order ${orderId} to be ${status}`,
        );

      const sku = await addItem(stack.db, undefined, { price_minor: 2_000 });
      const [near, far] = [await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74 }), await addWarehouse(stack.db, undefined, { lat: 34, lon: -118 })];
      await stock(stack.db, sku, near, 10);
      await stock(stack.db, sku, far, 10);
      const saved: Record<string, string> = {};

      // 14 × 2000 stays under the new-customer hold threshold.
      saved['order-split-release'] = await order(sku, 14);
      await eventually(async () => (await stack.db.selectFrom('shipments').select('id').where('order_id', '=', saved['order-split-release']!).execute()).length === 2 ? true : undefined);

      saved['order-hold-approve'] = await order(sku, 1, { freightMinor: 100_000 });
      await settled(saved['order-hold-approve'], 'on_hold');
      await post(`/orders/${saved['order-hold-approve']}/hold-decision`, { decision: 'approve', reason: 'known customer' }, 'ops');
      await settled(saved['order-hold-approve'], 'released');

      saved['order-cancel-after-allocation'] = await order(sku, 2);
      await settled(saved['order-cancel-after-allocation'], 'released');
      await post(`/orders/${saved['order-cancel-after-allocation']}/cancel`, { reason: 'customer changed their mind' }, 'ops');

      // 5 units are left by now: 6 puts one on backorder.
      saved['order-backorder-filled'] = await order(sku, 6);
      await settled(saved['order-backorder-filled'], 'backordered');
      const adjustmentId = uniqueId('adj-');
      await post('/inventory/adjustments', { adjustmentId, sku, warehouse: near, reasonCode: 'found_stock', delta: 10 }, 'ops');
      await post(`/inventory/adjustments/${adjustmentId}/decision`, { decision: 'approve', reason: 'pallet found' }, 'finance');
      await settled(saved['order-backorder-filled'], 'released');

      for (const [name, orderId] of Object.entries(saved)) {
        const history = await stack.client.workflow.getHandle(`order-${orderId}`).fetchHistory();
        save(name, `order-${orderId}`, history);
      }
      // A split order shipped in full: the order and one of its shipments.
      const splitId = saved['order-split-release'];
      for (const shipmentId of [`${splitId}-1`, `${splitId}-2`]) {
        for (const type of ['picked', 'packed']) await post(`/shipments/${shipmentId}/events`, { type });
        await post(`/shipments/${shipmentId}/events`, { type: 'shipped', carrier: 'UPS', tracking: `1Z${shipmentId}`, freightCostMinor: 500 });
      }
      await settled(splitId, 'shipped');
      save('shipment-shipped', `shipment-${splitId}-1`, await stack.client.workflow.getHandle(`shipment-${splitId}-1`).fetchHistory());

      const adjustment = await stack.client.workflow.getHandle(`adjustment-${adjustmentId}`).fetchHistory();
      save('adjustment-approved', `adjustment-${adjustmentId}`, adjustment);
    } finally {
      await stack.stop();
    }
  }, 120_000);

  it('runs the purchasing scenarios (purchase order, transfer, planner run) and saves their histories', async () => {
    const stack = await startTestStack();
    try {
      const post = async (url: string, payload: object, role: Parameters<typeof authAs>[0]) => {
        const res = await stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
        expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
        return res.json();
      };
      const warehouse = await addWarehouse(stack.db);
      const other = await addWarehouse(stack.db);
      const inspected = await addItem(stack.db, undefined, { average_cost_minor: 900, requires_inspection: true });
      const plain = await addItem(stack.db, undefined, { average_cost_minor: 2_800 });
      await stock(stack.db, plain, other, 40);
      const supplierId = uniqueId('sup-');
      await stack.db.insertInto('suppliers').values({ id: supplierId, name: `Supplier ${supplierId}`, default_lead_time_days: 10 }).execute();
      await stack.db
        .insertInto('supplier_items')
        .values([
          { supplier_id: supplierId, sku: inspected, unit_cost_minor: 1_000 },
          { supplier_id: supplierId, sku: plain, unit_cost_minor: 3_000 },
        ])
        .execute();

      // A PO above the buyer limit: finance approves; acknowledged; two partial receipts (one
      // into quarantine), an inspection with a reject, one matching invoice, closed.
      const poId = uniqueId('po-');
      await post('/purchase-orders', { poId, supplierId, warehouse, lines: [{ sku: inspected, qty: 100 }, { sku: plain, qty: 200 }] }, 'buyer');
      await post(`/purchase-orders/${poId}/approval`, { decision: 'approve', reason: 'needed for the season' }, 'finance');
      await post(`/purchase-orders/${poId}/acknowledgement`, { confirmedDate: '2030-01-15', lines: [{ lineNo: 1, confirmedQty: 100 }, { lineNo: 2, confirmedQty: 200 }] }, 'system');
      await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 40 }, { lineNo: 2, qty: 200 }], landedCostMinor: 2_400 }, 'system');
      await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r2', lines: [{ lineNo: 1, qty: 60 }] }, 'system');
      await post(`/purchase-orders/${poId}/inspections`, { inspectionId: 'i1', lines: [{ lineNo: 1, accepted: 95, rejected: 5 }] }, 'ops');
      const closed = await post(
        `/purchase-orders/${poId}/invoices`,
        { invoiceId: 'INV-1', lines: [{ lineNo: 1, qty: 100, unitCostMinor: 1_000 }, { lineNo: 2, qty: 200, unitCostMinor: 3_000 }], chargesMinor: 2_400 },
        'finance',
      );
      expect(closed.status).toBe('closed');
      const poHandle = stack.client.workflow.getHandle(`po-${poId}`);
      await poHandle.result();
      save('purchase-order-approved-received-closed', `po-${poId}`, await poHandle.fetchHistory());

      // A transfer that ships at once and arrives with one unit damaged and one lost.
      const transferId = uniqueId('tr-');
      await post('/transfers', { transferId, sku: plain, from: other, to: warehouse, qty: 10, reason: 'rebalance stock' }, 'ops');
      const arrived = await post(`/transfers/${transferId}/receipt`, { received: 8, damaged: 1 }, 'system');
      expect(arrived.status).toBe('received');
      const transferHandle = stack.client.workflow.getHandle(`transfer-${transferId}`);
      await transferHandle.result();
      save('transfer-received-damaged-lost', `transfer-${transferId}`, await transferHandle.fetchHistory());

      // A planner run asked for by a buyer, stored with its suggestions.
      const run = await post('/replenishment/run', {}, 'buyer');
      const plannerHandle = stack.client.workflow.getHandle(run.workflowId);
      await plannerHandle.result();
      save('replenishment-planner-run', run.workflowId, await plannerHandle.fetchHistory());
    } finally {
      await stack.stop();
    }
  }, 120_000);
  it('runs a channel publisher through deliveries, a failing webhook and continue-as-new, and saves one run', async () => {
    const secret = 'replay-signing-secret-0123';
    const receiver = new ChannelReceiver({ dtc: secret });
    await receiver.start();
    // A long feed wait: the publisher reads again only when something changed, so each change
    // below is one read and one delivery, and a run ends (continues as new) after four of them.
    const stack = await startTestStack({
      channelPublishing: { pollWaitMs: 20_000, pollIntervalMs: 100, requestTimeoutMs: 2_000, failureThreshold: 2, retryInitialMs: 200, retryMaxMs: 1_000, idleRecheckMs: 5_000, readsPerRun: 4 },
    });
    const workflowId = channelPublisherWorkflowId('dtc');
    const handle = stack.client.workflow.getHandle(workflowId);
    try {
      const warehouse = await addWarehouse(stack.db);
      const sku = await addItem(stack.db, undefined, { safety_stock: 0 });
      await stock(stack.db, sku, warehouse, 20);
      const applied = () => receiver.applied('dtc').length;
      const delivered = (after: number, what: string) => eventually(async () => (applied() > after ? true : undefined), 30_000, what);
      const change = async (delta: number, what: string) => {
        const before = applied();
        await adjust(stack.db, { key: uniqueId('replay-adjust:'), actor: 'test' }, { sku, warehouse, delta, reasonCode: 'cycle_count' });
        await delivered(before, what);
      };
      const publishing = async () => (await stack.app.inject({ method: 'GET', url: '/channels/dtc/publishing', headers: authAs('viewer') })).json();

      const set = await stack.app.inject({ method: 'PUT', url: '/channels/dtc/webhook', headers: authAs('ops'), payload: { url: receiver.url, secret } });
      expect(set.statusCode, set.body).toBe(200);
      await delivered(0, 'the first delivery (every sku)');
      await change(-1, 'a delivery of one change');
      await change(-2, 'a delivery of another change');

      // The webhook fails: the delivery is retried (inside its activity) past the threshold, then recovers.
      receiver.mode = 'fail';
      const before = applied();
      await adjust(stack.db, { key: uniqueId('replay-adjust:'), actor: 'test' }, { sku, warehouse, delta: 3, reasonCode: 'cycle_count' });
      await eventually(async () => ((await publishing()).failures.consecutive >= 3 ? true : undefined), 30_000, 'failing deliveries');
      receiver.mode = 'ok';
      await delivered(before, 'the delivery after the webhook recovered');
      await eventually(async () => ((await publishing()).exception === null ? true : undefined), 30_000, 'the failing-channel exception resolved');

      // More changes until the publisher has continued as new twice.
      for (let i = 0; (await handle.query(channelPublisherStateQuery)).runs < 3; i++) {
        expect(i, 'the publisher should continue as new every four reads').toBeLessThan(12);
        await change(1, `change ${i + 1} after the recovery`);
      }
      // The channel holds what the ledger says it may sell.
      const availability = (await stack.app.inject({ method: 'GET', url: '/channels/dtc/availability', headers: authAs('viewer') })).json();
      expect(receiver.stateOf('dtc').get(sku)).toBe(availability.skus.find((s: { sku: string }) => s.sku === sku).ats);

      // Back from the current run through the runs it continued from: the run with the failed
      // and recovered delivery, closed by its continue-as-new, is the one kept.
      const runs: { runId: string; history: Awaited<ReturnType<typeof handle.fetchHistory>> }[] = [];
      for (let runId: string | undefined = (await handle.describe()).runId; runId; ) {
        const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
        runs.push({ runId, history });
        runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      const summary = runs.map(({ runId, history }) => {
        const events = history.events ?? [];
        const deliveries = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverChannelBatch').length;
        const retried = events.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
        const continued = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes != null;
        return { runId, deliveries, retried, continued };
      });
      const kept = summary.find((r) => r.retried && r.continued && r.deliveries >= 2);
      expect(kept, `a run with two deliveries or more, a retried one, and a continue-as-new: ${JSON.stringify(summary)}`).toBeDefined();
      save('channel-publisher-delivered', workflowId, runs.find((r) => r.runId === kept!.runId)!.history);
    } finally {
      await handle.terminate('recorded').catch(() => {});
      await stack.stop();
      await receiver.stop();
    }
  }, 120_000);
});

describe.runIf(recording)('record storefront histories', () => {
  it('runs a storefront order through its intake (created, amended on hold), release, shipment and the fulfillment sent back, and saves them', async () => {
    const shopifyApi = new FakeShopify();
    await shopifyApi.start();
    const base = loadConfig({});
    const stack = await startTestStack({
      // A short idle time ends the intake within the test; few reads make the order publisher continue as new.
      channelConnectors: { ...base.channelConnectors, intakeIdleMs: 3_000 },
      channelPublishing: { pollWaitMs: 20_000, pollIntervalMs: 100, requestTimeoutMs: 2_000, failureThreshold: 2, retryInitialMs: 200, retryMaxMs: 1_000, idleRecheckMs: 5_000, readsPerRun: 3 },
      policies: { ...base.policies, order: { ...base.policies.order, risk: { ...base.policies.order.risk, newCustomerValueMinor: 10_000_000, holdValueMinor: 10_000_000 } } },
    });
    const publisher = stack.client.workflow.getHandle(channelOrderPublisherWorkflowId('dtc'));
    try {
      const secret = 'replay-shopify-signing-key-01';
      const post = async (url: string, payload: object, role: Parameters<typeof authAs>[0]) => {
        const res = await stack.app.inject({ method: url.includes('/connector') ? 'PUT' : 'POST', url, headers: authAs(role), payload });
        expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
        return res.json();
      };
      const warehouse = await addWarehouse(stack.db, undefined, { lat: 38.2, lon: -85.7 });
      for (const [sku, price] of [['SKU2006-001', 8999], ['LENS-PROTECT-2YR', 1999]] as const) {
        await addItem(stack.db, sku, { price_minor: price });
        await stock(stack.db, sku, warehouse, 10);
      }
      await post('/channels/dtc/connector', { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: secret, api: { baseUrl: shopifyApi.baseUrl, token: shopifyApi.token } }, 'admin');
      const id = '820982911946150001';
      const lines = (shopifyOrder(id).line_items as Record<string, unknown>[]).slice(0, 2);
      // Billed in Canada, shipped to the US: on hold; then the address and the lines change on Shopify.
      const placed = shopifyOrder(id, { line_items: lines, total_discounts: '0.00', updated_at: '2026-02-01T10:00:00Z', billing_address: { country_code: 'CA', zip: 'K2H7A8' } });
      shopifyApi.addOrder(placed);
      expect((await postShopify(stack, 'dtc', 'orders/create', placed, { secret })).status).toBe(200);
      const orderId = `dtc-SH-${id}`;
      const status = () => stack.db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirst().then((r) => r?.status);
      await eventually(async () => ((await status()) === 'on_hold' ? true : undefined), 20_000, 'the order on hold');
      const changed = { ...placed, updated_at: '2026-02-01T11:00:00Z', shipping_address: { ...(placed.shipping_address as object), address1: '1 New Street' }, line_items: lines.map((l) => ({ ...l, quantity: 2, current_quantity: 2 })) };
      shopifyApi.addOrder(changed);
      expect((await postShopify(stack, 'dtc', 'orders/updated', changed, { secret })).status).toBe(200);
      await eventually(async () => ((await stack.db.selectFrom('channel_deliveries').select('outcome').where('topic', '=', 'orders/updated').executeTakeFirst())?.outcome === 'update_applied' ? true : undefined), 20_000, 'the amendment');
      await post(`/orders/${orderId}/hold-decision`, { decision: 'approve', reason: 'known customer' }, 'ops');
      await eventually(async () => ((await status()) === 'released' ? true : undefined), 20_000, 'the order released');
      for (const type of ['picked', 'packed']) await post(`/shipments/${orderId}-1/events`, { type }, 'system');
      await post(`/shipments/${orderId}-1/events`, { type: 'shipped', carrier: 'UPS', tracking: '1ZREPLAY0001', freightCostMinor: 500 }, 'system');
      await eventually(async () => (shopifyApi.fulfillmentsOf(id).length === 1 ? true : undefined), 30_000, 'the fulfillment on Shopify');
      const orderHandle = stack.client.workflow.getHandle(`order-${orderId}`);
      await orderHandle.result();
      save('storefront-order-amended-on-hold', `order-${orderId}`, await orderHandle.fetchHistory());
      const intake = stack.client.workflow.getHandle(channelOrderWorkflowId('dtc', id));
      await intake.result();
      save('storefront-intake-created-amended', channelOrderWorkflowId('dtc', id), await intake.fetchHistory());

      // The order publisher's runs, back from the current one: one that sent an update and continued as new is kept.
      await eventually(async () => ((await publisher.query(orderPublisherStateQuery)).runs >= 2 ? true : undefined), 60_000, 'the order publisher to continue as new');
      const runs: Awaited<ReturnType<typeof publisher.fetchHistory>>[] = [];
      for (let runId: string | undefined = (await publisher.describe()).runId; runId; ) {
        const history = await stack.client.workflow.getHandle(channelOrderPublisherWorkflowId('dtc'), runId).fetchHistory();
        runs.push(history);
        runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      const kept = runs.find((h) => (h.events ?? []).some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendOrderUpdate') && h.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes != null);
      expect(kept, 'a run that sent an update and continued as new').toBeDefined();
      save('storefront-order-publisher-sent', channelOrderPublisherWorkflowId('dtc'), kept!);
    } finally {
      await publisher.terminate('recorded').catch(() => {});
      await stack.stop();
      await shopifyApi.stop();
    }
  }, 180_000);
});

describe.skipIf(recording)('replay of recorded histories', () => {
  const files = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f.endsWith('.json')).sort() : [];

  it('has recorded histories of each process', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'adjustment-approved.json',
        'order-backorder-filled.json',
        'order-cancel-after-allocation.json',
        'order-hold-approve.json',
        'order-split-release.json',
        'shipment-shipped.json',
        'purchase-order-approved-received-closed.json',
        'transfer-received-damaged-lost.json',
        'replenishment-planner-run.json',
        'return-approval-approved-refunded.json',
        'return-exchange-replacement-shipped.json',
        'return-two-parcels-every-disposition-refunded.json',
        'channel-publisher-delivered.json',
        'storefront-order-amended-on-hold.json',
        'storefront-intake-created-amended.json',
        'storefront-order-publisher-sent.json',
        // Recorded while orders and shipments ran their steps as remote activities (patched 'local-activities').
        'remote-steps-order-backorder-filled.json',
        'remote-steps-order-cancel-after-allocation.json',
        'remote-steps-order-hold-approve.json',
        'remote-steps-order-split-release.json',
        'remote-steps-shipment-shipped.json',
        // Recorded before orders had shipments: they must go on replaying (patched 'shipments').
        'legacy-order-backorder-filled.json',
        'legacy-order-cancel-after-allocation.json',
        'legacy-order-hold-approve.json',
        'legacy-order-split-release.json',
      ]),
    );
  });

  it.each(files)('%s replays against the current workflow code', async (file) => {
    const { workflowId, history } = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, historyFromJSON(history), workflowId);
  });
});
