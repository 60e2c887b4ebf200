/**
 * The ledger under real concurrency: many connections to one Postgres racing for the
 * same rows. Oversell, double resolution, double application of a key and deadlocks
 * are the bugs other commerce platforms shipped; each test counts exact outcomes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import { consumeReservation, LedgerError, receive, releaseReservations, reserve, type ReserveLine } from '../../db/ledger.js';
import { addItem, addWarehouse, balance, daysFromToday, lotBalance, stock, stockLot } from '../support/fixtures.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';

let db: Db;
let pool: Db;
beforeAll(async () => {
  const created = await createTestDatabase();
  db = created.db;
  // Wider than the concurrency anyone waits on, so requests really overlap in Postgres.
  pool = createDb(created.url, 40);
});
afterAll(async () => {
  const check = await checkLedger(db);
  expect(check.problems).toEqual([]);
  await pool.destroy();
  await db.destroy();
});

const ctx = (key: string) => ({ key: `conc:${key}`, actor: 'test', process: 'ledger-concurrency' });

/** Error code of a rejection: the LedgerError code, else the Postgres SQLSTATE, else the message. */
function codeOf(reason: unknown): string {
  if (reason instanceof LedgerError) return reason.code;
  const pgCode = (reason as { code?: unknown }).code;
  return typeof pgCode === 'string' ? `pg:${pgCode}` : String(reason);
}

function tally(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.status === 'fulfilled' ? 'ok' : codeOf(r.reason);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A small deterministic generator, so a failing mix can be run again. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return (n: number) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % n;
  };
}

async function checkOk() {
  const check = await checkLedger(db);
  expect(check.problems).toEqual([]);
}

describe('concurrent reservations of one sku', () => {
  it('300 reservations of 1 against 100 available: exactly 100 succeed, 200 are refused', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 100);
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        reserve(pool, ctx(`r1-${sku}-${i}`), { orderId: `o-${sku}-${i}`, channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 1 }] }),
      ),
    );
    expect(tally(results)).toEqual({ ok: 100, insufficient_stock: 200 });
    expect(await balance(db, sku, wh, 'available')).toBe(0);
    expect(await balance(db, sku, wh, 'allocated')).toBe(100);
    const reservations = await db.selectFrom('reservations').select(['qty', 'status']).where('sku', '=', sku).execute();
    expect(reservations).toHaveLength(100);
    expect(reservations.every((r) => r.qty === 1 && r.status === 'active')).toBe(true);
    const refusals = await db.selectFrom('ledger_refusals').select('id').where('sku', '=', sku).execute();
    expect(refusals).toHaveLength(200);
    await checkOk();
  });

  it('300 partial reservations of 3 against 100: exactly 100 reserved, 33 × 3 and one 1', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 100);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        reserve(pool, ctx(`r3-${sku}-${i}`), { orderId: `o-${sku}-${i}`, channel: 'dtc', allowPartial: true, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] }),
      ),
    );
    const reserved = results.map((r) => r.lines[0]!.reserved);
    expect(reserved.reduce((a, b) => a + b, 0)).toBe(100);
    expect(reserved.filter((q) => q === 3)).toHaveLength(33);
    expect(reserved.filter((q) => q === 1)).toHaveLength(1);
    expect(reserved.filter((q) => q === 0)).toHaveLength(266);
    // A line that got nothing has no reservation row.
    expect(results.filter((r) => r.lines[0]!.reservationId === null)).toHaveLength(266);
    expect(await balance(db, sku, wh, 'available')).toBe(0);
    expect(await balance(db, sku, wh, 'allocated')).toBe(100);
    const negative = await db.selectFrom('inventory_balances').select('qty').where('sku', '=', sku).where('bucket', 'in', ['available', 'allocated']).where('qty', '<', 0).execute();
    expect(negative).toEqual([]);
    await checkOk();
  });
});

