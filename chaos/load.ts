/**
 * The chaos run's steady load: scenarios started at a seeded rate, each driving one
 * business process end to end through the real HTTP API, as a storefront, a WMS, a
 * supplier and ops people would. Every WMS and supplier event is sent twice (at once or
 * one after the other), and some arrive out of order. Scenarios write down what they sent
 * (`Sent`), which the end checks hold the database and Temporal to.
 *
 * A new process gets its load by adding one entry to `scenarios` below.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { receive } from '../db/ledger.js';
import { between, chance, fork, pick, rng, type Random } from './random.js';
import { returnWorkflowId } from '../contracts/return.js';
import { retryAfterMs, type AnswerLog } from './answers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const WAREHOUSES = [
  { code: 'CHX-EWR', lat: 40.7357, lon: -74.1724 },
  { code: 'CHX-ORD', lat: 41.8781, lon: -87.6298 },
  { code: 'CHX-LAX', lat: 34.0522, lon: -118.2437 },
];
export const SKUS = Array.from({ length: 12 }, (_, i) => ({
  sku: `CHX-${String(i + 1).padStart(3, '0')}`,
  priceMinor: 1_000 + ((i * 773) % 3_000),
  costMinor: 400 + ((i * 311) % 1_200),
}));
export const SUPPLIER = 'chaos-supplier';
const OPENING_STOCK = 1_000_000;

/** Warehouses, items, a supplier and plenty of opening stock, straight into the database. */
export async function seedCatalog(db: Db): Promise<void> {
  await db
    .insertInto('warehouses')
    .values(WAREHOUSES.map((w) => ({ ...w, name: `Chaos ${w.code}`, freight_base_minor: 400, freight_per_km_minor: 1, daily_capacity: 10_000_000, zones: JSON.stringify([{ code: 'A', bins: ['A-01'] }]) })))
    .execute();
  await db
    .insertInto('items')
    .values(SKUS.map((s) => ({ sku: s.sku, name: `Chaos item ${s.sku}`, price_minor: s.priceMinor, standard_cost_minor: s.costMinor, average_cost_minor: s.costMinor })))
    .execute();
  await db.insertInto('suppliers').values({ id: SUPPLIER, name: 'Chaos supplier', default_lead_time_days: 10 }).execute();
  await db
    .insertInto('supplier_items')
    .values(SKUS.map((s) => ({ supplier_id: SUPPLIER, sku: s.sku, unit_cost_minor: s.costMinor })))
    .execute();
  for (const w of WAREHOUSES) {
    for (const s of SKUS) {
      await receive(db, { key: `chaos:opening:${s.sku}:${w.code}`, actor: 'chaos' }, { sku: s.sku, warehouse: w.code, qty: OPENING_STOCK, into: 'available', fromInbound: 0, unitCostMinor: s.costMinor, landedCostMinor: 0 });
    }
  }
}

// ---------------------------------------------------------------------------------------
// What the load sent, and how the API answered

/** What the scenarios sent and expect to find at the end. */
export interface Sent {
  /** Order id → the final status its scenario drove it to. */
  orders: Map<string, 'shipped' | 'cancelled' | 'rejected'>;
  /** Shipment id → units the WMS reported shipped. */
  shipmentsShipped: Map<string, number>;
  /** PO id → units received (each receipt counted once, however often it was sent). */
  purchaseOrders: Map<string, number>;
  /** Transfer id → units sent on their way. */
  transfers: Map<string, { qty: number; received: number; damaged: number }>;
  /** Return id → what the load drove it to (see `ReturnSent`). */
  returns: Map<string, ReturnSent>;
  /** Every write the API answered 2xx (a repeat too): each must show in the records at the end. */
  answered: AnsweredWrite[];
}

/** A write the API answered with a 2xx. */
export interface AnsweredWrite {
  method: string;
  path: string;
  body: unknown;
  status: number;
}

/** A return as the load drove it: its units, and the end it reached as the API reported it. */
export interface ReturnSent {
  orderId: string;
  resolution: 'refund' | 'exchange';
  /** Units in the parcels sent (each parcel counted once, however often it was sent). */
  unitsReceived: number;
  /** Units in the inspections sent, by the condition the inspector reported. */
  conditions: Record<string, number>;
  /** Finance approved it (the refund was above the approval limit). */
  approved: boolean;
  /** The replacement order of an exchange (driven to shipped like any other order). */
  replacementOrderId?: string;
  /** The final status the process reported, and the money it reported paid back and applied. */
  status: string;
  cashMinor: number;
  appliedMinor: number;
}

export interface LoadStats {
  requests: number;
  /** Requests sent again after a 503 or 429 (after its Retry-After), another 5xx, no answer in time or a refused connection. */
  retried: number;
  /** Events and decisions deliberately sent a second time. */
  duplicates: number;
  /** Events deliberately sent before the one that should come first. */
  outOfOrder: number;
  /** 409 answers by code (to duplicates and out-of-order events, as expected). */
  conflicts: Record<string, number>;
  /** Answers that a duplicate or early event should not get (e.g. 200 to an out-of-order event). */
  surprises: string[];
  scenarios: Record<string, { started: number; finished: number; failed: number }>;
  failures: string[];
}

