/**
 * Money moves through a payment gateway: authorizations held at checkout, captured per
 * shipment, voided when an order is cancelled, refunds for returns. A real gateway is an
 * HTTP service that acts once per `Idempotency-Key`; `PaymentGateway` is all the processes
 * need of it, so a provider's adapter implements this interface and nothing else changes.
 *
 * Two implementations here:
 * - `createHttpPaymentGateway`: the adapter for a gateway speaking the usual REST shape
 *   (`POST {baseUrl}/refunds` with an `Idempotency-Key` header), chosen by
 *   `PAYMENT_GATEWAY_URL`.
 * - `createLocalPaymentGateway`: the local fake for tests and the demo, keeping its book of
 *   refunds in PostgreSQL (one row per key). Tests plan failures for a key in
 *   `payment_gateway_faults`: `unavailable` fails before anything is recorded, `lost_response`
 *   records the refund and then fails (as when the answer is lost on the way back),
 *   `declined` refuses for good.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { durationMs } from '../domain/duration.js';

export interface RefundRequest {
  /** Ours: the return (RMA) the refund belongs to. */
  reference: string;
  amountMinor: number;
  currency: string;
  memo?: string;
}

export interface GatewayRefund {
  /** The gateway's id for the refund. */
  refundId: string;
  amountMinor: number;
  currency: string;
  /** True when the gateway answered with a refund it had already made for this key. */
  replayed: boolean;
}

export type PaymentGatewayErrorCode = 'unavailable' | 'declined' | 'idempotency_conflict';

/** A refusal or failure of the gateway. `retryable` failures may succeed if sent again with the same key. */
export class PaymentGatewayError extends Error {
  constructor(
    readonly code: PaymentGatewayErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'PaymentGatewayError';
  }
}

export interface AuthorizeRequest {
  /** Ours: the order the authorization is for. */
  reference: string;
  amountMinor: number;
  currency: string;
  expiresAt: string;
}

export interface GatewayAuthorization {
  authorizationId: string;
  amountMinor: number;
  currency: string;
  expiresAt: string;
  replayed: boolean;
}

export interface CaptureRequest {
  authorizationId: string;
  /** Ours: the shipment the capture is for. */
  reference: string;
  amountMinor: number;
  currency: string;
}

export interface GatewayCapture {
  captureId: string;
  amountMinor: number;
  currency: string;
  replayed: boolean;
}

export interface VoidRequest {
  authorizationId: string;
  /** Ours: the order. */
  reference: string;
}

export interface GatewayVoid {
  /** What was left of the authorization and is now released. */
  releasedMinor: number;
  replayed: boolean;
}

export interface PaymentGateway {
  /** Holds `amountMinor` on the customer's card until `expiresAt`, once per key. */
  authorize(request: AuthorizeRequest, idempotencyKey: string): Promise<GatewayAuthorization>;
  /**
   * Takes `amountMinor` of an authorization, once per key; several captures may take parts
   * of one authorization, never more than it holds (`declined`), never after it expired or
   * was voided (`declined`).
   */
  capture(request: CaptureRequest, idempotencyKey: string): Promise<GatewayCapture>;
  /** Releases what is left of an authorization, once per key. */
  void(request: VoidRequest, idempotencyKey: string): Promise<GatewayVoid>;
  /**
   * Refunds `request` once per `idempotencyKey`: a repeat with the same key and request
   * answers the first refund and moves no money; the same key with another request is
   * refused (`idempotency_conflict`). A transient failure throws a retryable
   * PaymentGatewayError; a refusal (`declined`) is not retryable.
   */
  refund(request: RefundRequest, idempotencyKey: string): Promise<GatewayRefund>;
}

const requestHash = (request: RefundRequest) =>
  createHash('sha256').update(JSON.stringify([request.reference, request.amountMinor, request.currency])).digest('hex');

