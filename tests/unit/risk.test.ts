import { describe, expect, it } from 'vitest';
import type { OrderInput, OrderLineInput } from '../../domain/order.js';
import { screenRisk, type RiskFacts, type RiskFlag, type RiskRules } from '../../domain/risk.js';

const rules: RiskRules = {
  holdValueMinor: 100_000,
  newCustomerValueMinor: 20_000,
  velocityMaxOrders: 5,
  velocityWindowHours: 24,
  holdCountryMismatch: true,
  blockedCustomers: ['cust-blocked', 'cust-other'],
};

const returning: RiskFacts = { previousOrders: 3, ordersInWindow: 1 };
const firstOrder: RiskFacts = { previousOrders: 0, ordersInWindow: 0 };

/** An order of one line worth `valueMinor`, shipped to the US, no billing country given. */
function order(valueMinor: number, overrides: Partial<OrderInput> = {}): OrderInput {
  return {
    orderId: 'o-1',
    channel: 'dtc',
    customerId: 'cust-1',
    currency: 'USD',
    shipTo: { country: 'US', lat: 40.7128, lon: -74.006 },
    freightMinor: 0,
    lines: [{ lineNo: 1, sku: 'SKU-1', qty: 1, unitPriceMinor: valueMinor, discountMinor: 0, taxMinor: 0 }],
    ...overrides,
  };
}

const flag = {
  orderValue: (value: number): RiskFlag => ({ rule: 'order_value', detail: `order value ${value} is at or above 100000` }),
  newCustomer: (value: number): RiskFlag => ({ rule: 'new_customer_value', detail: `first order of the customer, value ${value} is at or above 20000` }),
  country: (billing: string, shipTo: string): RiskFlag => ({ rule: 'country_mismatch', detail: `billing country ${billing}, shipping to ${shipTo}` }),
  velocity: (n: number): RiskFlag => ({ rule: 'velocity', detail: `${n} orders from this customer in 24h (limit 5)` }),
  blocked: (customerId: string): RiskFlag => ({ rule: 'blocked_customer', detail: `customer ${customerId} is on the blocked list` }),
};

describe('screenRisk: each rule alone', () => {
  it.each<{ name: string; order: OrderInput; facts: RiskFacts; rules?: Partial<RiskRules>; expected: RiskFlag[] }>([
    { name: 'a small order from a returning customer passes', order: order(1000), facts: returning, expected: [] },

    // order_value: at or above the hold value.
    { name: 'order value at the threshold', order: order(100_000), facts: returning, expected: [flag.orderValue(100_000)] },
    { name: 'order value above the threshold', order: order(250_000), facts: returning, expected: [flag.orderValue(250_000)] },
    { name: 'order value just below the threshold', order: order(99_999), facts: returning, expected: [] },
    { name: 'first order at the order threshold flags order_value only', order: order(100_000), facts: firstOrder, expected: [flag.orderValue(100_000)] },

    // new_customer_value: first order, below the order threshold, at or above the new-customer threshold.
    { name: 'first order at the new-customer threshold', order: order(20_000), facts: firstOrder, expected: [flag.newCustomer(20_000)] },
    { name: 'first order just below the order threshold', order: order(99_999), facts: firstOrder, expected: [flag.newCustomer(99_999)] },
    { name: 'first order just below the new-customer threshold', order: order(19_999), facts: firstOrder, expected: [] },
    { name: 'second order at the new-customer threshold', order: order(20_000), facts: { previousOrders: 1, ordersInWindow: 0 }, expected: [] },
    { name: 'returning customer just below the order threshold', order: order(99_999), facts: returning, expected: [] },

    // country_mismatch: only when a billing country is given, differs, and the rule is on.
    { name: 'billing country differs', order: order(1000, { billingCountry: 'CA' }), facts: returning, expected: [flag.country('CA', 'US')] },
    { name: 'billing country equals ship-to', order: order(1000, { billingCountry: 'US' }), facts: returning, expected: [] },
    { name: 'billing country not given', order: order(1000), facts: returning, expected: [] },
    { name: 'billing country empty', order: order(1000, { billingCountry: '' }), facts: returning, expected: [] },
    {
      name: 'billing country differs but the rule is off',
      order: order(1000, { billingCountry: 'CA' }),
      facts: returning,
      rules: { holdCountryMismatch: false },
      expected: [],
    },

    // velocity: more than the limit, not equal to it.
    { name: 'orders in window above the limit', order: order(1000), facts: { previousOrders: 10, ordersInWindow: 6 }, expected: [flag.velocity(6)] },
    { name: 'orders in window equal to the limit', order: order(1000), facts: { previousOrders: 10, ordersInWindow: 5 }, expected: [] },
    {
      name: 'velocity detail names the window and limit of the rules',
      order: order(1000),
      facts: { previousOrders: 10, ordersInWindow: 3 },
      rules: { velocityMaxOrders: 2, velocityWindowHours: 1 },
      expected: [{ rule: 'velocity', detail: '3 orders from this customer in 1h (limit 2)' }],
    },

    // blocked_customer.
    { name: 'blocked customer', order: order(1000, { customerId: 'cust-blocked' }), facts: returning, expected: [flag.blocked('cust-blocked')] },
    { name: 'another blocked customer', order: order(1000, { customerId: 'cust-other' }), facts: returning, expected: [flag.blocked('cust-other')] },
    { name: 'customer id only similar to a blocked one', order: order(1000, { customerId: 'cust-blocked-2' }), facts: returning, expected: [] },
    { name: 'empty blocked list', order: order(1000, { customerId: 'cust-blocked' }), facts: returning, rules: { blockedCustomers: [] }, expected: [] },
  ])('$name', ({ order, facts, rules: overrides, expected }) => {
    expect(screenRisk(order, facts, { ...rules, ...overrides })).toEqual(expected);
  });
});

