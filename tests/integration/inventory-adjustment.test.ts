import { describe, expect, it } from 'vitest';
import { reserve } from '../../db/ledger.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

async function setup(onShelf: number, unitCostMinor = 1_000) {
  const sku = await addItem(stack.db, undefined, { average_cost_minor: unitCostMinor });
  const wh = await addWarehouse(stack.db);
  await stock(stack.db, sku, wh, onShelf, unitCostMinor);
  return { sku, wh };
}

const submit = (body: Record<string, unknown>, role: 'ops' | 'system' = 'ops') =>
  stack.app.inject({ method: 'POST', url: '/inventory/adjustments', headers: authAs(role), payload: body });

describe('stock adjustments and cycle counts', () => {
  it('posts a small cycle-count variance at once: movement and journal entry at average cost', async () => {
    const { sku, wh } = await setup(100);
    const adjustmentId = uniqueId('adj-');
    const res = await submit({ adjustmentId, sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 98 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'posted', expected: 100, delta: -2, valueMinor: 2_000 });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(98);
    const entry = await stack.db.selectFrom('journal_entries').selectAll().where('idempotency_key', '=', `adjustment-${adjustmentId}:journal`).execute();
    expect(entry).toHaveLength(1);

    const again = await submit({ adjustmentId, sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 98 });
    expect(again.statusCode).toBe(200);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(98);
    const changed = await submit({ adjustmentId, sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 90 });
    expect(changed.statusCode).toBe(409);
  });

  it('holds a large variance for approval by someone else, then posts it', async () => {
    const { sku, wh } = await setup(100, 5_000);
    const adjustmentId = uniqueId('adj-');
    const res = await submit({ adjustmentId, sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 70 });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'awaiting_approval', delta: -30, valueMinor: 150_000 });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(100);
    const task = await stack.db.selectFrom('tasks').selectAll().where('reference', '=', adjustmentId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'open', kind: 'adjustment_approval', role: 'finance' });

    const url = `/inventory/adjustments/${adjustmentId}/decision`;
    const self = await stack.app.inject({ method: 'POST', url, headers: authAs('ops'), payload: { decision: 'approve', reason: 'recount confirms' } });
    expect(self.statusCode).toBe(409);
    expect(self.json().error.code).toBe('same_person');
    const viewer = await stack.app.inject({ method: 'POST', url, headers: authAs('viewer'), payload: { decision: 'approve', reason: 'recount confirms' } });
    expect(viewer.statusCode).toBe(403);

    const approved = await stack.app.inject({ method: 'POST', url, headers: authAs('finance'), payload: { decision: 'approve', reason: 'recount confirms' } });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'posted', decision: { decision: 'approve', reason: 'recount confirms' } });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(70);
    const closed = await stack.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(closed).toMatchObject({ status: 'done', outcome: 'approve' });
    expect(closed.closed_by).toBe('test-finance');

    const late = await stack.app.inject({ method: 'POST', url, headers: authAs('finance'), payload: { decision: 'reject', reason: 'changed my mind' } });
    expect(late.statusCode).toBe(409);
    // Not waiting any more: refused by the process, or by Temporal once the process has ended.
    expect(late.json().error.code).toBe('not_waiting');

    const record = await stack.app.inject({ method: 'GET', url: `/inventory/adjustments/${adjustmentId}`, headers: authAs('viewer') });
    expect(record.json()).toMatchObject({ status: 'posted', decisionReason: 'recount confirms', countedQty: 70, expected: 100 });
  });

  it('two decisions at once: one is taken, the other is refused with 409', async () => {
    const { sku, wh } = await setup(10);
    const adjustmentId = uniqueId('adj-');
    expect((await submit({ adjustmentId, sku, warehouse: wh, reasonCode: 'found_stock', delta: 50 })).json().status).toBe('awaiting_approval');
    const url = `/inventory/adjustments/${adjustmentId}/decision`;
    const answers = await Promise.all([
      stack.app.inject({ method: 'POST', url, headers: authAs('finance'), payload: { decision: 'approve', reason: 'pallet found' } }),
      stack.app.inject({ method: 'POST', url, headers: authAs('finance'), payload: { decision: 'reject', reason: 'count again' } }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const taken = answers.find((r) => r.statusCode === 200)!.json();
    expect(await balance(stack.db, sku, wh, 'available')).toBe(taken.decision.decision === 'approve' ? 60 : 10);
  });

  it('a rejected adjustment moves nothing', async () => {
    const { sku, wh } = await setup(10);
    const adjustmentId = uniqueId('adj-');
    const res = await submit({ adjustmentId, sku, warehouse: wh, reasonCode: 'found_stock', delta: 50 });
    expect(res.json().status).toBe('awaiting_approval');
    const rejected = await stack.app.inject({
      method: 'POST',
      url: `/inventory/adjustments/${adjustmentId}/decision`,
      headers: authAs('finance'),
      payload: { decision: 'reject', reason: 'count again' },
    });
    expect(rejected.json().status).toBe('rejected');
    expect(await balance(stack.db, sku, wh, 'available')).toBe(10);
  });

  it('the ledger refuses to count below what is allocated, and says so', async () => {
    const { sku, wh } = await setup(50);
    await reserve(stack.db, { key: uniqueId('r-'), actor: 'test' }, { orderId: 'o', channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 45 }] });
    // Shelf = 5 available + 45 allocated.
    const small = await submit({ adjustmentId: uniqueId('adj-'), sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 49 });
    expect(small.json()).toMatchObject({ status: 'posted', delta: -1 });
    // A count of 40 would take 9 from available, which holds 4: the ledger refuses.
    const refused = await submit({ adjustmentId: uniqueId('adj-'), sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 40 }, 'system');
    const body = refused.json();
    expect(body.status).toBe('awaiting_approval');
    const decided = await stack.app.inject({
      method: 'POST',
      url: `/inventory/adjustments/${body.adjustmentId}/decision`,
      headers: authAs('ops'),
      payload: { decision: 'approve', reason: 'shelf is short' },
    });
    expect(decided.json()).toMatchObject({ status: 'refused' });
    expect(decided.json().refusal).toContain('available has 4, 9 needed');
    const refusals = await stack.db.selectFrom('ledger_refusals').selectAll().where('sku', '=', sku).execute();
    expect(refusals).toHaveLength(1);
    expect(await balance(stack.db, sku, wh, 'allocated')).toBe(45);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(4);
  });

  it('refuses malformed input with 400 and an unknown sku with 422, and starts nothing', async () => {
    const { sku, wh } = await setup(1);
    const both = await submit({ adjustmentId: uniqueId('adj-'), sku, warehouse: wh, reasonCode: 'cycle_count', delta: 1, countedQty: 2 });
    expect(both.statusCode).toBe(400);
    const unknown = await submit({ adjustmentId: uniqueId('adj-'), sku: 'NOPE-1', warehouse: wh, reasonCode: 'cycle_count', delta: 1 });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.code).toBe('unknown_sku');
    expect(unknown.json().error.details).toEqual([{ path: 'sku', message: 'unknown sku NOPE-1', code: 'unknown_sku' }]);
  });
});
