/**
 * Order updates back to the storefronts, against local fakes of Shopify's and WooCommerce's
 * admin APIs that check each request's shape: a split order's two shipments become two
 * Shopify fulfillments with their tracking; a storm of 429s (and 5xx) slows the publisher
 * without losing or repeating an update, raising `channel_delivery_failing` and resolving it;
 * pause holds updates; a cancellation goes back; WooCommerce gets a note with the tracking
 * and the order completed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { channelOrderPublisherWorkflowId } from '../../contracts/channel-order-publisher.js';
import { loadConfig } from '../../runtime/config.js';
import { FakeShopify, FakeWooCommerce } from '../support/fake-platforms.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { orderDriver } from '../support/orders.js';
import { authAs, eventually, useTestStack } from '../support/stack.js';
import { postShopify, postWoo, SHOPIFY_SHOP, shopifyOrder, WOO_SITE, wooOrder } from '../support/storefront.js';

const base = loadConfig({});
const stack = useTestStack({
  channelPublishing: { ...base.channelPublishing, pollWaitMs: 1_000, pollIntervalMs: 100, requestTimeoutMs: 2_000, failureThreshold: 3, retryInitialMs: 200, retryMaxMs: 1_000, idleRecheckMs: 1_000 },
  policies: { ...base.policies, order: { ...base.policies.order, risk: { ...base.policies.order.risk, newCustomerValueMinor: 10_000_000, holdValueMinor: 10_000_000, velocityMaxOrders: 1_000 } } },
});
const drive = orderDriver(stack);
const shopifyApi = new FakeShopify();
const wooApi = new FakeWooCommerce();
const SHOPIFY_SECRET = 'shpss_updates_signing_key_001';
const WOO_SECRET = 'woo-updates-webhook-secret-01';
let near = '';
let far = '';

const shopifyId = () => `7${Date.now()}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`.slice(0, 18);
/** A Shopify order of one unit of each sku, with line ids of its own. */
function splitOrder(id: string, skus: string[]): Record<string, unknown> {
  const sample = shopifyOrder(id);
  const template = (sample.line_items as Record<string, unknown>[])[0]!;
  const lines = skus.map((sku, i) => ({ ...template, id: `${id.slice(0, 15)}10${i}`, admin_graphql_api_id: `gid://shopify/LineItem/${id.slice(0, 15)}10${i}`, sku, price: '10.00', name: sku, title: sku }));
  return { ...sample, line_items: lines, total_discounts: '0.00', total_price: `${10 * skus.length + 10}.00`, updated_at: new Date().toISOString() };
}
const orderIdOf = (id: string) => `dtc-SH-${id}`;
const settled = (orderId: string, status: string) =>
  eventually(async () => ((await stack.db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirst())?.status === status ? true : undefined), 30_000, `${orderId} ${status}`);
const publishing = async (channel: string) => (await stack.app.inject({ method: 'GET', url: `/channels/${channel}/publishing`, headers: authAs('viewer') })).json();

async function shipAll(orderId: string, count: number, tracking: (n: number) => string): Promise<string[]> {
  const shipments = [...(await drive.shipmentsOf(orderId, count)).values()].sort();
  for (const [i, shipmentId] of shipments.entries()) {
    for (const payload of [{ type: 'picked' }, { type: 'packed' }, { type: 'shipped', carrier: 'UPS', tracking: tracking(i + 1), freightCostMinor: 500 }]) {
      const res = await drive.event(shipmentId, payload);
      expect(res.statusCode, res.body).toBe(200);
    }
  }
  return shipments;
}

/** A Shopify order placed through its webhook, known to the fake Shopify, released. */
async function placeShopify(skus: string[]): Promise<string> {
  const id = shopifyId();
  const order = splitOrder(id, skus);
  shopifyApi.addOrder(order);
  const sent = await postShopify(stack, 'dtc', 'orders/create', order, { secret: SHOPIFY_SECRET });
  expect(sent.status).toBe(200);
  await settled(orderIdOf(id), 'released');
  return id;
}

