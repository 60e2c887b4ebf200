import { describe, expect, it } from 'vitest';
import { formatMoney, orderStory, returnStory, type StoryOrder, type StoryReturn } from '../../domain/story.js';

const refund: StoryReturn = {
  returnId: 'RMA-7',
  orderId: 'ORD-1',
  status: 'refunded',
  statusReason: null,
  reasonCode: 'defective',
  resolution: 'refund',
  currency: 'EUR',
  units: 1,
  receivedUnits: 1,
  authorizedAt: '2026-12-03T09:00:00.000Z',
  requestedBy: 'maria',
  firstReceivedAt: '2026-12-05T11:30:00.000Z',
  inspectedAt: '2026-12-05T12:00:00.000Z',
  refundedAt: '2026-12-05T12:01:00.000Z',
  refundMinor: 4_950,
  creditMinor: null,
  replacementOrderId: null,
  closedAt: '2026-12-05T12:01:00.000Z',
};

const order: StoryOrder = {
  orderId: 'ORD-1',
  channel: 'dtc',
  customerId: 'C-9',
  currency: 'EUR',
  totalMinor: 14_850,
  status: 'shipped',
  statusReason: null,
  createdAt: '2026-12-01T08:00:00.000Z',
  releasedAt: '2026-12-01T08:40:00.000Z',
  closedAt: null,
  units: 3,
  cancelledUnits: 0,
  backorderedUnits: 0,
  hold: {
    flags: [{ rule: 'new_customer_value', detail: 'first order of the customer, value 14850 is at or above 10000' }],
    since: '2026-12-01T08:00:00.000Z',
    decision: { decision: 'approve', reason: 'called the customer', actor: 'alice', at: '2026-12-01T08:35:00.000Z' },
    audit: { actor: 'alice', role: 'ops', at: '2026-12-01T08:35:00.000Z' },
  },
  routing: [{ split: true, reason: 'no single warehouse fills the order; nearest stock first from BER, HAM' }],
  shipments: [
    { shipmentId: 'ORD-1-1', warehouse: 'BER', status: 'shipped', units: 1, carrier: 'DHL', tracking: 'JJD001', shippedAt: '2026-12-01T15:00:00.000Z', deliveredAt: '2026-12-02T10:00:00.000Z' },
    { shipmentId: 'ORD-1-2', warehouse: 'HAM', status: 'shipped', units: 2, carrier: 'DHL', tracking: 'JJD002', shippedAt: '2026-12-01T17:00:00.000Z', deliveredAt: null },
  ],
  returns: [refund],
};

describe('order story', () => {
  it('for the operator: who decided the hold and why, where the parcels left from, the refund', () => {
    expect(orderStory(order, 'operator').text).toBe(
      '2026-12-01 08:00 UTC: Order ORD-1 placed on dtc by customer C-9: 3 units, 148.50 EUR. ' +
        '2026-12-01 08:00 UTC: Held for review: new_customer_value (first order of the customer, value 14850 is at or above 10000). ' +
        '2026-12-01 08:35 UTC: Hold approved by alice (ops): "called the customer". ' +
        '2026-12-01 08:40 UTC: Split over BER, HAM: no single warehouse fills the order; nearest stock first from BER, HAM. ' +
        '2026-12-01 15:00 UTC: Shipment ORD-1-1 from BER shipped 1 unit with DHL, tracking JJD001. ' +
        '2026-12-02 10:00 UTC: Shipment ORD-1-1 delivered, as the carrier reported. ' +
        '2026-12-01 17:00 UTC: Shipment ORD-1-2 from HAM shipped 2 units with DHL, tracking JJD002. ' +
        '2026-12-03 09:00 UTC: Return RMA-7 of 1 unit authorized for maria, reason defective, resolution refund. ' +
        '2026-12-05 11:30 UTC: Return RMA-7: first parcel received (1 of 1 units received so far). ' +
        '2026-12-05 12:00 UTC: Return RMA-7 inspected. ' +
        '2026-12-05 12:01 UTC: Return RMA-7 refunded 49.50 EUR.',
    );
  });

  it('for the customer: the same steps without warehouses, rules or people', () => {
    expect(orderStory(order, 'customer').text).toBe(
      '2026-12-01 08:00 UTC: We received your order ORD-1 of 3 items for 148.50 EUR. ' +
        '2026-12-01 08:00 UTC: We paused your order for a routine check before sending it. ' +
        '2026-12-01 08:35 UTC: The check is done and your order goes ahead. ' +
        '2026-12-01 08:40 UTC: Your order comes in 2 parcels, sent from different places so it reaches you sooner. ' +
        '2026-12-01 15:00 UTC: The first parcel (1 item) left us with DHL, tracking JJD001. ' +
        '2026-12-02 10:00 UTC: The first parcel was delivered. ' +
        '2026-12-01 17:00 UTC: The second parcel (2 items) left us with DHL, tracking JJD002. ' +
        '2026-12-03 09:00 UTC: We accepted your return of 1 item (defective). ' +
        '2026-12-05 11:30 UTC: Your returned items arrived with us. ' +
        '2026-12-05 12:00 UTC: We checked the returned items. ' +
        '2026-12-05 12:01 UTC: We refunded 49.50 EUR to your original payment.',
    );
  });

  it.each([
    { name: 'a rejected hold', patch: { status: 'rejected', hold: { ...order.hold!, decision: { ...order.hold!.decision!, decision: 'reject' as const, reason: 'stolen card' } }, routing: [], shipments: [], returns: [] }, step: 'hold_rejected', text: 'Hold rejected by alice (ops): "stolen card".' },
    { name: 'a cancelled order', patch: { status: 'cancelled', statusReason: 'customer asked', hold: null, routing: [], shipments: [], returns: [], closedAt: '2026-12-01T09:00:00.000Z' }, step: 'cancelled', text: 'Order cancelled: customer asked.' },
    { name: 'a backorder', patch: { backorderedUnits: 2, hold: null, routing: [], shipments: [], returns: [] }, step: 'backordered', text: '2 units backordered.' },
  ])('$name', ({ patch, step, text }) => {
    const story = orderStory({ ...order, ...patch }, 'operator');
    expect(story.events.find((e) => e.step === step)?.text).toBe(text);
  });
});

describe('return story', () => {
  it('opens with the order it belongs to', () => {
    expect(returnStory(refund, 'customer').events.map((e) => e.step)).toEqual(['return_requested', 'return_authorized', 'return_received', 'return_inspected', 'refunded']);
    expect(returnStory({ ...refund, refundedAt: null, refundMinor: null, status: 'rejected', statusReason: 'not ours' }, 'operator').text).toContain('Return RMA-7 closed as rejected: not ours.');
  });

  it.each([
    { minor: 4_950, currency: 'EUR', text: '49.50 EUR' },
    { minor: 5, currency: 'USD', text: '0.05 USD' },
    { minor: 1200, currency: 'JPY', text: '1200 JPY' },
    { minor: -250, currency: 'USD', text: '-2.50 USD' },
  ])('money $minor $currency reads $text', ({ minor, currency, text }) => {
    expect(formatMoney(minor, currency)).toBe(text);
  });
});
