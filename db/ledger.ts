/**
 * The inventory ledger. Every business movement is one transaction that claims its
 * idempotency key, moves quantities between buckets with conditional statements, writes
 * one movement row per leg and, when sellable stock changed, an outbox event.
 * Replaying a key returns the first result and moves nothing.
 */
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Db } from './connection.js';
import { postEntry, type JournalLineInput } from './journal.js';
import { type Bucket, type Database, type ReservationStatus, type StockBucket } from './schema.js';

export type Tx = Transaction<Database>;

/** Who and what caused a movement; the key comes from the workflow id and step, never a clock. */
export interface OperationContext {
  key: string;
  actor: string;
  process?: string;
  step?: string;
  reason?: string;
}

export interface Place {
  warehouse: string;
  bucket: Bucket;
}

export interface Leg {
  sku: string;
  qty: number;
  from: Place;
  to: Place;
  /**
   * The lot moved, for a lot-tracked item: required where units arrive from outside
   * (supplier, customer, adjustment); leaving a stock bucket without one, the units are
   * taken from its lots earliest expiry first (see db/sql/0040_lots.sql).
   */
  lot?: string;
}

/** A lot as a movement that brings units in names it. */
export interface LotInput {
  lot: string;
  /** ISO date (`YYYY-MM-DD`). */
  expiresOn: string;
}

export type LedgerErrorCode =
  | 'insufficient_stock'
  | 'idempotency_conflict'
  | 'reservation_not_active'
  | 'unknown_reference'
  | 'invalid_movement';

/** A movement the ledger refuses; nothing of it was written. */
export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

export type Applied<R> = R & { replayed: boolean };

function payloadHash(kind: string, payload: unknown): string {
  return createHash('sha256').update(kind).update(JSON.stringify(payload)).digest('hex');
}

/**
 * Runs `apply` once per idempotency key. A second call with the same key and payload
 * returns the stored result; with another payload it is refused. A refusal rolls back
 * everything, so a key that failed for lack of stock can succeed later.
 */