beforeAll(async () => {
  await Promise.all([shopifyApi.start(), wooApi.start()]);
  near = await addWarehouse(stack.db, undefined, { lat: 38.2, lon: -85.7 });
  far = await addWarehouse(stack.db, undefined, { lat: 34, lon: -118 });
  for (const [sku, warehouse] of [['SPLIT-A', near], ['SPLIT-B', far], ['WOO-SINGLE-1', near], ['BAR3', near]] as const) {
    await addItem(stack.db, sku, { price_minor: sku === 'WOO-SINGLE-1' ? 300 : sku === 'BAR3' ? 1200 : 1000 });
    await stock(stack.db, sku, warehouse, 100);
  }
  const connect = async (channel: string, body: object) => {
    const res = await stack.app.inject({ method: 'PUT', url: `/channels/${channel}/connector`, headers: authAs('admin'), payload: body });
    expect(res.statusCode, res.body).toBe(200);
  };
  await connect('dtc', { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: SHOPIFY_SECRET, api: { baseUrl: shopifyApi.baseUrl, token: shopifyApi.token } });
  await connect('marketplace', { platform: 'woocommerce', shop: WOO_SITE, webhookSecret: WOO_SECRET, api: { baseUrl: wooApi.baseUrl, token: wooApi.credentials } });
});

