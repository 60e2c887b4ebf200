/**
 * Bad input: property-based fuzzing of the main write routes' bodies and hostile transport
 * cases. Every refusal is a 4xx (never a 5xx) in the error shape `{error: {code, message}}`,
 * and the database is unchanged: the row counts of the main tables agree before and after.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Role } from '../../api/auth.js';
import type { Database } from '../../db/schema.js';
import { addItem, addWarehouse } from '../support/fixtures.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();

const NUM_RUNS = 40;

const tables = [
  'orders',
  'order_lines',
  'items',
  'warehouses',
  'suppliers',
  'inventory_balances',
  'inventory_movements',
  'journal_entries',
  'reservations',
  'purchase_orders',
  'transfers',
  'inventory_adjustments',
] as const satisfies readonly (keyof Database)[];

async function rowCounts(): Promise<Record<string, number>> {
  const counts = await Promise.all(
    tables.map(async (table) => {
      const row = await stack.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      return [table, Number(row.n)] as const;
    }),
  );
  return Object.fromEntries(counts);
}

interface Sent {
  status: number;
  body: unknown;
}

async function post(url: string, role: Role, payload: string | undefined, contentType = 'application/json'): Promise<Sent> {
  const response = await stack.app.inject({
    method: 'POST',
    url,
    headers: { ...authAs(role), 'content-type': contentType },
    ...(payload === undefined ? {} : { payload }),
  });
  let body: unknown;
  try {
    body = response.json();
  } catch {
    body = response.body;
  }
  return { status: response.statusCode, body };
}

function expectRefusal(sent: Sent, what: string) {
  const context = `${what} → ${sent.status} ${JSON.stringify(sent.body).slice(0, 400)}`;
  expect(sent.status, context).toBeGreaterThanOrEqual(400);
  expect(sent.status, context).toBeLessThan(500);
  const error = (sent.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  expect(typeof error?.code, context).toBe('string');
  expect(typeof error?.message, context).toBe('string');
}

// ---------------------------------------------------------------- hostile values

const hostileText = fc.oneof(
  fc.constantFrom(
    "'; DROP TABLE orders; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM items WHERE ('1'='1",
    '1; SELECT pg_sleep(10); --',
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    '${jndi:ldap://example.invalid/a}',
    '{{7*7}}',
    '../../../etc/passwd',
    '%00%27',
    'a\u0000b',
    '\u0000',
    '\ud800',
    '\udfff\ud800',
    'ＳＫＵ－１２３',
    'SKU-É',
    'ſku-1',
    '😀😀😀',
    '\u202eevil',
    'e\u0301',
    '\\',
    'null',
    '   ',
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);

/** Numbers no integer quantity or amount field accepts: fractions, past 2^53, absurdly large. */
const badNumber = fc.oneof(
  fc.constantFrom(0.5, 1.5, -2.25, 2 ** 53, 2 ** 53 + 2, 1e20, 1e308, Number.MAX_VALUE, -Number.MAX_VALUE, -1e15),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((n) => !Number.isInteger(n)),
  fc.integer({ min: 1, max: 2 ** 20 }).map((n) => 2 ** 53 + n * 2),
);
/** For fields that must be at least 1: the above, zero and negatives. */
const badCount = fc.oneof(badNumber, fc.integer({ min: -(2 ** 31), max: 0 }), fc.constant(-0));

const notString = fc.jsonValue().filter((v) => typeof v !== 'string');
const notNumber = fc.jsonValue().filter((v) => typeof v !== 'number');
const notArray = fc.jsonValue().filter((v) => !Array.isArray(v));
const notObject = fc.jsonValue().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v));

type Body = Record<string, unknown>;
/** A change that makes a body invalid for sure. */
type Poison = fc.Arbitrary<(body: Body) => Body>;
const set = (key: string, value: fc.Arbitrary<unknown>): Poison => value.map((v) => (body: Body) => ({ ...body, [key]: v }));
const drop = (key: string): Poison =>
  fc.constant((body: Body) => {
    const copy = { ...body };
    delete copy[key];
    return copy;
  });
const onLines = (change: fc.Arbitrary<(line: Body) => Body>): Poison =>
  change.map((f) => (body: Body) => ({ ...body, lines: (body.lines as Body[]).map((line, i) => (i === 0 ? f(line) : line)) }));
