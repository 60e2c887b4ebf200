import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import { journalEntries, postEntry, reverseEntry, trialBalance } from '../../db/journal.js';
import {
  adjust,
  consumeReservation,
  dispose,
  expectInbound,
  inspect,
  LedgerError,
  move,
  receive,
  releaseReservations,
  reserve,
  returnReceive,
  transferIn,
  transferOut,
} from '../../db/ledger.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';

let db: Db;
beforeAll(async () => {
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  const check = await checkLedger(db);
  expect(check.problems).toEqual([]);
  await db.destroy();
});

const ctx = (step = uniqueId()) => ({ key: `test:${step}`, actor: 'test', process: 'ledger-test', step });

describe('reservations', () => {
  it('moves available to allocated and refuses more than is there, writing nothing', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 10);
    const ok = await reserve(db, ctx(), { orderId: 'o1', channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 4 }] });
    expect(ok.lines[0]).toMatchObject({ reserved: 4, requested: 4 });
    expect(await balance(db, sku, wh, 'available')).toBe(6);
    expect(await balance(db, sku, wh, 'allocated')).toBe(4);

    const refusal = reserve(db, ctx('too-many'), { orderId: 'o2', channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 7 }] });
    await expect(refusal).rejects.toMatchObject({ code: 'insufficient_stock', details: { onHand: 6, requested: 7 } });
    expect(await balance(db, sku, wh, 'available')).toBe(6);
    const refused = await db.selectFrom('ledger_refusals').selectAll().where('sku', '=', sku).execute();
    expect(refused).toHaveLength(1);
    expect(await db.selectFrom('reservations').selectAll().where('order_id', '=', 'o2').execute()).toEqual([]);
  });

  it('checks two lines of one order for the same sku together, not each against the same figure', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 5);
    const request = {
      orderId: uniqueId(),
      channel: 'dtc',
      allowPartial: false,
      lines: [
        { lineNo: 1, sku, warehouse: wh, qty: 3 },
        { lineNo: 2, sku, warehouse: wh, qty: 3 },
      ],
    };
    await expect(reserve(db, ctx(), request)).rejects.toMatchObject({ code: 'insufficient_stock' });
    const partial = await reserve(db, ctx(), { ...request, allowPartial: true });
    expect(partial.lines.map((l) => l.reserved)).toEqual([3, 2]);
    expect(await balance(db, sku, wh, 'available')).toBe(0);
  });

  it('consumes partially, then releases the rest; a resolved reservation resolves no more', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 10);
    const r = await reserve(db, ctx(), { orderId: uniqueId(), channel: 'wholesale', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 6 }] });
    const id = r.lines[0]!.reservationId!;
    const shipped = await consumeReservation(db, ctx(), { reservationId: id, qty: 4 });
    expect(shipped).toMatchObject({ remaining: 2, status: 'active' });
    await expect(consumeReservation(db, ctx(), { reservationId: id, qty: 3 })).rejects.toMatchObject({ code: 'reservation_not_active' });
    const released = await releaseReservations(db, ctx(), { reservationIds: [id] });
    expect(released.resolved).toEqual([{ reservationId: id, sku, warehouse: wh, qty: 2 }]);
    expect(await balance(db, sku, wh, 'available')).toBe(6);
    expect(await balance(db, sku, wh, 'customer')).toBe(4);
    await expect(releaseReservations(db, ctx(), { reservationIds: [id] }, 'expired')).rejects.toMatchObject({ code: 'reservation_not_active' });
  });
});

