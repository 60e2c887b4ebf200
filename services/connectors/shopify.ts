/**
 * Shopify: webhooks `orders/create`, `orders/updated`, `orders/cancelled`, signed with
 * `X-Shopify-Hmac-Sha256`, named by `X-Shopify-Webhook-Id` (the same on every retry), from
 * the shop in `X-Shopify-Shop-Domain`. Amounts are the shop currency's (`price`, not
 * `price_set.presentment_money`).
 */
import type { ChannelAddress, ChannelOrderLine, ChannelOrderSnapshot, ChannelOrderState } from '../../domain/channel-orders.js';
import { currencyExponent, decimalToMinor, nonNegative, normalizeSku, placeOf, recordIdOf, snapshotProblems, spread } from '../../domain/channel-orders.js';
import type { OrderProblem } from '../../domain/order-validation.js';
import { arr, header, idText, num, obj, str, utc, type InboundConnector, type MappingContext } from './connector.js';

const hostOf = (shop: string) => shop.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '');

export const shopify: InboundConnector = {
  platform: 'shopify',
  orderTopics: ['orders/create', 'orders/updated', 'orders/cancelled'],
  cancelTopic: 'orders/cancelled',
  signatureOf: (headers) => header(headers, 'x-shopify-hmac-sha256'),
  identityOf: (headers) => ({
    deliveryId: header(headers, 'x-shopify-webhook-id'),
    topic: header(headers, 'x-shopify-topic'),
    shop: header(headers, 'x-shopify-shop-domain'),
  }),
  sameShop: (configured, named) => named !== undefined && hostOf(configured) === hostOf(named),
  isSetupPing: () => false,
  orderIdOf: (body) => idText(obj(body).admin_graphql_api_id) ?? idText(obj(body).id),
  mapOrder: (body, topic, context) => mapShopifyOrder(body, topic, context),
};

function addressOf(value: unknown): ChannelAddress | undefined {
  const a = obj(value);
  if (Object.keys(a).length === 0) return undefined;
  const name = str(a.name) ?? ([str(a.first_name), str(a.last_name)].filter(Boolean).join(' ') || undefined);
  return {
    ...(name ? { name } : {}),
    ...(str(a.company) ? { company: str(a.company) } : {}),
    ...(str(a.address1) ? { line1: str(a.address1) } : {}),
    ...(str(a.address2) ? { line2: str(a.address2) } : {}),
    ...(str(a.city) ? { city: str(a.city) } : {}),
    ...(str(a.province_code) ?? str(a.province) ? { region: str(a.province_code) ?? str(a.province) } : {}),
    ...(str(a.zip) ? { postalCode: str(a.zip) } : {}),
    country: (str(a.country_code) ?? '').toUpperCase(),
    ...(str(a.phone) ? { phone: str(a.phone) } : {}),
    ...(num(a.latitude) !== undefined && num(a.longitude) !== undefined ? { lat: num(a.latitude), lon: num(a.longitude) } : {}),
  };
}