export async function runOperation<R extends object>(
  db: Db,
  ctx: OperationContext,
  kind: string,
  payload: unknown,
  apply: (tx: Tx) => Promise<R>,
): Promise<Applied<R>> {
  const hash = payloadHash(kind, payload);
  try {
    return await db.transaction().execute(async (tx) => {
      const claimed = await tx
        .insertInto('inventory_operations')
        .values({
          idempotency_key: ctx.key,
          kind,
          payload_hash: hash,
          result: null,
          process: ctx.process ?? null,
          step: ctx.step ?? null,
          actor: ctx.actor,
          reason: ctx.reason ?? null,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returning('idempotency_key')
        .executeTakeFirst();
      if (!claimed) {
        const first = await tx
          .selectFrom('inventory_operations')
          .select(['kind', 'payload_hash', 'result'])
          .where('idempotency_key', '=', ctx.key)
          .executeTakeFirstOrThrow();
        if (first.kind !== kind || first.payload_hash !== hash) {
          throw new LedgerError('idempotency_conflict', `key ${ctx.key} was already used for a different ${first.kind}`, {
            key: ctx.key,
            firstKind: first.kind,
          });
        }
        return { ...(first.result as R), replayed: true };
      }
      const result = await apply(tx);
      await tx
        .updateTable('inventory_operations')
        .set({ result: JSON.stringify(result) })
        .where('idempotency_key', '=', ctx.key)
        .execute();
      return { ...result, replayed: false };
    });
  } catch (error) {
    throw await asLedgerError(db, ctx, kind, error);
  }
}

/**
 * Refusals raised by the ledger's SQL (db/sql/0005_ledger_functions.sql) become LedgerErrors; a
 * refusal for lack of stock is also kept in ledger_refusals for the exception queue.
 */
async function asLedgerError(db: Db, ctx: OperationContext, kind: string, error: unknown): Promise<unknown> {
  const { code, detail } = error as { code?: string; detail?: string };
  if (code === 'L0001') {
    const refused = JSON.parse(detail!) as { sku: string; warehouse: string; bucket: string; requested: number; onHand: number };
    await db
      .insertInto('ledger_refusals')
      .values({
        operation_key: ctx.key,
        kind,
        sku: refused.sku,
        warehouse_code: refused.warehouse,
        bucket: refused.bucket,
        requested: refused.requested,
        on_hand: refused.onHand,
        process: ctx.process ?? null,
        actor: ctx.actor,
      })
      .execute();
    const lot = (refused as { lot?: string | null }).lot;
    return new LedgerError(
      'insufficient_stock',
      `${refused.sku}${lot ? ` lot ${lot}` : ''} at ${refused.warehouse}: ${refused.bucket} has ${refused.onHand}, ${refused.requested} needed`,
      refused,
    );
  }
  if (code === 'L0002') {
    const conflict = JSON.parse(detail!) as { key: string; firstKind: string };
    return new LedgerError('idempotency_conflict', `key ${conflict.key} was already used for a different ${conflict.firstKind}`, conflict);
  }
  if (code === 'L0004') {
    const refused = JSON.parse(detail!) as { sku: string; reason: string };
    return new LedgerError('invalid_movement', `${refused.sku}: ${refused.reason}`, { field: 'lot', ...refused });
  }
  if (code === 'L0003') return new LedgerError('unknown_reference', `unknown channel: ${detail}`);
  if (code === '23503') return new LedgerError('unknown_reference', `unknown sku, warehouse or channel: ${detail ?? ''}`);
  return error;
}

/**
 * Applies legs inside an operation: net changes per (sku, warehouse, bucket) in one global
 * lock order, conditional decreases that refuse to go below zero, one movement row per
 * leg, and an availability event per sku whose available stock changed — all in the
 * database function `ledger_apply_legs` (db/sql/0005_ledger_functions.sql), in one round trip.
 */
export async function applyLegs(tx: Tx, operationKey: string, legs: Leg[]): Promise<void> {
  if (legs.length === 0) return;
  for (const leg of legs) {
    if (!Number.isSafeInteger(leg.qty) || leg.qty <= 0) {
      throw new LedgerError('invalid_movement', `quantity must be a positive integer, got ${leg.qty}`);
    }
    if (leg.from.warehouse === leg.to.warehouse && leg.from.bucket === leg.to.bucket) {
      throw new LedgerError('invalid_movement', `a leg must move between two places (${leg.from.bucket})`);
    }
  }
  await sql`select ledger_apply_legs(${operationKey}, ${JSON.stringify(legs)}::jsonb)`.execute(tx);
}

/** A plain movement of stock between places, for the business functions below and for tests. */
export function move(db: Db, ctx: OperationContext, kind: string, legs: Leg[]): Promise<Applied<{ legs: number }>> {
  return runOperation(db, ctx, kind, legs, async (tx) => {
    await applyLegs(tx, ctx.key, legs);
    return { legs: legs.length };
  });
}

// ---------------------------------------------------------------- reservations

export interface ReserveLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  qty: number;
  /**
   * ISO date the units reach the customer; a lot-tracked line takes only lots expiring on or
   * after it plus the channel's minimum shelf life (today when not given).
   */
  arrivesOn?: string;
}

export interface ReserveRequest {
  orderId: string;
  channel: string;
  /** ISO time after which an unreleased allocation expires. */
  expiresAt?: string;
  /** Reserve what is there when stock is short, instead of refusing the whole request. */
  allowPartial: boolean;
  lines: ReserveLine[];
  /** Kept with the result, so a replay returns why the caller chose these lines (e.g. the routing). */
  annotation?: unknown;
}

export interface ReservedLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  requested: number;
  reserved: number;
  reservationId: number | null;
  /** For a lot-tracked item: the lots taken, earliest expiry first. */
  lots?: { lot: string; qty: number }[];
}

/**
 * Moves available → allocated for the lines of one order in one database call
 * (`ledger_reserve`, db/sql/0005_ledger_functions.sql), so two lines for the same sku are
 * checked together against one figure. With `allowPartial`, short lines take what is left
 * (in line order) instead of failing.
 *
 * Whether a call is a replay is decided there and nowhere else, in the transaction that
 * reserves: a later call under the key gets the first result (`replayed`), or is refused
 * (`idempotency_conflict`) when it asks for something else. What a call asks for is
 * `request`; a caller that works the lines out from live stock (routing) passes what it was
 * asked instead, as `asked`, because a retry under the same key may route to other lines
 * for the same question — and must still get the first answer.
 */