describe('idempotency', () => {
  it('applies a key once: a replay returns the first result and moves nothing', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 10);
    const key = ctx('once');
    const request = { orderId: uniqueId(), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] };
    const first = await reserve(db, key, request);
    const again = await reserve(db, key, request);
    expect(first.replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(again.lines).toEqual(first.lines);
    expect(await balance(db, sku, wh, 'allocated')).toBe(3);
    await expect(reserve(db, key, { ...request, lines: [{ ...request.lines[0]!, qty: 4 }] })).rejects.toMatchObject({ code: 'idempotency_conflict' });
  });

  it('every movement kind twice has one effect', async () => {
    const [sku, wh, wh2] = [await addItem(db), await addWarehouse(db), await addWarehouse(db)];
    const steps: [string, () => Promise<unknown>][] = [
      ['inbound', () => expectInbound(db, ctx('k-inbound-' + sku), { sku, warehouse: wh, qty: 20 })],
      ['receive', () => receive(db, ctx('k-receive-' + sku), { sku, warehouse: wh, qty: 12, into: 'quarantine', fromInbound: 10, unitCostMinor: 900, landedCostMinor: 120 })],
      ['inspect', () => inspect(db, ctx('k-inspect-' + sku), { sku, warehouse: wh, accepted: 10, rejected: 2 })],
      ['transfer out', () => transferOut(db, ctx('k-tout-' + sku), { sku, from: wh, to: wh2, qty: 4 })],
      ['transfer in', () => transferIn(db, ctx('k-tin-' + sku), { sku, warehouse: wh2, received: 3, lost: 1 })],
      ['adjust', () => adjust(db, ctx('k-adjust-' + sku), { sku, warehouse: wh, delta: -1, reasonCode: 'damaged_on_shelf' })],
      ['return', () => returnReceive(db, ctx('k-return-' + sku), { sku, warehouse: wh, qty: 1 })],
      ['dispose', () => dispose(db, ctx('k-dispose-' + sku), { sku, warehouse: wh, qty: 1, from: 'return_pending', disposition: 'restock' })],
    ];
    for (const [, step] of steps) {
      await step();
      await step();
    }
    const buckets = await db.selectFrom('inventory_balances').select(['warehouse_code', 'bucket', 'qty']).where('sku', '=', sku).execute();
    const at = (w: string, b: string) => buckets.find((x) => x.warehouse_code === w && x.bucket === b)?.qty ?? 0;
    expect(at(wh, 'inbound')).toBe(10);
    expect(at(wh, 'available')).toBe(10 - 4 - 1 + 1);
    expect(at(wh, 'damaged')).toBe(2);
    expect(at(wh2, 'available')).toBe(3);
    expect(at(wh2, 'adjustment')).toBe(1);
    const journal = await db.selectFrom('journal_entries').selectAll().where('reference', '=', `${sku}@${wh}`).execute();
    expect(journal).toHaveLength(1);
  });
});

describe('the database refuses the impossible even when the code is wrong', () => {
  it('a balance below zero violates a CHECK constraint', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await stock(db, sku, wh, 1);
    await expect(
      sql`update inventory_balances set qty = -1 where sku = ${sku} and warehouse_code = ${wh} and bucket = 'available'`.execute(db),
    ).rejects.toThrow(/balance_never_negative/);
  });

  it('an unbalanced journal entry is refused at commit; movements cannot be edited', async () => {
    await expect(
      db.transaction().execute(async (tx) => {
        const entry = await sql<{ id: number }>`
          insert into journal_entries (idempotency_key, event_type, reference, payload_hash, actor)
          values (${uniqueId('bad-')}, 'test', 'x', 'h', 'test') returning id`.execute(tx);
        const id = entry.rows[0]!.id;
        await sql`insert into journal_lines (entry_id, line_no, account_code, debit_minor) values (${id}, 1, '1000', 100)`.execute(tx);
        await sql`insert into journal_lines (entry_id, line_no, account_code, credit_minor) values (${id}, 2, '4000', 99)`.execute(tx);
      }),
    ).rejects.toThrow(/does not balance/);
    await expect(sql`delete from inventory_movements`.execute(db)).rejects.toThrow(/append-only/);
  });

  it('refuses a leg that goes nowhere or a quantity that is not a positive integer', async () => {
    const [sku, wh] = [await addItem(db), await addWarehouse(db)];
    await expect(
      move(db, ctx(), 'test', [{ sku, qty: 1.5, from: { warehouse: wh, bucket: 'adjustment' }, to: { warehouse: wh, bucket: 'available' } }]),
    ).rejects.toBeInstanceOf(LedgerError);
    await expect(
      move(db, ctx(), 'test', [{ sku, qty: 1, from: { warehouse: wh, bucket: 'available' }, to: { warehouse: wh, bucket: 'available' } }]),
    ).rejects.toMatchObject({ code: 'invalid_movement' });
  });
});

