/**
 * Storefront orders: the platforms' documented sample payloads map to the expected order to
 * the minor unit; money, skus, places and convergence by table.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { changesBetween, currencyExponent, decimalToMinor, minorToDecimal, normalizeSku, placeOf, supersedes, unitPriceOf, type ChannelMapping } from '../../domain/channel-orders.js';
import { PlatformError, retryAfterMs } from '../../services/connectors/platform-api.js';
import { validateOrder } from '../../domain/order-validation.js';
import { orderInputOf } from '../../domain/channel-orders.js';
import { parsePlatformJson, signatureFor, signedByOneOf } from '../../services/connectors/connector.js';
import { mapShopifyOrder, shopify } from '../../services/connectors/shopify.js';
import { mapWooCommerceOrder, woocommerce } from '../../services/connectors/woocommerce.js';
import { offlineGeocoder } from '../../services/geocode.js';

const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/channels/${name}`, import.meta.url), 'utf8');
const anyCurrency: ChannelMapping = { skuPrefixMap: {}, currencies: [] };
const context = (mapping: ChannelMapping = anyCurrency) => ({ mapping, geocoder: offlineGeocoder });

describe("Shopify's documented orders/create sample", () => {
  const body = parsePlatformJson(fixture('shopify-orders-create.json')) as Record<string, unknown>;
  const order = mapShopifyOrder(body, 'orders/create', context());

  it('keeps ids beyond 2^53 exactly', () => {
    expect(order.platformOrderId).toBe('820982911946154508');
    expect(shopify.orderIdOf(body)).toBe('820982911946154508');
    expect(order.lines.map((l) => l.platformLineId)).toEqual(['487817672276298554', '789012345678901234', '890123456789012345', '976318377106520349', '315789986012684393']);
    expect(order.customer).toEqual({ id: 'shopify-115310627314723954', email: 'jon@example.com', name: 'John Smith' });
  });

  it('maps lines, the order discount, freight and totals to the minor unit', () => {
    expect(order.currency).toBe('USD');
    expect(order.lines.map((l) => [l.lineNo, l.sku, l.qty, l.unitPriceMinor, l.discountMinor, l.taxMinor])).toEqual([
      // The order's 20.00 discount, allocated to no line, spread by line amount (41,495 in all).
      [1, 'SKU2006-001', 1, 8999, 433, 0],
      [2, 'LENS-PROTECT-2YR', 1, 1999, 97, 0],
      [3, 'CASE-LEATHER-PREM', 1, 2499, 120, 0],
      [4, 'SKU2006-020', 1, 15999, 771, 0],
      [5, 'SKU2006-035', 1, 11999, 579, 0],
    ]);
    expect(order.freightMinor).toBe(1000);
    expect(order.totalMinor).toBe(40495);
    expect(order.platformTotalMinor).toBe(40495);
    expect(order.lines.reduce((n, l) => n + l.discountMinor, 0)).toBe(2000);
  });

  it('reads state, payment, addresses and where the coordinates came from', () => {
    expect(order.version).toBe('2022-01-01T00:00:00.000Z');
    expect(order.state).toBe('cancelled');
    expect(order.cancelReason).toBe('customer');
    expect(order.reference).toBe('#9999');
    expect(order.payment).toEqual({ status: 'voided', gateway: 'visa, bogus', paidAt: null, transactionId: null });
    expect(order.shipTo).toMatchObject({ name: 'Steve Shipper', line1: '123 Shipping Street', city: 'Shippington', region: 'KY', postalCode: '40003', country: 'US' });
    // No latitude in the payload: the ZIP code's, from the offline dataset.
    expect(order.coordinates).toBe('postal_code');
    expect(order.shipTo.lat).toBeCloseTo(38.26, 1);
    expect(order.shipTo.lon).toBeCloseTo(-85.07, 1);
    expect(order.billing?.country).toBe('US');
    expect(order.problems).toEqual([]);
  });

  it('becomes the order the process captures', () => {
    const input = orderInputOf(order, 'dtc-shopify-820982911946154508', 'dtc');
    expect(input).toMatchObject({ orderId: 'dtc-shopify-820982911946154508', channel: 'dtc', customerId: 'shopify-115310627314723954', currency: 'USD', freightMinor: 1000, billingCountry: 'US' });
    expect(input.lines).toHaveLength(5);
    expect(input.problems).toBeUndefined();
  });

  it('uses the payload coordinates when it has them, a Canadian postal code, or the country centroid', () => {
    const withPlace = { ...body, shipping_address: { ...(body.shipping_address as object), latitude: 45.41634, longitude: -75.6868 } };
    expect(mapShopifyOrder(withPlace, 'orders/create', context())).toMatchObject({ coordinates: 'payload', shipTo: { lat: 45.41634, lon: -75.6868 } });
    const canada = { ...body, shipping_address: { ...(body.shipping_address as object), country_code: 'CA', zip: 'K2H 7A8' } };
    expect(mapShopifyOrder(canada, 'orders/create', context()).coordinates).toBe('postal_code');
    const germany = { ...body, shipping_address: { ...(body.shipping_address as object), country_code: 'DE', zip: '10115' } };
    expect(mapShopifyOrder(germany, 'orders/create', context())).toMatchObject({ coordinates: 'country_centroid', shipTo: { lat: 51, lon: 9 } });
  });

  it('books tax on shipping with the lines and takes tax out of tax-inclusive prices', () => {
    const taxed = {
      ...body,
      cancelled_at: null,
      total_discounts: '0.00',
      line_items: [{ id: 1, sku: ' sku-a ', quantity: 3, price: '10.00', tax_lines: [{ price: '2.50' }], discount_allocations: [{ amount: '1.00' }] }],
      shipping_lines: [{ price: '5.00', tax_lines: [{ price: '0.95' }], discount_allocations: [{ amount: '1.00' }] }],
    };
    const mapped = mapShopifyOrder(taxed, 'orders/updated', context());
    expect(mapped.state).toBe('open');
    expect(mapped.lines).toMatchObject([{ sku: 'SKU-A', qty: 3, unitPriceMinor: 1000, discountMinor: 100, taxMinor: 345 }]);
    expect(mapped.freightMinor).toBe(400);
    const included = mapShopifyOrder({ ...taxed, taxes_included: true, shipping_lines: [] }, 'orders/updated', context());
    // 3 × 10.00 with 2.50 tax inside: 27.50 net as 3 × 9.17 less 0.01, then the 1.00 discount.
    expect(included.lines).toMatchObject([{ unitPriceMinor: 917, discountMinor: 101, taxMinor: 250 }]);
    expect(included.totalMinor).toBe(3 * 917 - 101 + 250);
  });

  it('rejects what cannot be booked: a currency the channel does not book, negative prices, no lines', () => {
    const eur = mapShopifyOrder(body, 'orders/create', context({ skuPrefixMap: {}, currencies: ['EUR'] }));
    expect(eur.problems.map((p) => p.problem)).toEqual(['unsupported_currency']);
    const negative = mapShopifyOrder({ ...body, line_items: [{ id: 1, sku: 'A-1', quantity: 1, price: '-5.00' }] }, 'orders/create', context());
    expect(negative.problems).toEqual([{ lineNo: 1, problem: 'negative_amount', detail: 'line 1 price is negative (-500 minor units)' }]);
    expect(negative.lines[0]!.unitPriceMinor).toBe(0);
    const empty = mapShopifyOrder({ ...body, line_items: [] }, 'orders/create', context());
    const problems = validateOrder(orderInputOf(empty, 'x', 'dtc'), new Map(), 2);
    expect(problems.map((p) => p.problem)).toEqual(['empty_order']);
  });
});

describe("WooCommerce's documented order", () => {
  const body = parsePlatformJson(fixture('woocommerce-order.json')) as Record<string, unknown>;
  const order = mapWooCommerceOrder(body, context());

  it('maps lines, tax, freight and totals to the minor unit', () => {
    expect(order.platformOrderId).toBe('727');
    expect(order.lines.map((l) => [l.lineNo, l.platformLineId, l.sku, l.qty, l.unitPriceMinor, l.discountMinor, l.taxMinor])).toEqual([
      [1, '315', '', 2, 300, 0, 45],
      [2, '316', 'BAR3', 1, 1200, 0, 90],
    ]);
    expect(order.freightMinor).toBe(1000);
    expect(order.totalMinor).toBe(2935);
    expect(order.platformTotalMinor).toBe(2935);
  });

  it('reads status, payment, customer and address; a line without a sku rejects the order', () => {
    expect(order).toMatchObject({ state: 'open', platformStatus: 'processing', version: '2017-03-22T19:28:08.000Z', reference: '727', coordinates: 'postal_code' });
    expect(order.payment).toEqual({ status: 'paid', gateway: 'Direct Bank Transfer', paidAt: '2017-03-22T19:28:08.000Z', transactionId: null });
    expect(order.customer).toEqual({ id: 'woo-guest-727', email: 'john.doe@example.com', name: 'John Doe' });
    expect(order.shipTo).toMatchObject({ line1: '969 Market', city: 'San Francisco', region: 'CA', postalCode: '94103', country: 'US' });
    expect(order.problems).toEqual([{ lineNo: 1, problem: 'missing_sku', detail: 'line 1 (Woo Single #1): no sku' }]);
    const problems = validateOrder(orderInputOf(order, 'x', 'dtc'), new Map([['BAR3', { priceMinor: 1200, active: true }]]), 2);
    expect(problems.map((p) => p.problem)).toEqual(['missing_sku']);
  });

  it('normalizes skus by the channel prefix map; discounts and odd subtotals to the minor unit', () => {
    const mapped = mapWooCommerceOrder(
      { ...body, line_items: [{ id: 9, sku: ' bar3 ', quantity: 3, subtotal: '20.00', total: '18.00', total_tax: '1.44' }] },
      context({ skuPrefixMap: { BAR: 'WIDGET-' }, currencies: ['USD'] }),
    );
    // 20.00 over 3 units: 6.67 each, 0.01 back as discount, with the coupon's 2.00.
    expect(mapped.lines).toMatchObject([{ sku: 'WIDGET-3', qty: 3, unitPriceMinor: 667, discountMinor: 201, taxMinor: 144 }]);
    expect(mapped.problems).toEqual([]);
  });

  it('pending and failed orders are not placed yet; cancelled and refunded ones are cancelled', () => {
    expect(mapWooCommerceOrder({ ...body, status: 'pending', date_paid_gmt: null }, context())).toMatchObject({ state: 'not_placed', payment: { status: 'pending' } });
    expect(mapWooCommerceOrder({ ...body, status: 'cancelled' }, context()).state).toBe('cancelled');
    expect(mapWooCommerceOrder({ ...body, status: 'on-hold' }, context()).state).toBe('open');
  });

  it('knows its setup ping', () => {
    expect(woocommerce.isSetupPing({}, Buffer.from('webhook_id=42'))).toBe(true);
    expect(woocommerce.isSetupPing({ 'x-wc-webhook-signature': 'x' }, Buffer.from('webhook_id=42'))).toBe(false);
    expect(woocommerce.isSetupPing({}, Buffer.from('{"id":1}'))).toBe(false);
  });
});

describe('signatures', () => {
  const raw = Buffer.from('{"id":1}');
  it('accepts the base64 HMAC-SHA256 of the raw body under any current secret, nothing else', () => {
    const good = signatureFor('secret-one-0123456789', raw);
    expect(signedByOneOf(raw, good, ['secret-one-0123456789'])).toBe(true);
    expect(signedByOneOf(raw, good, ['another-secret-0123', 'secret-one-0123456789'])).toBe(true);
    expect(signedByOneOf(raw, good, ['another-secret-0123'])).toBe(false);
    expect(signedByOneOf(Buffer.from('{"id":2}'), good, ['secret-one-0123456789'])).toBe(false);
    expect(signedByOneOf(raw, undefined, ['secret-one-0123456789'])).toBe(false);
    expect(signedByOneOf(raw, 'not base64!', ['secret-one-0123456789'])).toBe(false);
    expect(signedByOneOf(raw, Buffer.from('short').toString('base64'), ['secret-one-0123456789'])).toBe(false);
  });
});

describe('money', () => {
  it.each([
    ['199.00', 2, 19900],
    ['0.9', 2, 90],
    [12, 2, 1200],
    ['1.005', 2, 101],
    ['-1.005', 2, -101],
    ['0.004', 2, 0],
    ['1500', 0, 1500],
    ['1.2345', 3, 1235],
    ['', 2, undefined],
    ['1e3', 2, undefined],
    [null, 2, undefined],
    ['12,00', 2, undefined],
  ])('%s at %i decimals is %s minor units', (value, exponent, expected) => {
    expect(decimalToMinor(value, exponent)).toBe(expected);
  });

  it('knows each currency’s minor units, and no code that is not a currency', () => {
    expect([currencyExponent('USD'), currencyExponent('JPY'), currencyExponent('KWD'), currencyExponent('XYZ'), currencyExponent('usd')]).toEqual([2, 0, 3, undefined, undefined]);
  });

  it.each([
    [2000, 2, '20.00'],
    [5, 2, '0.05'],
    [1500, 0, '1500'],
    [1235, 3, '1.235'],
    [-101, 2, '-1.01'],
  ])('%i minor units at %i decimals read %s on a platform', (minor, exponent, text) => {
    expect(minorToDecimal(minor, exponent)).toBe(text);
    expect(decimalToMinor(text, exponent)).toBe(minor);
  });

  it("reads a platform's Retry-After and knows which failures are worth another try", () => {
    expect(retryAfterMs('2.0')).toBe(2000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs(new Date(Date.now() + 3_000).toUTCString())).toBeGreaterThan(1_000);
    // A wrong token holds every update until the connector is fixed; a 4xx about this update refuses it alone.
    expect([0, 401, 403, 408, 409, 429, 500, 503].map((s) => new PlatformError(s, '').retryable)).toEqual([true, true, true, true, true, true, true, true]);
    expect([400, 404, 422].map((s) => new PlatformError(s, '').retryable)).toEqual([false, false, false]);
  });

  it('splits a line amount into a unit price and a rounding discount that make it exactly', () => {
    expect(unitPriceOf(2000, 3)).toEqual({ unitPriceMinor: 667, roundingDiscountMinor: 1 });
    expect(unitPriceOf(600, 2)).toEqual({ unitPriceMinor: 300, roundingDiscountMinor: 0 });
  });
});

describe('skus, places, convergence', () => {
  it.each([
    [' tee-red-xl ', {}, 'TEE-RED-XL'],
    ['old-123', { 'OLD-': 'NEW-' }, 'NEW-123'],
    ['old-x-1', { 'old-': 'A-', 'OLD-X-': 'B-' }, 'B-1'],
    ['', {}, ''],
  ])('%s with %o reads %s', (raw, skuPrefixMap, expected) => {
    expect(normalizeSku(raw, { skuPrefixMap })).toBe(expected);
  });

  it('has no coordinates for an address without a country', () => {
    expect(placeOf({ country: '' }, offlineGeocoder)).toEqual({ lat: 0, lon: 0, source: 'none' });
  });

  it('a later platform change wins; at the same moment a cancellation wins', () => {
    const at = (version: string, state: 'open' | 'cancelled' = 'open') => ({ version, state });
    expect(supersedes(at('2024-01-01T00:00:01Z'), at('2024-01-01T00:00:00Z'))).toBe(true);
    expect(supersedes(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:00:01Z'))).toBe(false);
    expect(supersedes(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:00:00Z', 'cancelled'))).toBe(false);
    expect(supersedes(at('2024-01-01T00:00:00Z', 'cancelled'), at('2024-01-01T00:00:00Z'))).toBe(true);
    expect(supersedes(at('2024-01-01T00:00:00Z'), null)).toBe(true);
  });

  it('tells an address change from a line change from a payment change', () => {
    const body = parsePlatformJson(fixture('woocommerce-order.json')) as Record<string, unknown>;
    const before = mapWooCommerceOrder(body, context());
    const moved = mapWooCommerceOrder({ ...body, shipping: { ...(body.shipping as object), address_1: '1 Other St' } }, context());
    const more = mapWooCommerceOrder({ ...body, line_items: [...(body.line_items as object[]), { id: 400, sku: 'X-1', quantity: 1, subtotal: '1.00', total: '1.00', total_tax: '0' }] }, context());
    const unpaid = mapWooCommerceOrder({ ...body, date_paid_gmt: null }, context());
    expect(changesBetween(before, moved)).toEqual({ address: true, lines: false, payment: false });
    expect(changesBetween(before, more)).toEqual({ address: false, lines: true, payment: false });
    expect(changesBetween(before, unpaid)).toEqual({ address: false, lines: false, payment: true });
  });
});
