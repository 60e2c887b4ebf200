/**
 * The HTTP gateway adapter against a small gateway served on the loopback address: the
 * Idempotency-Key header, one refund per key, and which failures are worth retrying.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpPaymentGateway, PaymentGatewayError } from '../../activities/payment-gateway.js';

let server: FastifyInstance;
let baseUrl: string;
const refunds = new Map<string, { id: string; body: string }>();
/** Status codes the gateway answers next, before doing anything. */
const planned: number[] = [];
const seen: { key?: string; authorization?: string }[] = [];

beforeAll(async () => {
  server = Fastify();
  server.post('/v1/refunds', async (request, reply) => {
    const key = request.headers['idempotency-key'] as string | undefined;
    seen.push({ key, authorization: request.headers.authorization });
    const status = planned.shift();
    if (status) return reply.code(status).send({ error: `planned ${status}` });
    if (!key) return reply.code(400).send({ error: 'Idempotency-Key required' });
    const body = JSON.stringify(request.body);
    const first = refunds.get(key);
    if (first && first.body !== body) return reply.code(409).send({ error: 'key reused with another request' });
    if (first) return reply.header('idempotent-replayed', 'true').send({ id: first.id, ...(request.body as object) });
    const id = `re_${refunds.size + 1}`;
    refunds.set(key, { id, body });
    const { amount, currency } = request.body as { amount: number; currency: string };
    return { id, amount, currency };
  });
  baseUrl = `${await server.listen({ host: '127.0.0.1', port: 0 })}/v1`;
});
afterAll(async () => {
  await server?.close();
});

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as PaymentGatewayError);

describe('HTTP payment gateway adapter', () => {
  it('refunds once per Idempotency-Key and answers the first refund to a repeat', async () => {
    const gateway = createHttpPaymentGateway({ baseUrl, apiKey: 'sk_test' });
    const request = { reference: 'RMA-1', amountMinor: 1_910, currency: 'USD' };
    const first = await gateway.refund(request, 'rma-RMA-1:refund');
    expect(first).toEqual({ refundId: 're_1', amountMinor: 1_910, currency: 'USD', replayed: false });
    const again = await gateway.refund(request, 'rma-RMA-1:refund');
    expect(again).toMatchObject({ refundId: 're_1', replayed: true });
    expect(refunds.size).toBe(1);
    expect(seen.at(-1)).toEqual({ key: 'rma-RMA-1:refund', authorization: 'Bearer sk_test' });
  });

  it('the same key for another amount is a conflict, not retried', async () => {
    const gateway = createHttpPaymentGateway({ baseUrl });
    const error = await failure(gateway.refund({ reference: 'RMA-1', amountMinor: 1, currency: 'USD' }, 'rma-RMA-1:refund'));
    expect(error).toBeInstanceOf(PaymentGatewayError);
    expect(error).toMatchObject({ code: 'idempotency_conflict', retryable: false });
  });

  it.each([
    [503, 'unavailable', true],
    [429, 'unavailable', true],
    [408, 'unavailable', true],
    [402, 'declined', false],
    [422, 'declined', false],
  ])('an answer %i is %s (retryable %s)', async (status, code, retryable) => {
    planned.push(status);
    const error = await failure(createHttpPaymentGateway({ baseUrl }).refund({ reference: 'RMA-2', amountMinor: 500, currency: 'USD' }, `rma-RMA-2:${status}`));
    expect(error).toMatchObject({ code, retryable });
  });

  it('fails twice, then the retry with the same key refunds once', async () => {
    const gateway = createHttpPaymentGateway({ baseUrl });
    const request = { reference: 'RMA-3', amountMinor: 700, currency: 'EUR' };
    planned.push(503, 502);
    let result;
    let attempts = 0;
    while (!result) {
      attempts += 1;
      result = await gateway.refund(request, 'rma-RMA-3:refund').catch((error: PaymentGatewayError) => {
        if (!error.retryable) throw error;
        return undefined;
      });
    }
    expect(attempts).toBe(3);
    expect(result).toMatchObject({ amountMinor: 700, currency: 'EUR', replayed: false });
    expect([...refunds.keys()].filter((k) => k === 'rma-RMA-3:refund')).toHaveLength(1);
  });

  it('an unreachable gateway is a retryable failure', async () => {
    const closed = Fastify();
    const address = await closed.listen({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const error = await failure(createHttpPaymentGateway({ baseUrl: address, timeoutMs: 2_000 }).refund({ reference: 'RMA-4', amountMinor: 1, currency: 'USD' }, 'k'));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
  });
});
