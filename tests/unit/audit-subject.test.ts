/** What an audit row says a request did, from the route's url pattern, params and body. */
import { describe, expect, it } from 'vitest';
import { subjectOf } from '../../api/audit.js';

describe('subjectOf', () => {
  const cases: [method: string, url: string, params: object, body: object, expected: { type: string; id: string | undefined; verb: string }][] = [
    ['POST', '/orders', {}, { orderId: 'o-1' }, { type: 'order', id: 'o-1', verb: 'create' }],
    ['POST', '/orders/:id/hold-decision', { id: 'o-1' }, { decision: 'approve' }, { type: 'order', id: 'o-1', verb: 'hold_decision' }],
    ['POST', '/orders/:id/cancel', { id: 'o-1' }, {}, { type: 'order', id: 'o-1', verb: 'cancel' }],
    ['POST', '/inventory/adjustments', {}, { adjustmentId: 'a-1', sku: 'SKU-1' }, { type: 'adjustment', id: 'a-1', verb: 'create' }],
    ['POST', '/inventory/adjustments/:id/decision', { id: 'a-1' }, {}, { type: 'adjustment', id: 'a-1', verb: 'decision' }],
    ['POST', '/purchase-orders/from-suggestions', {}, { poId: 'p-1', runId: 'r-1' }, { type: 'purchase_order', id: 'p-1', verb: 'from_suggestions' }],
    ['POST', '/purchase-orders/:id/approval', { id: 'p-1' }, {}, { type: 'purchase_order', id: 'p-1', verb: 'approval' }],
    ['PUT', '/items/:sku/price', { sku: 'SKU-1' }, {}, { type: 'item', id: 'SKU-1', verb: 'price' }],
    ['PUT', '/warehouses/:code/locations', { code: 'W1' }, {}, { type: 'warehouse', id: 'W1', verb: 'locations' }],
    ['PUT', '/replenishment/uplifts', {}, { sku: 'SKU-1' }, { type: 'demand_uplift', id: 'SKU-1', verb: 'set' }],
    ['POST', '/replenishment/run', {}, {}, { type: 'replenishment_run', id: undefined, verb: 'create' }],
    ['POST', '/returns/:id/refund-approval', { id: 'rma-1' }, {}, { type: 'return', id: 'rma-1', verb: 'refund_approval' }],
    ['POST', '/channels/:channel/webhook', { channel: 'dtc' }, {}, { type: 'channel', id: 'dtc', verb: 'webhook' }],
    ['POST', '/vendor-returns/:id/ship', { id: 'v-1' }, {}, { type: 'vendor_return', id: 'v-1', verb: 'ship' }],
    ['DELETE', '/gift-cards/:id', { id: 'g-1' }, {}, { type: 'gift_card', id: 'g-1', verb: 'delete' }],
  ];
  it.each(cases)('%s %s', (method, url, params, body, expected) => {
    expect(subjectOf(method, url, params, body)).toEqual(expected);
  });
});
