/**
 * Property tests of the ledger: random sequences of business movements, some of which
 * must be refused, run against Postgres beside a model kept here. After each sequence
 * the books reconcile, no stock bucket is negative, the model equals the database,
 * and replaying any applied operation with its key changes nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import {
  adjust,
  consumeReservation,
  dispose,
  inspect,
  LedgerError,
  receive,
  releaseReservations,
  reserve,
  returnReceive,
  transferIn,
  transferOut,
  type Disposition,
  type Leg,
} from '../../db/ledger.js';
import { outsideAccounts, stockBuckets, type Bucket, type ReservationStatus } from '../../db/schema.js';
import { addItem, addWarehouse } from '../support/fixtures.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';

let db: Db;
beforeAll(async () => {
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  await db.destroy();
});

// ---------------------------------------------------------------- operations

/** A place is one (sku, warehouse) of the run: index 0..3 over 2 skus × 2 warehouses. */
const place = fc.integer({ min: 0, max: 3 });
const qty = fc.integer({ min: 1, max: 6 });
const holding = fc.constantFrom('return_pending', 'quarantine', 'damaged') as fc.Arbitrary<'return_pending' | 'quarantine' | 'damaged'>;
const disposition = fc.constantFrom<Disposition>('restock', 'refurbish', 'damaged', 'scrap', 'vendor_return');

const operation = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('receive' as const), p: place, qty: fc.integer({ min: 1, max: 15 }), quarantine: fc.boolean() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      lines: fc.array(fc.record({ p: place, qty }), { minLength: 1, maxLength: 3 }),
      partial: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      r: fc.nat(),
      byOrder: fc.boolean(),
      outcome: fc.constantFrom('released', 'expired') as fc.Arbitrary<'released' | 'expired'>,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('consume' as const), r: fc.nat(), qty: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('adjust' as const), p: place, delta: fc.integer({ min: -6, max: 6 }).filter((d) => d !== 0) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('transferOut' as const), sku: fc.integer({ min: 0, max: 1 }), from: fc.integer({ min: 0, max: 1 }), to: fc.integer({ min: 0, max: 1 }), qty }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('transferIn' as const), p: place, received: fc.integer({ min: 0, max: 4 }), lost: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('returnReceive' as const), p: place, qty }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dispose' as const), p: place, qty: fc.integer({ min: 1, max: 3 }), from: holding, disposition }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inspect' as const), p: place, accepted: fc.integer({ min: 0, max: 4 }), rejected: fc.integer({ min: 0, max: 2 }) }) },
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

/** Each operation, and whether to replay it at the end (only applied ones are). */
const sequence = fc.array(fc.record({ op: operation, replay: fc.boolean() }), { minLength: 5, maxLength: 30, size: 'max' });

// ---------------------------------------------------------------- the model

interface ModelReservation {
  id: number;
  orderId: string;
  sku: string;
  warehouse: string;
  qty: number;
  consumed: number;
  status: ReservationStatus;
}

const isStock = (bucket: Bucket) => (stockBuckets as readonly string[]).includes(bucket);
const at = (sku: string, warehouse: string, bucket: Bucket) => `${sku}/${warehouse}/${bucket}`;

class Model {
  readonly balances = new Map<string, number>();
  readonly reservations: ModelReservation[] = [];

  qty(sku: string, warehouse: string, bucket: Bucket): number {
    return this.balances.get(at(sku, warehouse, bucket)) ?? 0;
  }

  /** Stock places the legs would take below zero, with what they hold and need. */
  shortages(legs: Leg[]): { sku: string; warehouse: string; bucket: Bucket; onHand: number; requested: number }[] {
    const net = new Map<string, { sku: string; warehouse: string; bucket: Bucket; delta: number }>();
    const add = (sku: string, warehouse: string, bucket: Bucket, delta: number) => {
      const id = at(sku, warehouse, bucket);
      const entry = net.get(id) ?? { sku, warehouse, bucket, delta: 0 };
      entry.delta += delta;
      net.set(id, entry);
    };
    for (const leg of legs) {
      add(leg.sku, leg.from.warehouse, leg.from.bucket, -leg.qty);
      add(leg.sku, leg.to.warehouse, leg.to.bucket, leg.qty);
    }
    return [...net.values()]
      .filter((n) => n.delta < 0 && isStock(n.bucket) && this.qty(n.sku, n.warehouse, n.bucket) < -n.delta)
      .map((n) => ({ sku: n.sku, warehouse: n.warehouse, bucket: n.bucket, onHand: this.qty(n.sku, n.warehouse, n.bucket), requested: -n.delta }));
  }

