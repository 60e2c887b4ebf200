/**
 * The audit log: each decision, adjustment approval, PO approval and price change leaves
 * exactly one row with actor, before/after and reason; a refused request leaves none;
 * GET /audit filters, pages, and is readable by ops, finance and viewer only.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { subjectOf } from '../../api/audit.js';
import type { Db } from '../../db/connection.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: Record<string, unknown>, role: Role) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const put = (url: string, payload: Record<string, unknown>, role: Role) => stack.app.inject({ method: 'PUT', url, headers: authAs(role), payload });
const rowsFor = (subjectId: string) => stack.db.selectFrom('audit_log').selectAll().where('subject_id', '=', subjectId).where('outcome', '=', 'accepted').orderBy('id').execute();
/** A person's refused attempts on a record: kept apart from the changes, with outcome `refused`. */
const refusedFor = (subjectId: string) => stack.db.selectFrom('audit_log').selectAll().where('subject_id', '=', subjectId).where('outcome', '=', 'refused').orderBy('id').execute();
const audit = async (query: string, role: Role = 'viewer') => {
  const res = await stack.app.inject({ method: 'GET', url: `/audit${query}`, headers: authAs(role) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { entries: Record<string, unknown>[]; nextBefore: number | null };
};

async function addSupplier(db: Db, sku: string, unitCostMinor: number) {
  const id = uniqueId('sup-');
  await db.insertInto('suppliers').values({ id, name: `Supplier ${id}`, default_lead_time_days: 10 }).execute();
  await db.insertInto('supplier_items').values({ supplier_id: id, sku, unit_cost_minor: unitCostMinor }).execute();
  return id;
}

/** An order over the value rule (2 × 600.00 > 1 000.00): it waits in the hold queue. */
async function heldOrder(sku: string): Promise<string> {
  const orderId = uniqueId('ord-');
  const res = await post(
    '/orders',
    { orderId, channel: 'dtc', customerId: uniqueId('cust-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 2, unitPriceMinor: 60_000 }] },
    'system',
  );
  expect(res.json(), res.body).toMatchObject({ status: 'on_hold' });
  await eventually(async () => ((await stack.db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirst())?.status === 'on_hold' ? true : undefined));
  return orderId;
}

describe('audit rows for decisions and changes', () => {
  let sku: string;
  let wh: string;
  const startedAt = new Date();

  beforeAll(async () => {
    sku = await addItem(stack.db, undefined, { price_minor: 60_000, average_cost_minor: 5_000 });
    wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 100, 5_000);
  });

  it('a hold decision: one row with the actor, status before and after, and the reason; refusals are kept apart', async () => {
    const orderId = await heldOrder(sku);
    const url = `/orders/${orderId}/hold-decision`;
    // The system's submission is recorded, flagged as automated.
    expect(await rowsFor(orderId)).toMatchObject([{ action: 'order.create', role: 'system', automated: true, subject_type: 'order' }]);

    expect((await post(url, { decision: 'approve', reason: 'no' }, 'ops')).statusCode).toBe(400); // reason too short
    expect((await post(url, { decision: 'approve', reason: 'looks fine' }, 'buyer')).statusCode).toBe(403);
    expect((await post(url, { decision: 'maybe', reason: 'looks fine' }, 'ops')).statusCode).toBe(400);
    expect(await rowsFor(orderId)).toHaveLength(1);

    const approved = await post(url, { decision: 'approve', reason: 'known customer, called back' }, 'ops');
    expect(approved.statusCode, approved.body).toBe(200);
    const again = await post(url, { decision: 'reject', reason: 'second thoughts' }, 'ops');
    expect(again.statusCode).toBe(409);

    const rows = (await rowsFor(orderId)).filter((r) => !r.automated);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'order.hold_decision.approve',
      subject_type: 'order',
      role: 'ops',
      method: 'POST',
      route: '/orders/:id/hold-decision',
      reason: 'known customer, called back',
      status_code: 200,
      before: { status: 'on_hold' },
      after: { decision: 'approve', holdFlags: expect.arrayContaining([expect.any(String)]) },
    });
    expect(rows[0]).toMatchObject({ actor: 'test-ops', user_id: 'test-ops', outcome: 'accepted' });
    // People's refused attempts are kept apart: the buyer's (no role for it) and ops' second decision (409); malformed bodies (400) are not.
    expect((await refusedFor(orderId)).map((r) => [r.actor, r.status_code])).toEqual([
      ['test-buyer', 403],
      ['test-ops', 409],
    ]);
    expect((rows[0]!.after as { status: string }).status).not.toBe('on_hold');
    expect(rows[0]!.at.getTime()).toBeGreaterThanOrEqual(startedAt.getTime() - 1_000);
    expect(rows[0]!.request_id).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);

  it('an adjustment approval: one row with the status before and after; the refused same-person approval is kept apart', async () => {
    const counted = await addItem(stack.db, undefined, { average_cost_minor: 5_000 });
    await stock(stack.db, counted, wh, 100, 5_000);
    const adjustmentId = uniqueId('adj-');
    const created = await post('/inventory/adjustments', { adjustmentId, sku: counted, warehouse: wh, reasonCode: 'cycle_count', countedQty: 70 }, 'ops');
    expect(created.statusCode, created.body).toBe(202);
    const url = `/inventory/adjustments/${adjustmentId}/decision`;
    expect((await post(url, { decision: 'approve', reason: 'recount confirms' }, 'ops')).statusCode).toBe(409); // same person
    expect((await post(url, { decision: 'approve', reason: 'recount confirms' }, 'viewer')).statusCode).toBe(403);

    const approved = await post(url, { decision: 'approve', reason: 'recount confirms' }, 'finance');
    expect(approved.statusCode, approved.body).toBe(200);

    const rows = await rowsFor(adjustmentId);
    expect(rows.map((r) => r.action)).toEqual(['adjustment.create', 'adjustment.decision.approve']);
    expect(rows[0]).toMatchObject({ role: 'ops', reason: 'cycle_count', after: { status: 'awaiting_approval' }, status_code: 202 });
    expect(rows[1]).toMatchObject({
      role: 'finance',
      reason: 'recount confirms',
      before: { status: 'awaiting_approval', delta: -30, valueMinor: 150_000 },
      after: { status: 'posted', delta: -30, valueMinor: 150_000 },
    });
    expect(rows[1]).toMatchObject({ actor: 'test-finance', user_id: 'test-finance' });
    // The same person's approval and the viewer's are kept as refused attempts: who tried, and why not.
    expect((await refusedFor(adjustmentId)).map((r) => [r.actor, r.status_code, r.action])).toEqual([
      ['test-ops', 409, 'adjustment.decision.approve'],
      // Refused before its body was read: the decision it carried is not known.
      ['test-viewer', 403, 'adjustment.decision'],
    ]);
  }, 60_000);

  it('a PO approval: one row with the PO status and value before and after', async () => {
    const supplierId = await addSupplier(stack.db, sku, 1_000);
    const poId = uniqueId('po-');
    // An ops draft always waits for approval.
    const created = await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 700 }] }, 'ops');
    expect(created.statusCode, created.body).toBe(202);
    await eventually(async () => ((await stack.db.selectFrom('purchase_orders').select('status').where('id', '=', poId).executeTakeFirst())?.status === 'awaiting_approval' ? true : undefined));
    const url = `/purchase-orders/${poId}/approval`;
    expect((await post(url, { decision: 'approve', reason: 'season stock' }, 'buyer')).statusCode).toBe(403); // over the buyer limit

    const approved = await post(url, { decision: 'approve', reason: 'season stock' }, 'finance');
    expect(approved.statusCode, approved.body).toBe(200);
    expect((await post(url, { decision: 'approve', reason: 'season stock' }, 'finance')).statusCode).toBe(409);

    const rows = (await rowsFor(poId)).filter((r) => r.action.startsWith('purchase_order.approval'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'purchase_order.approval.approve',
      subject_type: 'purchase_order',
      role: 'finance',
      reason: 'season stock',
      before: { status: 'awaiting_approval', valueMinor: 700_000 },
      after: { status: 'issued', valueMinor: 700_000 },
    });
  }, 60_000);

  it('a price change: one row with the price before and after and the reason; the refused attempt is kept apart', async () => {
    const priced = await addItem(stack.db, undefined, { price_minor: 2_000 });
    const url = `/items/${priced}/price`;
    expect((await put(url, { priceMinor: 2_500, reason: 'supplier raised cost' }, 'viewer')).statusCode).toBe(403);
    expect((await put(url, { priceMinor: -1, reason: 'supplier raised cost' }, 'ops')).statusCode).toBe(400);
    expect((await put(url, { priceMinor: 2_500 }, 'ops')).statusCode).toBe(400);
    expect((await put('/items/NO-SUCH-SKU/price', { priceMinor: 2_500, reason: 'supplier raised cost' }, 'ops')).statusCode).toBe(404);
    expect(await rowsFor(priced)).toEqual([]);
    // Only the viewer's attempt is a person's refusal worth keeping; malformed input and a missing record are not.
    expect((await refusedFor(priced)).map((r) => [r.actor, r.status_code])).toEqual([['test-viewer', 403]]);

    const res = await put(url, { priceMinor: 2_500, reason: 'supplier raised cost' }, 'ops');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ sku: priced, priceMinor: 2_500, previousPriceMinor: 2_000, changed: true });
    const rows = await rowsFor(priced);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'item.price_change',
      subject_type: 'item',
      role: 'ops',
      method: 'PUT',
      before: { priceMinor: 2_000 },
      after: { priceMinor: 2_500 },
      reason: 'supplier raised cost',
    });
    const events = await stack.db.selectFrom('outbox_events').selectAll().where('topic', '=', 'item.price_changed').where('key', '=', priced).execute();
    expect(events).toHaveLength(1);
  });

  it('a change whose handler says nothing: before and after read from its record', async () => {
    const planned = await addItem(stack.db);
    const uplift = (factor: number) => put('/replenishment/uplifts', { sku: planned, uplifts: [{ from: '2030-01-01', to: '2030-01-31', factor }] }, 'buyer');
    expect((await uplift(1.5)).statusCode).toBe(200);
    expect((await uplift(2)).statusCode).toBe(200);
    const rows = await rowsFor(planned);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      action: 'demand_uplift.set',
      subject_type: 'demand_uplift',
      role: 'buyer',
      before: { uplifts: [{ from: '2030-01-01', to: '2030-01-31', factor: 1.5 }] },
      after: { uplifts: [{ from: '2030-01-01', to: '2030-01-31', factor: 2 }] },
    });
    expect(rows[0]!.before).toEqual({ uplifts: [] });
  });

  it("names the subject by its own id field, not another record's id the body also carries", () => {
    // A return's body names the order it is against; the row is the return's (from the answer when the caller gave no id).
    expect(subjectOf('POST', '/returns', {}, { orderId: 'ord-1', returnId: 'RMA-1' })).toEqual({ type: 'return', id: 'RMA-1', verb: 'create' });
    expect(subjectOf('POST', '/returns', {}, { orderId: 'ord-1' }).id).toBeUndefined();
    expect(subjectOf('POST', '/purchase-orders/from-suggestions', {}, { runId: 'run-1', poId: 'po-1' }).id).toBe('po-1');
    expect(subjectOf('POST', '/inventory/adjustments', {}, { sku: 'SKU-1', adjustmentId: 'adj-1' }).id).toBe('adj-1');
  });

  it('a failed audit write does not undo or refuse the change it records', async () => {
    const priced = await addItem(stack.db, undefined, { price_minor: 2_000 });
    await sql`alter table audit_log rename to audit_log_away`.execute(stack.db);
    try {
      const res = await put(`/items/${priced}/price`, { priceMinor: 1_900, reason: 'clearance' }, 'finance');
      expect(res.statusCode, res.body).toBe(200);
    } finally {
      await sql`alter table audit_log_away rename to audit_log`.execute(stack.db);
    }
    expect((await stack.db.selectFrom('items').select('price_minor').where('sku', '=', priced).executeTakeFirstOrThrow()).price_minor).toBe(1_900);
    expect(await rowsFor(priced)).toEqual([]);
  });
});

