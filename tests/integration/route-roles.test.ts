/**
 * Governance: every route of the real app, with no key and with each role's key.
 * No key → 401; a role outside the route's `config.roles` → 403 (decided before the body is
 * read or validated); any other role gets past auth (its status is whatever the route says
 * about `x1` ids and empty bodies: 400, 404, 409, 200...).
 */
import { describe, expect, it } from 'vitest';
import { roles, routeAccess, type RouteAccess } from '../../api/auth.js';
import { authAs, useTestStack } from '../support/stack.js';

const stack = useTestStack();

// The storefronts' webhooks are authenticated by the platform's signature, not a token.
const publicRoutes = ['/health', '/health/live', '/health/ready', '/', '/console', '/console/*', '/console/app.js', '/console/app.css', '/console/session', '/channels/:channel/webhooks/:platform'];
const isDocs = (url: string) => url.startsWith('/docs');

/** `/orders/:id` → `/orders/x1`; `{id}` (OpenAPI) the same way. */
const concrete = (url: string) => url.replace(/:[^/]+|\{[^}]+\}/g, 'x1');
const requestOf = (route: RouteAccess) => ({
  method: route.method as 'GET',
  url: concrete(route.url),
  ...(route.method === 'GET' || route.method === 'HEAD' ? {} : { payload: {} }),
});
const label = (route: RouteAccess) => `${route.method} ${route.url}`;

function guardedRoutes(): RouteAccess[] {
  return routeAccess(stack.app).filter((route) => !route.public);
}

