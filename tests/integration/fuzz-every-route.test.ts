/**
 * Every route of the real app, walked from its route table, with random bodies, path
 * params, query strings and headers (fast-check): never a 5xx, every refusal in the error
 * shape `{error: {code, message}}`, and a refused request changes no row. The hand-made
 * cases of the main write routes (bad-input.test.ts) reach deeper into their handlers;
 * this walk covers every route, including the ones added since.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { routeAccess, type RouteAccess, type Role } from '../../api/auth.js';
import type { Database } from '../../db/schema.js';
import { authAs, useTestStack } from '../support/stack.js';

const stack = useTestStack();

const RUNS_PER_ROUTE = 12;
const SEED = 20261128;

const tables = [
  'orders',
  'items',
  'warehouses',
  'suppliers',
  'channels',
  'inventory_movements',
  'journal_entries',
  'reservations',
  'purchase_orders',
  'transfers',
  'inventory_adjustments',
  'returns',
  'channel_publications',
  'tasks',
  'exceptions',
] as const satisfies readonly (keyof Database)[];

async function rowCounts(): Promise<string> {
  const counts = await Promise.all(
    tables.map(async (table) => `${table}=${(await stack.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n}`),
  );
  return counts.join(' ');
}

/** Text an attacker or a broken client would send. */
const hostile = fc.constantFrom(
  "'; drop table orders; --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  'ünïcødé-ß-日本',
  '😀'.repeat(40),
  ' ',
  '',
  'x'.repeat(5_000),
  '-1',
  '1e309',
  '9007199254740993',
  'null',
  'true',
);
const text = fc.oneof(hostile, fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/));
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(-1, 0, 0.5, 2 ** 53, -(2 ** 63), Number.MAX_VALUE));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(text, fc.constantFrom('lines', 'qty', 'sku', 'reason', 'decision', 'orderId', 'url', 'priceMinor', '__proto__', 'constructor')), tie('value'), { maxKeys: 6 }),
})).value;
/** A body as it arrives on the wire: JSON of anything, or not JSON at all. */
const body = fc.oneof(
  { weight: 6, arbitrary: json.map((value) => ({ payload: JSON.stringify(value) ?? 'null', contentType: 'application/json' })) },
  { weight: 1, arbitrary: text.map((payload) => ({ payload, contentType: 'application/json' })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(text, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml'))
      .map(([payload, contentType]) => ({ payload, contentType })),
  },
);
const query = fc.dictionary(fc.constantFrom('limit', 'from', 'to', 'status', 'kind', 'sku', 'warehouse', 'before', 'days', 'metric', 'run', 'actor'), text, { maxKeys: 3 });

const label = (route: RouteAccess) => `${route.method} ${route.url}`;
const allowedRole = (route: RouteAccess): Role => route.roles?.[0] ?? 'ops';

function withParams(url: string, params: string[]): string {
  let i = 0;
  return url.replace(/:[^/]+/g, () => encodeURIComponent(params[i++ % params.length] || 'x'));
}

function routes(mutating: boolean): RouteAccess[] {
  const isMutating = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);
  return routeAccess(stack.app).filter((route) => !route.public && !route.url.startsWith('/docs') && isMutating(route.method) === mutating);
}

describe('every route under random input', () => {
  it('answers writes with no 5xx, refusals in the error shape, and a refusal changes nothing', async () => {
    const failures: string[] = [];
    const statuses: Record<number, number> = {};
    const writes = routes(true);
    expect(writes.length).toBeGreaterThan(35);
    for (const route of writes) {
      await fc.assert(
        fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 3 }), body, async (params, sent) => {
          const before = await rowCounts();
          const response = await stack.app.inject({
            method: route.method as 'POST',
            url: withParams(route.url, params),
            headers: { ...authAs(allowedRole(route)), 'content-type': sent.contentType },
            payload: sent.payload,
          });
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          if (response.statusCode >= 500) {
            failures.push(`${label(route)} ${response.statusCode} params=${JSON.stringify(params)} body=${sent.payload.slice(0, 200)} → ${response.body.slice(0, 300)}`);
            return;
          }
          if (response.statusCode >= 400) {
            const answer = response.json<{ error?: { code?: unknown; message?: unknown } }>();
            if (typeof answer.error?.code !== 'string' || typeof answer.error?.message !== 'string') failures.push(`${label(route)} ${response.statusCode}: not the error shape: ${response.body.slice(0, 200)}`);
            const after = await rowCounts();
            if (after !== before) failures.push(`${label(route)} ${response.statusCode} changed rows: ${before} → ${after}`);
          }
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED },
      );
    }
    // Most random bodies stop at validation; some reach a handler and find no such record.
    expect(Object.keys(statuses).sort()).toEqual(expect.arrayContaining(['400', '404']));
    expect(failures).toEqual([]);
  }, 600_000);

  it('answers reads with random params and query strings with no 5xx', async () => {
    const failures: string[] = [];
    for (const route of routes(false)) {
      await fc.assert(
        fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 3 }), query, async (params, q) => {
          const search = new URLSearchParams(q).toString();
          const response = await stack.app.inject({
            method: 'GET',
            url: `${withParams(route.url, params)}${search ? `?${search}` : ''}`,
            headers: authAs(allowedRole(route)),
          });
          if (response.statusCode >= 500) failures.push(`${label(route)} ${response.statusCode} ?${search} → ${response.body.slice(0, 300)}`);
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED },
      );
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
