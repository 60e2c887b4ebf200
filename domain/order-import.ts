/**
 * Orders from a CSV file, one row per order line: each row checked on its own, rows grouped
 * into orders by `order_id` in file order. An order is imported when every one of its rows is
 * good; a bad row keeps its whole order out (never half an order), and every other order is
 * imported all the same. Pure: the file is parsed in services/order-import.ts.
 */
import { currencyExponent, decimalToMinor, normalizeSku, type Geocoder, placeOf } from './channel-orders.js';
import type { ChannelName, OrderInput } from './order.js';

export const requiredColumns = ['order_id', 'customer_id', 'sku', 'qty', 'unit_price', 'ship_country'] as const;
export const optionalColumns = [
  'currency',
  'discount',
  'tax',
  'freight',
  'ship_name',
  'ship_line1',
  'ship_city',
  'ship_region',
  'ship_postal_code',
  'ship_lat',
  'ship_lon',
  'billing_country',
  'promised_by',
] as const;

export interface ImportRow {
  /** The row's line in the file (the header is line 1). */
  row: number;
  values: Record<string, string>;
  /** The parser's own complaint (a row with too many or too few fields). */
  parseError?: string;
}

export interface RowResult {
  row: number;
  orderId: string | null;
  lineNo: number | null;
  accepted: boolean;
  problems: string[];
}

const recordId = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const skuPattern = /^[A-Z0-9][A-Z0-9-]{2,39}$/;

interface ParsedRow {
  row: number;
  orderId: string;
  order: Omit<OrderInput, 'lines' | 'orderId'>;
  line: { sku: string; qty: number; unitPriceMinor: number; discountMinor: number; taxMinor: number };
  /** Order-level fields as this row gives them, to compare rows of one order. */
  orderFields: string;
}

function readRow(row: ImportRow, channel: ChannelName, geocoder: Geocoder): { parsed?: ParsedRow; problems: string[] } {
  const v = row.values;
  const problems: string[] = [];
  if (row.parseError) problems.push(row.parseError);
  const text = (name: string) => (v[name] ?? '').trim();
  const orderId = text('order_id');
  const customerId = text('customer_id');
  if (!recordId.test(orderId)) problems.push(`order_id "${orderId}": letters, digits, . _ - (up to 64), starting with a letter or digit`);
  if (!recordId.test(customerId)) problems.push(`customer_id "${customerId}": letters, digits, . _ - (up to 64)`);
  const currency = (text('currency') || 'USD').toUpperCase();
  const exponent = currencyExponent(currency);
  if (exponent === undefined) problems.push(`currency "${currency}" is not an ISO 4217 currency`);
  const money = (name: string, required: boolean): number => {
    const raw = text(name);
    if (!raw) {
      if (required) problems.push(`${name} is missing`);
      return 0;
    }
    const minor = decimalToMinor(raw, exponent ?? 2);
    if (minor === undefined || minor < 0) {
      problems.push(`${name} "${raw}" is not an amount of 0 or more`);
      return 0;
    }
    return minor;
  };
  const sku = normalizeSku(text('sku'), { skuPrefixMap: {} });
  if (!skuPattern.test(sku)) problems.push(`sku "${text('sku')}": upper-case letters, digits and dashes, 3 to 40`);
  const qtyText = text('qty');
  const qty = /^\d{1,6}$/.test(qtyText) ? Number(qtyText) : NaN;
  if (!(qty >= 1 && qty <= 100_000)) problems.push(`qty "${qtyText}" is not a whole number from 1 to 100000`);
  const unitPriceMinor = money('unit_price', true);
  const discountMinor = money('discount', false);
  const taxMinor = money('tax', false);
  const freightMinor = money('freight', false);
  if (Number.isFinite(qty) && discountMinor > qty * unitPriceMinor) problems.push('discount exceeds the line amount');
  const country = text('ship_country').toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) problems.push(`ship_country "${text('ship_country')}": an ISO 3166-1 alpha-2 code like US`);
  const billing = text('billing_country').toUpperCase();
  if (billing && !/^[A-Z]{2}$/.test(billing)) problems.push(`billing_country "${text('billing_country')}": an ISO 3166-1 alpha-2 code`);
  const [latText, lonText] = [text('ship_lat'), text('ship_lon')];
  const lat = latText ? Number(latText) : undefined;
  const lon = lonText ? Number(lonText) : undefined;
  if ((lat === undefined) !== (lon === undefined) || (lat !== undefined && !(Math.abs(lat) <= 90 && Math.abs(lon!) <= 180))) problems.push('ship_lat and ship_lon: both or neither, within -90..90 and -180..180');
  const promised = text('promised_by');
  if (promised && Number.isNaN(Date.parse(promised))) problems.push(`promised_by "${promised}" is not a date`);
  if (problems.length) return { problems };
  const place = placeOf({ country, postalCode: text('ship_postal_code') || undefined, lat, lon }, geocoder);
  const shipTo = {
    ...(text('ship_name') ? { name: text('ship_name') } : {}),
    ...(text('ship_line1') ? { line1: text('ship_line1') } : {}),
    ...(text('ship_city') ? { city: text('ship_city') } : {}),
    ...(text('ship_region') ? { region: text('ship_region') } : {}),
    ...(text('ship_postal_code') ? { postalCode: text('ship_postal_code') } : {}),
    country,
    lat: place.lat,
    lon: place.lon,
  };
  const order = {
    channel,
    customerId,
    currency,
    shipTo,
    ...(billing ? { billingCountry: billing } : {}),
    freightMinor,
    ...(promised ? { promisedBy: new Date(promised).toISOString() } : {}),
  };
  return {
    parsed: { row: row.row, orderId, order, line: { sku, qty, unitPriceMinor, discountMinor, taxMinor }, orderFields: JSON.stringify(order) },
    problems: [],
  };
}

