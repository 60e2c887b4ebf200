/**
 * Console sessions: a personal token is exchanged for a session kept in PostgreSQL behind an
 * httpOnly, SameSite=Strict cookie; a second API replica sees the same session; sign-out
 * ends it everywhere; every state-changing request needs its CSRF token; a revoked token or
 * a disabled user ends the sessions opened with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type App } from '../../api/app.js';
import { addItem } from '../support/fixtures.js';
import { authAs, testKeys, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
let replica: App;

beforeAll(async () => {
  // A second API replica on the same database: what one signs in, the other sees.
  replica = await buildApp({ db: stack.db, temporal: stack.client, config: stack.config, keys: testKeys, logger: false });
  await replica.ready();
});
afterAll(async () => {
  await replica?.close();
});

/** A browser's cookie jar, just enough for these requests. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(response: LightMyRequestResponse) {
    for (const c of response.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return response;
  }
  get header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function send(app: App, jar: Jar, method: 'GET' | 'POST' | 'DELETE' | 'PUT', url: string, payload?: object, csrf?: string) {
  return jar.take(
    await app.inject({
      method,
      url,
      headers: { cookie: jar.header, ...(csrf ? { 'x-csrf-token': csrf } : {}) },
      ...(payload ? { payload } : {}),
    }),
  );
}

async function personWithToken(roles: string[]) {
  const id = uniqueId('p-');
  await stack.app.inject({ method: 'POST', url: '/users', headers: authAs('admin'), payload: { id, name: `Person ${id}`, email: `${id}@example.test`, roles } });
  const token = await stack.app.inject({ method: 'POST', url: `/users/${id}/tokens`, headers: authAs('admin'), payload: { name: 'console' } });
  return { id, token: token.json().token as string, tokenId: token.json().id as string };
}

async function signIn(jar: Jar, token: string, app: App = stack.app) {
  const before = await send(app, jar, 'GET', '/console/session');
  expect(before.json()).toMatchObject({ signedIn: false, user: null });
  const csrf = before.json().csrfToken as string;
  const signedIn = await send(app, jar, 'POST', '/console/session', { token }, csrf);
  return { signedIn, csrf: (signedIn.json().csrfToken as string | undefined) ?? csrf };
}

describe('console sign-in', () => {
  it('exchanges a personal token for a session cookie: httpOnly, SameSite=Strict, expiring; the token is not in it', async () => {
    const alice = await personWithToken(['ops']);
    const jar = new Jar();
    const { signedIn } = await signIn(jar, alice.token);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    expect(signedIn.json()).toMatchObject({ signedIn: true, user: { id: alice.id, roles: ['ops'] } });
    const cookie = (signedIn.cookies as { name: string; value: string; httpOnly?: boolean; sameSite?: string; maxAge?: number; expires?: Date; secure?: boolean }[]).find((c) => c.name === 'ops_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie.expires!.getTime()).toBeGreaterThan(Date.now() + 11 * 3_600_000);
    expect(cookie.expires!.getTime()).toBeLessThan(Date.now() + 13 * 3_600_000);
    expect(cookie.secure).toBeFalsy(); // plain HTTP here; Secure over TLS (below)
    expect(signedIn.headers['set-cookie']!.toString()).not.toContain(alice.token);
    const stored = await stack.db.selectFrom('console_sessions').selectAll().where('user_id', '=', alice.id).execute();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(alice.token);

    // Reads work with the cookie alone, as that person.
    const me = await send(stack.app, jar, 'GET', '/me');
    expect(me.json()).toMatchObject({ id: alice.id, actor: alice.id });
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('action', '=', 'session.sign_in').where('user_id', '=', alice.id).execute();
    expect(audit).toHaveLength(1);
  });

  it('marks the cookie Secure when the request came over TLS through a trusted proxy', async () => {
    const behindTls = await buildApp({ db: stack.db, temporal: stack.client, config: { ...stack.config, trustProxy: true }, keys: testKeys, logger: false });
    try {
      const alice = await personWithToken(['viewer']);
      const first = await behindTls.inject({ method: 'GET', url: '/console/session', headers: { 'x-forwarded-proto': 'https' } });
      const jar = new Jar();
      jar.take(first);
      const res = await behindTls.inject({
        method: 'POST',
        url: '/console/session',
        headers: { 'x-forwarded-proto': 'https', cookie: jar.header, 'x-csrf-token': first.json().csrfToken },
        payload: { token: alice.token },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.cookies as { name: string; secure?: boolean }[]).find((c) => c.name === 'ops_session')!.secure).toBe(true);
    } finally {
      await behindTls.close();
    }
  });

  it('refuses a wrong token, a service account, and a sign-in without its CSRF token', async () => {
    const jar = new Jar();
    const csrf = (await send(stack.app, jar, 'GET', '/console/session')).json().csrfToken as string;
    const wrong = await send(stack.app, jar, 'POST', '/console/session', { token: 'obk_wrong-token-000000000000000000' }, csrf);
    expect(wrong.statusCode).toBe(401);
    const service = await send(stack.app, jar, 'POST', '/console/session', { token: 'test-system-key' }, csrf);
    expect(service.statusCode).toBe(403);
    expect(service.json().error.code).toBe('service_account');
    const alice = await personWithToken(['ops']);
    const noCsrf = await send(stack.app, jar, 'POST', '/console/session', { token: alice.token });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error).toMatchObject({ code: 'csrf_invalid', message: expect.stringContaining('CSRF') });
    expect(await stack.db.selectFrom('console_sessions').select('sid').where('user_id', '=', alice.id).execute()).toEqual([]);
  });

  it('every state-changing request with the cookie needs the CSRF token; refused ones change nothing and are audited', async () => {
    const bob = await personWithToken(['ops']);
    const jar = new Jar();
    const { csrf } = await signIn(jar, bob.token);
    const sku = await addItem(stack.db, undefined, { price_minor: 2_000 });
    const url = `/items/${sku}/price`;
    const forged = await send(stack.app, jar, 'PUT', url, { priceMinor: 1, reason: 'forged from another site' });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error.code).toBe('csrf_invalid');
    const stale = await send(stack.app, jar, 'PUT', url, { priceMinor: 1, reason: 'forged from another site' }, 'not-the-token');
    expect(stale.statusCode).toBe(403);
    expect((await stack.db.selectFrom('items').select('price_minor').where('sku', '=', sku).executeTakeFirstOrThrow()).price_minor).toBe(2_000);
    const refused = await stack.db.selectFrom('audit_log').selectAll().where('user_id', '=', bob.id).where('outcome', '=', 'refused').execute();
    expect(refused.map((r) => [r.route, r.status_code])).toEqual([
      ['/items/:sku/price', 403],
      ['/items/:sku/price', 403],
    ]);
    const ok = await send(stack.app, jar, 'PUT', url, { priceMinor: 2_100, reason: 'supplier raised cost' }, csrf);
    expect(ok.statusCode, ok.body).toBe(200);
    const row = await stack.db.selectFrom('audit_log').selectAll().where('subject_id', '=', sku).where('outcome', '=', 'accepted').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ actor: bob.id, user_id: bob.id, automated: false });
  });

  it('another replica sees the session; sign-out on one ends it on both, and the cookie replayed after is refused', async () => {
    const carol = await personWithToken(['viewer']);
    const jar = new Jar();
    const { csrf } = await signIn(jar, carol.token);
    const saved = jar.header;
    expect((await send(replica, jar, 'GET', '/me')).json()).toMatchObject({ id: carol.id });
    const out = await send(replica, jar, 'DELETE', '/console/session', undefined, csrf);
    expect(out.statusCode, out.body).toBe(200);
    expect(await stack.db.selectFrom('console_sessions').select('sid').where('user_id', '=', carol.id).execute()).toEqual([]);
    for (const app of [stack.app, replica]) {
      const replayed = await app.inject({ method: 'GET', url: '/me', headers: { cookie: saved } });
      expect(replayed.statusCode).toBe(401);
      expect(replayed.json().error.message).toMatch(/sign in/);
    }
    expect((await stack.db.selectFrom('audit_log').select('action').where('user_id', '=', carol.id).orderBy('id').execute()).map((r) => r.action)).toEqual(['session.sign_in', 'session.sign_out']);
  });

  it('revoking the token a session was opened with, or disabling the user, ends the session on the next request', async () => {
    const dave = await personWithToken(['viewer']);
    const jar = new Jar();
    await signIn(jar, dave.token);
    expect((await send(stack.app, jar, 'GET', '/me')).statusCode).toBe(200);
    await stack.app.inject({ method: 'DELETE', url: `/users/${dave.id}/tokens/${dave.tokenId}`, headers: authAs('admin') });
    const after = await send(stack.app, jar, 'GET', '/me');
    expect(after.statusCode).toBe(401);

    const second = await stack.app.inject({ method: 'POST', url: `/users/${dave.id}/tokens`, headers: authAs('admin'), payload: { name: 'again' } });
    const jar2 = new Jar();
    await signIn(jar2, second.json().token);
    expect((await send(stack.app, jar2, 'GET', '/me')).statusCode).toBe(200);
    await stack.app.inject({ method: 'PATCH', url: `/users/${dave.id}`, headers: authAs('admin'), payload: { disabled: true } });
    expect((await send(stack.app, jar2, 'GET', '/me')).statusCode).toBe(401);
    expect(await stack.db.selectFrom('console_sessions').select('sid').where('user_id', '=', dave.id).execute()).toEqual([]);
  });

  it('an admin signs a user out everywhere', async () => {
    const erin = await personWithToken(['viewer']);
    const laptop = new Jar();
    const tablet = new Jar();
    await signIn(laptop, erin.token);
    await signIn(tablet, erin.token);
    expect(await stack.db.selectFrom('console_sessions').select('sid').where('user_id', '=', erin.id).execute()).toHaveLength(2);
    const ended = await stack.app.inject({ method: 'DELETE', url: `/users/${erin.id}/sessions`, headers: authAs('admin') });
    expect(ended.json()).toEqual({ ended: 2 });
    for (const jar of [laptop, tablet]) expect((await send(stack.app, jar, 'GET', '/me')).statusCode).toBe(401);
  });
});
