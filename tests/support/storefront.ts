/**
 * Storefront deliveries for tests: the platforms' documented sample orders, changed where a
 * test needs it, serialized with Shopify's 18-digit ids as JSON numbers, signed as the
 * platform signs them, and posted to the webhook route.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { LosslessNumber, stringify } from 'lossless-json';
import { parsePlatformJson, signatureFor } from '../../services/connectors/connector.js';
import type { TestStack } from './stack.js';

export const SHOPIFY_SHOP = 'jsmith.myshopify.com';
export const WOO_SITE = 'https://shop.example';

const fixture = (name: string) => parsePlatformJson(fs.readFileSync(new URL(`../fixtures/channels/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** Shopify's sample order as a fresh, open order with its own id. */
export function shopifyOrder(id: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...fixture('shopify-orders-create.json'), id, admin_graphql_api_id: `gid://shopify/Order/${id}`, cancelled_at: null, cancel_reason: null, financial_status: 'paid', ...changes };
}

/** WooCommerce's documented order with its own id and a sku on every line. */
export function wooOrder(id: number, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const base = fixture('woocommerce-order.json');
  const lines = (base.line_items as Record<string, unknown>[]).map((l, i) => ({ ...l, sku: i === 0 ? 'woo-single-1' : l.sku }));
  return { ...base, id, number: String(id), line_items: lines, ...changes };
}

/** JSON as the platform writes it: ids past 2^53 written as digits, not strings. */
export const platformJson = (body: unknown): string => stringify(asNumbers(body))!;
const asNumbers = (value: unknown): unknown =>
  typeof value === 'string' && /^\d{16,30}$/.test(value)
    ? new LosslessNumber(value)
    : Array.isArray(value)
      ? value.map(asNumbers)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asNumbers(v)]))
        : value;

export interface Sent {
  status: number;
  body: Record<string, unknown>;
  deliveryId: string;
}

export async function postShopify(
  stack: TestStack,
  channel: string,
  topic: string,
  order: Record<string, unknown>,
  options: { secret: string; deliveryId?: string; shop?: string; signature?: string | null; raw?: string } = { secret: '' },
): Promise<Sent> {
  const deliveryId = options.deliveryId ?? randomUUID();
  const payload = options.raw ?? platformJson(order);
  const signature = options.signature === undefined ? signatureFor(options.secret, payload) : options.signature;
  const response = await stack.app.inject({
    method: 'POST',
    url: `/channels/${channel}/webhooks/shopify`,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-shop-domain': options.shop ?? SHOPIFY_SHOP,
      'x-shopify-webhook-id': deliveryId,
      'x-shopify-api-version': '2024-10',
      ...(signature === null ? {} : { 'x-shopify-hmac-sha256': signature }),
    },
    payload,
  });
  return { status: response.statusCode, body: response.json(), deliveryId };
}

export async function postWoo(
  stack: TestStack,
  channel: string,
  topic: string,
  order: Record<string, unknown> | null,
  options: { secret: string; deliveryId?: string; raw?: string; contentType?: string; signature?: string | null },
): Promise<Sent> {
  const deliveryId = options.deliveryId ?? String(Math.floor(Math.random() * 1e9));
  const payload = options.raw ?? JSON.stringify(order);
  const signature = options.signature === undefined ? signatureFor(options.secret, payload) : options.signature;
  const response = await stack.app.inject({
    method: 'POST',
    url: `/channels/${channel}/webhooks/woocommerce`,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-wc-webhook-topic': topic,
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': topic.split('.')[1] ?? '',
      'x-wc-webhook-source': `${WOO_SITE}/`,
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': deliveryId,
      ...(signature === null ? {} : { 'x-wc-webhook-signature': signature }),
    },
    payload,
  });
  return { status: response.statusCode, body: response.json(), deliveryId };
}