/** The local fake gateway: PostgreSQL-backed, exactly one refund per key, with planned faults. */
export function createLocalPaymentGateway(db: Db): PaymentGateway {
  /** Takes one planned fault for the key, if any (committed before the call fails). */
  const takeFault = async (key: string) => {
    const { rows } = await sql<{ kind: 'unavailable' | 'lost_response' | 'declined' }>`
      update payment_gateway_faults f set remaining = remaining - 1, hits = hits + 1
       where (f.idempotency_key, f.kind) = (
         select idempotency_key, kind from payment_gateway_faults
          where idempotency_key = ${key} and remaining > 0
          order by kind limit 1 for update)
      returning f.kind`.execute(db);
    return rows[0]?.kind;
  };

  const hashOf = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  const positive = (amount: number) => {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new PaymentGatewayError('declined', `amount must be a positive number of minor units, got ${amount}`, false);
  };
  /** Planned faults before anything is recorded; `lost_response` is answered after recording, by `after`. */
  const faultBefore = async (key: string) => {
    const fault = await takeFault(key);
    if (fault === 'unavailable') throw new PaymentGatewayError('unavailable', 'gateway unavailable (503)', true);
    if (fault === 'declined') throw new PaymentGatewayError('declined', 'declined by the gateway', false);
    return fault;
  };
  const after = (fault: string | undefined) => {
    if (fault === 'lost_response') throw new PaymentGatewayError('unavailable', 'connection reset before the answer arrived', true);
  };

  return {
    async authorize(request, idempotencyKey) {
      positive(request.amountMinor);
      const fault = await faultBefore(idempotencyKey);
      const hash = hashOf([request.reference, request.amountMinor, request.currency, request.expiresAt]);
      const inserted = await db
        .insertInto('payment_gateway_authorizations')
        .values({
          authorization_id: `auth_${randomUUID()}`,
          idempotency_key: idempotencyKey,
          reference: request.reference,
          amount_minor: request.amountMinor,
          currency: request.currency,
          expires_at: request.expiresAt,
          request_hash: hash,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      const row = inserted ?? (await db.selectFrom('payment_gateway_authorizations').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirstOrThrow());
      if (row.request_hash !== hash) throw new PaymentGatewayError('idempotency_conflict', `key ${idempotencyKey} was used for another authorization`, false);
      after(fault);
      return { authorizationId: row.authorization_id, amountMinor: row.amount_minor, currency: row.currency, expiresAt: row.expires_at.toISOString(), replayed: !inserted };
    },

    async capture(request, idempotencyKey) {
      positive(request.amountMinor);
      const fault = await faultBefore(idempotencyKey);
      const hash = hashOf([request.authorizationId, request.reference, request.amountMinor, request.currency]);
      const result = await db.transaction().execute(async (tx) => {
        const first = await tx.selectFrom('payment_gateway_captures').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
        if (first) {
          if (first.request_hash !== hash) throw new PaymentGatewayError('idempotency_conflict', `key ${idempotencyKey} was used for another capture`, false);
          return { row: first, replayed: true };
        }
        const auth = await tx.selectFrom('payment_gateway_authorizations').selectAll().where('authorization_id', '=', request.authorizationId).forUpdate().executeTakeFirst();
        if (!auth) throw new PaymentGatewayError('declined', `no authorization ${request.authorizationId}`, false);
        if (auth.currency !== request.currency) throw new PaymentGatewayError('declined', `authorization ${request.authorizationId} is in ${auth.currency}, not ${request.currency}`, false);
        if (auth.voided_at) throw new PaymentGatewayError('declined', `authorization ${request.authorizationId} was voided`, false);
        if (auth.expires_at.getTime() <= Date.now()) throw new PaymentGatewayError('declined', `authorization ${request.authorizationId} expired at ${auth.expires_at.toISOString()}`, false);
        if (auth.captured_minor + request.amountMinor > auth.amount_minor) {
          throw new PaymentGatewayError('declined', `capture of ${request.amountMinor} exceeds what is left of authorization ${request.authorizationId} (${auth.amount_minor - auth.captured_minor})`, false);
        }
        await tx.updateTable('payment_gateway_authorizations').set({ captured_minor: auth.captured_minor + request.amountMinor }).where('authorization_id', '=', auth.authorization_id).execute();
        const row = await tx
          .insertInto('payment_gateway_captures')
          .values({ idempotency_key: idempotencyKey, capture_id: `ch_${randomUUID()}`, authorization_id: auth.authorization_id, amount_minor: request.amountMinor, currency: request.currency, request_hash: hash })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { row, replayed: false };
      });
      after(fault);
      return { captureId: result.row.capture_id, amountMinor: result.row.amount_minor, currency: result.row.currency, replayed: result.replayed };
    },

    async void(request, idempotencyKey) {
      const fault = await faultBefore(idempotencyKey);
      const result = await db.transaction().execute(async (tx) => {
        const first = await tx.selectFrom('payment_gateway_voids').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
        if (first) {
          if (first.authorization_id !== request.authorizationId) throw new PaymentGatewayError('idempotency_conflict', `key ${idempotencyKey} voided another authorization`, false);
          return { releasedMinor: first.released_minor, replayed: true };
        }
        const auth = await tx.selectFrom('payment_gateway_authorizations').selectAll().where('authorization_id', '=', request.authorizationId).forUpdate().executeTakeFirst();
        if (!auth) throw new PaymentGatewayError('declined', `no authorization ${request.authorizationId}`, false);
        const released = auth.voided_at ? 0 : auth.amount_minor - auth.captured_minor;
        await tx.updateTable('payment_gateway_authorizations').set({ voided_at: auth.voided_at ?? new Date() }).where('authorization_id', '=', auth.authorization_id).execute();
        await tx.insertInto('payment_gateway_voids').values({ idempotency_key: idempotencyKey, authorization_id: auth.authorization_id, released_minor: released }).execute();
        return { releasedMinor: released, replayed: false };
      });
      after(fault);
      return result;
    },

    async refund(request, idempotencyKey) {
      if (!Number.isSafeInteger(request.amountMinor) || request.amountMinor <= 0) {
        throw new PaymentGatewayError('declined', `amount must be a positive number of minor units, got ${request.amountMinor}`, false);
      }
      const fault = await takeFault(idempotencyKey);
      if (fault === 'unavailable') throw new PaymentGatewayError('unavailable', 'gateway unavailable (503)', true);
      if (fault === 'declined') throw new PaymentGatewayError('declined', 'refund declined by the gateway', false);
      const hash = requestHash(request);
      const inserted = await db
        .insertInto('payment_gateway_refunds')
        .values({
          idempotency_key: idempotencyKey,
          refund_id: `re_${randomUUID()}`,
          reference: request.reference,
          amount_minor: request.amountMinor,
          currency: request.currency,
          request_hash: hash,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      const row = inserted ?? (await db.selectFrom('payment_gateway_refunds').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirstOrThrow());
      if (row.request_hash !== hash) {
        throw new PaymentGatewayError('idempotency_conflict', `key ${idempotencyKey} was used for another refund`, false);
      }
      if (fault === 'lost_response') throw new PaymentGatewayError('unavailable', 'connection reset before the answer arrived', true);
      return { refundId: row.refund_id, amountMinor: row.amount_minor, currency: row.currency, replayed: !inserted };
    },
  };
}

/**
 * The adapter for an HTTP gateway, every call a POST with a bearer key and an
 * `Idempotency-Key`: `{baseUrl}/authorizations` (answers `{id, amount, currency, expires_at}`),
 * `/authorizations/{id}/captures` (`{id, amount, currency}`), `/authorizations/{id}/void`
 * (`{released}`) and `/refunds` (`{id, amount, currency}`). 409 is a key used for another
 * request, 402/400/422 a refusal, 408/429/5xx and network errors are transient.
 */
export function createHttpPaymentGateway(options: { baseUrl: string; apiKey?: string; timeoutMs?: number; fetch?: typeof fetch }): PaymentGateway {
  const send = options.fetch ?? fetch;
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  /** POSTs `body` to `path` with the key; answers the parsed 2xx body, or throws the failure as a PaymentGatewayError. */
  async function call<T>(path: string, body: object, idempotencyKey: string): Promise<{ body: T; replayed: boolean }> {
    let response: Response;
    try {
      response = await send(new URL(path, base), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new PaymentGatewayError('unavailable', `gateway unreachable: ${(error as Error).message}`, true);
    }
    const text = await response.text();
    if (response.ok) return { body: JSON.parse(text) as T, replayed: response.headers.get('idempotent-replayed') === 'true' };
    if (response.status === 409) throw new PaymentGatewayError('idempotency_conflict', `gateway: ${text.slice(0, 200)}`, false);
    if (response.status === 408 || response.status === 429 || response.status >= 500) throw new PaymentGatewayError('unavailable', `gateway answered ${response.status}`, true);
    throw new PaymentGatewayError('declined', `gateway refused (${response.status}): ${text.slice(0, 200)}`, false);
  }
  /** An answer for another amount or currency is an earlier request under this key: never taken as ours. */
  const same = (what: string, body: { amount: number; currency: string }, amountMinor: number, currency: string) => {
    if (body.amount !== amountMinor || body.currency !== currency) {
      throw new PaymentGatewayError('idempotency_conflict', `gateway answered ${body.amount} ${body.currency} for ${what} of ${amountMinor} ${currency}`, false);
    }
  };
  return {
    async authorize(request, idempotencyKey) {
      const { body, replayed } = await call<{ id: string; amount: number; currency: string; expires_at: string }>(
        'authorizations',
        { reference: request.reference, amount: request.amountMinor, currency: request.currency, expires_at: request.expiresAt },
        idempotencyKey,
      );
      same('an authorization', body, request.amountMinor, request.currency);
      return { authorizationId: body.id, amountMinor: body.amount, currency: body.currency, expiresAt: body.expires_at, replayed };
    },

    async capture(request, idempotencyKey) {
      const { body, replayed } = await call<{ id: string; amount: number; currency: string }>(
        `authorizations/${encodeURIComponent(request.authorizationId)}/captures`,
        { reference: request.reference, amount: request.amountMinor, currency: request.currency },
        idempotencyKey,
      );
      same('a capture', body, request.amountMinor, request.currency);
      return { captureId: body.id, amountMinor: body.amount, currency: body.currency, replayed };
    },

    async void(request, idempotencyKey) {
      const { body, replayed } = await call<{ released: number }>(`authorizations/${encodeURIComponent(request.authorizationId)}/void`, { reference: request.reference }, idempotencyKey);
      return { releasedMinor: body.released, replayed };
    },

    async refund(request, idempotencyKey) {
      let response: Response;
      try {
        response = await send(new URL('refunds', base), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify({ reference: request.reference, amount: request.amountMinor, currency: request.currency, memo: request.memo }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        throw new PaymentGatewayError('unavailable', `gateway unreachable: ${(error as Error).message}`, true);
      }
      const text = await response.text();
      if (response.ok) {
        const body = JSON.parse(text) as { id: string; amount: number; currency: string };
        // An answer for another amount is a refund made earlier under this key: never take it as ours.
        if (body.amount !== request.amountMinor || body.currency !== request.currency) {
          throw new PaymentGatewayError('idempotency_conflict', `gateway answered ${body.amount} ${body.currency} for a refund of ${request.amountMinor} ${request.currency}`, false);
        }
        return { refundId: body.id, amountMinor: body.amount, currency: body.currency, replayed: response.headers.get('idempotent-replayed') === 'true' };
      }
      if (response.status === 409) throw new PaymentGatewayError('idempotency_conflict', `gateway: ${text.slice(0, 200)}`, false);
      if (response.status === 408 || response.status === 429 || response.status >= 500) {
        throw new PaymentGatewayError('unavailable', `gateway answered ${response.status}`, true);
      }
      throw new PaymentGatewayError('declined', `gateway refused (${response.status}): ${text.slice(0, 200)}`, false);
    },
  };
}

/** The gateway of this deployment: the HTTP adapter when `PAYMENT_GATEWAY_URL` is set, else the local fake. */
export function paymentGatewayFromEnv(db: Db, env: NodeJS.ProcessEnv = process.env): PaymentGateway {
  return env.PAYMENT_GATEWAY_URL
    ? createHttpPaymentGateway({ baseUrl: env.PAYMENT_GATEWAY_URL, apiKey: env.PAYMENT_GATEWAY_KEY, timeoutMs: durationMs(env.PAYMENT_GATEWAY_TIMEOUT || '10s') })
    : createLocalPaymentGateway(db);
}
