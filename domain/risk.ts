/** Explicit fraud and risk rules: an order that trips any of them waits for a person. */
import { orderTotalMinor, type OrderInput } from './order.js';

export interface RiskRules {
  /** Any order at or above this value. */
  holdValueMinor: number;
  /** A first order from a customer at or above this (smaller) value. */
  newCustomerValueMinor: number;
  /** More than this many orders from one customer within the window. */
  velocityMaxOrders: number;
  velocityWindowHours: number;
  /** Hold when the billing country differs from the ship-to country. */
  holdCountryMismatch: boolean;
  blockedCustomers: string[];
}

/** What the database knows about the customer when the order arrives. */
export interface RiskFacts {
  previousOrders: number;
  ordersInWindow: number;
}

export interface RiskFlag {
  rule: 'order_value' | 'new_customer_value' | 'country_mismatch' | 'velocity' | 'blocked_customer';
  detail: string;
}

export function screenRisk(order: OrderInput, facts: RiskFacts, rules: RiskRules): RiskFlag[] {
  const flags: RiskFlag[] = [];
  const value = orderTotalMinor(order);
  if (rules.blockedCustomers.includes(order.customerId)) {
    flags.push({ rule: 'blocked_customer', detail: `customer ${order.customerId} is on the blocked list` });
  }
  if (value >= rules.holdValueMinor) {
    flags.push({ rule: 'order_value', detail: `order value ${value} is at or above ${rules.holdValueMinor}` });
  } else if (facts.previousOrders === 0 && value >= rules.newCustomerValueMinor) {
    flags.push({ rule: 'new_customer_value', detail: `first order of the customer, value ${value} is at or above ${rules.newCustomerValueMinor}` });
  }
  if (rules.holdCountryMismatch && order.billingCountry && order.billingCountry !== order.shipTo.country) {
    flags.push({ rule: 'country_mismatch', detail: `billing country ${order.billingCountry}, shipping to ${order.shipTo.country}` });
  }
  if (facts.ordersInWindow > rules.velocityMaxOrders) {
    flags.push({
      rule: 'velocity',
      detail: `${facts.ordersInWindow} orders from this customer in ${rules.velocityWindowHours}h (limit ${rules.velocityMaxOrders})`,
    });
  }
  return flags;
}