afterAll(async () => {
  for (const channel of ['dtc', 'marketplace']) {
    await stack.client.workflow
      .getHandle(channelOrderPublisherWorkflowId(channel))
      .terminate('test over')
      .catch((error) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
  }
  await Promise.all([shopifyApi.stop(), wooApi.stop()]);
});

describe('Shopify', () => {
  it("sends a split order's two shipments as two fulfillments with their tracking", async () => {
    const id = await placeShopify(['SPLIT-A', 'SPLIT-B']);
    const shipments = await shipAll(orderIdOf(id), 2, (n) => `1ZSPLIT${id.slice(-6)}${n}`);
    expect(shipments).toHaveLength(2);
    const fulfillments = await eventually(async () => (shopifyApi.fulfillmentsOf(id).length === 2 ? shopifyApi.fulfillmentsOf(id) : undefined), 30_000, 'two fulfillments');
    const lineIds = ((shopifyApi.orders.get(id)!.order.line_items as { id: unknown }[]).map((l) => String(l.id)));
    expect(fulfillments.map((f) => [f.tracking_company, f.tracking_number, f.notify_customer]).sort()).toEqual([
      ['UPS', `1ZSPLIT${id.slice(-6)}1`, true],
      ['UPS', `1ZSPLIT${id.slice(-6)}2`, true],
    ]);
    expect(fulfillments.flatMap((f) => (f.line_items as { id: string; quantity: number }[]).map((l) => [l.id, l.quantity])).sort()).toEqual(lineIds.map((l) => [l, 1]).sort());
    expect(shopifyApi.orders.get(id)!.order.fulfillment_status).toBe('fulfilled');
    const updates = await eventually(async () => {
      const rows = await stack.db.selectFrom('channel_order_updates').selectAll().where('order_id', '=', orderIdOf(id)).orderBy('event_id').execute();
      return rows.length === 3 ? rows : undefined;
    });
    expect(updates.map((u) => [u.topic, u.outcome])).toEqual([
      ['order.released', 'skipped'],
      ['shipment.shipped', 'sent'],
      ['shipment.shipped', 'sent'],
    ]);
    const view = await eventually(async () => {
      const p = await publishing('dtc');
      return p.orderUpdates?.lag.eventsBehind === 0 ? p : undefined;
    });
    expect(view.orderUpdates).toMatchObject({ connected: true, paused: false, failures: { consecutive: 0 } });
    expect(view.orderUpdates.updates.sent).toBeGreaterThanOrEqual(2);
  });

  it('slows down through a storm of 429s and 5xx without losing or repeating an update', async () => {
    const id = await placeShopify(['SPLIT-A']);
    await eventually(async () => ((await publishing('dtc')).orderUpdates.lag.eventsBehind === 0 ? true : undefined));
    const stormFrom = shopifyApi.requests.length;
    shopifyApi.storm(5, 1);
    shopifyApi.fail(2, 503);
    const started = Date.now();
    await shipAll(orderIdOf(id), 1, () => `1ZSTORM${id.slice(-6)}`);
    const fulfillments = await eventually(async () => (shopifyApi.fulfillmentsOf(id).length > 0 ? shopifyApi.fulfillmentsOf(id) : undefined), 60_000, 'the fulfillment after the storm');
    const took = Date.now() - started;
    const answered = shopifyApi.requests.slice(stormFrom).map((r) => r.status);
    expect(answered.filter((s) => s === 429)).toHaveLength(5);
    expect(answered.filter((s) => s === 503)).toHaveLength(2);
    // Five Retry-After of a second each: the publisher waited for them.
    expect(took).toBeGreaterThanOrEqual(5_000);
    expect(fulfillments).toHaveLength(1);
    expect(fulfillments[0]).toMatchObject({ tracking_number: `1ZSTORM${id.slice(-6)}` });
    const exceptions = await stack.db.selectFrom('exceptions').selectAll().where('kind', '=', 'channel_delivery_failing').where('reference', '=', 'dtc').execute();
    expect(exceptions.length).toBeGreaterThanOrEqual(1);
    await eventually(async () => ((await stack.db.selectFrom('exceptions').select('status').where('id', '=', exceptions.at(-1)!.id).executeTakeFirst())?.status === 'resolved' ? true : undefined));
    expect((await publishing('dtc')).orderUpdates.failures.consecutive).toBe(0);
  });

  it("sends a return's refund as a Shopify refund record of the lines against the order's payment", async () => {
    const id = await placeShopify(['SPLIT-A']);
    const orderId = orderIdOf(id);
    await shipAll(orderId, 1, () => `1ZRET${id.slice(-6)}`);
    await settled(orderId, 'shipped');
    const post = (url: string, payload: object, role: 'ops' | 'system') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
    const rmaId = `rma-${id.slice(-10)}`;
    expect((await post('/returns', { returnId: rmaId, orderId, lines: [{ sku: 'SPLIT-A', qty: 1 }], reasonCode: 'defective', resolution: 'refund' }, 'ops')).statusCode).toBe(201);
    expect((await post(`/returns/${rmaId}/receipt`, { parcelId: 'P1', warehouse: near, lines: [{ sku: 'SPLIT-A', qty: 1 }] }, 'system')).statusCode).toBe(200);
    expect((await post(`/returns/${rmaId}/inspection`, { inspectionId: 'I1', lines: [{ sku: 'SPLIT-A', qty: 1, condition: 'as_new' }] }, 'ops')).statusCode).toBe(200);
    const refunded = await eventually(async () => {
      const r = (await stack.app.inject({ method: 'GET', url: `/returns/${rmaId}`, headers: authAs('viewer') })).json();
      return r.status === 'refunded' ? r : undefined;
    }, 30_000, 'the refund');
    const refunds = await eventually(async () => (shopifyApi.orders.get(id)!.refunds.length ? shopifyApi.orders.get(id)!.refunds : undefined), 30_000, 'the refund on Shopify');
    const lineId = String((shopifyApi.orders.get(id)!.order.line_items as { id: unknown }[])[0]!.id);
    const paymentId = String(shopifyApi.orders.get(id)!.transactions[0]!.id);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ note: `return ${rmaId}` });
    expect((refunds[0]!.refund_line_items as { line_item_id: unknown; quantity: number; restock_type: string }[]).map((l) => [String(l.line_item_id), l.quantity, l.restock_type])).toEqual([[lineId, 1, 'no_restock']]);
    const [money] = refunds[0]!.transactions as { parent_id: unknown; amount: string; kind: string }[];
    expect([String(money!.parent_id), money!.amount, money!.kind]).toEqual([paymentId, (refunded.refundedMinor / 100).toFixed(2), 'refund']);
    const updates = await eventually(async () => {
      const rows = await stack.db.selectFrom('channel_order_updates').select(['topic', 'outcome']).where('order_id', '=', orderId).where('topic', 'like', 'return.%').orderBy('event_id').execute();
      return rows.length === 2 ? rows : undefined;
    });
    expect(updates.map((u) => [u.topic, u.outcome])).toEqual([
      ['return.authorized', 'skipped'],
      ['return.refunded', 'sent'],
    ]);
  });

  it('records an update the platform refuses outright, raises it for ops, and goes on with the next', async () => {
    // Shopify knows the order without its line (the fulfillment cannot be made there).
    const id = shopifyId();
    const order = splitOrder(id, ['SPLIT-A']);
    shopifyApi.addOrder({ ...order, line_items: [] });
    expect((await postShopify(stack, 'dtc', 'orders/create', order, { secret: SHOPIFY_SECRET })).status).toBe(200);
    await settled(orderIdOf(id), 'released');
    await shipAll(orderIdOf(id), 1, () => `1ZREFUSED${id.slice(-6)}`);
    const next = await placeShopify(['SPLIT-A']);
    await shipAll(orderIdOf(next), 1, () => `1ZNEXT${next.slice(-6)}`);
    await eventually(async () => (shopifyApi.fulfillmentsOf(next).length === 1 ? true : undefined), 30_000, 'the next order’s fulfillment');
    const refused = await stack.db.selectFrom('channel_order_updates').selectAll().where('order_id', '=', orderIdOf(id)).where('topic', '=', 'shipment.shipped').executeTakeFirstOrThrow();
    expect(refused).toMatchObject({ outcome: 'refused' });
    expect(refused.detail).toContain('not open for fulfillment');
    const exception = await stack.db.selectFrom('exceptions').selectAll().where('kind', '=', 'channel_update_refused').where('reference', '=', orderIdOf(id)).executeTakeFirstOrThrow();
    expect(exception).toMatchObject({ owner_role: 'ops', status: 'open' });
    expect((await publishing('dtc')).orderUpdates.updates.refused).toBeGreaterThanOrEqual(1);
  });

  it('holds updates while paused, sends them on resume; sends a cancellation by ops', async () => {
    const id = await placeShopify(['SPLIT-A']);
    expect((await stack.app.inject({ method: 'POST', url: '/channels/dtc/publishing/pause', headers: authAs('ops') })).statusCode).toBe(200);
    await shipAll(orderIdOf(id), 1, () => `1ZPAUSE${id.slice(-6)}`);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(shopifyApi.fulfillmentsOf(id)).toHaveLength(0);
    const paused = await publishing('dtc');
    expect(paused.orderUpdates.paused).toBe(true);
    expect(paused.orderUpdates.lag.eventsBehind).toBeGreaterThanOrEqual(1);
    expect((await stack.app.inject({ method: 'POST', url: '/channels/dtc/publishing/resume', headers: authAs('ops') })).statusCode).toBe(200);
    await eventually(async () => (shopifyApi.fulfillmentsOf(id).length === 1 ? true : undefined), 30_000, 'the held fulfillment');

    const other = await placeShopify(['SPLIT-A']);
    const cancel = await stack.app.inject({ method: 'POST', url: `/orders/${orderIdOf(other)}/cancel`, headers: authAs('ops'), payload: { reason: 'customer called to cancel' } });
    expect(cancel.statusCode, cancel.body).toBe(200);
    await eventually(async () => (shopifyApi.orders.get(other)!.order.cancelled_at ? true : undefined), 30_000, 'the cancellation on Shopify');
    expect(shopifyApi.requests.filter((r) => r.path === `/orders/${other}/cancel.json`)).toHaveLength(1);
  });
});