describe('screenRisk: several rules together, in a stable order', () => {
  it.each<{ name: string; order: OrderInput; facts: RiskFacts; expected: RiskFlag[] }>([
    {
      name: 'all four: blocked, order value, country, velocity',
      order: order(150_000, { customerId: 'cust-blocked', billingCountry: 'GB' }),
      facts: { previousOrders: 9, ordersInWindow: 7 },
      expected: [flag.blocked('cust-blocked'), flag.orderValue(150_000), flag.country('GB', 'US'), flag.velocity(7)],
    },
    {
      name: 'blocked first-time customer with a mid-value order',
      order: order(30_000, { customerId: 'cust-blocked', billingCountry: 'DE' }),
      facts: { previousOrders: 0, ordersInWindow: 6 },
      expected: [flag.blocked('cust-blocked'), flag.newCustomer(30_000), flag.country('DE', 'US'), flag.velocity(6)],
    },
    {
      name: 'new customer value and country mismatch',
      order: order(20_000, { billingCountry: 'FR' }),
      facts: firstOrder,
      expected: [flag.newCustomer(20_000), flag.country('FR', 'US')],
    },
    {
      name: 'order value and velocity',
      order: order(100_000),
      facts: { previousOrders: 20, ordersInWindow: 8 },
      expected: [flag.orderValue(100_000), flag.velocity(8)],
    },
  ])('$name', ({ order, facts, expected }) => {
    expect(screenRisk(order, facts, rules)).toEqual(expected);
  });
});

describe('screenRisk: value is merchandise after discounts, plus tax and freight', () => {
  const line = (lineNo: number, qty: number, unitPriceMinor: number, discountMinor: number, taxMinor: number): OrderLineInput => ({
    lineNo,
    sku: `SKU-${lineNo}`,
    qty,
    unitPriceMinor,
    discountMinor,
    taxMinor,
  });

  it.each<{ name: string; lines: OrderLineInput[]; freightMinor: number; expected: RiskFlag[] }>([
    // 2×40000 − 5000 + 15000 + 10000 = 100000
    { name: 'freight and tax bring it to the threshold', lines: [line(1, 2, 40_000, 5000, 15_000)], freightMinor: 10_000, expected: [flag.orderValue(100_000)] },
    { name: 'one unit less freight stays below', lines: [line(1, 2, 40_000, 5000, 15_000)], freightMinor: 9_999, expected: [] },
    { name: 'freight alone tips merchandise over', lines: [line(1, 1, 95_000, 0, 0)], freightMinor: 5_000, expected: [flag.orderValue(100_000)] },
    { name: 'tax alone tips merchandise over', lines: [line(1, 1, 95_000, 0, 5_000)], freightMinor: 0, expected: [flag.orderValue(100_000)] },
    { name: 'a discount brings list value below', lines: [line(1, 1, 100_000, 1, 0)], freightMinor: 0, expected: [] },
    {
      name: 'summed over several lines',
      // (3×20000 − 2000 + 4000) + (2×15000 − 0 + 3000) + 5000 = 100000
      lines: [line(1, 3, 20_000, 2000, 4000), line(2, 2, 15_000, 0, 3000)],
      freightMinor: 5_000,
      expected: [flag.orderValue(100_000)],
    },
    {
      name: 'several lines, one discount more stays below',
      lines: [line(1, 3, 20_000, 2001, 4000), line(2, 2, 15_000, 0, 3000)],
      freightMinor: 5_000,
      expected: [],
    },
  ])('$name', ({ lines, freightMinor, expected }) => {
    expect(screenRisk(order(0, { lines, freightMinor }), returning, rules)).toEqual(expected);
  });
});