export async function reserve(
  db: Db,
  ctx: OperationContext,
  request: ReserveRequest,
  asked: unknown = request,
): Promise<Applied<{ lines: ReservedLine[]; annotation?: unknown }>> {
  for (const line of request.lines) {
    if (!Number.isSafeInteger(line.qty) || line.qty <= 0) {
      throw new LedgerError('invalid_movement', `quantity must be a positive integer, got ${line.qty}`);
    }
  }
  try {
    const { rows } = await sql<{ outcome: { replayed: boolean; result: { lines: ReservedLine[]; annotation?: unknown } } }>`
      select ledger_reserve(${ctx.key}, ${payloadHash('reserve', asked)}, ${ctx.actor}, ${ctx.process ?? null},
        ${ctx.step ?? null}, ${JSON.stringify(request)}::jsonb) as outcome`.execute(db);
    const { replayed, result } = rows[0]!.outcome;
    return { ...result, replayed };
  } catch (error) {
    throw await asLedgerError(db, ctx, 'reserve', error);
  }
}

export interface ResolvedReservation {
  reservationId: number;
  sku: string;
  warehouse: string;
  qty: number;
}

/**
 * Ends active reservations and returns their unconsumed units to available. The
 * conditional update on `status = 'active'` makes release, expiry and consumption
 * race safely: exactly one of them resolves a reservation.
 */
export function releaseReservations(
  db: Db,
  ctx: OperationContext,
  /** `strict`: every listed reservation must still be active (default); otherwise the active ones are resolved. */
  target: { reservationIds: number[]; strict?: boolean } | { orderId: string },
  outcome: Extract<ReservationStatus, 'released' | 'expired'> = 'released',
): Promise<Applied<{ resolved: ResolvedReservation[] }>> {
  return runOperation(db, ctx, outcome === 'released' ? 'release' : 'expire', { target, outcome }, async (tx) => {
    if ('reservationIds' in target && target.reservationIds.length === 0) return { resolved: [] };
    // Lock the rows in id order first: a bare UPDATE locks them in whatever order its plan
    // meets them, so a release by order and an expiry by ids of the same order could each
    // hold a line the other waits for (a deadlock). Locked, they cannot change under us.
    let active = tx.selectFrom('reservations').select('id').where('status', '=', 'active');
    active = 'orderId' in target ? active.where('order_id', '=', target.orderId) : active.where('id', 'in', target.reservationIds);
    const locked = (await active.orderBy('id').forUpdate().execute()).map((r) => r.id);
    const rows =
      locked.length === 0
        ? []
        : await tx
            .updateTable('reservations')
            .set({ status: outcome, resolved_by: ctx.key, resolved_at: sql<Date>`now()` })
            .where('id', 'in', locked)
            .returning(['id', 'sku', 'warehouse_code', sql<number>`qty - consumed_qty`.as('remaining')])
            .execute();
    if ('reservationIds' in target && target.strict !== false && rows.length !== new Set(target.reservationIds).size) {
      const missing = target.reservationIds.filter((id) => !rows.some((r) => r.id === id));
      throw new LedgerError('reservation_not_active', `reservation ${missing.join(', ')} is not active`, { reservationIds: missing });
    }
    const resolved = rows
      .map((r) => ({ reservationId: r.id, sku: r.sku, warehouse: r.warehouse_code, qty: Number(r.remaining) }))
      .sort((a, b) => a.reservationId - b.reservationId);
    // A lot-tracked reservation gives back what is left of each lot it holds.
    const heldLots =
      resolved.length === 0
        ? []
        : await tx
            .selectFrom('reservation_lots')
            .select(['reservation_id', 'lot', sql<number>`qty - consumed_qty`.as('left')])
            .where('reservation_id', 'in', resolved.map((r) => r.reservationId))
            .where(sql<boolean>`qty > consumed_qty`)
            .orderBy('reservation_id')
            .orderBy('lot')
            .execute();
    const legs: Leg[] = [];
    for (const r of resolved.filter((x) => x.qty > 0)) {
      const from = { warehouse: r.warehouse, bucket: 'allocated' as const };
      const to = { warehouse: r.warehouse, bucket: 'available' as const };
      const lots = heldLots.filter((l) => l.reservation_id === r.reservationId);
      if (lots.length === 0) legs.push({ sku: r.sku, qty: r.qty, from, to });
      else for (const l of lots) legs.push({ sku: r.sku, qty: Number(l.left), from, to, lot: l.lot });
    }
    await applyLegs(tx, ctx.key, legs);
    return { resolved };
  });
}