/** Every row's result, and the orders whose rows are all good, in file order. */
export function ordersFromRows(rows: ImportRow[], channel: ChannelName, geocoder: Geocoder): { orders: OrderInput[]; results: RowResult[] } {
  const read = rows.map((row) => ({ row, ...readRow(row, channel, geocoder) }));
  const byOrder = new Map<string, typeof read>();
  for (const r of read) {
    const id = r.parsed?.orderId ?? (r.row.values.order_id ?? '').trim();
    if (!id) continue;
    byOrder.set(id, [...(byOrder.get(id) ?? []), r]);
  }
  const results: RowResult[] = [];
  const orders: OrderInput[] = [];
  const resultOf = new Map<number, RowResult>();
  for (const [orderId, group] of byOrder) {
    const first = group.find((g) => g.parsed)?.parsed;
    // Order-level fields (customer, currency, address, freight) are the same on every row of an order.
    for (const g of group) if (g.parsed && first && g.parsed.orderFields !== first.orderFields) g.problems.push(`order-level fields differ from row ${first.row} of order ${orderId}`);
    const bad = group.filter((g) => g.problems.length);
    group.forEach((g, index) => {
      const problems = g.problems.length ? g.problems : bad.length ? [`order ${orderId} is not imported: row ${bad.map((b) => b.row.row).join(', ')} is bad`] : [];
      resultOf.set(g.row.row, { row: g.row.row, orderId, lineNo: index + 1, accepted: bad.length === 0, problems });
    });
    if (bad.length === 0 && first) orders.push({ ...first.order, orderId, lines: group.map((g, index) => ({ lineNo: index + 1, ...g.parsed!.line })) });
  }
  for (const r of read) results.push(resultOf.get(r.row.row) ?? { row: r.row.row, orderId: null, lineNo: null, accepted: false, problems: r.problems.length ? r.problems : ['order_id is missing'] });
  return { orders, results };
}
