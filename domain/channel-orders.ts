/**
 * Storefront orders as this product reads them, whatever platform sold them: a platform's
 * order becomes one snapshot (lines by normalized sku, money in integer minor units of the
 * order's currency, addresses with coordinates and where they came from, payment as the
 * platform reports it), and successive deliveries of one order converge on the newest.
 * Pure rules, no I/O; the platforms' own field names stay in services/connectors/.
 */
import type { OrderProblem } from './order-validation.js';
import type { Address, ChannelName, OrderInput } from './order.js';
import { shareByWeight } from './refund.js';

export const platforms = ['shopify', 'woocommerce'] as const;
export type Platform = (typeof platforms)[number];

/** How a channel's skus and currencies are read (`PUT /channels/:channel/connector`, `mapping`). */
export interface ChannelMapping {
  /** A platform sku starting with a key is rewritten to start with its value (after trim and upper-case). */
  skuPrefixMap: Record<string, string>;
  /** Currencies this channel's orders may be booked in; empty: any ISO 4217 currency. */
  currencies: string[];
}

/** Where an order's ship-to coordinates came from. */
export type CoordinatesSource = 'payload' | 'postal_code' | 'country_centroid' | 'none';

export interface ChannelAddress {
  name?: string;
  company?: string;
  line1?: string;
  line2?: string;
  city?: string;
  region?: string;
  postalCode?: string;
  /** ISO 3166-1 alpha-2, upper-case; empty when the platform gave none. */
  country: string;
  phone?: string;
  lat?: number;
  lon?: number;
}

export interface ChannelOrderLine {
  lineNo: number;
  /** The platform's id of the line, as text (Shopify's ids pass 2^53). */
  platformLineId: string;
  /** The sku as the platform sent it, and as this product reads it. */
  platformSku: string;
  sku: string;
  title: string;
  qty: number;
  unitPriceMinor: number;
  discountMinor: number;
  taxMinor: number;
}

/** The platform's state of an order, as one delivery told it. */
export type ChannelOrderState = 'open' | 'cancelled' | 'not_placed';

/** One platform order in this product's terms, as one delivery told it. */
export interface ChannelOrderSnapshot {
  platform: Platform;
  platformOrderId: string;
  /** The platform's order number or name, for people (`#1001`). */
  reference: string;
  /** When the platform last changed the order (ISO, UTC): the newer snapshot wins. */
  version: string;
  state: ChannelOrderState;
  /** The platform's own status words (`processing`, `fulfilled/paid`, ...). */
  platformStatus: string;
  cancelReason?: string;
  currency: string;
  lines: ChannelOrderLine[];
  freightMinor: number;
  /** Tax on shipping, which this product books with the lines' tax (see `notes`). */
  freightTaxMinor: number;
  /** What the customer pays by this mapping, and what the platform says they pay. */
  totalMinor: number;
  platformTotalMinor: number | null;
  customer: { id: string; email?: string; name?: string };
  shipTo: ChannelAddress & { lat: number; lon: number };
  coordinates: CoordinatesSource;
  billing?: ChannelAddress;
  payment: { status: string | null; gateway: string | null; paidAt: string | null; transactionId: string | null };
  /** What makes the order `rejected` when it is captured. */
  problems: OrderProblem[];
  /** How the mapping read what the platform sent, where a person may want to know. */
  notes: string[];
}

// ---------------------------------------------------------------- money

const decimal = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Minor units of a currency (JPY 0, USD 2, KWD 3) as ICU knows them; undefined for a code
 * that is not an ISO 4217 currency.
 */
export function currencyExponent(currency: string): number | undefined {
  if (!/^[A-Z]{3}$/.test(currency) || !Intl.supportedValuesOf('currency').includes(currency)) return undefined;
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
}

/**
 * A platform's decimal amount (`"199.00"`, `"0.9"`, `12`) in integer minor units, read from
 * its digits (no binary floating point); digits past the currency's are rounded half away
 * from zero. Undefined for anything that is not a plain decimal number.
 */
