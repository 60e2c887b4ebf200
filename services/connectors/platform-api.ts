/**
 * Calls to a storefront platform's admin API, and what goes back to it: fulfillments with
 * tracking, cancellations, refunds. Each update first looks whether the platform already has
 * it (a retry after a lost answer must not fulfil or refund twice), then makes it.
 */
import { parsePlatformJson } from './connector.js';

export interface PlatformApi {
  baseUrl: string;
  token: string | null;
  timeoutMs: number;
}

/**
 * The platform answered with an error. 429, 5xx and no answer are worth another try (after
 * `retryAfterMs`); so are 401 and 403, a token that is wrong or lacks a scope until someone
 * fixes the connector, which holds every update alike. Other 4xx refuse this one update.
 */
export class PlatformError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.status === 0 || this.status === 401 || this.status === 403 || this.status === 408 || this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

/** `Retry-After` in seconds (Shopify sends `2.0`) or an HTTP date. */
export function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export async function platformRequest(api: PlatformApi, auth: Record<string, string>, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${api.baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), 'user-agent': 'ops-backbone-channel-publisher', ...auth },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(api.timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new PlatformError(0, (error as Error).name === 'TimeoutError' ? `no answer within ${api.timeoutMs} ms` : `${(error as Error).message}${cause?.code ? ` (${cause.code})` : ''}`);
  }
  const text = await response.text();
  if (!response.ok) throw new PlatformError(response.status, `${method} ${path}: HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ''}`, retryAfterMs(response.headers.get('retry-after')));
  return text ? parsePlatformJson(text) : null;
}

/** What an update did on the platform. */
export interface UpdateResult {
  action: string;
  /** The platform's id of what was made (a fulfillment, a refund, a note). */
  reference?: string;
  /** The platform had it already: nothing was sent again. */
  already?: boolean;
}

export interface OrderLineRef {
  lineNo: number;
  platformLineId: string;
  qty: number;
}

export interface PlatformUpdates {
  shipped(api: PlatformApi, order: { platformOrderId: string }, shipment: { shipmentId: string; carrier: string; tracking: string; lines: OrderLineRef[]; orderComplete: boolean }): Promise<UpdateResult>;
  cancelled(api: PlatformApi, order: { platformOrderId: string }, reason: string): Promise<UpdateResult>;
  refunded(api: PlatformApi, order: { platformOrderId: string; currency: string }, refund: { returnId: string; amountMinor: number; lines: OrderLineRef[] }): Promise<UpdateResult>;
  returnAuthorized(api: PlatformApi, order: { platformOrderId: string }, authorized: { returnId: string; lines: OrderLineRef[] }): Promise<UpdateResult>;
  /** Orders the platform changed in a period (for reconciliation), as its own JSON. */
  ordersChanged(api: PlatformApi, from: Date, to: Date): Promise<Record<string, unknown>[]>;
}
