/**
 * What every storefront platform's connector provides, so that the webhook route, the order
 * intake and (later) the publisher treat Shopify and WooCommerce alike: how a delivery is
 * signed and named, and how the platform's order JSON reads as this product's snapshot.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isSafeNumber, parse } from 'lossless-json';
import type { ChannelMapping, ChannelOrderSnapshot, Geocoder, Platform } from '../../domain/channel-orders.js';

export type Headers = Record<string, string | string[] | undefined>;

/** How one webhook delivery names itself. */
export interface DeliveryIdentity {
  /** The platform's id of this delivery; the same on every retry of it. */
  deliveryId: string | undefined;
  topic: string | undefined;
  /** The shop that sent it, as the platform names it (a shop domain, a site URL). */
  shop: string | undefined;
}

export interface MappingContext {
  mapping: ChannelMapping;
  geocoder: Geocoder;
}

export interface InboundConnector {
  platform: Platform;
  /** Topics that carry an order this product takes in; others are recorded and ignored. */
  orderTopics: readonly string[];
  /** The topic that means the platform cancelled the order, if it has one. */
  cancelTopic?: string;
  /** The signature the platform sent (base64 HMAC-SHA256 of the raw body). */
  signatureOf(headers: Headers): string | undefined;
  identityOf(headers: Headers): DeliveryIdentity;
  /** True when the connector's configured shop and the one the delivery names are the same shop. */
  sameShop(configured: string, named: string | undefined): boolean;
  /** A setup ping the platform sends unsigned when a webhook is created; answered 200, nothing written. */
  isSetupPing(headers: Headers, raw: Buffer): boolean;
  /** The platform's order id in a parsed body, or undefined when the body is no order of this platform. */
  orderIdOf(body: unknown): string | undefined;
  /** The platform's order as this product's snapshot; never throws on odd content (problems say it). */
  mapOrder(body: Record<string, unknown>, topic: string, context: MappingContext): ChannelOrderSnapshot;
}

/**
 * Whether `signature` is the base64 HMAC-SHA256 of the raw body under one of the secrets,
 * compared in constant time on the decoded bytes.
 */
export function signedByOneOf(raw: Buffer, signature: string | undefined, secrets: readonly string[]): boolean {
  if (!signature || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim())) return false;
  const given = Buffer.from(signature.trim(), 'base64');
  if (given.length !== 32) return false;
  let matched = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(raw).digest();
    if (timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}

/** `base64(HMAC-SHA256(secret, body))`, as both platforms sign. */
export const signatureFor = (secret: string, body: string | Buffer): string => createHmac('sha256', secret).update(body).digest('base64');

/**
 * A platform's JSON with every integer beyond 2^53 kept as its digits (Shopify's ids are
 * 18 digits): JSON.parse would round them to another id. Throws on text that is not JSON.
 */
export function parsePlatformJson(text: string): unknown {
  return parse(text, null, (value) => (isSafeNumber(value) ? Number(value) : value));
}

export const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

// Readers for loosely typed platform JSON.
export const obj = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
export const arr = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.map(obj) : []);
export const str = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' ? String(value) : undefined);
export const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : undefined);
/** An id as text: a number, digits kept as a string, or a Shopify global id's tail. */
export const idText = (value: unknown): string | undefined => {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && /^\d{1,30}$/.test(value)) return value;
  if (typeof value === 'string') return /\/(\d{1,30})$/.exec(value)?.[1];
  return undefined;
};
/** An ISO date-time in UTC; a date-time without an offset is read as UTC (WooCommerce's `_gmt` fields). */
export const utc = (value: unknown): string | undefined => {
  const text = str(value);
  if (!text) return undefined;
  const at = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
};