/** A Shopify order (the REST/webhook JSON) as this product's snapshot. */
export function mapShopifyOrder(o: Record<string, unknown>, topic: string, { mapping, geocoder }: MappingContext): ChannelOrderSnapshot {
  const platformOrderId = shopify.orderIdOf(o) ?? '';
  const currency = (str(o.currency) ?? '').toUpperCase();
  const exponent = currencyExponent(currency) ?? 2;
  const money = (value: unknown) => decimalToMinor(value, exponent) ?? 0;
  const negatives: OrderProblem[] = [];
  const notes: string[] = [];
  const sum = (items: Record<string, unknown>[], field: string) => items.reduce((n, item) => n + money(item[field]), 0);

  const shippable = arr(o.line_items).filter((item) => {
    const qty = num(item.current_quantity) ?? num(item.quantity) ?? 0;
    if (item.requires_shipping === false) notes.push(`line item ${idText(item.id) ?? '?'} (${str(item.title) ?? ''}) needs no shipping and is left out`);
    return qty > 0 && item.requires_shipping !== false;
  });
  const taxesIncluded = o.taxes_included === true;
  const lines: ChannelOrderLine[] = shippable.map((item, index) => {
    const lineNo = index + 1;
    const qty = Math.floor(num(item.current_quantity) ?? num(item.quantity) ?? 0);
    const unit = nonNegative(money(item.price), `line ${lineNo} price`, negatives, lineNo);
    const tax = nonNegative(sum(arr(item.tax_lines), 'price'), `line ${lineNo} tax`, negatives, lineNo);
    let discount = nonNegative(sum(arr(item.discount_allocations), 'amount'), `line ${lineNo} discount`, negatives, lineNo);
    let unitPriceMinor = unit;
    if (taxesIncluded) {
      // The price holds the tax: the line's amount net of tax, as a unit price and a rounding discount.
      const net = Math.max(0, unit * qty - tax);
      unitPriceMinor = Math.ceil(net / qty);
      discount += unitPriceMinor * qty - net;
    }
    const platformSku = str(item.sku) ?? '';
    return {
      lineNo,
      platformLineId: idText(item.admin_graphql_api_id) ?? idText(item.id) ?? String(lineNo),
      platformSku,
      sku: normalizeSku(platformSku, mapping),
      title: str(item.title) ?? str(item.name) ?? '',
      qty,
      unitPriceMinor,
      discountMinor: Math.min(discount, unitPriceMinor * qty),
      taxMinor: tax,
    };
  });

  const shippingLines = arr(o.shipping_lines).filter((s) => s.is_removed !== true);
  const shippingDiscount = shippingLines.reduce((n, s) => n + sum(arr(s.discount_allocations), 'amount'), 0);
  const freightMinor = nonNegative(sum(shippingLines, 'price') - shippingDiscount, 'shipping', negatives);
  const freightTaxMinor = nonNegative(shippingLines.reduce((n, s) => n + sum(arr(s.tax_lines), 'price'), 0), 'shipping tax', negatives);

  // An order-level discount not yet allocated to the lines is spread over them by amount.
  const allocated = lines.reduce((n, l) => n + l.discountMinor, 0);
  const orderDiscount = money(o.total_discounts) - shippingDiscount;
  if (orderDiscount > allocated && lines.length) {
    const shares = spread(orderDiscount - allocated, lines.map((l) => l.unitPriceMinor * l.qty - l.discountMinor));
    lines.forEach((l, i) => (l.discountMinor = Math.min(l.unitPriceMinor * l.qty, l.discountMinor + shares[i]!)));
    notes.push(`order discount of ${orderDiscount - allocated} minor units spread over the lines by amount`);
  }
  // Tax on shipping has no line of its own here: it is booked with the lines' tax, by amount.
  if (freightTaxMinor > 0 && lines.length) {
    const shares = spread(freightTaxMinor, lines.map((l) => l.unitPriceMinor * l.qty - l.discountMinor));
    lines.forEach((l, i) => (l.taxMinor += shares[i]!));
    notes.push(`shipping tax of ${freightTaxMinor} minor units booked with the lines' tax`);
  }

  const shipTo = addressOf(o.shipping_address) ?? addressOf(o.billing_address) ?? addressOf(obj(o.customer).default_address) ?? { country: '' };
  const place = placeOf(shipTo, geocoder);
  const customer = obj(o.customer);
  const customerId = idText(customer.admin_graphql_api_id) ?? idText(customer.id);
  const email = str(o.email) ?? str(o.contact_email) ?? str(customer.email);
  const financial = str(o.financial_status) ?? null;
  const state: ChannelOrderState = str(o.cancelled_at) || topic === shopify.cancelTopic ? 'cancelled' : 'open';
  const totalMinor = freightMinor + lines.reduce((n, l) => n + l.unitPriceMinor * l.qty - l.discountMinor + l.taxMinor, 0);
  const platformTotalMinor = decimalToMinor(o.total_price, exponent) ?? null;
  if (platformTotalMinor !== null && platformTotalMinor !== totalMinor) notes.push(`Shopify's total is ${platformTotalMinor} minor units, this order's ${totalMinor}`);
  const snapshot: ChannelOrderSnapshot = {
    platform: 'shopify',
    platformOrderId,
    reference: str(o.name) ?? platformOrderId,
    version: utc(o.updated_at) ?? utc(o.created_at) ?? new Date(0).toISOString(),
    state,
    platformStatus: `${financial ?? 'unknown'}/${str(o.fulfillment_status) ?? 'unfulfilled'}${state === 'cancelled' ? '/cancelled' : ''}`,
    ...(str(o.cancel_reason) ? { cancelReason: str(o.cancel_reason) } : {}),
    currency,
    lines,
    freightMinor,
    freightTaxMinor,
    totalMinor,
    platformTotalMinor,
    customer: {
      id: customerId ? recordIdOf('shopify', customerId) : recordIdOf('shopify-guest', platformOrderId),
      ...(email ? { email } : {}),
      ...([str(customer.first_name), str(customer.last_name)].some(Boolean) ? { name: [str(customer.first_name), str(customer.last_name)].filter(Boolean).join(' ') } : {}),
    },
    shipTo: { ...shipTo, lat: place.lat, lon: place.lon },
    coordinates: place.source,
    ...(addressOf(o.billing_address) ? { billing: addressOf(o.billing_address) } : {}),
    payment: {
      status: financial,
      gateway: str(o.gateway) ?? (Array.isArray(o.payment_gateway_names) ? o.payment_gateway_names.map(String).join(', ') || null : null),
      paidAt: financial === 'paid' ? (utc(o.processed_at) ?? null) : null,
      transactionId: null,
    },
    problems: [],
    notes,
  };
  snapshot.problems = snapshotProblems(snapshot, mapping, negatives);
  return snapshot;
}