describe('concurrent reservations of one lot-tracked sku', () => {
  it('300 reservations of 1 against two lots of 50: exactly 100 allocated, the earlier expiry first', async () => {
    const [sku, wh] = [await addItem(db, undefined, { lot_tracked: true }), await addWarehouse(db)];
    await stockLot(db, sku, wh, 50, 'LATE', daysFromToday(200));
    await stockLot(db, sku, wh, 50, 'EARLY', daysFromToday(100));
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        reserve(pool, ctx(`lot-${sku}-${i}`), { orderId: `o-${sku}-${i}`, channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 1 }] }),
      ),
    );
    expect(tally(results)).toEqual({ ok: 100, insufficient_stock: 200 });
    expect(await balance(db, sku, wh, 'allocated')).toBe(100);
    expect(await lotBalance(db, sku, wh, 'allocated', 'EARLY')).toBe(50);
    expect(await lotBalance(db, sku, wh, 'allocated', 'LATE')).toBe(50);
    expect(await lotBalance(db, sku, wh, 'available', 'EARLY')).toBe(0);
    // FEFO: every reservation of the earlier lot was made before any of the later one.
    const held = await db
      .selectFrom('reservation_lots')
      .innerJoin('reservations', 'reservations.id', 'reservation_lots.reservation_id')
      .select(['reservations.id', 'reservation_lots.lot', 'reservation_lots.qty'])
      .where('reservations.sku', '=', sku)
      .orderBy('reservations.id')
      .execute();
    expect(held).toHaveLength(100);
    expect(held.slice(0, 50).every((r) => r.lot === 'EARLY')).toBe(true);
    expect(held.slice(50).every((r) => r.lot === 'LATE')).toBe(true);
    await checkOk();
  });

  it('releases and shipments racing reservations of lots keep every lot exact', async () => {
    const [sku, wh] = [await addItem(db, undefined, { lot_tracked: true }), await addWarehouse(db)];
    await stockLot(db, sku, wh, 30, 'A', daysFromToday(30));
    await stockLot(db, sku, wh, 30, 'B', daysFromToday(60));
    const first = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        reserve(pool, ctx(`lotmix-${sku}-${i}`), { orderId: `o-${sku}-${i}`, channel: 'dtc', allowPartial: true, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 2 }] }),
      ),
    );
    const ids = first.map((r) => r.lines[0]!.reservationId!);
    await Promise.allSettled([
      ...ids.slice(0, 10).map((id) => releaseReservations(pool, ctx(`lotrel-${id}`), { reservationIds: [id] })),
      ...ids.slice(10).map((id) => consumeReservation(pool, ctx(`lotship-${id}`), { reservationId: id, qty: 2 })),
      ...Array.from({ length: 20 }, (_, i) =>
        reserve(pool, ctx(`lotmore-${sku}-${i}`), { orderId: `p-${sku}-${i}`, channel: 'dtc', allowPartial: true, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] }),
      ),
    ]);
    await checkOk();
    const total = (await balance(db, sku, wh, 'available')) + (await balance(db, sku, wh, 'allocated')) + (await balance(db, sku, wh, 'customer'));
    expect(total).toBe(60);
  });
});

describe('racing resolutions of one reservation', () => {
  it('release, expire and consume at once: exactly one resolves each reservation', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 100);
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await reserve(db, ctx(`race-r-${sku}-${i}`), { orderId: `o-${sku}-${i}`, channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 2 }] });
      ids.push(r.lines[0]!.reservationId!);
    }
    const kinds = ['released', 'expired', 'consumed'] as const;
    const pick = seeded(7);
    // The three racers of one reservation are queued next to each other, in a varying order.
    const racers = ids.flatMap((id) => {
      const order = [...kinds];
      for (let i = order.length - 1; i > 0; i--) {
        const j = pick(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      return order.map((kind) => ({
        id,
        kind,
        run: () =>
          kind === 'consumed'
            ? consumeReservation(pool, ctx(`race-c-${id}`), { reservationId: id, qty: 2 })
            : releaseReservations(pool, ctx(`race-${kind}-${id}`), { reservationIds: [id] }, kind),
      }));
    });
    const results = await Promise.allSettled(racers.map((r) => r.run()));

    const winners = new Map<number, string>();
    results.forEach((result, index) => {
      const { id, kind } = racers[index]!;
      if (result.status === 'fulfilled') {
        expect(winners.has(id), `reservation ${id} resolved twice`).toBe(false);
        winners.set(id, kind);
      } else {
        expect(codeOf(result.reason)).toBe('reservation_not_active');
      }
    });
    expect(winners.size).toBe(30);
    const rows = await db.selectFrom('reservations').select(['id', 'status', 'consumed_qty']).where('sku', '=', sku).execute();
    for (const row of rows) expect(row.status).toBe(winners.get(row.id));
    const consumed = [...winners.values()].filter((k) => k === 'consumed').length;
    expect(await balance(db, sku, wh, 'allocated')).toBe(0);
    expect(await balance(db, sku, wh, 'available')).toBe(100 - 2 * consumed);
    expect(await balance(db, sku, wh, 'customer')).toBe(2 * consumed);
    await checkOk();
  });
});