const lineSet = (key: string, value: fc.Arbitrary<unknown>) => onLines(value.map((v) => (line: Body) => ({ ...line, [key]: v })));
const duplicateLineNos: Poison = fc.integer({ min: 1, max: 10_000 }).map((no) => (body: Body) => ({
  ...body,
  lines: [...(body.lines as Body[]), ...(body.lines as Body[])].map((line) => ({ ...line, lineNo: no })),
}));
/** Fields given hostile text, each left as it is or replaced. */
const overlay = (keys: string[]) =>
  fc.record(Object.fromEntries(keys.map((k) => [k, fc.option(hostileText, { nil: undefined })]))).map((texts) =>
    Object.fromEntries(Object.entries(texts).filter(([, v]) => v !== undefined)),
  );

interface RouteCase {
  name: string;
  url: string;
  role: Role;
  /** A well-formed body, made invalid by one poison. */
  base: () => Body;
  poisons: Poison[];
  /** Free-text fields to fill with hostile strings alongside the poison. */
  textFields: string[];
  /** Hostile text in fields the schema lets through to the handler; the handler must still refuse. */
  reachesHandler?: fc.Arbitrary<Body>;
}

let knownSku = '';
let knownWarehouse = '';
let otherWarehouse = '';
const unknownSku = () => uniqueId('NOSKU-').toUpperCase();

const anOrder = (): Body => ({
  orderId: uniqueId('fuzz-'),
  channel: 'web',
  customerId: 'C-1',
  currency: 'USD',
  shipTo: { name: 'A', line1: '1 Main St', city: 'Town', country: 'US', lat: 40, lon: -74 },
  freightMinor: 0,
  lines: [{ lineNo: 1, sku: knownSku, qty: 1, unitPriceMinor: 100 }],
});