describe('average cost', () => {
  it('takes in each receipt at its cost plus landed cost, to the minor unit', async () => {
    const [sku, wh] = [await addItem(db, undefined, { average_cost_minor: 0 }), await addWarehouse(db)];
    const first = await receive(db, ctx(), { sku, warehouse: wh, qty: 10, into: 'available', fromInbound: 0, unitCostMinor: 1_000, landedCostMinor: 0 });
    expect(first.averageCostMinor).toBe(1_000);
    // (10 × 1000 + 5 × 1300 + 250) / 15 = 16750 / 15 = 1116.67 → 1117
    const second = await receive(db, ctx(), { sku, warehouse: wh, qty: 5, into: 'available', fromInbound: 0, unitCostMinor: 1_300, landedCostMinor: 250 });
    expect(second).toMatchObject({ previousAverageCostMinor: 1_000, averageCostMinor: 1_117 });
  });
});

describe('outbox', () => {
  it('writes an availability event per warehouse with its new available balance in the moving transaction', async () => {
    const [sku, wh] = [await addItem(db, undefined, { safety_stock: 2 }), await addWarehouse(db)];
    await stock(db, sku, wh, 22);
    const events = await db.selectFrom('outbox_events').selectAll().where('key', '=', sku).orderBy('id').execute();
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toEqual({ sku, warehouse: wh, available: 22 });
  });
});

describe('financial journal', () => {
  it('posts once per key, refuses other lines under the same key, and reverses by a new entry', async () => {
    const key = uniqueId('event-');
    const lines = [
      { account: '1100', debitMinor: 10_650 },
      { account: '4000', creditMinor: 9_000 },
      { account: '2200', creditMinor: 720 },
      { account: '4100', creditMinor: 930 },
    ];
    const first = await postEntry(db, { key, eventType: 'test.sale', reference: key, actor: 'test', lines });
    const again = await postEntry(db, { key, eventType: 'test.sale', reference: key, actor: 'test', lines });
    expect(again).toEqual({ entryId: first.entryId, replayed: true });
    await expect(
      postEntry(db, { key, eventType: 'test.sale', reference: key, actor: 'test', lines: [lines[0]!, { account: '4000', creditMinor: 10_650 }] }),
    ).rejects.toMatchObject({ code: 'idempotency_conflict' });
    await expect(
      postEntry(db, { key: uniqueId(), eventType: 'test', reference: key, actor: 'test', lines: [{ account: '1100', debitMinor: 5 }, { account: '4000', creditMinor: 4 }] }),
    ).rejects.toMatchObject({ code: 'unbalanced_entry' });

    const reversal = await reverseEntry(db, first.entryId, `${key}:reversal`, 'test', 'entered twice by mistake');
    const entries = await journalEntries(db, { reference: key, limit: 10 });
    expect(entries.map((e) => e.eventType).sort()).toEqual(['test.sale', 'test.sale.reversed']);
    const reversed = entries.find((e) => e.id === reversal.entryId)!;
    expect(reversed.reversesEntryId).toBe(first.entryId);
    // In the functional currency at rate 1, the amount in it equal to the functional amount.
    expect(reversed.lines).toEqual(
      lines.map((l) =>
        l.debitMinor
          ? { account: l.account, debitMinor: 0, creditMinor: l.debitMinor, currency: 'USD', amountDebitMinor: 0, amountCreditMinor: l.debitMinor, rate: '1' }
          : { account: l.account, debitMinor: l.creditMinor, creditMinor: 0, currency: 'USD', amountDebitMinor: l.creditMinor, amountCreditMinor: 0, rate: '1' },
      ),
    );
    const net = new Map<string, number>();
    for (const entry of entries) for (const l of entry.lines) net.set(l.account, (net.get(l.account) ?? 0) + l.debitMinor - l.creditMinor);
    expect([...net.values()].every((v) => v === 0)).toBe(true);
    expect((await trialBalance(db)).balanced).toBe(true);
  });
});
