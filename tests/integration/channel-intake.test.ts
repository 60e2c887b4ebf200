/**
 * Storefront orders in: Shopify's and WooCommerce's webhooks against the real API, worker,
 * Temporal and PostgreSQL. Signatures refused before anything is read; each delivery
 * recorded once and decided once; duplicate and out-of-order deliveries converge on the
 * platform's newest state; changes before release amend the order, after release open a
 * task; a platform's cancellation cancels the order and gives its stock back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, eventually, useTestStack } from '../support/stack.js';
import { postShopify, postWoo, SHOPIFY_SHOP, shopifyOrder, WOO_SITE, wooOrder } from '../support/storefront.js';

const base = loadConfig({});
const stack = useTestStack({
  channelConnectors: { ...base.channelConnectors, secretGraceMs: 4_000, webhookBodyLimitBytes: 256 * 1024 },
  // The sample order is worth 404.95, always from the same customer: above the default hold thresholds.
  policies: { ...base.policies, order: { ...base.policies.order, risk: { ...base.policies.order.risk, newCustomerValueMinor: 10_000_000, holdValueMinor: 10_000_000, velocityMaxOrders: 1_000 } } },
});

const SHOPIFY_SECRET = 'shpss_webhook_signing_key_0001';
const WOO_SECRET = 'woo-webhook-secret-000000001';
const skus: Record<string, number> = { 'SKU2006-001': 8999, 'LENS-PROTECT-2YR': 1999, 'CASE-LEATHER-PREM': 2499, 'SKU2006-020': 15999, 'SKU2006-035': 11999, 'WOO-SINGLE-1': 300, BAR3: 1200 };
let warehouse = '';

/** A fresh 18-digit Shopify order id. */
const shopifyId = () => `8${Date.now()}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`.slice(0, 18);
const shopify = (topic: string, order: Record<string, unknown>, options: Partial<Parameters<typeof postShopify>[4]> = {}) =>
  postShopify(stack, 'dtc', topic, order, { secret: SHOPIFY_SECRET, ...options });
const woo = (topic: string, order: Record<string, unknown> | null, options: Partial<Parameters<typeof postWoo>[4]> = {}) =>
  postWoo(stack, 'marketplace', topic, order, { secret: WOO_SECRET, ...options });