const routes = (): RouteCase[] => [
  {
    name: 'POST /orders',
    url: '/orders',
    role: 'system',
    base: anOrder,
    textFields: ['customerId', 'orderId'],
    poisons: [
      set('orderId', notString),
      set('channel', fc.oneof(notString, hostileText)),
      set('currency', fc.oneof(notString, fc.constantFrom('usd', 'US', 'USDX', '€€€', "'--"))),
      set('shipTo', notObject),
      set('freightMinor', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      set('lines', fc.oneof(notArray, fc.constant([]))),
      set('promisedBy', fc.oneof(notString, hostileText)),
      drop('lines'),
      drop('shipTo'),
      duplicateLineNos,
      lineSet('qty', fc.oneof(notNumber, badCount, fc.integer({ min: 100_001 }))),
      lineSet('unitPriceMinor', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      lineSet('lineNo', fc.oneof(notNumber, badCount)),
      lineSet('sku', fc.oneof(notString, fc.constantFrom('ＳＫＵ－１２３', 'SKU-É', 'sku-lower', "SKU'; DROP TABLE items;--", '<script>', ''))),
      lineSet('taxMinor', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      fc.constant((body: Body) => ({
        ...body,
        lines: [{ sku: knownSku, qty: 100_000, unitPriceMinor: Number.MAX_SAFE_INTEGER }],
      })),
      fc.constant((body: Body) => ({ ...body, shipTo: { ...(body.shipTo as Body), lat: 91 } })),
    ],
  },
  {
    name: 'POST /items',
    url: '/items',
    role: 'ops',
    base: () => ({ sku: uniqueId('FZ-').toUpperCase(), name: 'Fuzz item', priceMinor: 100, standardCostMinor: 50 }),
    textFields: ['name', 'uom'],
    poisons: [
      set('sku', fc.oneof(notString, fc.constantFrom('ＳＫＵ－１２３', 'SKU-É', 'ab', "X'; DROP TABLE items;--", '<script>alert(1)</script>'))),
      set('priceMinor', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      set('standardCostMinor', fc.oneof(notNumber, badNumber)),
      set('safetyStock', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      set('substitutes', fc.oneof(notArray, fc.constant([knownSku, knownSku]))),
      set('skuClass', fc.oneof(notString, fc.constantFrom('D', 'a', ''))),
      set('requiresInspection', fc.jsonValue().filter((v) => typeof v !== 'boolean')),
      set('name', fc.oneof(notString, fc.constant(''), fc.constant('n'.repeat(201)))),
      drop('name'),
    ],
    // Hostile text in name and uom reaches the handler, which refuses the unknown substitute.
    reachesHandler: fc
      .record({ name: hostileText.filter((s) => s.length >= 1 && s.length <= 200), uom: hostileText.filter((s) => s.length >= 1 && s.length <= 20) })
      .map((texts) => ({ sku: uniqueId('FZ-').toUpperCase(), priceMinor: 1, standardCostMinor: 1, substitutes: [unknownSku()], ...texts })),
  },
  {
    name: 'POST /warehouses',
    url: '/warehouses',
    role: 'ops',
    base: () => ({
      code: uniqueId('FW').toUpperCase().slice(0, 10),
      name: 'Fuzz warehouse',
      lat: 10,
      lon: 10,
      freightBaseMinor: 1,
      freightPerKmMinor: 1,
      dailyCapacity: 10,
    }),
    textFields: ['name'],
    poisons: [
      set('code', fc.oneof(notString, fc.constantFrom('w1', 'Ｗ１', "W'--", 'A', 'W'.repeat(17)))),
      set('lat', fc.oneof(notNumber, fc.double({ min: 90, noNaN: true, minExcluded: true }))),
      set('lon', fc.oneof(notNumber, fc.double({ max: -180, noNaN: true, maxExcluded: true }))),
      set('freightBaseMinor', fc.oneof(notNumber, badNumber)),
      set('dailyCapacity', fc.oneof(notNumber, badNumber, fc.constant(2 ** 31))),
      set('zones', fc.oneof(notArray, fc.constant([{ code: 'A', bins: ['1', '1'] }]), fc.constant([{ code: 'A', bins: [] }, { code: 'A', bins: [] }]))),
    ],
  },
  {
    name: 'POST /suppliers',
    url: '/suppliers',
    role: 'buyer',
    base: () => ({ id: uniqueId('fs-'), name: 'Fuzz supplier', defaultLeadTimeDays: 5 }),
    textFields: ['name'],
    poisons: [
      set('id', fc.oneof(notString, fc.constantFrom('', '-x', "s'; DROP TABLE suppliers;--", 'ｓ１', 'x'.repeat(65)))),
      set('defaultLeadTimeDays', fc.oneof(notNumber, badCount)),
      set('items', fc.oneof(notArray, fc.constant([{ sku: knownSku, unitCostMinor: 1 }, { sku: knownSku, unitCostMinor: 2 }]))),
      set('items', badNumber.map((n) => [{ sku: knownSku, unitCostMinor: n }])),
      set('items', badCount.map((n) => [{ sku: knownSku, unitCostMinor: 1, moq: n }])),
      set('lanes', fc.oneof(notArray, badCount.map((n) => [{ warehouse: knownWarehouse, leadTimeDays: n }]))),
    ],
    // Hostile names reach the handler, which refuses the unknown item inside its transaction.
    reachesHandler: hostileText
      .filter((s) => s.length >= 1 && s.length <= 200)
      .map((name) => ({ id: uniqueId('fs-'), name, defaultLeadTimeDays: 3, items: [{ sku: unknownSku(), unitCostMinor: 1 }] })),
  },
  {
    name: 'POST /inventory/adjustments',
    url: '/inventory/adjustments',
    role: 'ops',
    base: () => ({ adjustmentId: uniqueId('fa-'), sku: knownSku, warehouse: knownWarehouse, reasonCode: 'cycle_count', delta: 1 }),
    textFields: [],
    poisons: [
      set('adjustmentId', fc.oneof(notString, fc.constantFrom('', "a'--", 'ａ'))),
      set('sku', fc.oneof(notString, fc.constant(''), fc.constant('S'.repeat(41)))),
      set('reasonCode', fc.oneof(notString, fc.constantFrom('Cycle', "x'; drop", '<b>', 'a'))),
      set('delta', fc.oneof(notNumber, badNumber, fc.constant(0), fc.integer({ min: 1_000_001 }))),
      fc.constant((body: Body) => ({ ...body, countedQty: 5 })),
      fc.constant((body: Body) => {
        const copy = { ...body };
        delete copy.delta;
        return copy;
      }),
      set('countedQty', fc.oneof(badNumber, fc.integer({ max: -1 }))).map((f) => (body: Body) => {
        const copy = f(body);
        delete copy.delta;
        return copy;
      }),
    ],
    // sku and warehouse are free text up to 40 and 16: they reach the look-ups, which must refuse.
    reachesHandler: fc
      .record({
        sku: hostileText.filter((s) => s.length >= 1 && s.length <= 40),
        warehouse: hostileText.filter((s) => s.length >= 1 && s.length <= 16),
      })
      .map((texts) => ({ adjustmentId: uniqueId('fa-'), reasonCode: 'cycle_count', delta: -3, ...texts })),
  },
  {
    name: 'POST /purchase-orders',
    url: '/purchase-orders',
    role: 'buyer',
    base: () => ({ poId: uniqueId('fpo-'), supplierId: 'no-such-supplier', warehouse: knownWarehouse, lines: [{ lineNo: 1, sku: knownSku, qty: 1 }] }),
    textFields: [],
    poisons: [
      set('poId', fc.oneof(notString, fc.constantFrom('', "p'--", 'ｐ'))),
      set('warehouse', fc.oneof(notString, fc.constant(''), fc.constant('W'.repeat(17)))),
      set('expectedAt', fc.oneof(notString, hostileText)),
      set('lines', fc.oneof(notArray, fc.constant([]))),
      duplicateLineNos,
      lineSet('qty', fc.oneof(notNumber, badCount, fc.integer({ min: 1_000_001 }))),
      lineSet('unitCostMinor', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      lineSet('sku', fc.oneof(notString, fc.constantFrom('ＳＫＵ－１２３', 'SKU-É', "SKU'--", ''))),
    ],
    // A free-text warehouse and an unknown supplier reach the checks, which must refuse.
    reachesHandler: fc
      .record({ warehouse: hostileText.filter((s) => s.length >= 1 && s.length <= 16), supplierId: fc.constantFrom('nope', 'no-such-supplier') })
      .map((texts) => ({ poId: uniqueId('fpo-'), lines: [{ sku: knownSku, qty: 2 }], ...texts })),
  },
  {
    name: 'POST /transfers',
    url: '/transfers',
    role: 'ops',
    base: () => ({ transferId: uniqueId('ft-'), sku: knownSku, from: knownWarehouse, to: otherWarehouse, qty: 1, reason: 'fuzzing' }),
    textFields: ['reason'],
    poisons: [
      set('transferId', fc.oneof(notString, fc.constantFrom('', "t'--"))),
      set('sku', fc.oneof(notString, fc.constantFrom('ＳＫＵ－１２３', 'SKU-É', "SKU'--"))),
      set('from', fc.oneof(notString, fc.constantFrom('w', "W'--", 'Ｗ１'))),
      set('qty', fc.oneof(notNumber, badCount, fc.integer({ min: 1_000_001 }))),
      fc.constant((body: Body) => ({ ...body, to: body.from })),
      set('reason', fc.oneof(notString, fc.constant('  '), fc.constant('r'.repeat(501)))),
    ],
    // Hostile reasons reach the handler, which refuses the unknown sku.
    reachesHandler: hostileText
      .filter((s) => s.trim().length >= 3 && s.trim().length <= 500)
      .map((reason) => ({ transferId: uniqueId('ft-'), sku: unknownSku(), from: knownWarehouse, to: otherWarehouse, qty: 1, reason })),
  },
  {
    name: 'POST /shipments/:id/events',
    url: '/shipments/no-such-shipment/events',
    role: 'system',
    base: () => ({ type: 'shipped', carrier: 'UPS', tracking: '1Z', freightCostMinor: 10 }),
    textFields: ['carrier', 'tracking'],
    poisons: [
      set('type', fc.oneof(notString, fc.constantFrom('teleported', 'SHIPPED', "shipped'--"))),
      set('freightCostMinor', fc.oneof(notNumber, badNumber, fc.integer({ max: -1 }))),
      set('carrier', fc.oneof(notString, fc.constant(' '), fc.constant('c'.repeat(61)))),
      fc
        .oneof(fc.constant(undefined), notArray, fc.constant([]), badNumber.map((n) => [{ lineNo: 1, sku: 'X', qty: n }]))
        .map((found) => () => (found === undefined ? { type: 'short_pick' } : { type: 'short_pick', found })),
    ],
    // Hostile carrier and tracking reach the process look-up, which answers 404.
    reachesHandler: fc
      .record({
        carrier: hostileText.filter((s) => s.trim().length >= 1 && s.trim().length <= 60),
        tracking: hostileText.filter((s) => s.trim().length >= 1 && s.trim().length <= 100),
      })
      .map((texts) => ({ type: 'shipped', freightCostMinor: 1, ...texts })),
  },
  {
    name: 'POST /orders/:id/hold-decision',
    url: '/orders/no-such-order/hold-decision',
    role: 'ops',
    base: () => ({ decision: 'approve', reason: 'looks fine' }),
    textFields: [],
    poisons: [
      set('decision', fc.oneof(notString, fc.constantFrom('APPROVE', 'maybe', "approve'--"))),
      set('reason', fc.oneof(notString, fc.constantFrom('', 'no', '     ', 'r'.repeat(501)))),
      drop('reason'),
    ],
    reachesHandler: hostileText
      .filter((s) => s.trim().length >= 3 && s.trim().length <= 500)
      .map((reason) => ({ decision: 'reject', reason })),
  },
  {
    name: 'POST /orders/:id/cancel',
    url: '/orders/no-such-order/cancel',
    role: 'ops',
    base: () => ({ reason: 'customer asked' }),
    textFields: [],
    poisons: [set('reason', fc.oneof(notString, fc.constantFrom('', 'no', '     ', 'r'.repeat(501)))), drop('reason')],
    reachesHandler: hostileText.filter((s) => s.trim().length >= 3 && s.trim().length <= 500).map((reason) => ({ reason })),
  },
];

beforeAll(async () => {
  knownSku = await addItem(stack.db);
  knownWarehouse = await addWarehouse(stack.db);
  otherWarehouse = await addWarehouse(stack.db);
});

/** Runs `property` over `arb`, checking the row counts are the same after every run. */
async function fuzz<T>(arb: fc.Arbitrary<T>, send: (value: T) => Promise<void>) {
  const before = await rowCounts();
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      await send(value);
    }),
    { numRuns: NUM_RUNS },
  );
  expect(await rowCounts()).toEqual(before);
}

/** A payload string for any value, including those JSON cannot say (undefined, functions). */
const asPayload = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

describe('fuzzed bodies on the write routes', () => {
  for (const route of routes()) {
    describe(route.name, () => {
      it('refuses arbitrary JSON values with a 4xx and changes nothing', async () => {
        const arb = fc.oneof(fc.anything(), fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()));
        await fuzz(arb, async (value) => {
          const payload = asPayload(value);
          expectRefusal(await post(route.url, route.role, payload), `${route.name} ${String(payload).slice(0, 200)}`);
        });
      });

      it('refuses well-keyed bodies with a wrong field (and hostile text) with a 4xx and changes nothing', async () => {
        const current = routes().find((r) => r.name === route.name)!;
        const arb = fc.tuple(fc.oneof(...current.poisons), overlay(current.textFields));
        await fuzz(arb, async ([poison, texts]) => {
          const body = poison({ ...current.base(), ...texts });
          const payload = JSON.stringify(body);
          expectRefusal(await post(current.url, current.role, payload), `${current.name} ${payload.slice(0, 300)}`);
        });
      });

      if (route.reachesHandler) {
        it('refuses hostile text that passes the schema with a 4xx and changes nothing', async () => {
          const current = routes().find((r) => r.name === route.name)!;
          await fuzz(current.reachesHandler!, async (body) => {
            const payload = JSON.stringify(body);
            expectRefusal(await post(current.url, current.role, payload), `${current.name} ${payload.slice(0, 300)}`);
          });
        });
      }
    });
  }

  it('refuses raw JSON text the parser must deal with: big numbers, proto keys, broken syntax', async () => {
    const raw = fc.oneof(
      fc.constantFrom(
        '{"sku":"ABC-1","name":"x","priceMinor":1e400,"standardCostMinor":1}',
        '{"sku":"ABC-1","name":"x","priceMinor":123456789012345678901234567890,"standardCostMinor":1}',
        '{"sku":"ABC-1","name":"x","priceMinor":-0,"standardCostMinor":NaN}',
        '{"__proto__":{"admin":true},"sku":"ABC-1"}',
        '{"constructor":{"prototype":{"admin":true}}}',
        '{"sku":"ABC-1",',
        '[]',
        'null',
        '"string"',
        '\u0000',
        '{"sku":"\\u0000"}',
      ),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    await fuzz(raw, async (payload) => {
      expectRefusal(await post('/items', 'ops', payload), `/items raw ${payload.slice(0, 200)}`);
    });
  });
});

describe('text the database cannot store', () => {
  it('refuses a NUL character in otherwise valid text with a 400 and changes nothing', async () => {
    const before = await rowCounts();
    for (const name of ['\u0000', 'a\u0000b', 'Item\u0000']) {
      const sku = uniqueId('NUL-').toUpperCase();
      const sent = await post('/items', 'ops', JSON.stringify({ sku, name, priceMinor: 1, standardCostMinor: 1 }));
      expect(sent.status, JSON.stringify(sent.body)).toBe(400);
      expectRefusal(sent, `item name ${JSON.stringify(name)}`);
    }
    const sent = await post('/warehouses', 'ops', JSON.stringify({ code: uniqueId('NW').toUpperCase().slice(0, 10), name: 'W\u0000', lat: 1, lon: 1, freightBaseMinor: 1, freightPerKmMinor: 1, dailyCapacity: 1 }));
    expect(sent.status, JSON.stringify(sent.body)).toBe(400);
    expectRefusal(sent, 'warehouse name with NUL');
    expect(await rowCounts()).toEqual(before);
  });
});

describe('hostile transport', () => {
  it('answers a body over 1 MiB with 413 in the error shape', async () => {
    const before = await rowCounts();
    const payload = JSON.stringify({ sku: 'BIG-1', name: 'x'.repeat(1024 * 1024 + 10), priceMinor: 1, standardCostMinor: 1 });
    const sent = await post('/items', 'ops', payload);
    expect(sent.status).toBe(413);
    expectRefusal(sent, 'body over 1 MiB');
    expect(await rowCounts()).toEqual(before);
  });

  it('answers deeply nested JSON with a 4xx and still answers afterwards', async () => {
    const before = await rowCounts();
    for (const depth of [1_000, 10_000, 100_000]) {
      const arrays = '['.repeat(depth) + ']'.repeat(depth);
      const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      for (const payload of [arrays, objects, `{"sku":"ABC-1","name":${objects}}`]) {
        expectRefusal(await post('/items', 'ops', payload), `nested ${depth}`);
        expectRefusal(await post('/orders', 'system', payload), `nested ${depth}`);
      }
    }
    const health = await stack.app.inject({ method: 'GET', url: '/items?limit=1', headers: authAs('viewer') });
    expect(health.statusCode).toBe(200);
    expect(await rowCounts()).toEqual(before);
  });

  it('answers a wrong content type with 415 or 400 in the error shape', async () => {
    const before = await rowCounts();
    const body = JSON.stringify({ sku: uniqueId('CT-').toUpperCase(), name: 'x', priceMinor: 1, standardCostMinor: 1 });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const sent = await post('/items', 'ops', body, contentType);
      expect([400, 415], `${contentType} → ${sent.status}`).toContain(sent.status);
      expectRefusal(sent, contentType);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('answers an empty body on a POST that needs one with 400', async () => {
    const before = await rowCounts();
    for (const [url, role] of [
      ['/orders', 'system'],
      ['/items', 'ops'],
      ['/transfers', 'ops'],
      ['/orders/no-such-order/cancel', 'ops'],
    ] as const) {
      for (const payload of [undefined, '']) {
        const sent = await post(url, role, payload);
        expect(sent.status, `${url} empty → ${sent.status}`).toBe(400);
        expectRefusal(sent, `${url} empty`);
      }
      const bare = await stack.app.inject({ method: 'POST', url, headers: authAs(role) });
      expect(bare.statusCode, `${url} bare → ${bare.statusCode}`).toBe(400);
      expectRefusal({ status: bare.statusCode, body: bare.json() }, `${url} bare`);
    }
    expect(await rowCounts()).toEqual(before);
  });
});

describe('text the database cannot store', () => {
  it('a NUL character anywhere in a body is refused at the edge, even in a field that would reach a running process', async () => {
    const res = await stack.app.inject({
      method: 'POST',
      url: '/orders/any-order/cancel',
      headers: authAs('ops'),
      payload: { reason: 'customer\u0000called' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('NUL') });
  });
});