describe('racing resolutions of one multi-line order', () => {
  it('release by order and expiry by ids at once: one resolves every line, the other nothing', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 200);
    const orders: { orderId: string; ids: number[] }[] = [];
    for (let i = 0; i < 30; i++) {
      const orderId = `multi-${sku}-${i}`;
      // Line numbers descend while ids ascend: an order scan and an id scan meet the rows in opposite orders.
      const r = await reserve(db, ctx(`multi-r-${sku}-${i}`), {
        orderId,
        channel: 'dtc',
        allowPartial: false,
        lines: [3, 2, 1].map((lineNo) => ({ lineNo, sku, warehouse: wh, qty: 1 })),
      });
      orders.push({ orderId, ids: r.lines.map((l) => l.reservationId!) });
    }
    const results = await Promise.all(
      orders.map(async ({ orderId, ids }) => {
        const [byOrder, byIds] = await Promise.allSettled([
          releaseReservations(pool, ctx(`multi-rel-${orderId}`), { orderId }),
          releaseReservations(pool, ctx(`multi-exp-${orderId}`), { reservationIds: ids }, 'expired'),
        ]);
        return { byOrder, byIds };
      }),
    );
    const outcomes = { released: 0, expired: 0 };
    for (const { byOrder, byIds } of results) {
      expect(byOrder.status === 'rejected' ? codeOf(byOrder.reason) : 'ok').toBe('ok');
      const released = byOrder.status === 'fulfilled' ? byOrder.value.resolved.length : -1;
      if (byIds.status === 'fulfilled') {
        expect(byIds.value.resolved).toHaveLength(3);
        expect(released).toBe(0);
        outcomes.expired++;
      } else {
        expect(codeOf(byIds.reason)).toBe('reservation_not_active');
        expect(released).toBe(3);
        outcomes.released++;
      }
    }
    expect(outcomes.released + outcomes.expired).toBe(30);
    expect(await balance(db, sku, wh, 'allocated')).toBe(0);
    expect(await balance(db, sku, wh, 'available')).toBe(200);
    await checkOk();
  });
});

describe('the edge the mix steps around', () => {
  // A partial order that got nothing has no reservation ids; expiring "all of them"
  // must be an answer from the ledger, not `where id in ()` reaching Postgres.
  it('expiring an empty list of reservations is a ledger answer, not an SQL syntax error', async () => {
    const outcome = await releaseReservations(pool, ctx(`empty-${uniqueId()}`), { reservationIds: [] }, 'expired').then(
      (value) => ({ resolved: value.resolved }),
      (reason: unknown) => ({ refused: codeOf(reason) }),
    );
    expect([{ resolved: [] }, { refused: 'invalid_movement' }, { refused: 'reservation_not_active' }]).toContainEqual(outcome);
  });
});

describe('concurrent replays of one idempotency key', () => {
  it('20 callers with the same key and payload: one effect, one answer', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 10);
    const request = { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] };
    const key = ctx(`same-${sku}`);
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve(pool, key, request)));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const first = results.find((r) => !r.replayed)!;
    for (const r of results) expect(r.lines).toEqual(first.lines);
    expect(first.lines[0]).toMatchObject({ reserved: 3, requested: 3 });
    expect(await balance(db, sku, wh, 'available')).toBe(7);
    expect(await balance(db, sku, wh, 'allocated')).toBe(3);
    expect(await db.selectFrom('reservations').select('id').where('sku', '=', sku).execute()).toHaveLength(1);
    expect(await db.selectFrom('inventory_movements').select('id').where('operation_key', '=', key.key).execute()).toHaveLength(1);
    await checkOk();
  });

  it('20 callers replaying a refused key: every one is refused and nothing moves', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 2);
    const request = { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] };
    const key = ctx(`refused-${sku}`);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => reserve(pool, key, request)));
    expect(tally(results)).toEqual({ insufficient_stock: 20 });
    expect(await balance(db, sku, wh, 'available')).toBe(2);
    expect(await db.selectFrom('inventory_operations').select('idempotency_key').where('idempotency_key', '=', key.key).execute()).toEqual([]);
  });
});