/**
 * Units of a reservation leave: shipped (allocated → customer), or not found on the
 * shelf at picking (allocated → adjustment, `lost`). Partial is fine; fully consumed ends it.
 *
 * For a lot-tracked item the units leave from the lots the reservation holds, earliest
 * expiry first, or from the lot named (`lot`: what was really picked). A lot the
 * reservation does not hold is taken from the shelf instead, and the held units go back
 * to available. `lots` answers what really left.
 */
export function consumeReservation(
  db: Db,
  ctx: OperationContext,
  request: { reservationId: number; qty: number; lost?: boolean; lot?: string },
): Promise<
  Applied<{ reservationId: number; sku: string; warehouse: string; consumed: number; remaining: number; status: ReservationStatus; lots?: { lot: string; qty: number }[] }>
> {
  return runOperation(db, ctx, 'consume', request, async (tx) => {
    if (!Number.isSafeInteger(request.qty) || request.qty <= 0) {
      throw new LedgerError('invalid_movement', `quantity must be a positive integer, got ${request.qty}`);
    }
    const row = await sql<{ sku: string; warehouse_code: string; qty: number; consumed_qty: number; status: ReservationStatus }>`
      update reservations set
        consumed_qty = consumed_qty + ${request.qty},
        status = case when consumed_qty + ${request.qty} = qty then 'consumed' else status end,
        resolved_by = case when consumed_qty + ${request.qty} = qty then ${ctx.key} else null end,
        resolved_at = case when consumed_qty + ${request.qty} = qty then now() else null end
      where id = ${request.reservationId} and status = 'active' and consumed_qty + ${request.qty} <= qty
      returning sku, warehouse_code, qty, consumed_qty, status`.execute(tx);
    const updated = row.rows[0];
    if (!updated) {
      const current = await tx
        .selectFrom('reservations')
        .select(['status', 'qty', 'consumed_qty'])
        .where('id', '=', request.reservationId)
        .executeTakeFirst();
      if (!current) throw new LedgerError('unknown_reference', `no reservation ${request.reservationId}`);
      throw new LedgerError(
        'reservation_not_active',
        current.status === 'active'
          ? `reservation ${request.reservationId} has ${current.qty - current.consumed_qty} left, ${request.qty} asked`
          : `reservation ${request.reservationId} is ${current.status}`,
        { status: current.status },
      );
    }
    const allocated: Place = { warehouse: updated.warehouse_code, bucket: 'allocated' };
    const gone: Place = { warehouse: updated.warehouse_code, bucket: request.lost ? 'adjustment' : 'customer' };
    const held = await sql<{ lot: string; left: number }>`
      select r.lot, r.qty - r.consumed_qty as left from reservation_lots r join lots l on l.sku = r.sku and l.lot = r.lot
      where r.reservation_id = ${request.reservationId} and r.qty > r.consumed_qty
      order by (r.lot = ${request.lot ?? null}) desc nulls last, l.expires_on, r.lot collate "C"
      for update of r`.execute(tx);
    const base = {
      reservationId: request.reservationId,
      sku: updated.sku,
      warehouse: updated.warehouse_code,
      consumed: request.qty,
      remaining: updated.qty - updated.consumed_qty,
      status: updated.status,
    };
    if (held.rows.length === 0) {
      await applyLegs(tx, ctx.key, [{ sku: updated.sku, qty: request.qty, from: allocated, to: gone, ...(request.lot ? { lot: request.lot } : {}) }]);
      return base;
    }
    // The held lots this consumption uses up: the named lot first, then earliest expiry.
    const taken: { lot: string; qty: number }[] = [];
    let need = request.qty;
    for (const row of held.rows) {
      if (need === 0) break;
      const qty = Math.min(need, Number(row.left));
      taken.push({ lot: row.lot, qty });
      need -= qty;
    }
    if (need > 0) throw new LedgerError('invalid_movement', `reservation ${request.reservationId} holds ${request.qty - need} units in lots, ${request.qty} asked`);
    for (const t of taken) {
      await tx
        .updateTable('reservation_lots')
        .set((eb) => ({ consumed_qty: eb('consumed_qty', '+', t.qty) }))
        .where('reservation_id', '=', request.reservationId)
        .where('lot', '=', t.lot)
        .execute();
    }
    const legs: Leg[] = [];
    const left: { lot: string; qty: number }[] = [];
    for (const t of taken) {
      if (request.lot === undefined || t.lot === request.lot) {
        legs.push({ sku: updated.sku, qty: t.qty, from: allocated, to: gone, lot: t.lot });
        left.push(t);
      } else {
        // Another lot was picked than the one held: the held units stay on the shelf.
        legs.push({ sku: updated.sku, qty: t.qty, from: allocated, to: { warehouse: updated.warehouse_code, bucket: 'available' }, lot: t.lot });
      }
    }
    const swapped = request.qty - left.reduce((n, t) => n + t.qty, 0);
    if (swapped > 0) {
      // Lock the shelf's row first, as every taker of its lots does (db/sql/0040_lots.sql).
      await sql`select 1 from inventory_balances where sku = ${updated.sku} and warehouse_code = ${updated.warehouse_code} and bucket = 'available' for update`.execute(tx);
      legs.push({ sku: updated.sku, qty: swapped, from: { warehouse: updated.warehouse_code, bucket: 'available' }, to: gone, lot: request.lot! });
      const same = left.find((t) => t.lot === request.lot);
      if (same) same.qty += swapped;
      else left.push({ lot: request.lot!, qty: swapped });
    }
    await applyLegs(tx, ctx.key, legs);
    return { ...base, lots: left };
  });
}