export function decimalToMinor(value: unknown, exponent: number): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
  const match = decimal.exec(text);
  if (!match) return undefined;
  const [, minus, whole, fraction = ''] = match;
  const kept = (fraction + '0'.repeat(exponent)).slice(0, exponent);
  let units = BigInt(whole!) * 10n ** BigInt(exponent) + BigInt(kept || '0');
  if ((fraction[exponent] ?? '0') >= '5') units += 1n;
  if (units > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return minus && units !== 0n ? -Number(units) : Number(units);
}

/**
 * A line amount that is not a whole number of units of its quantity (WooCommerce's `subtotal`,
 * a price with tax taken out) as a unit price and a discount that together make it exactly:
 * the unit price rounds up, the difference is discount.
 */
export function unitPriceOf(lineAmountMinor: number, qty: number): { unitPriceMinor: number; roundingDiscountMinor: number } {
  const unitPriceMinor = Math.ceil(lineAmountMinor / qty);
  return { unitPriceMinor, roundingDiscountMinor: unitPriceMinor * qty - lineAmountMinor };
}

/** Spreads an amount over lines in proportion to their weight, to the minor unit (the last line takes the remainder). */
export const spread = (totalMinor: number, weights: number[]): number[] => (weights.length ? shareByWeight(totalMinor, weights) : []);

// ---------------------------------------------------------------- skus

/** A platform sku as this channel's catalogue reads it: trimmed, upper-case, its prefix mapped. */
export function normalizeSku(raw: string | null | undefined, mapping: Pick<ChannelMapping, 'skuPrefixMap'>): string {
  const sku = (raw ?? '').trim().toUpperCase();
  const prefixes = Object.keys(mapping.skuPrefixMap)
    .map((from) => [from.trim().toUpperCase(), mapping.skuPrefixMap[from]!.trim().toUpperCase()] as const)
    .sort((a, b) => b[0].length - a[0].length);
  for (const [from, to] of prefixes) if (from && sku.startsWith(from)) return to + sku.slice(from.length);
  return sku;
}

// ---------------------------------------------------------------- places

export interface Geocoder {
  /** Coordinates of a postal code, where an offline dataset knows it. */
  postalCode(country: string, postalCode: string): { lat: number; lon: number } | undefined;
  /** The middle of a country. */
  centroid(country: string): { lat: number; lon: number } | undefined;
}

const inRange = (lat: unknown, lon: unknown): lat is number =>
  typeof lat === 'number' && typeof lon === 'number' && Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0);

/** The payload's coordinates when it has them, else the postal code's, else the country's middle. */
export function placeOf(address: ChannelAddress, geocoder: Geocoder): { lat: number; lon: number; source: CoordinatesSource } {
  if (inRange(address.lat, address.lon)) return { lat: address.lat, lon: address.lon!, source: 'payload' };
  const byCode = address.postalCode && address.country ? geocoder.postalCode(address.country, address.postalCode) : undefined;
  if (byCode) return { ...byCode, source: 'postal_code' };
  const middle = address.country ? geocoder.centroid(address.country) : undefined;
  if (middle) return { ...middle, source: 'country_centroid' };
  return { lat: 0, lon: 0, source: 'none' };
}

// ---------------------------------------------------------------- checks

/**
 * Problems of a mapped order that make it `rejected` when it is captured, beside what the
 * item master finds (unknown skus, prices off the list): no lines, negative amounts, a
 * currency the channel does not book, no country to ship to.
 */
export function snapshotProblems(s: Pick<ChannelOrderSnapshot, 'lines' | 'currency' | 'freightMinor' | 'shipTo' | 'coordinates'>, mapping: Pick<ChannelMapping, 'currencies'>, negatives: OrderProblem[]): OrderProblem[] {
  const problems: OrderProblem[] = [...negatives];
  if (s.lines.length === 0) problems.push({ problem: 'empty_order', detail: 'the order has no lines to ship' });
  for (const line of s.lines) {
    if (!line.sku) problems.push({ lineNo: line.lineNo, problem: 'missing_sku', detail: `line ${line.lineNo} (${line.title || line.platformLineId}): no sku` });
  }
  if (currencyExponent(s.currency) === undefined) problems.push({ problem: 'unsupported_currency', detail: `currency ${s.currency || '(none)'} is not an ISO 4217 currency` });
  else if (mapping.currencies.length && !mapping.currencies.includes(s.currency)) {
    problems.push({ problem: 'unsupported_currency', detail: `currency ${s.currency} is not booked on this channel (${mapping.currencies.join(', ')})` });
  }
  if (!/^[A-Z]{2}$/.test(s.shipTo.country)) problems.push({ problem: 'missing_address', detail: 'no ship-to country' });
  return problems;
}

