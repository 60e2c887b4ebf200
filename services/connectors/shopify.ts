/**
 * Shopify: webhooks `orders/create`, `orders/updated`, `orders/cancelled`, signed with
 * `X-Shopify-Hmac-Sha256`, named by `X-Shopify-Webhook-Id` (the same on every retry), from
 * the shop in `X-Shopify-Shop-Domain`. Amounts are the shop currency's (`price`, not
 * `price_set.presentment_money`).
 */
import type { ChannelAddress, ChannelOrderLine, ChannelOrderSnapshot, ChannelOrderState } from '../../domain/channel-orders.js';
import { currencyExponent, decimalToMinor, minorToDecimal, nonNegative, normalizeSku, placeOf, recordIdOf, snapshotProblems, spread } from '../../domain/channel-orders.js';
import type { OrderProblem } from '../../domain/order-validation.js';
import { arr, header, idText, num, obj, str, utc, type InboundConnector, type MappingContext } from './connector.js';
import { PlatformError, platformRequest, type PlatformApi, type PlatformUpdates } from './platform-api.js';

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

// ---------------------------------------------------------------- back to Shopify (Admin REST API)

const shopifyCall = (api: PlatformApi, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
  platformRequest(api, { 'x-shopify-access-token': api.token ?? '' }, method, path, body);
/** An id as Shopify takes it in a body: a number when it is one exactly, else its digits. */
const numericId = (id: string): number | string => (Number.isSafeInteger(Number(id)) ? Number(id) : id);
const marker = (returnId: string) => `return ${returnId}`;

export const shopifyUpdates: PlatformUpdates = {
  /** A fulfillment with tracking for the shipped lines, through the order's fulfillment orders. */
  async shipped(api, { platformOrderId }, shipment) {
    const fulfillments = arr(obj(await shopifyCall(api, 'GET', `/orders/${platformOrderId}/fulfillments.json`)).fulfillments);
    const existing = fulfillments.find((f) => str(f.tracking_number) === shipment.tracking || (Array.isArray(f.tracking_numbers) && f.tracking_numbers.includes(shipment.tracking)));
    if (existing) return { action: 'fulfillment', reference: idText(existing.id), already: true };
    const open = arr(obj(await shopifyCall(api, 'GET', `/orders/${platformOrderId}/fulfillment_orders.json`)).fulfillment_orders).filter((fo) =>
      ['open', 'in_progress'].includes(str(fo.status) ?? ''),
    );
    const byOrder = new Map<string, { id: number | string; quantity: number }[]>();
    for (const line of shipment.lines) {
      let need = line.qty;
      for (const fo of open) {
        for (const item of arr(fo.line_items)) {
          if (need === 0 || idText(item.line_item_id) !== line.platformLineId) continue;
          const take = Math.min(need, num(item.fulfillable_quantity) ?? 0);
          if (take <= 0) continue;
          const foId = idText(fo.id)!;
          byOrder.set(foId, [...(byOrder.get(foId) ?? []), { id: numericId(idText(item.id)!), quantity: take }]);
          item.fulfillable_quantity = (num(item.fulfillable_quantity) ?? 0) - take;
          need -= take;
        }
      }
      if (need > 0) throw new PlatformError(422, `line ${line.lineNo} (Shopify line item ${line.platformLineId}): ${need} of ${line.qty} units are not open for fulfillment on Shopify`);
    }
    const made = await shopifyCall(api, 'POST', '/fulfillments.json', {
      fulfillment: {
        line_items_by_fulfillment_order: [...byOrder].map(([foId, items]) => ({ fulfillment_order_id: numericId(foId), fulfillment_order_line_items: items })),
        tracking_info: { company: shipment.carrier, number: shipment.tracking },
        notify_customer: true,
      },
    });
    return { action: 'fulfillment', reference: idText(obj(obj(made).fulfillment).id) };
  },

  async cancelled(api, { platformOrderId }) {
    const order = obj(obj(await shopifyCall(api, 'GET', `/orders/${platformOrderId}.json`)).order);
    if (str(order.cancelled_at)) return { action: 'cancel', already: true };
    await shopifyCall(api, 'POST', `/orders/${platformOrderId}/cancel.json`, { reason: 'other', email: false });
    return { action: 'cancel' };
  },

  /** A refund record with the returned lines (not restocked: stock is this product's) and the money, against the order's payment. */
  async refunded(api, { platformOrderId, currency }, refund) {
    const refunds = arr(obj(await shopifyCall(api, 'GET', `/orders/${platformOrderId}/refunds.json`)).refunds);
    const existing = refunds.find((r) => (str(r.note) ?? '').includes(marker(refund.returnId)));
    if (existing) return { action: 'refund', reference: idText(existing.id), already: true };
    const transactions = arr(obj(await shopifyCall(api, 'GET', `/orders/${platformOrderId}/transactions.json`)).transactions);
    const paid = transactions.find((t) => ['sale', 'capture'].includes(str(t.kind) ?? '') && str(t.status) === 'success');
    const made = await shopifyCall(api, 'POST', `/orders/${platformOrderId}/refunds.json`, {
      refund: {
        currency,
        note: marker(refund.returnId),
        notify: true,
        refund_line_items: refund.lines.map((l) => ({ line_item_id: numericId(l.platformLineId), quantity: l.qty, restock_type: 'no_restock' })),
        transactions: paid
          ? [{ parent_id: numericId(idText(paid.id)!), amount: minorToDecimal(refund.amountMinor, currencyExponent(currency) ?? 2), kind: 'refund', gateway: str(paid.gateway) ?? 'manual' }]
          : [],
      },
    });
    return { action: 'refund', reference: idText(obj(obj(made).refund).id) };
  },

  /** Shopify's REST API keeps no return authorization: nothing to send. */
  async returnAuthorized() {
    return { action: 'none' };
  },

  async ordersChanged(api, from, to) {
    const orders: Record<string, unknown>[] = [];
    for (let sinceId = '0'; ; ) {
      const page = arr(
        obj(await shopifyCall(api, 'GET', `/orders.json?status=any&limit=250&since_id=${sinceId}&updated_at_min=${encodeURIComponent(from.toISOString())}&updated_at_max=${encodeURIComponent(to.toISOString())}`)).orders,
      );
      orders.push(...page);
      if (page.length < 250) return orders;
      sinceId = idText(page.at(-1)!.id) ?? sinceId;
    }
  },
};