describe('mixed traffic never deadlocks', () => {
  interface Place {
    sku: string;
    wh: string;
  }

  async function places(skus: number, warehouses: number, qty: number): Promise<Place[]> {
    const s = await Promise.all(Array.from({ length: skus }, () => addItem(db)));
    const w = await Promise.all(Array.from({ length: warehouses }, () => addWarehouse(db)));
    const all = s.flatMap((sku) => w.map((wh) => ({ sku, wh })));
    for (const p of all) await stock(db, p.sku, p.wh, qty);
    return all;
  }

  /** Reserves a random multi-line order, then releases, expires or partly ships it. */
  async function orderLife(all: Place[], pick: (n: number) => number, tag: string) {
    const lines: ReserveLine[] = Array.from({ length: 1 + pick(4) }, (_, i) => {
      const p = all[pick(all.length)]!;
      return { lineNo: i + 1, sku: p.sku, warehouse: p.wh, qty: 1 + pick(3) };
    });
    // Line numbers out of id order too: locks must not follow the request's order.
    if (pick(2) === 0) lines.reverse();
    const orderId = `mix-${tag}`;
    const made = await reserve(pool, ctx(`mix-r-${tag}`), { orderId, channel: 'dtc', allowPartial: pick(2) === 0, lines });
    const ids = made.lines.map((l) => l.reservationId).filter((id): id is number => id !== null);
    let shipped: { sku: string; wh: string; qty: number }[] = [];
    const how = pick(3);
    if (how === 0) {
      await releaseReservations(pool, ctx(`mix-rel-${tag}`), { orderId });
    } else if (how === 1) {
      if (ids.length === 0) return shipped;
      await releaseReservations(pool, ctx(`mix-exp-${tag}`), { reservationIds: [...ids].reverse() }, 'expired');
    } else {
      // Ship one unit of each line, then release the rest of the order.
      shipped = await Promise.all(
        made.lines
          .filter((l) => l.reservationId !== null)
          .map(async (l) => {
            await consumeReservation(pool, ctx(`mix-c-${tag}-${l.lineNo}`), { reservationId: l.reservationId!, qty: 1 });
            return { sku: l.sku, wh: l.warehouse, qty: 1 };
          }),
      );
      await releaseReservations(pool, ctx(`mix-rel-${tag}`), { orderId });
    }
    return shipped;
  }

  async function expectBooksMatch(all: Place[], start: number, shipped: { sku: string; wh: string; qty: number }[], received = new Map<string, number>()) {
    for (const p of all) {
      const out = shipped.filter((s) => s.sku === p.sku && s.wh === p.wh).reduce((a, s) => a + s.qty, 0);
      const into = received.get(`${p.sku}/${p.wh}`) ?? 0;
      expect(await balance(db, p.sku, p.wh, 'allocated')).toBe(0);
      expect(await balance(db, p.sku, p.wh, 'available')).toBe(start + into - out);
      expect(await balance(db, p.sku, p.wh, 'customer')).toBe(out);
    }
    await checkOk();
  }

  it('reserve and release across 3 skus × 3 warehouses, 200 orders at once', async () => {
    const all = await places(3, 3, 40);
    const pick = seeded(42);
    const run = uniqueId();
    // Draw every order's choices before starting, so the mix does not depend on timing.
    const plans = Array.from({ length: 200 }, (_, i) => {
      const draws = Array.from({ length: 40 }, () => pick(1_000_003));
      let next = 0;
      return { tag: `${run}-${i}`, pick: (n: number) => draws[next++]! % n };
    });
    const results = await Promise.allSettled(plans.map((p) => orderLife(all, p.pick, p.tag)));
    const counts = tally(results);
    expect(counts['pg:40P01'], 'deadlocks').toBeUndefined();
    // Only a short all-or-nothing order may fail, and it is refused whole.
    expect(Object.keys(counts).filter((k) => k !== 'ok' && k !== 'insufficient_stock')).toEqual([]);
    expect(counts.ok).toBeGreaterThan(100);
    const shipped = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    await expectBooksMatch(all, 40, shipped);
  });

  it('restocking skus while they are reserved and released never deadlocks', async () => {
    const all = await places(2, 2, 20);
    const pick = seeded(99);
    const run = uniqueId();
    const received = new Map<string, number>();
    const work: (() => Promise<{ sku: string; wh: string; qty: number }[]>)[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 4 === 0) {
        const p = all[pick(all.length)]!;
        const qty = 1 + pick(5);
        received.set(`${p.sku}/${p.wh}`, (received.get(`${p.sku}/${p.wh}`) ?? 0) + qty);
        work.push(async () => {
          await receive(pool, ctx(`restock-${run}-${i}`), { sku: p.sku, warehouse: p.wh, qty, into: 'available', fromInbound: 0, unitCostMinor: 800, landedCostMinor: 0 });
          return [];
        });
      } else {
        const draws = Array.from({ length: 40 }, () => pick(1_000_003));
        let next = 0;
        work.push(() => orderLife(all, (n) => draws[next++]! % n, `${run}-${i}`));
      }
    }
    const results = await Promise.allSettled(work.map((w) => w()));
    const counts = tally(results);
    expect(counts['pg:40P01'], 'deadlocks').toBeUndefined();
    expect(Object.keys(counts).filter((k) => k !== 'ok' && k !== 'insufficient_stock')).toEqual([]);
    // Every receipt landed (receipts cannot be refused), so the books are exact.
    const receipts = results.filter((r, i) => i % 4 === 0 && r.status === 'fulfilled');
    expect(receipts).toHaveLength(50);
    const shipped = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    await expectBooksMatch(all, 20, shipped, received);
  });
});
