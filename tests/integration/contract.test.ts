/**
 * The API against its own OpenAPI document, as an outside client sees it: requests generated
 * from the served `/docs/json` (tests/support/openapi-arbitraries.ts: valid, one step off,
 * and wire faults), sent with the keys that may call each route, and every answer checked:
 * its status is one the operation declares, and its body validates against the schema the
 * document gives for that status; no request the document refuses is accepted, and none
 * meets a server error. Then the answers no generated request reaches on its own:
 * another method on a known path (405 with Allow), an unknown path, an overlong parameter,
 * a body over the limit, a malformed URL.
 *
 * CONTRACT_RUNS (requests per operation, default 100) and CONTRACT_SEED vary the walk.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { roles, routeAccess, type Role } from '../../api/auth.js';
import { handlerRefusals } from '../../api/openapi.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { label, operationsOf, requestsFor, type GeneratedRequest, type Hints, type OpenApiDocument, type Operation, type Schema } from '../support/openapi-arbitraries.js';
import { orderDriver } from '../support/orders.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

// The per-key limit stays on (429 is declared), high enough that the walk measures the routes, not the limiter.
const stack = useTestStack({ rateLimitPerMinute: 1_000_000 });

const RUNS = Number(process.env.CONTRACT_RUNS ?? 100);
const SEED = Number(process.env.CONTRACT_SEED ?? 20261207);

const ajv = new Ajv({ strict: false, allErrors: true });
// A CommonJS module: its function is its default export's `default` as TypeScript sees it.
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();
function validatorOf(schema: Schema): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(schema)));
  return validate;
}

let operations: Operation[] = [];
const hints: Record<string, string[]> = {};

beforeAll(async () => {
  const docs = await stack.app.inject({ method: 'GET', url: '/docs/json' });
  expect(docs.statusCode).toBe(200);
  const document = docs.json<OpenApiDocument & { openapi: string }>();
  expect(document.openapi).toMatch(/^3\.0\./);
  operations = operationsOf(document);

  // Records that exist, so that generated ids sometimes name them and requests reach past the look-ups.
  const [sku, other] = [await addItem(stack.db), await addItem(stack.db)];
  const [wh, otherWh] = [await addWarehouse(stack.db), await addWarehouse(stack.db)];
  await stock(stack.db, sku, wh, 50);
  const supplierId = uniqueId('sup-');
  const supplier = await stack.app.inject({
    method: 'POST',
    url: '/suppliers',
    headers: authAs('buyer'),
    payload: { id: supplierId, name: 'Contract supplier', defaultLeadTimeDays: 5, items: [{ sku, unitCostMinor: 500 }], lanes: [{ warehouse: wh, leadTimeDays: 3 }] },
  });
  expect(supplier.statusCode, supplier.body).toBe(201);
  const orderId = await orderDriver(stack).placeOrder(sku, 1);
  Object.assign(hints, {
    sku: [sku, other],
    warehouse: [wh, otherWh],
    code: [wh, otherWh],
    from: [wh],
    to: [otherWh],
    supplierId: [supplierId],
    orderId: [orderId],
    customerId: ['C-1'],
    channel: ['dtc', 'wholesale'],
    id: [orderId, supplierId, orderId.toUpperCase()],
  } satisfies Hints);
});

/** Who may call an operation, as the route table says. */
function accessOf(op: Operation) {
  const access = routeAccess(stack.app).find((route) => route.method === op.method && route.url === op.route);
  if (!access) throw new Error(`${label(op)} is documented but not in the route table`);
  const allowed: readonly Role[] = access.roles ?? roles;
  return { public: access.public, allowed, refused: roles.filter((role) => !allowed.includes(role)) };
}

/** Mostly the roles that may call the route; now and then one that may not, or no key. */
function callers(op: Operation): fc.Arbitrary<Record<string, string>> {
  const { public: open, allowed, refused } = accessOf(op);
  const arms: { weight: number; arbitrary: fc.Arbitrary<Record<string, string>> }[] = [
    { weight: 8, arbitrary: fc.constantFrom(...allowed).map(authAs) },
    { weight: 1, arbitrary: fc.constant({}) },
  ];
  if (refused.length && !open) arms.push({ weight: 1, arbitrary: fc.constantFrom(...refused).map(authAs) });
  return fc.oneof(...arms);
}

interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Whether the document refuses the request's body: none where one is required, or JSON its schema rejects. */
function bodyRefusedByDocument(op: Operation, request: Pick<GeneratedRequest, 'payload' | 'headers'>): boolean {
  if (!op.body) return false;
  if (request.payload === undefined) return op.body.required;
  if (!String(request.headers['content-type'] ?? '').includes('application/json')) return true;
  try {
    return !validatorOf(op.body.schema)(JSON.parse(request.payload));
  } catch {
    return true;
  }
}

/** What is wrong with an answer to a request by the operation's declared responses, or undefined. */
function breach(op: Operation, request: Pick<GeneratedRequest, 'payload' | 'headers'>, answer: Answer): string | undefined {
  const status = String(answer.statusCode);
  // Declared on every route for a failing server or dependency, but never a right answer here.
  if (answer.statusCode >= 500) return `server error ${status}: ${answer.body.slice(0, 300)}`;
  if (answer.statusCode < 300 && bodyRefusedByDocument(op, request)) return `${status}: accepted a body the document refuses: ${String(request.payload).slice(0, 200)}`;
  const key = [status, `${status[0]}XX`, 'default'].find((k) => k in op.responses);
  if (key === undefined) return `${status} is not declared (declared: ${Object.keys(op.responses).join(' ')}): ${answer.body.slice(0, 200)}`;
  const declared = op.responses[key]!;
  if (declared === null) return undefined; // not a JSON answer (Prometheus text)
  const contentType = String(answer.headers['content-type'] ?? '');
  if (!contentType.includes('application/json')) return `${status} answered ${contentType || 'no content type'}, the document says JSON: ${answer.body.slice(0, 200)}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return `${status} body is not JSON: ${answer.body.slice(0, 200)}`;
  }
  const validate = validatorOf(declared);
  if (!validate(body)) return `${status} body does not match its schema: ${ajv.errorsText(validate.errors, { separator: '; ' }).slice(0, 300)} in ${answer.body.slice(0, 300)}`;
  return undefined;
}

const send = (request: Pick<GeneratedRequest, 'method' | 'url' | 'headers' | 'payload'>) =>
  stack.app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, ...(request.payload !== undefined ? { payload: request.payload } : {}) });

describe('the served OpenAPI document', () => {
  it('documents every route but the console and its own pages', () => {
    expect(operations.length).toBeGreaterThan(60);
    const documented = new Set(operations.map(label));
    const undocumented = routeAccess(stack.app).filter(
      (route) => route.method !== 'HEAD' && !route.url.startsWith('/docs') && !['/', '/console', '/console/*', '/console/app.js', '/console/app.css'].includes(route.url) && !documented.has(`${route.method} ${route.url}`),
    );
    expect(undocumented).toEqual([]);
  });

  it("lists every write route in the handler refusal table, and no route that does not exist", () => {
    const writes = operations.filter((op) => !['GET', 'HEAD'].includes(op.method)).map(label);
    const listed = Object.keys(handlerRefusals);
    expect(writes.filter((route) => !listed.includes(route))).toEqual([]);
    expect(listed.filter((route) => !operations.some((op) => label(op) === route))).toEqual([]);
  });

  it('declares the error shape for every error an operation declares', () => {
    const bad = operations.flatMap((op) =>
      Object.entries(op.responses)
        .filter(([status]) => status >= '400' && !(op.route.startsWith('/health') && status === '503'))
        .filter(([, schema]) => !schema || !validatorOf(schema)({ error: { code: 'x', message: 'y' } }) || validatorOf(schema)({ error: { code: 1 } }))
        .map(([status]) => `${label(op)} ${status}`),
    );
    expect(bad).toEqual([]);
  });
});

describe('every operation under requests generated from its schemas', () => {
  it('answers with a status the operation declares and a body its schema accepts', async () => {
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    const kinds: Record<string, number> = {};
    let sent = 0;
    const started = performance.now();
    for (const [index, op] of operations.entries()) {
      const details = await fc.check(
        fc.asyncProperty(requestsFor(op, { headers: callers(op), hints }), async (request) => {
          const answer = await send(request);
          sent += 1;
          statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1;
          kinds[request.kind] = (kinds[request.kind] ?? 0) + 1;
          const wrong = breach(op, request, answer);
          if (wrong) throw new Error(wrong);
        }),
        { numRuns: RUNS, seed: SEED + index },
      );
      if (details.failed) {
        const [request] = details.counterexample ?? [];
        failures.push(`${label(op)}: ${(details.errorInstance as Error | undefined)?.message} ← ${JSON.stringify(request).slice(0, 400)}`);
      }
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`contract: ${sent} requests to ${operations.length} operations in ${seconds} s; statuses ${JSON.stringify(statuses)}; kinds ${JSON.stringify(kinds)}`);
    expect(failures).toEqual([]);
    // The walk reaches past validation: successes, refusals by the handlers, and records not found.
    for (const status of ['200', '201', '400', '401', '404', '409', '422']) expect(statuses[status] ?? 0, `no ${status} answered`).toBeGreaterThan(0);
  }, 900_000);
});

describe('answers no generated request reaches', () => {
  it('answers another method on a known path 405 with Allow, in the error shape; an unknown path 404', async () => {
    const errorShape = validatorOf({
      type: 'object',
      required: ['error'],
      properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
    });
    const byPath = new Map<string, Set<string>>();
    for (const op of operations) byPath.set(op.path, (byPath.get(op.path) ?? new Set()).add(op.method));
    const failures: string[] = [];
    for (const [path, methods] of byPath) {
      const url = path.replace(/\{[^}]+\}/g, 'x1');
      for (const method of ['TRACE', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'].filter((m) => !methods.has(m))) {
        const answer = await stack.app.inject({ method: method as 'GET', url, headers: { ...authAs('ops'), 'content-type': 'application/json' } });
        const allow = String(answer.headers.allow ?? '').split(', ');
        if (answer.statusCode !== 405) failures.push(`${method} ${url}: ${answer.statusCode}`);
        else if (![...methods].every((m) => allow.includes(m))) failures.push(`${method} ${url}: Allow ${answer.headers.allow} misses one of ${[...methods].join(', ')}`);
        else if (!errorShape(answer.json())) failures.push(`${method} ${url}: not the error shape: ${answer.body}`);
      }
    }
    expect(failures).toEqual([]);
    const unknown = await stack.app.inject({ method: 'TRACE' as 'GET', url: '/no-such-path', headers: authAs('ops') });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
  });

  it('answers an overlong path parameter 414, a body over 1 MiB 413 and a malformed URL 400, each declared where it can happen', async () => {
    const failures: string[] = [];
    for (const op of operations) {
      const { allowed } = accessOf(op);
      const headers = { ...authAs(allowed[0]!), 'content-type': 'application/json' };
      const url = (value: string) => op.path.replace(/\{[^}]+\}/g, value);
      const cases: Pick<GeneratedRequest, 'method' | 'url' | 'headers' | 'payload'>[] = [];
      if (op.pathParams.length) {
        cases.push({ method: op.method, url: url('x'.repeat(300)), headers });
        cases.push({ method: op.method, url: url('%E0%A4%A'), headers });
      }
      if (op.body) cases.push({ method: op.method, url: url('x1'), headers, payload: JSON.stringify({ filler: 'x'.repeat(1_100_000) }) });
      for (const request of cases) {
        const answer = await send(request);
        if (![400, 413, 414].includes(answer.statusCode)) failures.push(`${label(op)} ${request.url.slice(0, 60)}: ${answer.statusCode}`);
        const wrong = breach(op, request, answer);
        if (wrong) failures.push(`${label(op)} ${request.url.slice(0, 60)}: ${wrong}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
