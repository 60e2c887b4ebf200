/** Driving orders and their shipments through the API of a test stack. */
import { expect } from 'vitest';
import { authAs, eventually, uniqueId, type TestStack } from './stack.js';

export const PRICE = 2_000;
export const COST = 800;

export function orderDriver(stack: TestStack) {
  /** A dtc order of one line (discount 300, tax 600, freight 999) from a new customer. */
  async function placeOrder(sku: string, qty: number, extra: Record<string, unknown> = {}): Promise<string> {
    const body = {
      orderId: uniqueId('ord-'),
      channel: 'dtc',
      customerId: uniqueId('cust-'),
      shipTo: { country: 'US', lat: 40.7, lon: -74.0 },
      lines: [{ sku, qty, unitPriceMinor: PRICE, discountMinor: 300, taxMinor: 600 }],
      freightMinor: 999,
      ...extra,
    };
    const res = await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: body });
    expect(res.statusCode, res.body).toBe(201);
    return body.orderId;
  }

  const orderView = async (orderId: string) =>
    (await stack.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: authAs('viewer') })).json();

  /** The order's shipments once `count` are open and recorded, keyed by warehouse. */
  async function shipmentsOf(orderId: string, count: number): Promise<Map<string, string>> {
    const view = await eventually(
      async () => {
        const v = await orderView(orderId);
        return v.process?.shipments?.length === count ? v : undefined;
      },
      20_000,
      `${count} shipments of ${orderId}`,
    );
    const byWarehouse = new Map<string, string>();
    for (const s of view.process.shipments) byWarehouse.set(s.warehouse, s.shipmentId);
    for (const id of byWarehouse.values()) {
      await eventually(async () => ((await stack.app.inject({ method: 'GET', url: `/shipments/${id}`, headers: authAs('viewer') })).statusCode === 200 ? true : undefined));
    }
    return byWarehouse;
  }

  const event = (shipmentId: string, payload: object, role: Parameters<typeof authAs>[0] = 'system') =>
    stack.app.inject({ method: 'POST', url: `/shipments/${shipmentId}/events`, headers: authAs(role), payload });

  /** Picked, packed and shipped, each answered 200 with the shipment in its new state. */
  async function ship(shipmentId: string, freightCostMinor: number): Promise<void> {
    for (const payload of [{ type: 'picked' }, { type: 'packed' }, { type: 'shipped', carrier: 'UPS', tracking: `1Z${shipmentId}`, freightCostMinor }]) {
      const res = await event(shipmentId, payload);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe(payload.type);
    }
  }

  /** Until the order's record says `status` (the record is written before the process moves). */
  const waitForOrder = (orderId: string, status: string) =>
    eventually(async () => ((await orderView(orderId)).record?.status === status ? true : undefined), 20_000, `order ${orderId} to be ${status}`);

  return { placeOrder, orderView, shipmentsOf, event, ship, waitForOrder };
}
