/** Security headers (@fastify/helmet) and the per-key rate limit (@fastify/rate-limit). */
import { describe, expect, it } from 'vitest';
import { authAs, useTestStack } from '../support/stack.js';

const stack = useTestStack({ rateLimitPerMinute: 3 });

describe('security headers', () => {
  it('come with API answers, refusals included', async () => {
    for (const response of [
      await stack.app.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer headers-probe-key' } }),
      await stack.app.inject({ method: 'GET', url: '/health' }),
    ]) {
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['strict-transport-security']).toMatch(/max-age=/);
      expect(response.headers['x-frame-options']).toBeDefined();
      expect(response.headers['x-powered-by']).toBeUndefined();
    }
  });

  it("leave the console's own stricter policy in place", async () => {
    const response = await stack.app.inject({ method: 'GET', url: '/console', remoteAddress: '10.0.0.9' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('rate limit', () => {
  it('answers the 4th request of a key within a minute with 429 in the error shape', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await stack.app.inject({ method: 'GET', url: '/me', headers: authAs('ops') })).statusCode);
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await stack.app.inject({ method: 'GET', url: '/me', headers: authAs('ops') });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('3 requests a minute') } });
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['x-content-type-options']).toBe('nosniff');
    // Another key has its own budget.
    expect((await stack.app.inject({ method: 'GET', url: '/me', headers: authAs('viewer') })).statusCode).toBe(200);
  });

  it('counts callers without a key by address', async () => {
    const from = (remoteAddress: string) => stack.app.inject({ method: 'GET', url: '/kpis', remoteAddress });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await from('10.0.0.1')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await from('10.0.0.2')).statusCode).toBe(401);
  });
});