/** Active reservations whose expiry has passed, oldest first: stale allocations. */
export function staleReservations(db: Db, now: Date = new Date()) {
  return db
    .selectFrom('reservations')
    .selectAll()
    .where('status', '=', 'active')
    .where('expires_at', '<', now)
    .orderBy('expires_at')
    .execute();
}

// ---------------------------------------------------------------- stock arriving and leaving

/** Expected units on a purchase order: supplier → inbound. */
export function expectInbound(db: Db, ctx: OperationContext, request: { sku: string; warehouse: string; qty: number }) {
  return move(db, ctx, 'expect_inbound', [
    { sku: request.sku, qty: request.qty, from: { warehouse: request.warehouse, bucket: 'supplier' }, to: { warehouse: request.warehouse, bucket: 'inbound' } },
  ]);
}

/** Expected units that will not come: inbound → supplier. */
export function cancelInbound(db: Db, ctx: OperationContext, request: { sku: string; warehouse: string; qty: number }) {
  return move(db, ctx, 'cancel_inbound', [
    { sku: request.sku, qty: request.qty, from: { warehouse: request.warehouse, bucket: 'inbound' }, to: { warehouse: request.warehouse, bucket: 'supplier' } },
  ]);
}

export interface ReceiveRequest {
  sku: string;
  warehouse: string;
  qty: number;
  /** Goods needing inspection go to quarantine. */
  into: Extract<StockBucket, 'available' | 'quarantine'>;
  /** How many of the units were expected (shrink inbound by this much). */
  fromInbound: number;
  unitCostMinor: number;
  /** Freight, duty and the like allocated to these units, in total. */
  landedCostMinor: number;
  /** Required for a lot-tracked item, refused for any other. */
  lot?: LotInput;
}

/**
 * Checks the lot a movement that brings units in names against the item, and records the
 * lot the first time it is seen: a lot-tracked item must name one with an expiry not in the
 * past; an item that is not lot-tracked must name none; a known lot keeps its expiry.
 */