  apply(legs: Leg[]) {
    for (const leg of legs) {
      const from = at(leg.sku, leg.from.warehouse, leg.from.bucket);
      const to = at(leg.sku, leg.to.warehouse, leg.to.bucket);
      this.balances.set(from, (this.balances.get(from) ?? 0) - leg.qty);
      this.balances.set(to, (this.balances.get(to) ?? 0) + leg.qty);
    }
  }
}

// ---------------------------------------------------------------- one step

interface Step {
  /** Runs the operation; a synchronous refusal becomes a rejection. */
  call: () => Promise<object & { replayed: boolean }>;
  /** What the model says must happen: these legs, or a refusal with this code. */
  legs: Leg[];
  refusal?: 'insufficient_stock' | 'reservation_not_active' | 'invalid_movement';
  /** Checks the result against the model and updates the model's reservations. */
  check?: (result: object) => void;
}

interface Run {
  skus: [string, string];
  warehouses: [string, string];
  model: Model;
  tag: string;
}

const leg = (sku: string, n: number, from: [string, Bucket], to: [string, Bucket]): Leg => ({
  sku,
  qty: n,
  from: { warehouse: from[0], bucket: from[1] },
  to: { warehouse: to[0], bucket: to[1] },
});

const dispositionTarget: Record<Disposition, Bucket> = {
  restock: 'available',
  refurbish: 'quarantine',
  damaged: 'damaged',
  scrap: 'scrap',
  vendor_return: 'supplier',
};