const get = async (url: string, role: 'viewer' | 'admin' | 'ops' = 'viewer') => {
  const response = await stack.app.inject({ method: 'GET', url, headers: authAs(role) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};
const orderStatus = async (orderId: string) => (await stack.db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirst())?.status;
const settled = (orderId: string, status: string) => eventually(async () => ((await orderStatus(orderId)) === status ? true : undefined), 30_000, `${orderId} to be ${status}`);
const decided = (deliveryId: string) =>
  eventually(
    async () => {
      const row = await stack.db.selectFrom('channel_deliveries').selectAll().where('delivery_id', '=', deliveryId).executeTakeFirst();
      return row?.decided_at ? row : undefined;
    },
    30_000,
    `delivery ${deliveryId} to be decided`,
  );
const writes = async () => {
  const [deliveries, orders] = await Promise.all([
    stack.db.selectFrom('channel_deliveries').select(stack.db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    stack.db.selectFrom('orders').select(stack.db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { deliveries: Number(deliveries.n), orders: Number(orders.n) };
};

beforeAll(async () => {
  warehouse = await addWarehouse(stack.db, undefined, { lat: 38.2, lon: -85.7 });
  for (const [sku, price] of Object.entries(skus)) {
    await addItem(stack.db, sku, { price_minor: price });
    await stock(stack.db, sku, warehouse, 50);
  }
  const connect = (channel: string, body: object) => stack.app.inject({ method: 'PUT', url: `/channels/${channel}/connector`, headers: authAs('admin'), payload: body });
  expect((await connect('dtc', { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: SHOPIFY_SECRET })).statusCode).toBe(200);
  const wooConnected = await connect('marketplace', { platform: 'woocommerce', shop: WOO_SITE, webhookSecret: WOO_SECRET, mapping: { skuPrefixMap: {}, currencies: ['USD'] } });
  expect(wooConnected.statusCode, wooConnected.body).toBe(200);
});

describe('connector settings', () => {
  it('are set by admin only, keep the 400/422 rule, and never show a secret', async () => {
    const put = (role: 'admin' | 'ops', channel: string, payload: object) => stack.app.inject({ method: 'PUT', url: `/channels/${channel}/connector`, headers: authAs(role), payload });
    expect((await put('ops', 'dtc', { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: SHOPIFY_SECRET })).statusCode).toBe(403);
    for (const bad of [{}, { platform: 'magento', shop: 'x.example', webhookSecret: 'y'.repeat(20) }, { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: 'short' }]) {
      const answer = await put('admin', 'subscription', bad);
      expect(answer.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect(await stack.db.selectFrom('channel_connectors').select('channel').where('channel', '=', 'subscription').executeTakeFirst()).toBeUndefined();
    expect((await put('admin', 'no-such-channel', { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: SHOPIFY_SECRET })).statusCode).toBe(404);
    const shown = await get('/channels/dtc/connector', 'viewer');
    expect(shown).toMatchObject({ channel: 'dtc', platform: 'shopify', shop: SHOPIFY_SHOP, webhookPath: '/channels/dtc/webhooks/shopify', orderIdPrefix: 'dtc-SH', secret: { set: true } });
    for (const url of ['/channels/dtc/connector', '/channels/dtc/deliveries', '/audit?subjectId=dtc']) {
      const text = (await stack.app.inject({ method: 'GET', url, headers: authAs('ops') })).body;
      expect(text).not.toContain(SHOPIFY_SECRET);
    }
  });

  it('rotate a secret with the previous one accepted for the grace period', async () => {
    const next = 'shpss_webhook_signing_key_0002';
    const rotate = await stack.app.inject({ method: 'PUT', url: '/channels/dtc/connector', headers: authAs('admin'), payload: { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: next } });
    expect(rotate.statusCode).toBe(200);
    expect(rotate.json().secret.previousAcceptedUntil).not.toBeNull();
    const id = shopifyId();
    expect((await shopify('orders/create', shopifyOrder(id), { secret: SHOPIFY_SECRET })).status).toBe(200);
    expect((await shopify('orders/create', shopifyOrder(shopifyId()), { secret: next })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 4_200));
    expect((await shopify('orders/create', shopifyOrder(shopifyId()), { secret: SHOPIFY_SECRET })).status).toBe(401);
    // Back to the first secret for the other tests (the second is accepted a while longer).
    await stack.app.inject({ method: 'PUT', url: '/channels/dtc/connector', headers: authAs('admin'), payload: { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: SHOPIFY_SECRET } });
    await settled(`dtc-SH-${id}`, 'released');
  });
});

describe('authenticity and bad bodies', () => {
  it('refuses what cannot be authenticated with 401, writing nothing', async () => {
    const before = await writes();
    const order = shopifyOrder(shopifyId());
    const refused = [
      await shopify('orders/create', order, { signature: null }),
      await shopify('orders/create', order, { secret: 'not-the-secret-at-all-000' }),
      await shopify('orders/create', order, { signature: 'AAAA' }),
      await shopify('orders/create', order, { shop: 'someone-else.myshopify.com' }),
      await postShopify(stack, 'wholesale', 'orders/create', order, { secret: SHOPIFY_SECRET }),
      await postShopify(stack, 'marketplace', 'orders/create', order, { secret: WOO_SECRET }),
      await woo('order.created', wooOrder(90001), { signature: null }),
    ];
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 401));
    expect(refused[0]!.body).toMatchObject({ error: { code: 'unauthorized' } });
    // A signature over other bytes than those sent: the same JSON re-serialized does not pass.
    const payload = JSON.stringify({ ...order, id: 1 });
    expect((await shopify('orders/create', order, { raw: payload.replace('{', '{ '), signature: (await import('../../services/connectors/connector.js')).signatureFor(SHOPIFY_SECRET, payload) })).status).toBe(401);
    expect(await writes()).toEqual(before);
  });

  it("answers WooCommerce's setup ping 200 and writes nothing; 400 for a signed body that is no order; 413 past the limit", async () => {
    const before = await writes();
    const ping = await woo('action.woocommerce_webhook_ping', null, { raw: 'webhook_id=12', contentType: 'application/x-www-form-urlencoded', signature: null });
    expect(ping.status).toBe(200);
    expect(ping.body).toMatchObject({ received: false, outcome: 'setup_ping' });
    expect((await shopify('orders/create', {}, { raw: 'not json at all' })).status).toBe(400);
    expect((await shopify('orders/create', {}, { raw: '[1,2,3]' })).status).toBe(400);
    expect((await shopify('orders/create', {}, { raw: '{"note":"no id"}' })).status).toBe(400);
    const huge = await shopify('orders/create', shopifyOrder(shopifyId(), { note: 'x'.repeat(300 * 1024) }));
    expect(huge.status).toBe(413);
    expect(await writes()).toEqual(before);
  });
});

describe('Shopify orders', () => {
  it("become orders: the sample's lines, money and payment on the record, released without waiting in the webhook", async () => {
    const id = shopifyId();
    const sent = await shopify('orders/create', shopifyOrder(id));
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ received: true, repeated: false, orderId: `dtc-SH-${id}` });
    const orderId = `dtc-SH-${id}`;
    await settled(orderId, 'released');
    const view = await get(`/orders/${orderId}`);
    expect(view.record).toMatchObject({ channel: 'dtc', customerId: 'shopify-115310627314723954', currency: 'USD', freightMinor: 1000, totalMinor: 40495, billingCountry: 'US' });
    expect(view.record.lines.map((l: { sku: string; unitPriceMinor: number; discountMinor: number }) => [l.sku, l.unitPriceMinor, l.discountMinor])).toEqual([
      ['SKU2006-001', 8999, 433],
      ['LENS-PROTECT-2YR', 1999, 97],
      ['CASE-LEATHER-PREM', 2499, 120],
      ['SKU2006-020', 15999, 771],
      ['SKU2006-035', 11999, 579],
    ]);
    expect(view.channelOrder).toMatchObject({ platform: 'shopify', platformOrderId: id, reference: '#9999', coordinates: 'postal_code', payment: { status: 'paid', gateway: 'visa, bogus' } });
    const delivery = await decided(sent.deliveryId);
    expect(delivery).toMatchObject({ outcome: 'order_created', order_id: orderId, platform_order_id: id });
    const listed = await get('/channels/dtc/deliveries?limit=5');
    expect(listed.deliveries.find((d: { deliveryId: string }) => d.deliveryId === sent.deliveryId)).toMatchObject({ outcome: 'order_created', orderId, summary: { totalMinor: 40495, lines: 5, coordinates: 'postal_code' } });
  });

  it('takes the same delivery twice and the same order twice as one order', async () => {
    const id = shopifyId();
    const first = await shopify('orders/create', shopifyOrder(id));
    const again = await shopify('orders/create', shopifyOrder(id), { deliveryId: first.deliveryId });
    expect(again).toMatchObject({ status: 200, body: { repeated: true } });
    // Another delivery of the same state (Shopify sends orders/updated beside orders/create).
    const updated = await shopify('orders/updated', shopifyOrder(id));
    expect(updated.status).toBe(200);
    await settled(`dtc-SH-${id}`, 'released');
    expect((await decided(updated.deliveryId)).outcome).toBe('no_change');
    const rows = await stack.db.selectFrom('channel_deliveries').select('id').where('platform_order_id', '=', id).execute();
    expect(rows).toHaveLength(2);
    expect(await stack.db.selectFrom('orders').select('id').where('id', 'like', `%${id}`).execute()).toHaveLength(1);
    expect(await stack.db.selectFrom('reservations').select('id').where('order_id', '=', `dtc-SH-${id}`).execute()).toHaveLength(5);
  });

  it('converges when orders/updated comes before orders/create: the newer state wins', async () => {
    const id = shopifyId();
    const created = shopifyOrder(id, { updated_at: '2026-01-01T10:00:00Z' });
    const moved = shopifyOrder(id, {
      updated_at: '2026-01-01T10:05:00Z',
      shipping_address: { ...(created.shipping_address as object), address1: '9 Moved Lane', zip: '10001', city: 'New York', province_code: 'NY' },
    });
    const late = await shopify('orders/updated', moved);
    const early = await shopify('orders/create', created);
    await settled(`dtc-SH-${id}`, 'released');
    expect((await decided(late.deliveryId)).outcome).toBe('order_created');
    expect((await decided(early.deliveryId)).outcome).toBe('superseded');
    const record = (await get(`/orders/dtc-SH-${id}`)).record;
    expect(record.shipTo).toMatchObject({ line1: '9 Moved Lane', postalCode: '10001' });
  });

  it('amends an order on hold with a new address and new lines before release', async () => {
    const id = shopifyId();
    // Billing in Canada, shipping in the US: the order waits on hold for a person.
    const placed = shopifyOrder(id, { updated_at: '2026-02-01T10:00:00Z', billing_address: { country_code: 'CA', zip: 'K2H7A8', city: 'Ottawa' } });
    await shopify('orders/create', placed);
    const orderId = `dtc-SH-${id}`;
    await settled(orderId, 'on_hold');
    const changed = shopifyOrder(id, {
      updated_at: '2026-02-01T11:00:00Z',
      billing_address: { country_code: 'CA', zip: 'K2H7A8', city: 'Ottawa' },
      shipping_address: { ...(placed.shipping_address as object), address1: '1 New Street' },
      line_items: (placed.line_items as Record<string, unknown>[]).slice(0, 2).map((l) => ({ ...l, current_quantity: 2, quantity: 2 })),
      total_discounts: '0.00',
    });
    const update = await shopify('orders/updated', changed);
    expect((await decided(update.deliveryId)).outcome).toBe('update_applied');
    const view = await get(`/orders/${orderId}`);
    expect(view.record.shipTo.line1).toBe('1 New Street');
    expect(view.record.lines.map((l: { sku: string; qty: number }) => [l.sku, l.qty])).toEqual([
      ['SKU2006-001', 2],
      ['LENS-PROTECT-2YR', 2],
    ]);
    expect(view.record.totalMinor).toBe(2 * 8999 + 2 * 1999 + 1000);
    expect(view.process.amendments).toHaveLength(1);
    const approve = await stack.app.inject({ method: 'POST', url: `/orders/${orderId}/hold-decision`, headers: authAs('ops'), payload: { decision: 'approve', reason: 'known customer' } });
    expect(approve.statusCode).toBe(200);
    await settled(orderId, 'released');
    const reserved = await stack.db.selectFrom('reservations').select(['sku', 'qty']).where('order_id', '=', orderId).orderBy('sku').execute();
    expect(reserved.map((r) => [r.sku, Number(r.qty)])).toEqual([
      ['LENS-PROTECT-2YR', 2],
      ['SKU2006-001', 2],
    ]);
  });

  it('opens a task for a change after release, and cancels on the platform’s cancellation, giving the stock back', async () => {
    const id = shopifyId();
    const placed = shopifyOrder(id, { updated_at: '2026-03-01T10:00:00Z' });
    const before = await balance(stack.db, 'SKU2006-020', warehouse, 'available');
    await shopify('orders/create', placed);
    const orderId = `dtc-SH-${id}`;
    await settled(orderId, 'released');
    expect(await balance(stack.db, 'SKU2006-020', warehouse, 'available')).toBe(before - 1);
    const moved = await shopify('orders/updated', shopifyOrder(id, { updated_at: '2026-03-01T11:00:00Z', shipping_address: { ...(placed.shipping_address as object), address1: '2 Late Street' } }));
    const review = await decided(moved.deliveryId);
    expect(review).toMatchObject({ outcome: 'needs_review', detail: { code: 'already_released' } });
    const task = await stack.db.selectFrom('tasks').selectAll().where('id', '=', (review.detail as { taskId: string }).taskId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ kind: 'channel_order_changed', reference: orderId, role: 'ops', status: 'open' });
    expect((await get(`/orders/${orderId}`)).record.shipTo.line1).toBe('123 Shipping Street');

    const cancel = await shopify('orders/cancelled', shopifyOrder(id, { updated_at: '2026-03-01T12:00:00Z', cancelled_at: '2026-03-01T12:00:00Z', cancel_reason: 'customer' }));
    expect((await decided(cancel.deliveryId)).outcome).toBe('order_cancelled');
    await settled(orderId, 'cancelled');
    expect(await balance(stack.db, 'SKU2006-020', warehouse, 'available')).toBe(before);
    // The same cancellation again changes nothing.
    const twice = await shopify('orders/cancelled', shopifyOrder(id, { updated_at: '2026-03-01T12:00:00Z', cancelled_at: '2026-03-01T12:00:00Z' }));
    expect((await decided(twice.deliveryId)).outcome).toBe('no_change');
  });

  it('records an order with an unknown sku as rejected, with the reason on the delivery', async () => {
    const id = shopifyId();
    const placed = shopifyOrder(id);
    const sent = await shopify('orders/create', { ...placed, line_items: [{ ...(placed.line_items as object[])[0]!, sku: 'NO-SUCH-SKU' }] });
    expect(sent.status).toBe(200);
    const delivery = await decided(sent.deliveryId);
    expect(delivery.outcome).toBe('order_rejected');
    expect(JSON.stringify(delivery.detail)).toContain('unknown sku NO-SUCH-SKU');
    expect(await orderStatus(`dtc-SH-${id}`)).toBe('rejected');
    const rejected = await get('/channels/dtc/deliveries?rejected=true');
    expect(rejected.deliveries.map((d: { deliveryId: string }) => d.deliveryId)).toContain(sent.deliveryId);
  });
});

describe('WooCommerce orders', () => {
  it('wait while pending, become orders when paid, and are read to the minor unit', async () => {
    const id = 700_000 + Math.floor(Math.random() * 99_999);
    const pending = await woo('order.created', wooOrder(id, { status: 'pending', date_paid_gmt: null, date_modified_gmt: '2026-04-01T10:00:00' }));
    expect(pending.status).toBe(200);
    expect((await decided(pending.deliveryId)).outcome).toBe('not_placed');
    expect(await orderStatus(`marketplace-WC-${id}`)).toBeUndefined();
    const paid = await woo('order.updated', wooOrder(id, { status: 'processing', date_modified_gmt: '2026-04-01T10:02:00' }));
    expect((await decided(paid.deliveryId)).outcome).toBe('order_created');
    const orderId = `marketplace-WC-${id}`;
    await settled(orderId, 'released');
    const view = await get(`/orders/${orderId}`);
    expect(view.record).toMatchObject({ channel: 'marketplace', customerId: `woo-guest-${id}`, freightMinor: 1000, totalMinor: 2935 });
    expect(view.record.lines.map((l: { sku: string; qty: number; unitPriceMinor: number; taxMinor: number }) => [l.sku, l.qty, l.unitPriceMinor, l.taxMinor])).toEqual([
      ['WOO-SINGLE-1', 2, 300, 45],
      ['BAR3', 1, 1200, 90],
    ]);
    expect(view.channelOrder).toMatchObject({ platform: 'woocommerce', coordinates: 'postal_code', payment: { status: 'paid', gateway: 'Direct Bank Transfer' } });
  });

  it('rejects an order in a currency the channel does not book', async () => {
    const id = 800_000 + Math.floor(Math.random() * 99_999);
    const sent = await woo('order.created', wooOrder(id, { currency: 'EUR' }));
    const delivery = await decided(sent.deliveryId);
    expect(delivery.outcome).toBe('order_rejected');
    expect(JSON.stringify(delivery.detail)).toContain('unsupported_currency');
  });
});