export async function registerLot(tx: Tx, sku: string, lot: LotInput | undefined): Promise<string | undefined> {
  const item = await tx.selectFrom('items').select('lot_tracked').where('sku', '=', sku).executeTakeFirst();
  if (!item) throw new LedgerError('unknown_reference', `unknown sku ${sku}`);
  if (!item.lot_tracked) {
    if (lot) throw new LedgerError('invalid_movement', `${sku} is not lot-tracked: a lot cannot be given`, { field: 'lot', reason: 'the item is not lot-tracked' });
    return undefined;
  }
  if (!lot) throw new LedgerError('invalid_movement', `${sku} is lot-tracked: the lot and its expiry are required`, { field: 'lot', reason: 'required for a lot-tracked item' });
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$/.test(lot.lot)) {
    throw new LedgerError('invalid_movement', `lot "${lot.lot}" must be 1–40 letters, digits or . _ / -`, { field: 'lot', reason: 'not a lot code' });
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(lot.expiresOn) || Number.isNaN(Date.parse(`${lot.expiresOn}T00:00:00Z`)) || new Date(`${lot.expiresOn}T00:00:00Z`).toISOString().slice(0, 10) !== lot.expiresOn) {
    throw new LedgerError('invalid_movement', `expiry "${lot.expiresOn}" is not a date (YYYY-MM-DD)`, { field: 'expiresOn', reason: 'not a date' });
  }
  await sql`insert into lots (sku, lot, expires_on) values (${sku}, ${lot.lot}, ${lot.expiresOn}::date) on conflict (sku, lot) do nothing`.execute(tx);
  const { rows } = await sql<{ expires_on: string; past: boolean }>`
    select expires_on::text as expires_on, expires_on < current_date as past from lots where sku = ${sku} and lot = ${lot.lot}`.execute(tx);
  const row = rows[0]!;
  if (row.past) throw new LedgerError('invalid_movement', `lot ${lot.lot} expired on ${lot.expiresOn}: expired units cannot be received`, { field: 'expiresOn', reason: 'in the past' });
  if (row.expires_on !== lot.expiresOn) {
    throw new LedgerError('invalid_movement', `lot ${lot.lot} of ${sku} expires on ${row.expires_on}, not ${lot.expiresOn}`, { field: 'expiresOn', reason: `the lot is known to expire on ${row.expires_on}` });
  }
  return lot.lot;
}

/**
 * Goods arrive: inbound (what was expected) and supplier (the rest) → available or
 * quarantine. The item's average cost takes in the units at their cost plus landed cost.
 */
export function receive(db: Db, ctx: OperationContext, request: ReceiveRequest) {
  return runOperation(db, ctx, 'receive', request, async (tx) => {
    if (!Number.isSafeInteger(request.qty) || request.qty <= 0) {
      throw new LedgerError('invalid_movement', `quantity must be a positive integer, got ${request.qty}`);
    }
    if (request.fromInbound < 0 || request.fromInbound > request.qty) {
      throw new LedgerError('invalid_movement', `fromInbound must be between 0 and ${request.qty}`);
    }
    if (!Number.isSafeInteger(request.unitCostMinor) || request.unitCostMinor < 0 || !Number.isSafeInteger(request.landedCostMinor) || request.landedCostMinor < 0) {
      throw new LedgerError('invalid_movement', 'costs must be non-negative integers (minor units)');
    }
    const lot = await registerLot(tx, request.sku, request.lot);
    const cost = await updateAverageCost(tx, request.sku, request.qty, request.qty * request.unitCostMinor + request.landedCostMinor);
    const to: Place = { warehouse: request.warehouse, bucket: request.into };
    const legs: Leg[] = [];
    const named = lot ? { lot } : {};
    if (request.fromInbound > 0) legs.push({ sku: request.sku, qty: request.fromInbound, from: { warehouse: request.warehouse, bucket: 'inbound' }, to, ...named });
    if (request.qty > request.fromInbound) {
      legs.push({ sku: request.sku, qty: request.qty - request.fromInbound, from: { warehouse: request.warehouse, bucket: 'supplier' }, to, ...named });
    }
    await applyLegs(tx, ctx.key, legs);
    return { ...cost, valueMinor: request.qty * request.unitCostMinor + request.landedCostMinor };
  });
}

/** Units the company owns of a sku, everywhere: every stock bucket but inbound. */
async function ownedUnits(tx: Tx, sku: string): Promise<number> {
  const row = await tx
    .selectFrom('inventory_balances')
    .select(sql<number>`coalesce(sum(qty), 0)::bigint`.as('qty'))
    .where('sku', '=', sku)
    .where('bucket', 'in', ['available', 'allocated', 'quarantine', 'damaged', 'return_pending', 'in_transit'])
    .executeTakeFirstOrThrow();
  return Number(row.qty);
}