/** Builds the call and the model's expectation for one operation; undefined when it has no target. */
function plan(run: Run, op: Operation, ctx: { key: string; actor: string }): Step | undefined {
  const { model } = run;
  const where = (p: number) => ({ sku: run.skus[p >> 1]!, warehouse: run.warehouses[p & 1]! });
  const pickReservation = (r: number) => model.reservations[r % Math.max(model.reservations.length, 1)];

  switch (op.kind) {
    case 'receive': {
      const { sku, warehouse } = where(op.p);
      const into = op.quarantine ? 'quarantine' : 'available';
      return {
        call: () => receive(db, ctx, { sku, warehouse, qty: op.qty, into, fromInbound: 0, unitCostMinor: 700, landedCostMinor: 30 }),
        legs: [leg(sku, op.qty, [warehouse, 'supplier'], [warehouse, into])],
      };
    }
    case 'reserve': {
      const orderId = `${ctx.key}:order`;
      const lines = op.lines.map((l, i) => ({ lineNo: i + 1, ...where(l.p), qty: l.qty }));
      // Partial: each line takes what is left at its place, in line order.
      const left = new Map<string, number>();
      const granted = lines.map((l) => {
        const id = at(l.sku, l.warehouse, 'available');
        const there = left.get(id) ?? model.qty(l.sku, l.warehouse, 'available');
        const reserved = op.partial ? Math.min(l.qty, there) : l.qty;
        left.set(id, there - reserved);
        return { ...l, reserved };
      });
      const legs = granted.filter((l) => l.reserved > 0).map((l) => leg(l.sku, l.reserved, [l.warehouse, 'available'], [l.warehouse, 'allocated']));
      return {
        call: () => reserve(db, ctx, { orderId, channel: 'dtc', allowPartial: op.partial, lines }),
        legs,
        check: (result) => {
          const got = (result as Awaited<ReturnType<typeof reserve>>).lines;
          expect(got.map((l) => [l.lineNo, l.requested, l.reserved, l.reservationId !== null])).toEqual(
            granted.map((l) => [l.lineNo, l.qty, l.reserved, l.reserved > 0]),
          );
          for (const l of got) {
            if (l.reservationId === null) continue;
            model.reservations.push({ id: l.reservationId, orderId, sku: l.sku, warehouse: l.warehouse, qty: l.reserved, consumed: 0, status: 'active' });
          }
        },
      };
    }
    case 'release': {
      const chosen = pickReservation(op.r);
      if (!chosen) return undefined;
      const targets = op.byOrder ? model.reservations.filter((r) => r.orderId === chosen.orderId && r.status === 'active') : [chosen];
      const active = targets.every((r) => r.status === 'active');
      return {
        call: () =>
          releaseReservations(db, ctx, op.byOrder ? { orderId: chosen.orderId } : { reservationIds: [chosen.id] }, op.outcome),
        legs: active ? targets.map((r) => leg(r.sku, r.qty - r.consumed, [r.warehouse, 'allocated'], [r.warehouse, 'available'])) : [],
        refusal: active ? undefined : 'reservation_not_active',
        check: (result) => {
          const resolved = (result as Awaited<ReturnType<typeof releaseReservations>>).resolved;
          expect(resolved).toEqual(
            [...targets].sort((a, b) => a.id - b.id).map((r) => ({ reservationId: r.id, sku: r.sku, warehouse: r.warehouse, qty: r.qty - r.consumed })),
          );
          for (const r of targets) r.status = op.outcome;
        },
      };
    }
    case 'consume': {
      const chosen = pickReservation(op.r);
      if (!chosen) return undefined;
      const fits = chosen.status === 'active' && chosen.consumed + op.qty <= chosen.qty;
      return {
        call: () => consumeReservation(db, ctx, { reservationId: chosen.id, qty: op.qty }),
        legs: fits ? [leg(chosen.sku, op.qty, [chosen.warehouse, 'allocated'], [chosen.warehouse, 'customer'])] : [],
        refusal: fits ? undefined : 'reservation_not_active',
        check: (result) => {
          chosen.consumed += op.qty;
          if (chosen.consumed === chosen.qty) chosen.status = 'consumed';
          expect(result).toMatchObject({ reservationId: chosen.id, consumed: op.qty, remaining: chosen.qty - chosen.consumed, status: chosen.status });
        },
      };
    }
    case 'adjust': {
      const { sku, warehouse } = where(op.p);
      const n = Math.abs(op.delta);
      return {
        call: () => adjust(db, ctx, { sku, warehouse, delta: op.delta, reasonCode: 'cycle_count' }),
        legs: [op.delta > 0 ? leg(sku, n, [warehouse, 'adjustment'], [warehouse, 'available']) : leg(sku, n, [warehouse, 'available'], [warehouse, 'adjustment'])],
      };
    }
    case 'transferOut': {
      const sku = run.skus[op.sku]!;
      const [from, to] = [run.warehouses[op.from]!, run.warehouses[op.to]!];
      return {
        call: async () => transferOut(db, ctx, { sku, from, to, qty: op.qty }),
        legs: [leg(sku, op.qty, [from, 'available'], [to, 'in_transit'])],
        refusal: from === to ? 'invalid_movement' : undefined,
      };
    }
    case 'transferIn': {
      const { sku, warehouse } = where(op.p);
      const legs: Leg[] = [];
      if (op.received > 0) legs.push(leg(sku, op.received, [warehouse, 'in_transit'], [warehouse, 'available']));
      if (op.lost > 0) legs.push(leg(sku, op.lost, [warehouse, 'in_transit'], [warehouse, 'adjustment']));
      return {
        call: async () => transferIn(db, ctx, { sku, warehouse, received: op.received, lost: op.lost }),
        legs,
        refusal: legs.length === 0 ? 'invalid_movement' : undefined,
      };
    }
    case 'returnReceive': {
      const { sku, warehouse } = where(op.p);
      return {
        call: () => returnReceive(db, ctx, { sku, warehouse, qty: op.qty }),
        legs: [leg(sku, op.qty, [warehouse, 'customer'], [warehouse, 'return_pending'])],
      };
    }
    case 'dispose': {
      const { sku, warehouse } = where(op.p);
      const target = dispositionTarget[op.disposition];
      return {
        call: () => dispose(db, ctx, { sku, warehouse, qty: op.qty, from: op.from, disposition: op.disposition }),
        legs: [leg(sku, op.qty, [warehouse, op.from], [warehouse, target])],
        // Refurbishing quarantined units or damaging damaged ones goes nowhere.
        refusal: target === op.from ? 'invalid_movement' : undefined,
      };
    }
    case 'inspect': {
      const { sku, warehouse } = where(op.p);
      const legs: Leg[] = [];
      if (op.accepted > 0) legs.push(leg(sku, op.accepted, [warehouse, 'quarantine'], [warehouse, 'available']));
      if (op.rejected > 0) legs.push(leg(sku, op.rejected, [warehouse, 'quarantine'], [warehouse, 'damaged']));
      return {
        call: async () => inspect(db, ctx, { sku, warehouse, accepted: op.accepted, rejected: op.rejected }),
        legs,
        refusal: legs.length === 0 ? 'invalid_movement' : undefined,
      };
    }
  }
}

// ---------------------------------------------------------------- reading the database

async function balancesOf(run: Run): Promise<Record<string, number>> {
  const rows = await db.selectFrom('inventory_balances').select(['sku', 'warehouse_code', 'bucket', 'qty']).where('sku', 'in', run.skus).execute();
  return Object.fromEntries(rows.filter((r) => r.qty !== 0).map((r) => [at(r.sku, r.warehouse_code, r.bucket), r.qty]));
}