export function newSent(): Sent {
  return { orders: new Map(), shipmentsShipped: new Map(), purchaseOrders: new Map(), transfers: new Map(), returns: new Map(), answered: [] };
}

export function newStats(): LoadStats {
  return { requests: 0, retried: 0, duplicates: 0, outOfOrder: 0, conflicts: {}, surprises: [], scenarios: {}, failures: [] };
}

type Role = 'system' | 'ops' | 'buyer' | 'finance' | 'viewer';

interface Answer {
  status: number;
  body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

export interface LoadContext {
  apiUrl: string;
  keys: Record<Role, string>;
  db: Db;
  random: Random;
  /** Prefix of every business id this run makes. */
  tag: string;
  sent: Sent;
  stats: LoadStats;
  /** No scenario waits beyond this (epoch ms). */
  deadline: () => number;
  /** Every answer the API gave, and the client's deadline for one. */
  answers: AnswerLog;
  log: (line: string) => void;
}

/**
 * One request as an integrating system sends it: a 503 or 429 is sent again after its
 * Retry-After, any other 5xx, a refused or reset connection, or no answer within the
 * deadline, after a short backoff (the services may be down for a moment); any other answer
 * is returned. Every answer is noted in the answer log (class, time, when it was sent), and
 * every write answered 2xx in `Sent.answered`, which the end checks hold the records to.
 */
async function call(ctx: LoadContext, method: 'GET' | 'POST', path: string, body: unknown, role: Role): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    ctx.stats.requests++;
    let wait = Math.min(3_000, 200 * attempt);
    const sentAt = Date.now();
    try {
      const response = await fetch(`${ctx.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${ctx.keys[role]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(ctx.answers.deadlineMs),
      });
      const text = await response.text();
      const parsed = parseBody(text);
      const retryAfter = response.headers.get('retry-after');
      ctx.answers.note({ sentAt, ms: Date.now() - sentAt, method, path, status: response.status, code: errorCode(parsed), retryAfter });
      if (response.status >= 200 && response.status < 300 && method !== 'GET') ctx.sent.answered.push({ method, path, body, status: response.status });
      if (response.status < 500 && response.status !== 429) return { status: response.status, body: parsed };
      // "Try again later", and when: as asked (within reason), else the usual backoff.
      if (response.status === 503 || response.status === 429) wait = Math.min(30_000, retryAfterMs(retryAfter) ?? wait);
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      const deadline = e.name === 'TimeoutError';
      ctx.answers.note({ sentAt, ms: Date.now() - sentAt, method, path, error: deadline ? 'deadline' : (e.cause?.code ?? e.cause?.message ?? e.message) });
    }
    if (Date.now() > ctx.deadline()) throw new Error(`${method} ${path}: no answer but errors until the deadline`);
    ctx.stats.retried++;
    await sleep(wait);
  }
}

/** The error code of an answer; for a 503, with the dependency and the reason it names. */
function errorCode(body: Answer['body']): string | undefined {
  const error = body.error as { code?: string; details?: { dependency?: string; reason?: string } } | undefined;
  if (!error?.code) return undefined;
  return [error.code, error.details?.dependency, error.details?.reason].filter(Boolean).join(' ');
}

/** The body of an answer: JSON as the API sends it, or the text of anything else in the error shape. */
function parseBody(text: string): Answer['body'] {
  if (!text) return {};
  try {
    return JSON.parse(text) as Answer['body'];
  } catch {
    return { error: { code: 'not_json', message: text.slice(0, 200) } };
  }
}

const post = (ctx: LoadContext, path: string, body: unknown, role: Role) => call(ctx, 'POST', path, body, role);

function noteConflict(ctx: LoadContext, answer: Answer): void {
  if (answer.status !== 409) return;
  const code = answer.body.error?.code ?? 'unknown';
  ctx.stats.conflicts[code] = (ctx.stats.conflicts[code] ?? 0) + 1;
}

/** The answer must be one of `ok`; otherwise the scenario fails with what came back. */
function expectStatus(answer: Answer, ok: number[], what: string): Answer {
  if (!ok.includes(answer.status)) throw new Error(`${what}: expected ${ok.join(' or ')}, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  return answer;
}

/**
 * Sends the same event twice, at once or one after the other (a sender that retries): the
 * first applies, the second changes nothing — 200 with the same state, or 409 when the
 * process has moved on or is busy with the first. Returns the answers.
 */
async function sendTwice(ctx: LoadContext, path: string, body: unknown, role: Role): Promise<Answer[]> {
  ctx.stats.duplicates++;
  const answers = chance(ctx.random, 0.5)
    ? await Promise.all([post(ctx, path, body, role), post(ctx, path, body, role)])
    : [await post(ctx, path, body, role), await post(ctx, path, body, role)];
  for (const a of answers) {
    noteConflict(ctx, a);
    if (a.status !== 200 && a.status !== 201 && a.status !== 202 && a.status !== 409) throw new Error(`POST ${path}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
  }
  return answers;
}

/** Polls the database until `probe` answers something, or fails at the deadline saying what it waited for. */
async function until<T>(ctx: LoadContext, what: string, probe: () => Promise<T | undefined>, timeoutMs = Infinity): Promise<T> {
  const deadline = Math.min(ctx.deadline(), Date.now() + timeoutMs);
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = ` (last error: ${(error as Error).message})`;
    }
    if (Date.now() > deadline) {
      if (timeoutMs !== Infinity && Date.now() < ctx.deadline()) return undefined as T;
      throw new Error(`timed out waiting for ${what}${lastError}`);
    }
    await sleep(400);
  }
}

/**
 * Sends an event (twice) until the state it leads to shows in the database: a send lost to
 * a fault is sent again after a while, as an integrating system retries.
 */
async function deliver(ctx: LoadContext, what: string, send: () => Promise<unknown>, reached: () => Promise<boolean>): Promise<void> {
  for (;;) {
    await send();
    const done = await until(ctx, what, async () => ((await reached()) ? true : undefined), 20_000);
    if (done) return;
    ctx.log(`${what}: not there after 20 s; sending again`);
  }
}

// ---------------------------------------------------------------------------------------
// Orders and shipments

/**
 * The driver's own look into the database (as a WMS screen would): a read or write cut off
 * by a Postgres restart or a terminated connection is tried again until the run's deadline.
 */
async function observe<T>(ctx: LoadContext, query: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await query();
    } catch (error) {
      const text = `${(error as Error).message} ${(error as { code?: string }).code ?? ''}`;
      if (!/ECONNREFUSED|ECONNRESET|Connection terminated|terminating connection|starting up|shutting down|57P0[1-3]/i.test(text) || Date.now() > ctx.deadline()) throw error;
      await sleep(Math.min(2_000, 200 * attempt));
    }
  }
}

const one = async <T>(ctx: LoadContext, query: () => Promise<T[]>): Promise<T | undefined> => (await observe(ctx, query))[0];

async function orderStatus(ctx: LoadContext, orderId: string): Promise<string | undefined> {
  return (await one(ctx, () => ctx.db.selectFrom('orders').select('status').where('id', '=', orderId).execute()))?.status;
}

function orderBody(ctx: LoadContext, orderId: string, extra: Record<string, unknown> = {}) {
  const skus = new Set<string>();
  const lineCount = between(ctx.random, 1, 2);
  while (skus.size < lineCount) skus.add(pick(ctx.random, SKUS).sku);
  const warehouse = pick(ctx.random, WAREHOUSES);
  return {
    orderId,
    channel: 'dtc',
    customerId: `${orderId}-c`,
    currency: 'USD',
    shipTo: { country: 'US', city: 'Chaos', lat: warehouse.lat + 0.5, lon: warehouse.lon + 0.5 },
    billingCountry: 'US',
    lines: [...skus].map((sku, i) => ({ lineNo: i + 1, sku, qty: between(ctx.random, 1, 3), unitPriceMinor: SKUS.find((s) => s.sku === sku)!.priceMinor })),
    ...extra,
  };
}

/** A storefront submits the order, and (as a retrying client) submits it again. */
async function submitOrder(ctx: LoadContext, body: ReturnType<typeof orderBody>): Promise<string> {
  const first = expectStatus(await post(ctx, '/orders', body, 'system'), [200, 201], `order ${body.orderId}`);
  const again = expectStatus(await post(ctx, '/orders', body, 'system'), [200], `order ${body.orderId} again`);
  ctx.stats.duplicates++;
  if (again.body.created !== false) ctx.stats.surprises.push(`order ${body.orderId}: the repeat said created ${String(again.body.created)}`);
  return String(first.body.status);
}

/** Until the order is released and each warehouse it reserved at has its shipment recorded. */
async function shipmentsOf(ctx: LoadContext, orderId: string): Promise<{ id: string; units: number }[]> {
  return until(ctx, `order ${orderId} released with its shipments`, async () => {
    const row = await sql<{ status: string; warehouses: number; shipments: { id: string; units: number }[] | null }>`
      select o.status,
        (select count(distinct warehouse_code)::int from reservations r where r.order_id = o.id) as warehouses,
        (select json_agg(json_build_object('id', s.id, 'units', (select sum(qty)::int from shipment_lines l where l.shipment_id = s.id)) order by s.id)
           from shipments s where s.order_id = o.id and exists (select 1 from shipment_lines l where l.shipment_id = s.id)) as shipments
      from orders o where o.id = ${orderId}`.execute(ctx.db);
    const r = row.rows[0];
    if (!r || r.status !== 'released' || !r.shipments || r.shipments.length !== r.warehouses) return undefined;
    return r.shipments;
  });
}

const wmsSteps = [
  { event: { type: 'picked' }, status: 'picked' },
  { event: { type: 'packed' }, status: 'packed' },
  { event: { type: 'shipped', carrier: 'UPS', tracking: '' as string, freightCostMinor: 650 }, status: 'shipped' },
] as const;
const wmsOrder = ['released', 'picked', 'packed', 'shipped'];

/** The WMS reports picked, packed, shipped: each twice, and sometimes the next one too early. */
async function shipThroughWms(ctx: LoadContext, shipment: { id: string; units: number }): Promise<void> {
  const path = `/shipments/${shipment.id}/events`;
  const status = async () => (await one(ctx, () => ctx.db.selectFrom('shipments').select('status').where('id', '=', shipment.id).execute()))?.status ?? 'missing';
  for (const [index, step] of wmsSteps.entries()) {
    const event = step.event.type === 'shipped' ? { ...step.event, tracking: `1Z${shipment.id}` } : step.event;
    const next = wmsSteps[index + 1];
    if (next && chance(ctx.random, 0.3)) {
      // The WMS sends the next event before this one: refused as out of order, nothing changes.
      ctx.stats.outOfOrder++;
      const early = await post(ctx, path, next.event.type === 'shipped' ? { ...next.event, tracking: `1Z${shipment.id}` } : next.event, 'system');
      noteConflict(ctx, early);
      if (early.status !== 409) ctx.stats.surprises.push(`shipment ${shipment.id}: ${next.event.type} before ${step.event.type} answered ${early.status}`);
    }
    await deliver(
      ctx,
      `shipment ${shipment.id} ${step.status}`,
      () => sendTwice(ctx, path, event, 'system'),
      async () => wmsOrder.indexOf(await status()) >= wmsOrder.indexOf(step.status),
    );
  }
  ctx.sent.shipmentsShipped.set(shipment.id, shipment.units);
}

async function waitOrderStatus(ctx: LoadContext, orderId: string, status: string): Promise<void> {
  await until(ctx, `order ${orderId} to be ${status}`, async () => ((await orderStatus(ctx, orderId)) === status ? true : undefined));
}

/** An order shipped in full: submitted twice, released, every shipment through the WMS. */
async function orderShipped(ctx: LoadContext, id: string): Promise<void> {
  const orderId = `${ctx.tag}-o${id}`;
  await submitOrder(ctx, orderBody(ctx, orderId));
  ctx.sent.orders.set(orderId, 'shipped');
  for (const shipment of await shipmentsOf(ctx, orderId)) await shipThroughWms(ctx, shipment);
  await waitOrderStatus(ctx, orderId, 'shipped');
}

/** A large order held for review; ops approves (twice) and it ships, or rejects it. */
async function orderHeld(ctx: LoadContext, id: string): Promise<void> {
  const orderId = `${ctx.tag}-h${id}`;
  const approve = chance(ctx.random, 0.7);
  // Freight pushes the order over the hold threshold.
  const status = await submitOrder(ctx, orderBody(ctx, orderId, { freightMinor: 150_000 }));
  if (status !== 'on_hold') throw new Error(`order ${orderId} should be on hold, is ${status}`);
  ctx.sent.orders.set(orderId, approve ? 'shipped' : 'rejected');
  const decision = { decision: approve ? 'approve' : 'reject', reason: approve ? 'known customer, checked by phone' : 'card holder denies the order' };
  await deliver(
    ctx,
    `hold decision on ${orderId}`,
    () => sendTwice(ctx, `/orders/${orderId}/hold-decision`, decision, 'ops'),
    async () => !['received', 'on_hold'].includes((await orderStatus(ctx, orderId)) ?? 'received'),
  );
  if (!approve) return waitOrderStatus(ctx, orderId, 'rejected');
  for (const shipment of await shipmentsOf(ctx, orderId)) await shipThroughWms(ctx, shipment);
  await waitOrderStatus(ctx, orderId, 'shipped');
}

/** An order released, sometimes picked, then cancelled (twice): every reservation goes back. */
async function orderCancelled(ctx: LoadContext, id: string): Promise<void> {
  const orderId = `${ctx.tag}-x${id}`;
  await submitOrder(ctx, orderBody(ctx, orderId));
  ctx.sent.orders.set(orderId, 'cancelled');
  const shipments = await shipmentsOf(ctx, orderId);
  if (chance(ctx.random, 0.5)) {
    const first = shipments[0]!;
    await deliver(
      ctx,
      `shipment ${first.id} picked`,
      () => sendTwice(ctx, `/shipments/${first.id}/events`, { type: 'picked' }, 'system'),
      async () => (await one(ctx, () => ctx.db.selectFrom('shipments').select('status').where('id', '=', first.id).execute()))?.status === 'picked',
    );
  }
  await deliver(
    ctx,
    `cancel of ${orderId}`,
    () => sendTwice(ctx, `/orders/${orderId}/cancel`, { reason: 'customer changed their mind' }, 'ops'),
    async () => (await orderStatus(ctx, orderId)) === 'cancelled',
  );
}

// ---------------------------------------------------------------------------------------
// Purchasing

/**
 * A purchase order: drafted (twice), approved by finance when large (twice), acknowledged,
 * received in two parts (each twice, sometimes the second first, sometimes before the
 * acknowledgement), invoiced (twice), closed.
 */
async function purchaseOrder(ctx: LoadContext, id: string): Promise<void> {
  const poId = `${ctx.tag}-p${id}`;
  const large = chance(ctx.random, 0.3);
  const skus = new Set<string>();
  const lineCount = between(ctx.random, 1, 2);
  while (skus.size < lineCount) skus.add(pick(ctx.random, SKUS).sku);
  const lines = [...skus].map((sku, i) => ({ lineNo: i + 1, sku, qty: large ? between(ctx.random, 600, 900) : between(ctx.random, 10, 200) }));
  const warehouse = pick(ctx.random, WAREHOUSES).code;
  const draft = { poId, supplierId: SUPPLIER, warehouse, lines };
  const first = expectStatus(await post(ctx, '/purchase-orders', draft, 'buyer'), [200, 202], `purchase order ${poId}`);
  expectStatus(await post(ctx, '/purchase-orders', draft, 'buyer'), [200, 202], `purchase order ${poId} again`);
  ctx.stats.duplicates++;
  ctx.sent.purchaseOrders.set(poId, lines.reduce((n, l) => n + l.qty, 0));
  const poStatus = async () => (await one(ctx, () => ctx.db.selectFrom('purchase_orders').select('status').where('id', '=', poId).execute()))?.status;
  if (first.body.status === 'awaiting_approval') {
    await deliver(
      ctx,
      `approval of ${poId}`,
      () => sendTwice(ctx, `/purchase-orders/${poId}/approval`, { decision: 'approve', reason: 'needed for the season' }, 'finance'),
      // The record says issued once the approval took (the process answers before its record is written).
      async () => (await one(ctx, () => ctx.db.selectFrom('purchase_orders').select('issued_at').where('id', '=', poId).execute()))?.issued_at != null,
    );
  }
  const parts = lines.map((l) => ({ lineNo: l.lineNo, first: Math.ceil(l.qty * 0.6), rest: l.qty - Math.ceil(l.qty * 0.6) }));
  const receipts = [
    { receiptId: `${poId}-r1`, lines: parts.map((p) => ({ lineNo: p.lineNo, qty: p.first })), landedCostMinor: between(ctx.random, 0, 5_000) },
    { receiptId: `${poId}-r2`, lines: parts.filter((p) => p.rest > 0).map((p) => ({ lineNo: p.lineNo, qty: p.rest })), landedCostMinor: 0 },
  ].filter((r) => r.lines.length > 0);
  if (receipts.length > 1 && chance(ctx.random, 0.3)) {
    ctx.stats.outOfOrder++;
    receipts.reverse();
  }
  const received = async (receiptId: string) =>
    (await one(ctx, () => ctx.db.selectFrom('purchase_order_receipts').select('receipt_id').where('po_id', '=', poId).where('receipt_id', '=', receiptId).execute())) !== undefined;
  const acknowledge = () =>
    deliver(
      ctx,
      `acknowledgement of ${poId}`,
      () => sendTwice(ctx, `/purchase-orders/${poId}/acknowledgement`, { lines: lines.map((l) => ({ lineNo: l.lineNo, confirmedQty: l.qty })) }, 'system'),
      async () => (await one(ctx, () => ctx.db.selectFrom('purchase_orders').select('acknowledged_at').where('id', '=', poId).execute()))?.acknowledged_at != null,
    );
  const ackLate = chance(ctx.random, 0.3);
  if (ackLate) ctx.stats.outOfOrder++;
  else await acknowledge();
  for (const [index, receipt] of receipts.entries()) {
    await deliver(ctx, `receipt ${receipt.receiptId}`, () => sendTwice(ctx, `/purchase-orders/${poId}/receipts`, receipt, 'system'), () => received(receipt.receiptId));
    if (index === 0 && ackLate) await acknowledge();
  }
  const invoice = { invoiceId: `${poId}-inv`, lines: lines.map((l) => ({ lineNo: l.lineNo, qty: l.qty, unitCostMinor: SKUS.find((s) => s.sku === l.sku)!.costMinor })), chargesMinor: receipts.reduce((n, r) => n + r.landedCostMinor, 0) };
  await deliver(ctx, `invoice of ${poId}`, () => sendTwice(ctx, `/purchase-orders/${poId}/invoices`, invoice, 'finance'), async () => (await poStatus()) === 'closed');
}

/** Stock moved between warehouses: requested (twice), received (twice) with a unit damaged now and then. */
async function transfer(ctx: LoadContext, id: string): Promise<void> {
  const transferId = `${ctx.tag}-t${id}`;
  const [from, to] = [...WAREHOUSES].sort(() => ctx.random() - 0.5);
  const qty = between(ctx.random, 5, 40);
  const damaged = chance(ctx.random, 0.3) ? 1 : 0;
  const body = { transferId, sku: pick(ctx.random, SKUS).sku, from: from!.code, to: to!.code, qty, reason: 'rebalance stock' };
  expectStatus(await post(ctx, '/transfers', body, 'ops'), [200, 201], `transfer ${transferId}`);
  expectStatus(await post(ctx, '/transfers', body, 'ops'), [200], `transfer ${transferId} again`);
  ctx.stats.duplicates++;
  ctx.sent.transfers.set(transferId, { qty, received: qty - damaged, damaged });
  await deliver(
    ctx,
    `receipt of transfer ${transferId}`,
    () => sendTwice(ctx, `/transfers/${transferId}/receipt`, { received: qty - damaged, damaged }, 'system'),
    async () => (await one(ctx, () => ctx.db.selectFrom('transfers').select('status').where('id', '=', transferId).execute()))?.status === 'received',
  );
}

// ---------------------------------------------------------------------------------------
// Returns

const RETURN_REASONS = ['changed_mind', 'wrong_size', 'not_as_described', 'defective', 'damaged_in_transit', 'wrong_item'] as const;
/** What the inspector reports per unit, weighted so that every disposition comes up often. */
const CONDITIONS: readonly (readonly [string, number])[] = [
  ['as_new', 0.35],
  ['opened', 0.15],
  ['needs_repair', 0.1],
  ['damaged', 0.2],
  ['defective', 0.2],
];
/** Return statuses before the refund is computed. */
const RETURN_RECEIVING = ['authorized', 'receiving', 'inspecting'];

function condition(random: Random): string {
  let roll = random();
  return CONDITIONS.find(([, w]) => (roll -= w) < 0)?.[0] ?? 'as_new';
}

async function returnStatus(ctx: LoadContext, rmaId: string): Promise<{ status: string; closed: boolean } | undefined> {
  const row = await one(ctx, () => ctx.db.selectFrom('returns').select(['status', 'closed_at']).where('id', '=', rmaId).execute());
  return row && { status: row.status, closed: row.closed_at !== null };
}

/**
 * An order through screening (ops approves it, twice, when it is held) and every shipment
 * through the WMS, until it is shipped.
 */
async function shipOrder(ctx: LoadContext, orderId: string): Promise<void> {
  const screened = await until(ctx, `order ${orderId} screened`, async () => {
    const status = await orderStatus(ctx, orderId);
    return status && status !== 'received' ? status : undefined;
  });
  if (screened === 'on_hold') {
    await deliver(
      ctx,
      `hold decision on ${orderId}`,
      () => sendTwice(ctx, `/orders/${orderId}/hold-decision`, { decision: 'approve', reason: 'large order of a known customer' }, 'ops'),
      async () => (await orderStatus(ctx, orderId)) !== 'on_hold',
    );
  }
  for (const shipment of await shipmentsOf(ctx, orderId)) await shipThroughWms(ctx, shipment);
  await waitOrderStatus(ctx, orderId, 'shipped');
}

/**
 * An order shipped, then part of it sent back: the return requested (twice) for a refund or
 * an exchange (now and then for another sku), its units in one or two parcels (each sent
 * twice, sometimes the second first) at the warehouses they left from, inspected per parcel
 * (twice; units in every condition, so restock, refurbish, damaged and vendor return all
 * happen), an inspection sometimes sent before any parcel and an approval before the refund
 * waits for one (both refused), finance approving (twice) a refund above the limit, the
 * replacement order of an exchange shipped through the WMS, and the refund paid once even
 * when the gateway's answer is lost now and then.
 */
async function orderReturned(ctx: LoadContext, id: string): Promise<void> {
  const orderId = `${ctx.tag}-r${id}`;
  const rmaId = `${ctx.tag}-rma${id}`;
  // About a third above the refund approval limit (50,000 minor units): many units of a dear sku.
  const large = chance(ctx.random, 0.3);
  const lines: { lineNo: number; sku: string; qty: number; unitPriceMinor: number; back: number }[] = [];
  if (large) {
    const item = pick(ctx.random, SKUS.filter((s) => s.priceMinor >= 2_500));
    const back = Math.ceil(60_000 / item.priceMinor) + between(ctx.random, 0, 2);
    lines.push({ lineNo: 1, sku: item.sku, qty: back + between(ctx.random, 1, 3), unitPriceMinor: item.priceMinor, back });
  } else {
    const skus = new Set<string>();
    const lineCount = between(ctx.random, 1, 2);
    while (skus.size < lineCount) skus.add(pick(ctx.random, SKUS).sku);
    for (const [i, sku] of [...skus].entries()) {
      const qty = between(ctx.random, 2, 4);
      lines.push({ lineNo: i + 1, sku, qty, unitPriceMinor: SKUS.find((s) => s.sku === sku)!.priceMinor, back: between(ctx.random, 1, qty - 1) });
    }
    // Now and then a line stays with the customer altogether.
    if (lines.length > 1 && chance(ctx.random, 0.3)) lines[1]!.back = 0;
  }
  await submitOrder(ctx, orderBody(ctx, orderId, { lines: lines.map(({ back: _, ...l }) => l) }));
  ctx.sent.orders.set(orderId, 'shipped');
  await shipOrder(ctx, orderId);

  // The return: part of what shipped.
  const resolution = chance(ctx.random, 0.35) ? 'exchange' : 'refund';
  const returned = lines.filter((l) => l.back > 0);
  const request = {
    returnId: rmaId,
    orderId,
    reasonCode: pick(ctx.random, RETURN_REASONS),
    resolution,
    lines: returned.map((l) => {
      const other = resolution === 'exchange' && chance(ctx.random, 0.3) ? pick(ctx.random, SKUS.filter((s) => s.sku !== l.sku)).sku : undefined;
      return { sku: l.sku, qty: l.back, ...(other ? { replacementSku: other } : {}) };
    }),
  };
  expectStatus(await post(ctx, '/returns', request, 'ops'), [200, 201], `return ${rmaId}`);
  const again = expectStatus(await post(ctx, '/returns', request, 'ops'), [200], `return ${rmaId} again`);
  ctx.stats.duplicates++;
  if (again.body.created !== false) ctx.stats.surprises.push(`return ${rmaId}: the repeat said created ${String(again.body.created)}`);
  const sentReturn: ReturnSent = { orderId, resolution, unitsReceived: 0, conditions: {}, approved: false, status: '', cashMinor: 0, appliedMinor: 0 };
  ctx.sent.returns.set(rmaId, sentReturn);

  // The gateway loses its answer to some refunds after paying them: the retry must not pay twice.
  if (chance(ctx.random, 0.3)) {
    await observe(ctx, () =>
      ctx.db.insertInto('payment_gateway_faults').values({ idempotency_key: `${returnWorkflowId(rmaId)}:refund`, kind: 'lost_response', remaining: 1 }).onConflict((oc) => oc.doNothing()).execute(),
    );
  }

  // Parcels: the units in one or two parcels, at the warehouses the order shipped from.
  const shippedFrom = () => ctx.db.selectFrom('shipments').select('warehouse_code').where('order_id', '=', orderId).where('status', '=', 'shipped').orderBy('id').execute();
  const warehouses = (await observe(ctx, shippedFrom)).map((s) => s.warehouse_code);
  const units = returned.reduce((n, l) => n + l.back, 0);
  const split = units >= 2 && chance(ctx.random, 0.5);
  const parcels = [1, 2]
    .map((n) => ({
      parcelId: `${rmaId}-p${n}`,
      warehouse: pick(ctx.random, warehouses),
      lines: returned
        .map((l) => ({ sku: l.sku, qty: !split ? (n === 1 ? l.back : 0) : n === 1 ? Math.ceil(l.back / 2) : Math.floor(l.back / 2) }))
        .filter((l) => l.qty > 0),
    }))
    .filter((p) => p.lines.length > 0);
  if (parcels.length > 1 && chance(ctx.random, 0.3)) {
    ctx.stats.outOfOrder++;
    parcels.reverse();
  }
  // One inspection per parcel, units by condition.
  const inspections = parcels.map((parcel) => {
    const byCondition = new Map<string, number>();
    const inspected = parcel.lines.flatMap((l) => {
      const counts = new Map<string, number>();
      for (let u = 0; u < l.qty; u++) {
        const c = condition(ctx.random);
        counts.set(c, (counts.get(c) ?? 0) + 1);
        byCondition.set(c, (byCondition.get(c) ?? 0) + 1);
      }
      return [...counts].map(([c, qty]) => ({ sku: l.sku, qty, condition: c, warehouse: parcel.warehouse }));
    });
    return { parcelId: parcel.parcelId, byCondition, body: { inspectionId: `${parcel.parcelId}-i`, lines: inspected } };
  });

  // Out of order: the inspection before any parcel, the approval before the refund waits for one.
  if (chance(ctx.random, 0.3)) {
    ctx.stats.outOfOrder++;
    const early = await post(ctx, `/returns/${rmaId}/inspection`, inspections[0]!.body, 'ops');
    noteConflict(ctx, early);
    if (early.status !== 409) ctx.stats.surprises.push(`return ${rmaId}: inspection before any parcel answered ${early.status}`);
  }
  if (chance(ctx.random, large ? 0.5 : 0.15)) {
    ctx.stats.outOfOrder++;
    const early = await post(ctx, `/returns/${rmaId}/refund-approval`, { decision: 'approve', reason: 'before anything arrived' }, 'finance');
    noteConflict(ctx, early);
    if (early.status !== 409) ctx.stats.surprises.push(`return ${rmaId}: refund approval before the refund answered ${early.status}`);
  }

  const receiptDone = async (parcelId: string) =>
    (await one(ctx, () => ctx.db.selectFrom('return_receipts').select('parcel_id').where('return_id', '=', rmaId).where('parcel_id', '=', parcelId).execute())) !== undefined;
  const inspectionDone = async (inspectionId: string) =>
    (await one(ctx, () => ctx.db.selectFrom('return_inspections').select('inspection_id').where('return_id', '=', rmaId).where('inspection_id', '=', inspectionId).execute())) !== undefined;
  const inspect = async (inspection: (typeof inspections)[number]) => {
    await deliver(ctx, `inspection ${inspection.body.inspectionId}`, () => sendTwice(ctx, `/returns/${rmaId}/inspection`, inspection.body, 'ops'), () => inspectionDone(inspection.body.inspectionId));
    for (const [c, n] of inspection.byCondition) sentReturn.conditions[c] = (sentReturn.conditions[c] ?? 0) + n;
  };
  // Each parcel inspected as soon as it is in, or all of them once every parcel is in.
  const inspectEach = chance(ctx.random, 0.5);
  for (const [index, parcel] of parcels.entries()) {
    await deliver(ctx, `parcel ${parcel.parcelId}`, () => sendTwice(ctx, `/returns/${rmaId}/receipt`, { parcelId: parcel.parcelId, warehouse: parcel.warehouse, lines: parcel.lines }, 'system'), () =>
      receiptDone(parcel.parcelId),
    );
    sentReturn.unitsReceived += parcel.lines.reduce((n, l) => n + l.qty, 0);
    if (inspectEach) await inspect(inspections[index]!);
  }
  if (!inspectEach) for (const inspection of inspections) await inspect(inspection);

  // The refund is computed; above the limit finance approves it.
  const after = await until(ctx, `return ${rmaId} past inspection`, async () => {
    const r = await returnStatus(ctx, rmaId);
    return r && !RETURN_RECEIVING.includes(r.status) ? r.status : undefined;
  });
  if (after === 'awaiting_refund_approval') {
    await deliver(
      ctx,
      `refund approval of ${rmaId}`,
      () => sendTwice(ctx, `/returns/${rmaId}/refund-approval`, { decision: 'approve', reason: 'photos of the returned goods checked' }, 'finance'),
      async () => (await returnStatus(ctx, rmaId))?.status !== 'awaiting_refund_approval',
    );
    sentReturn.approved = true;
  }

  // An exchange ships its replacement like any order.
  if (resolution === 'exchange') {
    const replacementOrderId = `${rmaId}-r1`;
    sentReturn.replacementOrderId = replacementOrderId;
    ctx.sent.orders.set(replacementOrderId, 'shipped');
    await shipOrder(ctx, replacementOrderId);
  }

  // The end, as the process reports it.
  await until(ctx, `return ${rmaId} closed`, async () => ((await returnStatus(ctx, rmaId))?.closed ? true : undefined));
  const view = await until(ctx, `return ${rmaId} as its process reports it`, async () => {
    const answer = await call(ctx, 'GET', `/returns/${rmaId}`, undefined, 'viewer');
    const process = answer.body.process as { status: string; refund?: { cashMinor?: number; appliedMinor?: number } } | null | undefined;
    return answer.status === 200 && process ? process : undefined;
  });
  sentReturn.status = view.status;
  sentReturn.cashMinor = view.refund?.cashMinor ?? 0;
  sentReturn.appliedMinor = view.refund?.appliedMinor ?? 0;
  const expected = resolution === 'exchange' ? 'exchanged' : 'refunded';
  if (view.status !== expected) throw new Error(`return ${rmaId} ended ${view.status}, expected ${expected}`);
}

export interface Scenario {
  name: string;
  /** Relative share of the load. */
  weight: number;
  run(ctx: LoadContext, id: string): Promise<void>;
}

/** The load's mix. */
export const scenarios: Scenario[] = [
  { name: 'order shipped', weight: 5, run: orderShipped },
  { name: 'order returned', weight: 2, run: orderReturned },
  { name: 'order held', weight: 1.5, run: orderHeld },
  { name: 'order cancelled', weight: 1, run: orderCancelled },
  { name: 'purchase order', weight: 1.5, run: purchaseOrder },
  { name: 'transfer', weight: 1, run: transfer },
];

/**
 * Starts scenarios at `ratePerSecond` (seeded, exponential gaps) until `stopAt`, at most
 * `maxInFlight` at once; resolves when every started scenario has finished or failed.
 */
export async function runLoad(ctx: LoadContext, options: { ratePerSecond: number; stopAt: number; maxInFlight: number; isStopped: () => boolean }): Promise<void> {
  const total = scenarios.reduce((n, s) => n + s.weight, 0);
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  while (Date.now() < options.stopAt && !options.isStopped()) {
    if (inFlight.size >= options.maxInFlight) {
      await Promise.race(inFlight);
      continue;
    }
    let roll = ctx.random() * total;
    const scenario = scenarios.find((s) => (roll -= s.weight) < 0) ?? scenarios[0]!;
    const stats = (ctx.stats.scenarios[scenario.name] ??= { started: 0, finished: 0, failed: 0 });
    stats.started++;
    const id = String(++n).padStart(4, '0');
    // Each scenario draws from its own generator: its choices do not depend on the others' timing.
    const task: Promise<void> = scenario
      .run({ ...ctx, random: rng(fork(ctx.random)) }, id)
      .then(
        () => {
          stats.finished++;
        },
        (error: Error) => {
          stats.failed++;
          ctx.stats.failures.push(`${scenario.name} ${id}: ${error.message}`);
        },
      )
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    await sleep(Math.min(5_000, (-Math.log(1 - ctx.random()) / options.ratePerSecond) * 1_000));
  }
  await Promise.all(inFlight);
}
