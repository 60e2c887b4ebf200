/**
 * Every documented route of the real app, walked from the served OpenAPI document, with
 * requests generated from its own schemas (tests/support/openapi-arbitraries.ts, shared with
 * the contract test): valid ones that reach the handlers, ones a step off the document
 * (missing fields, wrong types, values past their bounds, hostile text) and bodies that
 * are not JSON. Never a 5xx, every refusal in the error shape `{error: {code, message}}`,
 * and a refused request changes no row. The hand-made cases of the main write routes
 * (bad-input.test.ts) reach deeper into their handlers; this walk covers every route,
 * including the ones added since.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { routeAccess, type Role } from '../../api/auth.js';
import type { Database } from '../../db/schema.js';
import { label, operationsOf, requestsFor, type OpenApiDocument, type Operation } from '../support/openapi-arbitraries.js';
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

let operations: Operation[] = [];
beforeAll(async () => {
  operations = operationsOf((await stack.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApiDocument>());
});

/** A role that may call the route. No ids of existing records are given, so nothing a request names is found and no process is left running. */
function requestsOf(op: Operation) {
  const access = routeAccess(stack.app).find((route) => route.method === op.method && route.url === op.route);
  const role: Role = access?.roles?.[0] ?? 'ops';
  return requestsFor(op, { headers: fc.constant(authAs(role)) });
}

const isMutating = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);

describe('every route under requests generated from its schemas', () => {
  it('answers writes with no 5xx, refusals in the error shape, and a refusal changes nothing', async () => {
    const failures: string[] = [];
    const statuses: Record<number, number> = {};
    const writes = operations.filter((op) => isMutating(op.method));
    expect(writes.length).toBeGreaterThan(35);
    for (const op of writes) {
      await fc.assert(
        fc.asyncProperty(requestsOf(op), async (request) => {
          const before = await rowCounts();
          const response = await stack.app.inject({ method: request.method as 'POST', url: request.url, headers: request.headers, ...(request.payload !== undefined ? { payload: request.payload } : {}) });
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          const sent = `${request.url} body=${String(request.payload).slice(0, 200)}`;
          if (response.statusCode >= 500) {
            failures.push(`${label(op)} ${response.statusCode} ${sent} → ${response.body.slice(0, 300)}`);
            return;
          }
          if (response.statusCode >= 400) {
            const answer = response.json<{ error?: { code?: unknown; message?: unknown } }>();
            if (typeof answer.error?.code !== 'string' || typeof answer.error?.message !== 'string') failures.push(`${label(op)} ${response.statusCode}: not the error shape: ${response.body.slice(0, 200)}`);
            const after = await rowCounts();
            if (after !== before) failures.push(`${label(op)} ${response.statusCode} ${sent} changed rows: ${before} → ${after}`);
          }
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED },
      );
    }
    // Most bodies a step off stop at validation; valid ones reach a handler and find no such record, or an unknown reference.
    expect(Object.keys(statuses).sort()).toEqual(expect.arrayContaining(['400', '404', '422']));
    expect(failures).toEqual([]);
  }, 600_000);

  it('answers reads with generated params and query strings with no 5xx', async () => {
    const failures: string[] = [];
    for (const op of operations.filter((o) => !isMutating(o.method))) {
      await fc.assert(
        fc.asyncProperty(requestsOf(op), async (request) => {
          const response = await stack.app.inject({ method: 'GET', url: request.url, headers: request.headers });
          if (response.statusCode >= 500) failures.push(`${label(op)} ${response.statusCode} ${request.url} → ${response.body.slice(0, 300)}`);
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED },
      );
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