/** A negative amount read from the platform: recorded as a problem, booked as zero. */
export function nonNegative(value: number, what: string, problems: OrderProblem[], lineNo?: number): number {
  if (value >= 0) return value;
  problems.push({ ...(lineNo !== undefined ? { lineNo } : {}), problem: 'negative_amount', detail: `${what} is negative (${value} minor units)` });
  return 0;
}

// ---------------------------------------------------------------- convergence

/**
 * Whether `next` tells a later state of the order than `current`: a later platform change
 * wins; at the same time a cancellation wins, and otherwise the later delivery.
 */
export function supersedes(next: Pick<ChannelOrderSnapshot, 'version' | 'state'>, current: Pick<ChannelOrderSnapshot, 'version' | 'state'> | null): boolean {
  if (!current) return true;
  const [a, b] = [Date.parse(next.version), Date.parse(current.version)];
  if (a !== b) return a > b;
  if (current.state === 'cancelled' && next.state !== 'cancelled') return false;
  return true;
}

/** Where two snapshots of one order differ in what the order process holds. */
export function changesBetween(applied: ChannelOrderSnapshot, next: ChannelOrderSnapshot): { address: boolean; lines: boolean; payment: boolean } {
  const place = (a: ChannelAddress) => [a.name, a.line1, a.line2, a.city, a.region, a.postalCode, a.country, a.lat, a.lon].join('|');
  const lines = (s: ChannelOrderSnapshot) => JSON.stringify([s.lines.map((l) => [l.lineNo, l.sku, l.qty, l.unitPriceMinor, l.discountMinor, l.taxMinor]), s.freightMinor]);
  const payment = (s: ChannelOrderSnapshot) => JSON.stringify(s.payment);
  return {
    address: place(applied.shipTo) !== place(next.shipTo) || applied.billing?.country !== next.billing?.country,
    lines: lines(applied) !== lines(next),
    payment: payment(applied) !== payment(next),
  };
}

/** The order this product captures from a snapshot. */
export function orderInputOf(snapshot: ChannelOrderSnapshot, orderId: string, channel: ChannelName): OrderInput {
  const { shipTo } = snapshot;
  const address: Address = {
    ...(shipTo.name ? { name: shipTo.name } : {}),
    ...(shipTo.line1 ? { line1: shipTo.line1 } : {}),
    ...(shipTo.city ? { city: shipTo.city } : {}),
    ...(shipTo.region ? { region: shipTo.region } : {}),
    ...(shipTo.postalCode ? { postalCode: shipTo.postalCode } : {}),
    country: shipTo.country || 'ZZ',
    lat: shipTo.lat,
    lon: shipTo.lon,
  };
  return {
    orderId,
    channel,
    customerId: snapshot.customer.id,
    currency: /^[A-Z]{3}$/.test(snapshot.currency) ? snapshot.currency : 'XXX',
    shipTo: address,
    ...(snapshot.billing?.country ? { billingCountry: snapshot.billing.country } : {}),
    freightMinor: snapshot.freightMinor,
    lines: snapshot.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, qty: l.qty, unitPriceMinor: l.unitPriceMinor, discountMinor: l.discountMinor, taxMinor: l.taxMinor })),
    ...(snapshot.problems.length ? { problems: snapshot.problems } : {}),
  };
}

/** An id fit for an order id or a customer id: letters, digits, `.`, `_`, `-`, at most 64. */
export function recordIdOf(...parts: string[]): string {
  return parts
    .join('-')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
}

/** Integer minor units as the platforms' decimal text (`1234` at 2 decimals is `"12.34"`). */
export function minorToDecimal(minor: number, exponent: number): string {
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  return exponent === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