describe('GET /audit', () => {
  let sku: string;
  const before = new Date(Date.now() - 1_000);

  beforeAll(async () => {
    sku = await addItem(stack.db, undefined, { price_minor: 1_000 });
    for (const [price, role] of [
      [1_100, 'ops'],
      [1_200, 'finance'],
      [1_300, 'ops'],
    ] as const) {
      expect((await put(`/items/${sku}/price`, { priceMinor: price, reason: `to ${price}` }, role)).statusCode).toBe(200);
    }
  });

  it('filters by subject, actor, role, action and date range, newest first', async () => {
    const bySubject = await audit(`?subjectType=item&subjectId=${sku}`);
    expect(bySubject.entries.map((e) => e.after)).toEqual([{ priceMinor: 1_300 }, { priceMinor: 1_200 }, { priceMinor: 1_100 }]);
    expect(bySubject.entries.map((e) => e.before)).toEqual([{ priceMinor: 1_200 }, { priceMinor: 1_100 }, { priceMinor: 1_000 }]);

    const financeActor = bySubject.entries[1]!.actor as string;
    const byActor = await audit(`?actor=${encodeURIComponent(financeActor)}&subjectId=${sku}`);
    expect(byActor.entries.map((e) => e.reason)).toEqual(['to 1200']);
    expect((await audit(`?role=ops&subjectId=${sku}`)).entries).toHaveLength(2);

    expect((await audit(`?action=item.price_change&subjectId=${sku}`)).entries).toHaveLength(3);
    expect((await audit(`?action=item&subjectId=${sku}`)).entries).toHaveLength(3); // a prefix of the action
    expect((await audit(`?action=item.price&subjectId=${sku}`)).entries).toHaveLength(0); // not a whole part
    expect((await audit(`?action=order.hold_decision&subjectId=${sku}`)).entries).toHaveLength(0);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(`?subjectId=${sku}&from=${encodeURIComponent(future)}`)).entries).toHaveLength(0);
    expect((await audit(`?subjectId=${sku}&to=${encodeURIComponent(before.toISOString())}`)).entries).toHaveLength(0);
    expect((await audit(`?subjectId=${sku}&from=${encodeURIComponent(before.toISOString())}&to=${encodeURIComponent(future)}`)).entries).toHaveLength(3);
    expect((await audit(`?subjectId=${sku}&automated=true`)).entries).toHaveLength(0);
    expect((await audit(`?subjectId=${sku}&automated=false`)).entries).toHaveLength(3);
  });

  it('pages with nextBefore', async () => {
    const first = await audit(`?subjectId=${sku}&limit=2`);
    expect(first.entries).toHaveLength(2);
    expect(first.nextBefore).toBe(first.entries[1]!.id);
    const second = await audit(`?subjectId=${sku}&limit=2&before=${first.nextBefore}`);
    expect(second.entries.map((e) => e.after)).toEqual([{ priceMinor: 1_100 }]);
    expect(second.nextBefore).toBeNull();
  });

  it('is read by ops, finance and viewer; buyer and system are refused; bad filters are 400', async () => {
    for (const role of ['ops', 'finance', 'viewer'] as const) await audit(`?subjectId=${sku}`, role);
    for (const role of ['buyer', 'system'] as const) {
      const res = await stack.app.inject({ method: 'GET', url: '/audit', headers: authAs(role) });
      expect(res.statusCode).toBe(403);
    }
    expect((await stack.app.inject({ method: 'GET', url: '/audit' })).statusCode).toBe(401);
    for (const query of ['?limit=0', '?limit=501', '?from=yesterday', '?automated=maybe', '?from=2030-01-02&to=2030-01-01']) {
      const res = await stack.app.inject({ method: 'GET', url: `/audit${query}`, headers: authAs('viewer') });
      expect(res.statusCode, query).toBe(400);
    }
  });

  it('reading the log is not itself audited, and rows cannot be changed', async () => {
    const count = async () => Number((await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(stack.db)).rows[0]!.n);
    const n = await count();
    await audit('');
    expect(await count()).toBe(n);
    await expect(sql`update audit_log set reason = 'rewritten'`.execute(stack.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(stack.db)).rejects.toThrow(/append-only/);
  });
});
