import type { OrderProblem } from './order-validation.js';

/** Sales channels, in the order of their reservation priority (lower number wins). */
export const channels = ['dtc', 'subscription', 'wholesale', 'marketplace'] as const;
export type ChannelName = (typeof channels)[number];

/** What a channel does with what cannot be allocated now. */
export type ShortagePolicy = 'backorder' | 'cancel_remainder' | 'wait';

export interface Address {
  name?: string;
  line1?: string;
  city?: string;
  region?: string;
  postalCode?: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
  lat: number;
  lon: number;
}

export interface OrderLineInput {
  lineNo: number;
  sku: string;
  qty: number;
  unitPriceMinor: number;
  discountMinor: number;
  taxMinor: number;
}

/** An order as a system submits it; money in integer minor units. */
export interface OrderInput {
  /** Problems found before capture (a storefront order that could not be read whole); any makes the order `rejected`. */
  problems?: OrderProblem[];
  orderId: string;
  channel: ChannelName;
  customerId: string;
  currency: string;
  shipTo: Address;
  billingCountry?: string;
  freightMinor: number;
  promisedBy?: string;
  lines: OrderLineInput[];
  /** How the order is paid: an authorization the storefront made, or terms (invoice later). None: paid outside this system. */
  payment?: OrderPayment;
}

/**
 * An order's payment. `authorization`: held at the gateway by the storefront, captured per
 * shipment, the rest voided on cancel. `terms`: the receivable stays open until the customer
 * pays, by the due date.
 */
export type OrderPayment =
  | { kind: 'authorization'; gateway: string; authorizationId: string; amountMinor: number; currency: string; expiresAt: string }
  | { kind: 'terms'; dueDate: string };

/** Channels whose orders may be on terms (invoice later). */
export const termsChannels: readonly ChannelName[] = ['wholesale'];

/** Units of a line not yet allocated, cancelled or shipped: what still needs stock (negative when over-covered). */
export function unplaced(line: { ordered: number; allocated: number; cancelled: number; shipped: number }): number {
  return line.ordered - line.allocated - line.cancelled - line.shipped;
}

/** Merchandise after discounts, plus tax and freight: what the customer pays. */
export function orderTotalMinor(order: Pick<OrderInput, 'lines' | 'freightMinor'>): number {
  let total = order.freightMinor;
  for (const line of order.lines) {
    total += line.qty * line.unitPriceMinor - line.discountMinor + line.taxMinor;
  }
  return total;
}