/** Moving average: (old units × old average + new value) ÷ all units, rounded half up to the minor unit. */
async function updateAverageCost(tx: Tx, sku: string, qty: number, valueMinor: number) {
  // NO KEY UPDATE: a plain FOR UPDATE would conflict with the KEY SHARE lock that every
  // movement row's foreign key takes on the item, and deadlock against concurrent movements.
  const item = await tx.selectFrom('items').select('average_cost_minor').where('sku', '=', sku).forNoKeyUpdate().executeTakeFirst();
  if (!item) throw new LedgerError('unknown_reference', `unknown sku ${sku}`);
  const owned = await ownedUnits(tx, sku);
  const averageCostMinor = Math.round((owned * item.average_cost_minor + valueMinor) / (owned + qty));
  await tx.updateTable('items').set({ average_cost_minor: averageCostMinor, updated_at: new Date() }).where('sku', '=', sku).execute();
  return { previousAverageCostMinor: item.average_cost_minor, averageCostMinor };
}

/** Inspection of quarantined units: accepted → available, rejected → damaged. */
export function inspect(db: Db, ctx: OperationContext, request: { sku: string; warehouse: string; accepted: number; rejected: number }) {
  const legs: Leg[] = [];
  const from: Place = { warehouse: request.warehouse, bucket: 'quarantine' };
  if (request.accepted > 0) legs.push({ sku: request.sku, qty: request.accepted, from, to: { warehouse: request.warehouse, bucket: 'available' } });
  if (request.rejected > 0) legs.push({ sku: request.sku, qty: request.rejected, from, to: { warehouse: request.warehouse, bucket: 'damaged' } });
  if (legs.length === 0) throw new LedgerError('invalid_movement', 'an inspection accepts or rejects at least one unit');
  return move(db, ctx, 'inspect', legs);
}

/** Stock leaves a warehouse for another: available (origin) → in_transit (destination). */
export function transferOut(db: Db, ctx: OperationContext, request: { sku: string; from: string; to: string; qty: number }) {
  if (request.from === request.to) throw new LedgerError('invalid_movement', 'a transfer needs two different warehouses');
  return move(db, ctx, 'transfer_out', [
    { sku: request.sku, qty: request.qty, from: { warehouse: request.from, bucket: 'available' }, to: { warehouse: request.to, bucket: 'in_transit' } },
  ]);
}

/** A transfer arrives: received units → available; units that never came → adjustment (lost in transit). */
export function transferIn(db: Db, ctx: OperationContext, request: { sku: string; warehouse: string; received: number; lost: number }) {
  const from: Place = { warehouse: request.warehouse, bucket: 'in_transit' };
  const legs: Leg[] = [];
  if (request.received > 0) legs.push({ sku: request.sku, qty: request.received, from, to: { warehouse: request.warehouse, bucket: 'available' } });
  if (request.lost > 0) legs.push({ sku: request.sku, qty: request.lost, from, to: { warehouse: request.warehouse, bucket: 'adjustment' } });
  if (legs.length === 0) throw new LedgerError('invalid_movement', 'a transfer receipt needs received or lost units');
  return move(db, ctx, 'transfer_in', legs);
}

/**
 * A customer's return arrives: customer → return_pending. A lot-tracked item's units name the
 * lots they are (`lots`, adding up to `qty`).
 */
export function returnReceive(db: Db, ctx: OperationContext, request: { sku: string; warehouse: string; qty: number; lots?: { lot: string; qty: number }[] }) {
  const from: Place = { warehouse: request.warehouse, bucket: 'customer' };
  const to: Place = { warehouse: request.warehouse, bucket: 'return_pending' };
  if (request.lots?.length) {
    if (request.lots.reduce((n, l) => n + l.qty, 0) !== request.qty) throw new LedgerError('invalid_movement', `the lots of a return add up to its ${request.qty} units`, { field: 'lots' });
    return move(db, ctx, 'return_receive', request.lots.map((l) => ({ sku: request.sku, qty: l.qty, from, to, lot: l.lot })));
  }
  return move(db, ctx, 'return_receive', [{ sku: request.sku, qty: request.qty, from, to }]);
}

