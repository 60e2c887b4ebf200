/**
 * WooCommerce: webhooks `order.created` and `order.updated`, signed with
 * `X-WC-Webhook-Signature`, named by `X-WC-Webhook-Delivery-ID`, from the site in
 * `X-WC-Webhook-Source`. A webhook being created first sends an unsigned form body
 * `webhook_id=N`, and stays inactive unless it is answered 2xx. Line amounts are before
 * tax; `subtotal` is before discounts, `total` after.
 */
import type { ChannelAddress, ChannelOrderLine, ChannelOrderSnapshot, ChannelOrderState } from '../../domain/channel-orders.js';
import { currencyExponent, decimalToMinor, minorToDecimal, nonNegative, normalizeSku, placeOf, recordIdOf, snapshotProblems, spread, unitPriceOf } from '../../domain/channel-orders.js';
import type { OrderProblem } from '../../domain/order-validation.js';
import { arr, header, idText, num, obj, str, utc, type InboundConnector, type MappingContext } from './connector.js';
import { platformRequest, type PlatformApi, type PlatformUpdates } from './platform-api.js';

/** Statuses of an order not yet placed (awaiting payment, or a checkout never finished): nothing to ship yet. */
const notPlaced = new Set(['pending', 'failed', 'checkout-draft', 'draft']);
const cancelled = new Set(['cancelled', 'refunded', 'trash']);

const siteOf = (url: string) => url.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');

export const woocommerce: InboundConnector = {
  platform: 'woocommerce',
  orderTopics: ['order.created', 'order.updated'],
  signatureOf: (headers) => header(headers, 'x-wc-webhook-signature'),
  identityOf: (headers) => ({
    deliveryId: header(headers, 'x-wc-webhook-delivery-id'),
    topic: header(headers, 'x-wc-webhook-topic'),
    shop: header(headers, 'x-wc-webhook-source'),
  }),
  sameShop: (configured, named) => named !== undefined && siteOf(configured) === siteOf(named),
  isSetupPing: (headers, raw) => header(headers, 'x-wc-webhook-signature') === undefined && raw.length <= 64 && /^webhook_id=\d{1,20}$/.test(raw.toString('utf8').trim()),
  orderIdOf: (body) => idText(obj(body).id),
  mapOrder: (body, _topic, context) => mapWooCommerceOrder(body, context),
};

function addressOf(value: unknown): ChannelAddress | undefined {
  const a = obj(value);
  const country = (str(a.country) ?? '').toUpperCase();
  if (!country && !str(a.address_1)) return undefined;
  const name = [str(a.first_name), str(a.last_name)].filter(Boolean).join(' ');
  return {
    ...(name ? { name } : {}),
    ...(str(a.company) ? { company: str(a.company) } : {}),
    ...(str(a.address_1) ? { line1: str(a.address_1) } : {}),
    ...(str(a.address_2) ? { line2: str(a.address_2) } : {}),
    ...(str(a.city) ? { city: str(a.city) } : {}),
    ...(str(a.state) ? { region: str(a.state) } : {}),
    ...(str(a.postcode) ? { postalCode: str(a.postcode) } : {}),
    country,
    ...(str(a.phone) ? { phone: str(a.phone) } : {}),
  };
}

