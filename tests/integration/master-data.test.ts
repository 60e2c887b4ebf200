import { describe, expect, it } from 'vitest';
import type { Role } from '../../api/auth.js';
import type { Database } from '../../db/schema.js';
import { authAs, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

const newSku = () => uniqueId('SKU-').toUpperCase();
const newWarehouse = () => uniqueId('W').toUpperCase().slice(0, 8);

const anItem = (sku: string, overrides: Record<string, unknown> = {}) => ({
  sku,
  name: `Item ${sku}`,
  priceMinor: 2_500,
  standardCostMinor: 900,
  ...overrides,
});

const aWarehouse = (code: string, overrides: Record<string, unknown> = {}) => ({
  code,
  name: `Warehouse ${code}`,
  lat: 40.7128,
  lon: -74.006,
  freightBaseMinor: 500,
  freightPerKmMinor: 2,
  dailyCapacity: 800,
  zones: [{ code: 'A', bins: ['A-01', 'A-02'] }],
  ...overrides,
});

const post = (url: string, payload: unknown, role: Role = 'ops') =>
  stack.app.inject({ method: 'POST', url, headers: authAs(role), payload: payload as Record<string, unknown> });
const get = (url: string, role: Role = 'viewer') => stack.app.inject({ method: 'GET', url, headers: authAs(role) });

async function count(table: keyof Database): Promise<number> {
  const row = await stack.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('items', () => {
  it('creates an item whose average cost starts at the standard cost, and reads it back', async () => {
    const sku = newSku();
    const res = await post('/items', anItem(sku, { skuClass: 'A', safetyStock: 4, requiresInspection: true }));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      sku,
      created: true,
      uom: 'each',
      priceMinor: 2_500,
      standardCostMinor: 900,
      averageCostMinor: 900,
      skuClass: 'A',
      safetyStock: 4,
      requiresInspection: true,
      lotTracked: false,
      substitutes: [],
      active: true,
    });
    const one = await get(`/items/${sku}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ sku, averageCostMinor: 900 });
    const list = await get('/items?limit=1000');
    expect(list.json().items.map((i: { sku: string }) => i.sku)).toContain(sku);
    expect((await get(`/items/${newSku()}`)).statusCode).toBe(404);
  });

  it('answers the same item again with 200 created:false, and other content under the same sku with 409', async () => {
    const sku = newSku();
    expect((await post('/items', anItem(sku))).statusCode).toBe(201);
    const again = await post('/items', anItem(sku));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ sku, created: false });
    const other = await post('/items', anItem(sku, { priceMinor: 2_600 }));
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('duplicate_sku');
    expect((await get(`/items/${sku}`)).json().priceMinor).toBe(2_500);
  });

  it('refuses a bad sku, a price beyond 2^53 and a negative cost with 400, writing nothing', async () => {
    const before = await count('items');
    for (const body of [
      anItem('lower-case'),
      anItem('AB'),
      anItem('-LEADING-DASH'),
      anItem(newSku(), { priceMinor: Number.MAX_SAFE_INTEGER + 2 }),
      anItem(newSku(), { standardCostMinor: -1 }),
      anItem(newSku(), { priceMinor: 10.5 }),
      anItem(newSku(), { skuClass: 'D' }),
    ]) {
      const res = await post('/items', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
    expect(await count('items')).toBe(before);
  });

  it('accepts substitutes that exist, and refuses an unknown one or the item itself with 422, naming it', async () => {
    const base = newSku();
    await post('/items', anItem(base));
    const withSub = newSku();
    const ok = await post('/items', anItem(withSub, { substitutes: [base] }));
    expect(ok.statusCode).toBe(201);
    expect(ok.json().substitutes).toEqual([base]);

    const before = await count('items');
    const ghost = newSku();
    const unknown = await post('/items', anItem(newSku(), { substitutes: [base, ghost] }));
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.code).toBe('unknown_sku');
    expect(unknown.json().error.details).toEqual([{ in: 'body', path: 'substitutes.1', message: `unknown sku ${ghost}` }]);
    const self = newSku();
    const itself = await post('/items', anItem(self, { substitutes: [self] }));
    expect(itself.statusCode).toBe(422);
    expect(itself.json().error).toMatchObject({ code: 'self_substitute', message: expect.stringContaining('cannot substitute itself') });
    expect(await count('items')).toBe(before);
  });
});

describe('roles', () => {
  it('needs a key (401); a viewer or buyer may not create items (403); any role reads', async () => {
    const sku = newSku();
    const none = await stack.app.inject({ method: 'POST', url: '/items', payload: anItem(sku) });
    expect(none.statusCode).toBe(401);
    expect((await post('/items', anItem(sku), 'viewer')).statusCode).toBe(403);
    expect((await post('/items', anItem(sku), 'buyer')).statusCode).toBe(403);
    expect((await post('/warehouses', aWarehouse(newWarehouse()), 'system')).statusCode).toBe(403);
    expect((await post('/channels', { code: 'dtc', name: 'x', reservationPriority: 1 }, 'finance')).statusCode).toBe(403);
    expect(await stack.db.selectFrom('items').select('sku').where('sku', '=', sku).executeTakeFirst()).toBeUndefined();
    for (const role of ['system', 'ops', 'buyer', 'finance', 'viewer'] as const) {
      expect((await get('/items', role)).statusCode).toBe(200);
      expect((await get('/warehouses', role)).statusCode).toBe(200);
    }
    expect((await stack.app.inject({ method: 'GET', url: '/items' })).statusCode).toBe(401);
  });
});

describe('warehouses', () => {
  it('creates a warehouse with zones, lists it, and treats a repeat like items do', async () => {
    const code = newWarehouse();
    const res = await post('/warehouses', aWarehouse(code));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ code, created: true, lat: 40.7128, dailyCapacity: 800, zones: [{ code: 'A', bins: ['A-01', 'A-02'] }] });
    const again = await post('/warehouses', aWarehouse(code));
    expect(again.statusCode).toBe(200);
    expect(again.json().created).toBe(false);
    const other = await post('/warehouses', aWarehouse(code, { dailyCapacity: 900 }));
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('duplicate_warehouse');
    const list = await get('/warehouses');
    expect(list.json().warehouses.find((w: { code: string }) => w.code === code)).toMatchObject({ freightPerKmMinor: 2 });
  });

  it('refuses a bad code or latitude with 400 and a repeated zone with 422, writing nothing', async () => {
    const before = await count('warehouses');
    for (const body of [aWarehouse('east coast'), aWarehouse(newWarehouse(), { lat: 91 }), aWarehouse(newWarehouse(), { dailyCapacity: -1 })]) {
      expect((await post('/warehouses', body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    const repeated = await post('/warehouses', aWarehouse(newWarehouse(), { zones: [{ code: 'A', bins: [] }, { code: 'A', bins: [] }] }));
    expect(repeated.statusCode).toBe(422);
    expect(repeated.json().error.code).toBe('repeated_zone');
    expect(await count('warehouses')).toBe(before);
  });
});

describe('suppliers', () => {
  it('creates a supplier with its items and lanes in one go; a buyer may; reads show them', async () => {
    const [a, b] = [newSku(), newSku()];
    await post('/items', anItem(a));
    await post('/items', anItem(b));
    const wh = newWarehouse();
    await post('/warehouses', aWarehouse(wh));
    const id = uniqueId('sup-');
    const body = {
      id,
      name: 'Acme Textiles',
      defaultLeadTimeDays: 21,
      items: [
        { sku: b, unitCostMinor: 700, moq: 50, packSize: 10 },
        { sku: a, unitCostMinor: 650 },
      ],
      lanes: [{ warehouse: wh, leadTimeDays: 14 }],
    };
    const res = await post('/suppliers', body, 'buyer');
    expect(res.statusCode).toBe(201);
    expect(res.json().created).toBe(true);

    const one = await get(`/suppliers/${id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      id,
      name: 'Acme Textiles',
      defaultLeadTimeDays: 21,
      items: expect.arrayContaining([
        { sku: a, unitCostMinor: 650, moq: 1, packSize: 1 },
        { sku: b, unitCostMinor: 700, moq: 50, packSize: 10 },
      ]),
      lanes: [{ warehouse: wh, leadTimeDays: 14 }],
    });
    expect((await get('/suppliers')).json().suppliers.map((s: { id: string }) => s.id)).toContain(id);

    const again = await post('/suppliers', { ...body, items: [...body.items].reverse() });
    expect(again.statusCode).toBe(200);
    expect(again.json().created).toBe(false);
    const other = await post('/suppliers', { ...body, lanes: [{ warehouse: wh, leadTimeDays: 15 }] });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('duplicate_supplier');
    expect((await get(`/suppliers/${uniqueId('none-')}`)).statusCode).toBe(404);
  });

  it('refuses an unknown sku or warehouse, or a sku twice, with 422 naming it, and writes no supplier row', async () => {
    const known = newSku();
    await post('/items', anItem(known));
    const [ghostSku, ghostWarehouse] = [newSku(), newWarehouse()];
    const before = { suppliers: await count('suppliers'), items: await count('supplier_items'), lanes: await count('supplier_lanes') };
    const id = uniqueId('sup-');
    const bad = await post('/suppliers', {
      id,
      name: 'Ghost Goods',
      defaultLeadTimeDays: 10,
      items: [
        { sku: known, unitCostMinor: 100 },
        { sku: ghostSku, unitCostMinor: 100 },
      ],
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('unknown_sku');
    expect(bad.json().error.details).toEqual([{ in: 'body', path: 'items.1.sku', message: `unknown sku ${ghostSku}` }]);
    const badLane = await post('/suppliers', {
      id,
      name: 'Ghost Goods',
      defaultLeadTimeDays: 10,
      items: [{ sku: known, unitCostMinor: 100 }],
      lanes: [{ warehouse: ghostWarehouse, leadTimeDays: 3 }],
    });
    expect(badLane.statusCode).toBe(422);
    expect(badLane.json().error).toMatchObject({ code: 'unknown_warehouse', message: expect.stringContaining(`unknown warehouse ${ghostWarehouse}`) });
    const repeated = await post('/suppliers', {
      id,
      name: 'Ghost Goods',
      defaultLeadTimeDays: 10,
      items: [
        { sku: known, unitCostMinor: 100 },
        { sku: known, unitCostMinor: 90 },
      ],
    });
    expect(repeated.statusCode).toBe(422);
    expect(repeated.json().error.code).toBe('repeated_sku');
    expect(await stack.db.selectFrom('suppliers').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();
    expect({ suppliers: await count('suppliers'), items: await count('supplier_items'), lanes: await count('supplier_lanes') }).toEqual(before);
  });
});

describe('channels', () => {
  it('upserts settings, publishes a channel.updated event only when something changed', async () => {
    const settings = {
      code: 'wholesale',
      name: 'Wholesale accounts',
      reservationPriority: 3,
      atsBufferQty: 5,
      atsBufferPct: 0,
      shortagePolicy: 'wait',
      webhookUrl: 'https://b2b.example.com/hooks/stock',
    };
    const eventsFor = async () =>
      (await stack.db.selectFrom('outbox_events').selectAll().where('topic', '=', 'channel.updated').where('key', '=', 'wholesale').execute()).length;
    const before = await eventsFor();
    const res = await post('/channels', settings);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ...settings, changed: true });
    expect(await eventsFor()).toBe(before + 1);
    const same = await post('/channels', settings);
    expect(same.json().changed).toBe(false);
    expect(await eventsFor()).toBe(before + 1);

    const list = await get('/channels');
    expect(list.json().channels.find((c: { code: string }) => c.code === 'wholesale')).toMatchObject({ atsBufferQty: 5, webhookUrl: settings.webhookUrl });
    expect(list.json().channels.map((c: { code: string }) => c.code)).toEqual(['dtc', 'subscription', 'wholesale', 'marketplace']);
  });

  it('refuses an unknown channel code, a bad policy or a percentage over 100', async () => {
    for (const body of [
      { code: 'telepathy', name: 'x', reservationPriority: 1 },
      { code: 'dtc', name: 'x', reservationPriority: 1, shortagePolicy: 'hope' },
      { code: 'dtc', name: 'x', reservationPriority: 1, atsBufferPct: 101 },
      { code: 'dtc', name: 'x', reservationPriority: 1, webhookUrl: 'ftp://example.com' },
    ]) {
      expect((await post('/channels', body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await get('/channels')).json().channels.find((c: { code: string }) => c.code === 'dtc').name).toBe('Direct to consumer');
  });
});

describe('OpenAPI', () => {
  it('documents the master data routes', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().paths)).toEqual(
      expect.arrayContaining(['/items', '/items/{sku}', '/warehouses', '/suppliers', '/suppliers/{id}', '/channels']),
    );
  });
});