async function snapshot(run: Run) {
  const [balances, movements, reservations, operations, journal, outbox] = await Promise.all([
    balancesOf(run),
    db.selectFrom('inventory_movements').select(['operation_key', 'leg', 'qty']).where('sku', 'in', run.skus).orderBy('id').execute(),
    db.selectFrom('reservations').select(['id', 'status', 'consumed_qty', 'resolved_by']).where('sku', 'in', run.skus).orderBy('id').execute(),
    db.selectFrom('inventory_operations').select(['idempotency_key', 'result']).where('idempotency_key', 'like', `${run.tag}:%`).orderBy('idempotency_key').execute(),
    db.selectFrom('journal_entries').select(['idempotency_key']).where('idempotency_key', 'like', `${run.tag}:%`).orderBy('id').execute(),
    db.selectFrom('outbox_events').select(['id']).where('key', 'in', run.skus).orderBy('id').execute(),
  ]);
  return { balances, movements, reservations, operations, journal, outbox };
}

function codeOf(reason: unknown): string {
  if (reason instanceof LedgerError) return reason.code;
  const pgCode = (reason as { code?: unknown }).code;
  return typeof pgCode === 'string' ? `pg:${pgCode}` : String(reason);
}

const withoutReplayed = (result: object) => Object.fromEntries(Object.entries(result).filter(([key]) => key !== 'replayed'));

// ---------------------------------------------------------------- the property

it('random movement sequences keep the books exact, refuse what they must, and replay as no-ops', async () => {
  const outcomes = { applied: 0, refused: 0, replayed: 0 };
  await fc.assert(
    fc.asyncProperty(sequence, async (steps) => {
      // Fresh skus and warehouses per run, so runs (and shrinking) never see each other's stock.
      const run: Run = {
        skus: [await addItem(db), await addItem(db)],
        warehouses: [await addWarehouse(db), await addWarehouse(db)],
        model: new Model(),
        tag: `prop-${uniqueId()}`,
      };
      const applied: { step: Step; first: object }[] = [];

      for (const [index, { op, replay }] of steps.entries()) {
        const ctx = { key: `${run.tag}:${index}`, actor: 'property-test' };
        const step = plan(run, op, ctx);
        if (!step) continue;
        const shortages = step.refusal ? [] : run.model.shortages(step.legs);
        const refusal = step.refusal ?? (shortages.length ? 'insufficient_stock' : undefined);
        const outcome = await step.call().then(
          (value) => ({ ok: true as const, value }),
          (reason: unknown) => ({ ok: false as const, reason }),
        );
        const what = `step ${index} ${JSON.stringify(op)}`;
        if (refusal) {
          expect(outcome.ok ? 'ok' : codeOf(outcome.reason), what).toBe(refusal);
          if (shortages.length === 1 && !outcome.ok) {
            const short = shortages[0]!;
            expect((outcome.reason as LedgerError).details, what).toEqual({ ...short });
          }
          outcomes.refused++;
          continue;
        }
        expect(outcome.ok ? 'ok' : codeOf(outcome.reason), what).toBe('ok');
        if (!outcome.ok) return;
        expect(outcome.value.replayed).toBe(false);
        step.check?.(outcome.value);
        run.model.apply(step.legs);
        outcomes.applied++;
        if (replay) applied.push({ step, first: outcome.value });
      }

      // The database equals the model, bucket by bucket, and reservation by reservation.
      const expected = Object.fromEntries([...run.model.balances].filter(([, q]) => q !== 0));
      expect(await balancesOf(run)).toEqual(expected);
      const negative = await db
        .selectFrom('inventory_balances')
        .selectAll()
        .where('sku', 'in', run.skus)
        .where('bucket', 'not in', [...outsideAccounts])
        .where('qty', '<', 0)
        .execute();
      expect(negative).toEqual([]);
      const reservations = await db.selectFrom('reservations').select(['id', 'qty', 'consumed_qty', 'status']).where('sku', 'in', run.skus).orderBy('id').execute();
      expect(reservations).toEqual(run.model.reservations.map((r) => ({ id: r.id, qty: r.qty, consumed_qty: r.consumed, status: r.status })));
      const check = await checkLedger(db);
      expect(check.problems).toEqual([]);

      // Replaying applied operations with their keys returns the first result and moves nothing.
      const before = await snapshot(run);
      for (const { step, first } of applied) {
        const again = await step.call();
        expect(again.replayed).toBe(true);
        expect(withoutReplayed(again)).toEqual(withoutReplayed(first));
        outcomes.replayed++;
      }
      expect(await snapshot(run)).toEqual(before);
    }),
    { numRuns: 25, endOnFailure: true },
  );
  // The generator must exercise both paths, or the property proves little.
  console.log(`[ledger properties] ${JSON.stringify(outcomes)}`);
  expect(outcomes.applied).toBeGreaterThan(50);
  expect(outcomes.refused).toBeGreaterThan(30);
  expect(outcomes.replayed).toBeGreaterThan(20);
}, 180_000);
