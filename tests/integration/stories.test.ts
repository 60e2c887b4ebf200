import { describe, expect, it } from 'vitest';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { placeOrder, shipmentsOf, ship, waitForOrder } = orderDriver(stack);
const post = (url: string, payload: object, role: Parameters<typeof authAs>[0] = 'ops') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const get = (url: string, role: Parameters<typeof authAs>[0] = 'viewer') => stack.app.inject({ method: 'GET', url, headers: authAs(role) });

describe('order and return stories', () => {
  it('an order held, approved, split, shipped, partly returned and refunded reads correctly in both wordings', async () => {
    // 3 × 12,000 from a new customer is over the new-customer threshold (30,000): held.
    const price = 12_000;
    const sku = await addItem(stack.db, undefined, { price_minor: price, average_cost_minor: COST });
    const near = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const far = await addWarehouse(stack.db, undefined, { lat: 41.8, lon: -87.6 });
    await stock(stack.db, sku, near, 1, COST);
    await stock(stack.db, sku, far, 2, COST);
    const orderId = await placeOrder(sku, 3, { lines: [{ sku, qty: 3, unitPriceMinor: price, discountMinor: 300, taxMinor: 600 }] });
    await eventually(async () => ((await get(`/orders/${orderId}`)).json().process?.status === 'on_hold' ? true : undefined), 20_000, 'the hold');
    const approved = await post(`/orders/${orderId}/hold-decision`, { decision: 'approve', reason: 'known buyer, phoned back' });
    expect(approved.statusCode, approved.body).toBe(200);
    const shipments = await shipmentsOf(orderId, 2);
    await ship(shipments.get(near)!, 400);
    await ship(shipments.get(far)!, 500);
    await waitForOrder(orderId, 'shipped');

    const rmaId = uniqueId('rma-');
    expect((await post('/returns', { returnId: rmaId, orderId, lines: [{ sku, qty: 1 }], reasonCode: 'defective', resolution: 'refund' })).statusCode).toBe(201);
    expect((await post(`/returns/${rmaId}/receipt`, { parcelId: 'P1', warehouse: far, lines: [{ sku, qty: 1 }] }, 'system')).statusCode).toBe(200);
    expect((await post(`/returns/${rmaId}/inspection`, { inspectionId: 'I1', lines: [{ sku, qty: 1, condition: 'as_new' }] })).statusCode).toBe(200);
    await eventually(async () => ((await get(`/returns/${rmaId}`)).json().refundedAt || (await get(`/returns/${rmaId}`)).json().status === 'refunded' ? true : undefined), 30_000, 'the refund');

    const customerId = (await get(`/orders/${orderId}`)).json().record.customerId;
    const nearShipment = shipments.get(near)!;
    const farShipment = shipments.get(far)!;
    /** The story with its ids and times replaced by names, so it can be compared word for word. */
    const normalized = (text: string) =>
      text
        .replaceAll(nearShipment, '<near shipment>')
        .replaceAll(farShipment, '<far shipment>')
        .replaceAll(orderId, '<order>')
        .replaceAll(rmaId, '<rma>')
        .replaceAll(customerId, '<customer>')
        .replaceAll(near, '<near>')
        .replaceAll(far, '<far>')
        .replace(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/g, '<time>');

    const operator = await get(`/orders/${orderId}/story?for=operator`);
    expect(operator.statusCode, operator.body).toBe(200);
    const op = operator.json();
    expect(op.events.map((e: { step: string }) => e.step)).toEqual(['placed', 'held', 'hold_approved', 'split', 'shipped', 'shipped', 'return_authorized', 'return_received', 'return_inspected', 'refunded']);
    const opText = normalized(op.text);
    expect(opText).toContain('<time>: Order <order> placed on dtc by customer <customer>: 3 units, 372.99 USD.');
    expect(opText).toMatch(/<time>: Held for review: new_customer_value \(first order of the customer, value \d+ is at or above 30000\)\./);
    expect(opText).toContain('<time>: Hold approved by test-ops (ops): "known buyer, phoned back".');
    expect(opText).toMatch(/<time>: Split over (<near>, <far>|<far>, <near>): no single warehouse fills the order; .+\./);
    expect(opText).toContain('Shipment <near shipment> from <near> shipped 1 unit with UPS, tracking 1Z<near shipment>.');
    expect(opText).toContain('Shipment <far shipment> from <far> shipped 2 units with UPS, tracking 1Z<far shipment>.');
    expect(opText).toContain('<time>: Return <rma> of 1 unit authorized for test-ops, reason defective, resolution refund.');
    expect(opText).toContain('<time>: Return <rma>: first parcel received (1 of 1 units received so far). <time>: Return <rma> inspected.');
    expect(opText).toMatch(/<time>: Return <rma> refunded \d+\.\d\d USD\.$/);

    const customer = (await get(`/orders/${orderId}/story?for=customer`)).json();
    const text = normalized(customer.text);
    // The customer's wording names no warehouse, rule, person or shipment id.
    for (const hidden of ['<near>', '<far>', 'new_customer_value', 'test-ops', '<customer>', 'Shipment ']) expect(text).not.toContain(hidden);
    expect(text).toMatch(
      /^<time>: We received your order <order> of 3 items for 372\.99 USD\. <time>: We paused your order for a routine check before sending it\. <time>: The check is done and your order goes ahead\. <time>: Your order comes in 2 parcels, sent from different places so it reaches you sooner\. <time>: The first parcel \(\d items?\) left us with UPS, tracking 1Z<(near|far) shipment>\. <time>: The second parcel \(\d items?\) left us with UPS, tracking 1Z<(near|far) shipment>\. <time>: We accepted your return of 1 item \(defective\)\. <time>: Your returned items arrived with us\. <time>: We checked the returned items\. <time>: We refunded \d+\.\d\d USD to your original payment\.$/,
    );

    const ret = await get(`/returns/${rmaId}/story?for=customer`);
    expect(ret.statusCode, ret.body).toBe(200);
    expect(ret.json()).toMatchObject({ returnId: rmaId, orderId, audience: 'customer' });
    expect(normalized(ret.json().text)).toMatch(/^<time>: You asked to return items from order <order>\. <time>: We accepted your return/);
    // The refund in the story is the refund on the record.
    const refunded = (await get(`/returns/${rmaId}`)).json();
    const refundMinor = refunded.refund?.totalMinor ?? refunded.refundMinor;
    if (typeof refundMinor === 'number') expect(ret.json().text).toContain(`${Math.floor(refundMinor / 100)}.${String(refundMinor % 100).padStart(2, '0')} USD`);

    expect((await get(`/orders/${uniqueId('none-')}/story`)).statusCode).toBe(404);
    expect((await get(`/returns/${uniqueId('none-')}/story`)).statusCode).toBe(404);
    expect((await get(`/orders/${orderId}/story?for=everyone`)).statusCode).toBe(400);
    // The operator wording is the default.
    expect((await get(`/orders/${orderId}/story`)).json().audience).toBe('operator');
  });
});