describe('route table', () => {
  it('records every route, documented or not, and only the known ones are public', async () => {
    const table = routeAccess(stack.app);
    const known = new Set(table.map(label));
    const docs = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const documented = Object.entries(docs.paths).flatMap(([url, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${url.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    expect(documented.length).toBeGreaterThan(40);
    expect(documented.filter((route) => !known.has(route))).toEqual([]);
    expect([...new Set(table.filter((route) => route.public).map((route) => route.url))].sort()).toEqual([...publicRoutes].sort());
    expect(table.some((route) => isDocs(route.url))).toBe(false);
    expect(guardedRoutes().length).toBeGreaterThan(40);
  });
});

describe('every guarded route', () => {
  it('answers 401 without a key and with an unknown key', async () => {
    const failures: string[] = [];
    for (const route of guardedRoutes()) {
      for (const headers of [{}, { authorization: 'Bearer not-a-key-at-all' }, { authorization: 'Basic dGVzdA==' }]) {
        const response = await stack.app.inject({ ...requestOf(route), headers });
        if (response.statusCode !== 401) failures.push(`${label(route)} ${JSON.stringify(headers)}: ${response.statusCode}`);
        else if (route.method !== 'HEAD') expect(response.json().error.code).toBe('unauthorized');
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers 403 exactly to the roles outside config.roles, before the body is validated', async () => {
    const failures: string[] = [];
    let forbidden = 0;
    for (const route of guardedRoutes()) {
      for (const role of roles) {
        const allowed = !route.roles || route.roles.includes(role);
        const response = await stack.app.inject({ ...requestOf(route), headers: authAs(role) });
        if (allowed && (response.statusCode === 401 || response.statusCode === 403)) {
          failures.push(`${label(route)} as ${role}: ${response.statusCode}, expected to pass auth`);
        }
        if (!allowed) {
          forbidden += 1;
          if (response.statusCode !== 403) failures.push(`${label(route)} as ${role}: ${response.statusCode}, expected 403`);
          else if (route.method !== 'HEAD') {
            expect(response.json().error).toMatchObject({ code: 'forbidden', details: { allowed: route.roles } });
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(forbidden).toBeGreaterThan(50);
  });

  it('gives lot trace to every role, lot hold and item edits to ops, supplier edits to buyers and ops', () => {
    const of = (method: string, url: string) => routeAccess(stack.app).find((route) => route.method === method && route.url === url);
    expect(of('GET', '/lots/:sku/:lot/trace')?.roles).toBeUndefined();
    expect(of('POST', '/lots/:sku/:lot/hold')?.roles).toEqual(['ops']);
    expect(of('PATCH', '/items/:sku')?.roles).toEqual(['ops']);
    expect(of('PATCH', '/suppliers/:id')?.roles).toEqual(['buyer', 'ops']);
  });

  it('gives the financial statements to finance and viewers', () => {
    const of = (method: string, url: string) => routeAccess(stack.app).find((route) => route.method === method && route.url === url);
    expect(of('GET', '/reports/income-statement')?.roles).toEqual(['finance', 'viewer']);
    expect(of('GET', '/reports/balance-sheet')?.roles).toEqual(['finance', 'viewer']);
  });

  it('refuses a role before reading a body that would not parse', async () => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/items',
      headers: { ...authAs('viewer'), 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(response.statusCode).toBe(403);
    const allowedResponse = await stack.app.inject({
      method: 'POST',
      url: '/items',
      headers: { ...authAs('ops'), 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(allowedResponse.statusCode).toBe(400);
  });
});

describe('tokens and users on every guarded route', () => {
  /** A person with a token, made through the API as an admin would. */
  async function personToken(roles: string[]) {
    const id = `rr-${Math.random().toString(16).slice(2, 10)}`;
    await stack.app.inject({ method: 'POST', url: '/users', headers: authAs('admin'), payload: { id, name: id, email: `${id}@example.test`, roles } });
    const made = await stack.app.inject({ method: 'POST', url: `/users/${id}/tokens`, headers: authAs('admin'), payload: { name: 'matrix' } });
    return { id, token: made.json().token as string, tokenId: made.json().id as string };
  }

  it('a revoked token, an expired one, and a disabled user’s are 401 everywhere, with the reason', async () => {
    const revoked = await personToken(['ops', 'finance', 'buyer', 'viewer', 'admin']);
    await stack.app.inject({ method: 'DELETE', url: `/users/${revoked.id}/tokens/${revoked.tokenId}`, headers: authAs('admin') });
    const expired = await personToken(['ops', 'viewer']);
    await stack.db.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1_000) }).where('id', '=', expired.tokenId).execute();
    const disabled = await personToken(['ops', 'viewer']);
    await stack.app.inject({ method: 'PATCH', url: `/users/${disabled.id}`, headers: authAs('admin'), payload: { disabled: true } });
    const failures: string[] = [];
    for (const route of guardedRoutes()) {
      for (const [token, code] of [
        [revoked.token, 'token_revoked'],
        [expired.token, 'token_expired'],
        [disabled.token, 'token_disabled'],
      ] as const) {
        const response = await stack.app.inject({ ...requestOf(route), headers: { authorization: `Bearer ${token}` } });
        if (response.statusCode !== 401) failures.push(`${label(route)} with a ${code} token: ${response.statusCode}`);
        else if (route.method !== 'HEAD' && response.json().error.code !== code) failures.push(`${label(route)}: ${response.json().error.code}, expected ${code}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('a person holding several roles passes wherever any of them is allowed, and only there', async () => {
    const both = await personToken(['buyer', 'viewer']);
    const failures: string[] = [];
    for (const route of guardedRoutes()) {
      const allowed = !route.roles || route.roles.some((role) => role === 'buyer' || role === 'viewer');
      const response = await stack.app.inject({ ...requestOf(route), headers: { authorization: `Bearer ${both.token}` } });
      if (allowed && (response.statusCode === 401 || response.statusCode === 403)) failures.push(`${label(route)}: ${response.statusCode}, expected to pass auth`);
      if (!allowed && response.statusCode !== 403) failures.push(`${label(route)}: ${response.statusCode}, expected 403`);
    }
    expect(failures).toEqual([]);
  });

  it('user and token routes are the admin’s; a person’s own tokens and subscriptions are anyone’s', () => {
    const of = (method: string, url: string) => routeAccess(stack.app).find((r) => r.method === method && r.url === url);
    for (const [method, url] of [
      ['GET', '/users'],
      ['POST', '/users'],
      ['GET', '/users/:id'],
      ['PATCH', '/users/:id'],
      ['POST', '/users/:id/tokens'],
      ['POST', '/users/:id/tokens/:tokenId/rotate'],
      ['DELETE', '/users/:id/tokens/:tokenId'],
      ['DELETE', '/users/:id/sessions'],
    ]) {
      expect(of(method!, url!)?.roles, `${method} ${url}`).toEqual(['admin']);
    }
    for (const [method, url] of [
      ['GET', '/me/tokens'],
      ['POST', '/me/tokens'],
      ['POST', '/me/tokens/:tokenId/rotate'],
      ['DELETE', '/me/tokens/:tokenId'],
      ['GET', '/me/subscriptions'],
      ['POST', '/me/subscriptions'],
    ]) {
      expect(of(method!, url!), `${method} ${url}`).toMatchObject({ public: false, roles: undefined });
    }
  });
});