export type Disposition = 'restock' | 'refurbish' | 'damaged' | 'scrap' | 'vendor_return';
const dispositionTarget: Record<Disposition, Bucket> = {
  restock: 'available',
  refurbish: 'quarantine',
  damaged: 'damaged',
  scrap: 'scrap',
  vendor_return: 'supplier',
};

/** Units leave a holding bucket (return_pending, quarantine or damaged) by their disposition. */
export function dispose(
  db: Db,
  ctx: OperationContext,
  request: { sku: string; warehouse: string; qty: number; from: Extract<StockBucket, 'return_pending' | 'quarantine' | 'damaged'>; disposition: Disposition },
) {
  return move(db, ctx, 'dispose', [
    {
      sku: request.sku,
      qty: request.qty,
      from: { warehouse: request.warehouse, bucket: request.from },
      to: { warehouse: request.warehouse, bucket: dispositionTarget[request.disposition] },
    },
  ]);
}

/**
 * Counted stock differs from the books: adjustment ↔ available, and the value at
 * average cost posted between inventory asset and write-offs in the same transaction.
 */
export function adjust(
  db: Db,
  ctx: OperationContext,
  /**
   * `lot`: for a lot-tracked item, the lot counted; units found need its expiry too.
   * Units missing of a lot-tracked item without a lot leave its lots earliest expiry first.
   */
  request: { sku: string; warehouse: string; delta: number; reasonCode: string; lot?: string; expiresOn?: string },
) {
  return runOperation(db, ctx, 'adjust', request, async (tx) => {
    if (!Number.isSafeInteger(request.delta) || request.delta === 0) {
      throw new LedgerError('invalid_movement', 'an adjustment moves a non-zero whole number of units');
    }
    let lot: string | undefined = request.lot;
    if (request.delta > 0) {
      // Units found of a lot already known keep its expiry; a new lot needs one.
      const known = request.lot && !request.expiresOn
        ? await tx.selectFrom('lots').select(sql<string>`expires_on::text`.as('expires_on')).where('sku', '=', request.sku).where('lot', '=', request.lot).executeTakeFirst()
        : undefined;
      const expiresOn = request.expiresOn ?? known?.expires_on;
      lot = await registerLot(tx, request.sku, request.lot === undefined && expiresOn === undefined ? undefined : { lot: request.lot ?? '', expiresOn: expiresOn ?? '' });
    }
    const item = await tx.selectFrom('items').select('average_cost_minor').where('sku', '=', request.sku).executeTakeFirst();
    if (!item) throw new LedgerError('unknown_reference', `unknown sku ${request.sku}`);
    const qty = Math.abs(request.delta);
    const shelf: Place = { warehouse: request.warehouse, bucket: 'available' };
    const outside: Place = { warehouse: request.warehouse, bucket: 'adjustment' };
    const named = lot ? { lot } : {};
    await applyLegs(tx, ctx.key, [
      request.delta > 0 ? { sku: request.sku, qty, from: outside, to: shelf, ...named } : { sku: request.sku, qty, from: shelf, to: outside, ...named },
    ]);
    const valueMinor = qty * item.average_cost_minor;
    if (!Number.isSafeInteger(valueMinor)) throw new LedgerError('invalid_movement', `adjustment value ${qty} × ${item.average_cost_minor} exceeds 2^53 minor units`);
    let entryId: number | null = null;
    if (valueMinor > 0) {
      const lines: JournalLineInput[] =
        request.delta > 0
          ? [
              { account: '1300', debitMinor: valueMinor },
              { account: '5200', creditMinor: valueMinor },
            ]
          : [
              { account: '5200', debitMinor: valueMinor },
              { account: '1300', creditMinor: valueMinor },
            ];
      const entry = await postEntry(tx, {
        key: `${ctx.key}:journal`,
        eventType: 'inventory.adjusted',
        reference: `${request.sku}@${request.warehouse}`,
        memo: request.reasonCode,
        actor: ctx.actor,
        lines,
      });
      entryId = entry.entryId;
    }
    return { sku: request.sku, warehouse: request.warehouse, delta: request.delta, valueMinor, journalEntryId: entryId };
  });
}