/** A WooCommerce order (the REST API v3 JSON its webhooks carry) as this product's snapshot. */
export function mapWooCommerceOrder(o: Record<string, unknown>, { mapping, geocoder }: MappingContext): ChannelOrderSnapshot {
  const platformOrderId = woocommerce.orderIdOf(o) ?? '';
  const currency = (str(o.currency) ?? '').toUpperCase();
  const exponent = currencyExponent(currency) ?? 2;
  const money = (value: unknown) => decimalToMinor(value, exponent) ?? 0;
  const negatives: OrderProblem[] = [];
  const notes: string[] = [];

  const lines: ChannelOrderLine[] = arr(o.line_items)
    .filter((item) => (num(item.quantity) ?? 0) > 0)
    .map((item, index) => {
      const lineNo = index + 1;
      const qty = Math.floor(num(item.quantity)!);
      const subtotal = nonNegative(money(item.subtotal), `line ${lineNo} subtotal`, negatives, lineNo);
      const total = nonNegative(money(item.total), `line ${lineNo} total`, negatives, lineNo);
      const { unitPriceMinor, roundingDiscountMinor } = unitPriceOf(subtotal, qty);
      const platformSku = str(item.sku) ?? '';
      return {
        lineNo,
        platformLineId: idText(item.id) ?? String(lineNo),
        platformSku,
        sku: normalizeSku(platformSku, mapping),
        title: str(item.name) ?? '',
        qty,
        unitPriceMinor,
        discountMinor: Math.min(unitPriceMinor * qty, Math.max(0, subtotal - total) + roundingDiscountMinor),
        taxMinor: nonNegative(money(item.total_tax), `line ${lineNo} tax`, negatives, lineNo),
      };
    });

  const shippingLines = arr(o.shipping_lines);
  let freightMinor = nonNegative(shippingLines.reduce((n, s) => n + money(s.total), 0), 'shipping', negatives);
  const freightTaxMinor = nonNegative(shippingLines.reduce((n, s) => n + money(s.total_tax), 0), 'shipping tax', negatives);
  // Fees: a charge goes with freight, a negative fee (a discount given as a fee) is spread over the lines; their tax with the lines' tax.
  const fees = arr(o.fee_lines);
  const feeCharge = fees.reduce((n, f) => n + Math.max(0, money(f.total)), 0);
  const feeCredit = fees.reduce((n, f) => n + Math.max(0, -money(f.total)), 0);
  const feeTax = fees.reduce((n, f) => n + money(f.total_tax), 0);
  if (feeCharge > 0) {
    freightMinor += feeCharge;
    notes.push(`fees of ${feeCharge} minor units booked with freight`);
  }
  const weights = () => lines.map((l) => l.unitPriceMinor * l.qty - l.discountMinor);
  if (feeCredit > 0 && lines.length) {
    const shares = spread(feeCredit, weights());
    lines.forEach((l, i) => (l.discountMinor = Math.min(l.unitPriceMinor * l.qty, l.discountMinor + shares[i]!)));
    notes.push(`negative fees of ${feeCredit} minor units spread over the lines as discount`);
  }
  const extraTax = freightTaxMinor + Math.max(0, feeTax);
  if (extraTax > 0 && lines.length) {
    const shares = spread(extraTax, weights());
    lines.forEach((l, i) => (l.taxMinor += shares[i]!));
    notes.push(`tax on shipping and fees of ${extraTax} minor units booked with the lines' tax`);
  }

  const status = str(o.status) ?? 'unknown';
  const state: ChannelOrderState = cancelled.has(status) ? 'cancelled' : notPlaced.has(status) ? 'not_placed' : 'open';
  const shipping = addressOf(o.shipping);
  const billing = addressOf(o.billing);
  const shipTo = shipping && shipping.country ? shipping : (billing ?? { country: '' });
  const place = placeOf(shipTo, geocoder);
  const customerId = idText(o.customer_id);
  const email = str(obj(o.billing).email);
  const paidAt = utc(o.date_paid_gmt) ?? null;
  const totalMinor = freightMinor + lines.reduce((n, l) => n + l.unitPriceMinor * l.qty - l.discountMinor + l.taxMinor, 0);
  const platformTotalMinor = decimalToMinor(o.total, exponent) ?? null;
  if (platformTotalMinor !== null && platformTotalMinor !== totalMinor) notes.push(`WooCommerce's total is ${platformTotalMinor} minor units, this order's ${totalMinor}`);
  const snapshot: ChannelOrderSnapshot = {
    platform: 'woocommerce',
    platformOrderId,
    reference: str(o.number) ?? platformOrderId,
    version: utc(o.date_modified_gmt) ?? utc(o.date_created_gmt) ?? new Date(0).toISOString(),
    state,
    platformStatus: status,
    currency,
    lines,
    freightMinor,
    freightTaxMinor,
    totalMinor,
    platformTotalMinor,
    customer: {
      id: customerId && customerId !== '0' ? recordIdOf('woo', customerId) : recordIdOf('woo-guest', platformOrderId),
      ...(email ? { email } : {}),
      ...(billing?.name ? { name: billing.name } : {}),
    },
    shipTo: { ...shipTo, lat: place.lat, lon: place.lon },
    coordinates: place.source,
    ...(billing ? { billing } : {}),
    payment: {
      status: paidAt ? 'paid' : state === 'not_placed' ? 'pending' : 'unpaid',
      gateway: str(o.payment_method_title) ?? str(o.payment_method) ?? null,
      paidAt,
      transactionId: str(o.transaction_id) ?? null,
    },
    problems: [],
    notes,
  };
  snapshot.problems = snapshotProblems(snapshot, mapping, negatives);
  return snapshot;
}

