/**
 * Refunds go out through a payment gateway. A real gateway is an HTTP service that
 * refunds once per `Idempotency-Key`; `PaymentGateway` is all the return process needs
 * of it, so a provider's adapter implements this interface and nothing else changes.
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

export interface PaymentGateway {
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

  return {
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
 * The adapter for an HTTP gateway: `POST {baseUrl}/refunds` with a bearer key and an
 * `Idempotency-Key`; 2xx answers `{id, amount, currency}`; 409 is a key used for another
 * request, 402/400/422 a refusal, 408/429/5xx and network errors are transient.
 */
export function createHttpPaymentGateway(options: { baseUrl: string; apiKey?: string; timeoutMs?: number; fetch?: typeof fetch }): PaymentGateway {
  const send = options.fetch ?? fetch;
  return {
    async refund(request, idempotencyKey) {
      let response: Response;
      try {
        response = await send(new URL('refunds', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`), {
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