describe('reconciliation', () => {
  it('imports an order whose webhook was missed and re-sends a fulfillment the platform lost, once', async () => {
    // An order the shop has and never told us of.
    const missedId = shopifyId();
    shopifyApi.addOrder(splitOrder(missedId, ['SPLIT-A']));
    // An order shipped and fulfilled on Shopify, whose fulfillment Shopify then lost.
    const lostId = await placeShopify(['SPLIT-A']);
    await shipAll(orderIdOf(lostId), 1, () => `1ZLOST${lostId.slice(-6)}`);
    await eventually(async () => (shopifyApi.fulfillmentsOf(lostId).length === 1 ? true : undefined), 30_000, 'the first fulfillment');
    const lost = shopifyApi.orders.get(lostId)!;
    lost.fulfillments.length = 0;
    for (const fo of lost.fulfillmentOrders) {
      fo.status = 'open';
      for (const line of fo.line_items) line.fulfillable_quantity = line.quantity;
    }
    lost.order = { ...lost.order, fulfillment_status: null, fulfillments: [] };

    const period = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
    expect((await stack.app.inject({ method: 'POST', url: '/channels/dtc/reconcile', headers: authAs('viewer'), payload: period })).statusCode).toBe(403);
    const run = await stack.app.inject({ method: 'POST', url: '/channels/dtc/reconcile', headers: authAs('ops'), payload: period });
    expect(run.statusCode, run.body).toBe(200);
    const { report } = run.json();
    expect(report.missing).toEqual([{ platformOrderId: missedId, reference: '#9999', orderId: orderIdOf(missedId) }]);
    expect(report.statusDiffers).toEqual([{ platformOrderId: lostId, orderId: orderIdOf(lostId), ours: 'shipped', platform: expect.any(String), resent: [`shipment ${orderIdOf(lostId)}-1`] }]);
    await settled(orderIdOf(missedId), 'released');
    const refound = await eventually(async () => (shopifyApi.fulfillmentsOf(lostId).length === 1 ? shopifyApi.fulfillmentsOf(lostId) : undefined), 30_000, 'the fulfillment sent again');
    expect(refound[0]).toMatchObject({ tracking_number: `1ZLOST${lostId.slice(-6)}` });

    // Again: nothing missing, nothing lacking.
    const again = await stack.app.inject({ method: 'POST', url: '/channels/dtc/reconcile', headers: authAs('system'), payload: period });
    expect(again.json().report).toMatchObject({ missing: [], statusDiffers: [] });
    const listed = (await stack.app.inject({ method: 'GET', url: '/channels/dtc/reconciliations', headers: authAs('viewer') })).json();
    expect(listed.reconciliations).toHaveLength(2);
    expect(listed.reconciliations[1].report.missing).toHaveLength(1);
    expect((await stack.app.inject({ method: 'POST', url: '/channels/wholesale/reconcile', headers: authAs('ops'), payload: {} })).json().error.code).toBe('not_connected');
  });
});

describe('WooCommerce', () => {
  it('gets a customer note with the tracking and the order completed', async () => {
    const id = 600_000 + Math.floor(Math.random() * 99_999);
    const order = wooOrder(id);
    wooApi.addOrder(order);
    expect((await postWoo(stack, 'marketplace', 'order.created', order, { secret: WOO_SECRET })).status).toBe(200);
    const orderId = `marketplace-WC-${id}`;
    await settled(orderId, 'released');
    await shipAll(orderId, 1, () => `940011189956${id}`);
    await eventually(async () => (wooApi.orders.get(String(id))!.order.status === 'completed' ? true : undefined), 30_000, 'the order completed on WooCommerce');
    const notes = wooApi.orders.get(String(id))!.notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ customer_note: true, note: expect.stringContaining(`UPS, tracking 940011189956${id}`) });
  });
});