// ---------------------------------------------------------------- back to WooCommerce (REST API v3)

const wooCall = (api: PlatformApi, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
  platformRequest(api, { authorization: `Basic ${Buffer.from(api.token ?? '').toString('base64')}` }, method, path, body);
const wooMarker = (returnId: string) => `return ${returnId}`;
const describeLines = (lines: { lineNo: number; qty: number }[]) => lines.map((l) => `line ${l.lineNo} × ${l.qty}`).join(', ');

export const wooCommerceUpdates: PlatformUpdates = {
  /** A customer note with carrier and tracking; the order `completed` once every unit has shipped. */
  async shipped(api, { platformOrderId }, shipment) {
    const notes = arr(await wooCall(api, 'GET', `/orders/${platformOrderId}/notes`));
    const existing = notes.find((n) => (str(n.note) ?? '').includes(shipment.tracking));
    let reference = existing ? idText(existing.id) : undefined;
    if (!existing) {
      const note = await wooCall(api, 'POST', `/orders/${platformOrderId}/notes`, {
        note: `Shipped via ${shipment.carrier}, tracking ${shipment.tracking} (${describeLines(shipment.lines)})`,
        customer_note: true,
      });
      reference = idText(obj(note).id);
    }
    if (shipment.orderComplete) {
      const order = obj(await wooCall(api, 'GET', `/orders/${platformOrderId}`));
      if (str(order.status) !== 'completed') await wooCall(api, 'PUT', `/orders/${platformOrderId}`, { status: 'completed' });
    }
    return { action: shipment.orderComplete ? 'note+completed' : 'note', ...(reference ? { reference } : {}), ...(existing && !shipment.orderComplete ? { already: true } : {}) };
  },

  async cancelled(api, { platformOrderId }) {
    const order = obj(await wooCall(api, 'GET', `/orders/${platformOrderId}`));
    if (str(order.status) === 'cancelled') return { action: 'status', already: true };
    await wooCall(api, 'PUT', `/orders/${platformOrderId}`, { status: 'cancelled' });
    return { action: 'status' };
  },

  /** A refund record of the amount, marked as refunded elsewhere (`api_refund: false`): the money went through this product's gateway. */
  async refunded(api, { platformOrderId, currency }, refund) {
    const refunds = arr(await wooCall(api, 'GET', `/orders/${platformOrderId}/refunds`));
    const existing = refunds.find((r) => (str(r.reason) ?? '').includes(wooMarker(refund.returnId)));
    if (existing) return { action: 'refund', reference: idText(existing.id), already: true };
    const made = await wooCall(api, 'POST', `/orders/${platformOrderId}/refunds`, {
      amount: minorToDecimal(refund.amountMinor, currencyExponent(currency) ?? 2),
      reason: `${wooMarker(refund.returnId)}: ${describeLines(refund.lines)}`,
      api_refund: false,
    });
    return { action: 'refund', reference: idText(obj(made).id) };
  },

  async returnAuthorized(api, { platformOrderId }, authorized) {
    const notes = arr(await wooCall(api, 'GET', `/orders/${platformOrderId}/notes`));
    const existing = notes.find((n) => (str(n.note) ?? '').includes(wooMarker(authorized.returnId)));
    if (existing) return { action: 'note', reference: idText(existing.id), already: true };
    const note = await wooCall(api, 'POST', `/orders/${platformOrderId}/notes`, { note: `${wooMarker(authorized.returnId)} authorized (${describeLines(authorized.lines)})`, customer_note: false });
    return { action: 'note', reference: idText(obj(note).id) };
  },

  async ordersChanged(api, from, to) {
    const orders: Record<string, unknown>[] = [];
    for (let page = 1; ; page++) {
      const batch = arr(
        await wooCall(api, 'GET', `/orders?per_page=100&page=${page}&dates_are_gmt=true&modified_after=${encodeURIComponent(from.toISOString())}&modified_before=${encodeURIComponent(to.toISOString())}`),
      );
      orders.push(...batch);
      if (batch.length < 100) return orders;
    }
  },
};
