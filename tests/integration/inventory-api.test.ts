import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { adjust, expectInbound, reserve } from '../../db/ledger.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

const ctx = () => ({ key: `test:${uniqueId()}`, actor: 'test', process: 'inventory-api-test' });
const get = (url: string, role: 'system' | 'ops' | 'buyer' | 'finance' | 'viewer' = 'viewer') =>
  stack.app.inject({ method: 'GET', url, headers: authAs(role) });

describe('GET /inventory', () => {
  it('shows every bucket, on-hand and ATP after stock is received and reserved', async () => {
    const [sku, wh, wh2] = [await addItem(stack.db), await addWarehouse(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 10);
    await stock(stack.db, sku, wh2, 4);
    await reserve(stack.db, ctx(), { orderId: uniqueId(), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] });
    await expectInbound(stack.db, ctx(), { sku, warehouse: wh, qty: 5 });

    const res = await get(`/inventory?sku=${sku}&warehouse=${wh}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().inventory).toEqual([
      { sku, warehouse: wh, available: 7, allocated: 3, inbound: 5, quarantine: 0, damaged: 0, returnPending: 0, inTransit: 0, onHand: 10, atp: 7 },
    ]);
    const withInbound = await get(`/inventory?sku=${sku}&warehouse=${wh}&includeInbound=true`);
    expect(withInbound.json().inventory[0]).toMatchObject({ atp: 12, onHand: 10 });

    const both = (await get(`/inventory?sku=${sku}`)).json().inventory;
    expect(both.map((r: { warehouse: string; available: number }) => [r.warehouse, r.available]).sort()).toEqual([[wh, 7], [wh2, 4]].sort());
    expect((await get(`/inventory?sku=${uniqueId('NONE-').toUpperCase()}`)).json().inventory).toEqual([]);
  });

  it('pages by sku@warehouse and refuses a bad flag or page size', async () => {
    const [sku, wh, wh2] = [await addItem(stack.db), await addWarehouse(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 1);
    await stock(stack.db, sku, wh2, 2);
    const first = (await get(`/inventory?sku=${sku}&limit=1`)).json();
    expect(first.inventory).toHaveLength(1);
    expect(first.nextAfter).toBe(`${sku}@${first.inventory[0].warehouse}`);
    const second = (await get(`/inventory?sku=${sku}&limit=1&after=${first.nextAfter}`)).json();
    expect(second.inventory).toHaveLength(1);
    expect(second.inventory[0].warehouse).not.toBe(first.inventory[0].warehouse);
    const third = (await get(`/inventory?sku=${sku}&limit=1&after=${second.nextAfter}`)).json();
    expect(third).toEqual({ inventory: [], nextAfter: null });

    for (const query of ['includeInbound=maybe', 'limit=0', 'limit=5001', 'after=nonsense', 'sku=lower']) {
      expect((await get(`/inventory?${query}`)).statusCode, query).toBe(400);
    }
  });

  it('never lists the outside accounts', async () => {
    const res = await get('/inventory?limit=5000');
    for (const row of res.json().inventory) {
      expect(Object.keys(row).sort()).toEqual(
        ['allocated', 'atp', 'available', 'damaged', 'inTransit', 'inbound', 'onHand', 'quarantine', 'returnPending', 'sku', 'warehouse'],
      );
    }
  });
});

describe('GET /channels/:channel/availability', () => {
  it('sums available across warehouses and applies safety stock and the channel buffer', async () => {
    const sku = await addItem(stack.db, undefined, { safety_stock: 2 });
    const [wh, wh2] = [await addWarehouse(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 12);
    await stock(stack.db, sku, wh2, 10);
    const set = await stack.app.inject({
      method: 'POST',
      url: '/channels',
      headers: authAs('ops'),
      payload: { code: 'marketplace', name: 'Marketplaces', reservationPriority: 4, atsBufferPct: 10, atsBufferQty: 1, shortagePolicy: 'cancel_remainder' },
    });
    expect(set.statusCode).toBe(200);

    const market = await get(`/channels/marketplace/availability?sku=${sku}`);
    expect(market.statusCode).toBe(200);
    // 22 available − 2 safety = 20 sellable; buffer ceil(10% × 20) + 1 = 3
    expect(market.json()).toMatchObject({ channel: 'marketplace', bufferPct: 10, bufferQty: 1, skus: [{ sku, available: 22, safetyStock: 2, ats: 17 }] });
    const dtc = await get(`/channels/dtc/availability?sku=${sku}`);
    expect(dtc.json().skus).toEqual([{ sku, available: 22, safetyStock: 2, ats: 20 }]);

    const empty = await addItem(stack.db, undefined, { safety_stock: 5 });
    expect((await get(`/channels/dtc/availability?sku=${empty}`)).json().skus).toEqual([{ sku: empty, available: 0, safetyStock: 5, ats: 0 }]);
  });

  it('answers 404 for an unknown channel', async () => {
    const res = await get('/channels/telepathy/availability');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});

describe('ledger visibility', () => {
  it('runs the reconciliation check on demand', async () => {
    const res = await get('/ledger/check', 'finance');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, problems: [] });
    expect(res.json().counted.movements).toBeGreaterThan(0);
  });

  it('lists refusals newest first', async () => {
    const [sku, wh] = [await addItem(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 2);
    for (const qty of [5, 7]) {
      await expect(
        reserve(stack.db, ctx(), { orderId: uniqueId(), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty }] }),
      ).rejects.toMatchObject({ code: 'insufficient_stock' });
    }
    const res = await get('/ledger/refusals?limit=2', 'ops');
    expect(res.statusCode).toBe(200);
    expect(res.json().refusals).toMatchObject([
      { sku, warehouse: wh, kind: 'reserve', bucket: 'available', requested: 7, onHand: 2, process: 'inventory-api-test' },
      { sku, warehouse: wh, requested: 5 },
    ]);
  });
});

interface FeedEvent {
  cursor: string;
  id: number;
  topic: string;
  key: string;
  payload: unknown;
}
interface Feed {
  events: FeedEvent[];
  nextCursor: string | null;
}

async function readFeed(after: string | null, limit = 1_000): Promise<Feed> {
  const res = await get(`/events?limit=${limit}${after ? `&after=${after}` : ''}`, 'system');
  expect(res.statusCode).toBe(200);
  return res.json() as Feed;
}

/**
 * The whole feed once every committed event is in it: a transaction running elsewhere
 * on the server (another test file) holds the feed back for a moment.
 */
async function caughtUpFeed(): Promise<FeedEvent[]> {
  const committed = (await stack.db.selectFrom('outbox_events').select('id').execute()).map((r) => r.id);
  return eventually(async () => {
    const events: FeedEvent[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await readFeed(after);
      events.push(...page.events);
      if (page.events.length < 1_000) break;
      after = page.nextCursor;
    }
    const seen = new Set(events.map((e) => e.id));
    return committed.every((id) => seen.has(id)) ? events : undefined;
  }, 20_000, 'the feed to catch up');
}

const order = (cursor: string) => cursor.split('-').map(BigInt) as [bigint, bigint];
const before = (a: string, b: string) => {
  const [[ta, ia], [tb, ib]] = [order(a), order(b)];
  return ta < tb || (ta === tb && ia < ib);
};

describe('GET /events', () => {
  it('pages in (transaction, id) order with cursors, never returning an event twice', async () => {
    const wh = await addWarehouse(stack.db);
    for (let i = 0; i < 7; i++) await stock(stack.db, await addItem(stack.db), wh, i + 1);
    const all = await caughtUpFeed();
    expect(all.length).toBeGreaterThanOrEqual(7);
    for (let i = 1; i < all.length; i++) expect(before(all[i - 1]!.cursor, all[i]!.cursor)).toBe(true);
    expect(all.find((e) => e.topic === 'availability.changed')?.payload).toMatchObject({ available: expect.any(Number) });

    const paged: FeedEvent[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 1_000; guard++) {
      const page = await readFeed(cursor, 3);
      paged.push(...page.events);
      if (page.events.length === 0) {
        expect(page.nextCursor).toBe(cursor);
        break;
      }
      expect(page.nextCursor).toBe(page.events.at(-1)!.cursor);
      cursor = page.nextCursor;
    }
    expect(new Set(paged.map((e) => e.id)).size).toBe(paged.length);
    expect(paged.map((e) => e.cursor)).toEqual(all.map((e) => e.cursor));
  });

  it('refuses a malformed cursor or page size with 400', async () => {
    for (const query of ['after=abc', 'after=12-', 'after=-12', 'after=1-2-3', 'after=18446744073709551616-1', 'after=1-99999999999999999', 'limit=0', 'limit=1001']) {
      const res = await get(`/events?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
    const empty = await readFeed('18446744073709551615-1');
    expect(empty).toEqual({ events: [], nextCursor: '18446744073709551615-1' });
  });

  it('holds back an event that commits after a later-numbered one, then returns it first', async () => {
    const tail = (await caughtUpFeed()).at(-1)!.cursor;
    const a = new pg.Client({ connectionString: stack.databaseUrl });
    const b = new pg.Client({ connectionString: stack.databaseUrl });
    await a.connect();
    await b.connect();
    const insert = (client: pg.Client, key: string) =>
      client.query(`insert into outbox_events (topic, key, payload) values ('test.ordering', $1, '{}')`, [key]);
    try {
      await a.query('begin');
      await insert(a, 'A');
      await b.query('begin');
      await insert(b, 'B');
      await b.query('commit');
      const committedB = await stack.db.selectFrom('outbox_events').select('id').where('topic', '=', 'test.ordering').execute();
      expect(committedB).toHaveLength(1);

      // B is committed and visible, but A (an older transaction) is still open: B waits.
      const held = await readFeed(tail);
      expect(held.events).toEqual([]);
      expect(held.nextCursor).toBe(tail);

      await a.query('commit');
      const released = await eventually(async () => {
        const page = await readFeed(tail);
        return page.events.length === 2 ? page : undefined;
      }, 20_000, 'both events in the feed');
      expect(released.events.map((e) => e.key)).toEqual(['A', 'B']);
      expect(released.events[0]!.id).toBeLessThan(released.events[1]!.id);
      expect(released.nextCursor).toBe(released.events[1]!.cursor);
    } finally {
      await a.query('rollback').catch(() => undefined);
      await a.end();
      await b.end();
    }
  });
});

describe('journal and trial balance', () => {
  it('shows the entry an adjustment posts, and a balanced trial balance', async () => {
    const sku = await addItem(stack.db, undefined, { average_cost_minor: 800 });
    const wh = await addWarehouse(stack.db);
    await adjust(stack.db, ctx(), { sku, warehouse: wh, delta: 3, reasonCode: 'cycle_count' });
    await adjust(stack.db, ctx(), { sku, warehouse: wh, delta: -1, reasonCode: 'damaged_on_shelf' });

    const journal = await get(`/journal?ref=${encodeURIComponent(`${sku}@${wh}`)}`, 'finance');
    expect(journal.statusCode).toBe(200);
    expect(journal.json().entries).toMatchObject([
      {
        eventType: 'inventory.adjusted',
        reference: `${sku}@${wh}`,
        memo: 'damaged_on_shelf',
        lines: [
          { account: '5200', debitMinor: 800, creditMinor: 0 },
          { account: '1300', debitMinor: 0, creditMinor: 800 },
        ],
      },
      {
        memo: 'cycle_count',
        lines: [
          { account: '1300', debitMinor: 2_400, creditMinor: 0 },
          { account: '5200', debitMinor: 0, creditMinor: 2_400 },
        ],
      },
    ]);
    expect((await get('/journal?limit=1')).json().entries).toHaveLength(1);

    const trial = await get('/trial-balance', 'finance');
    expect(trial.statusCode).toBe(200);
    const body = trial.json();
    expect(body.balanced).toBe(true);
    expect(body.totalDebits).toBe(body.totalCredits);
    expect(body.totalDebits).toBeGreaterThanOrEqual(3_200);
    expect(body.accounts.find((a: { code: string }) => a.code === '1300')).toMatchObject({ type: 'asset', debits: expect.any(Number) });
    expect((await stack.app.inject({ method: 'GET', url: '/trial-balance' })).statusCode).toBe(401);
  });
});
