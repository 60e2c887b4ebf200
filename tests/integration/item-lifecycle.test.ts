/**
 * Items and suppliers edited and deactivated: audited with before and after, a deactivated sku
 * or supplier refused on new orders and purchase orders while its stock still moves, and a
 * change of unit of measure or lot tracking refused while stock is held or on order.
 */
import { describe, expect, it } from 'vitest';
import { checkLedger } from '../../db/ledger-check.js';
import { expectInbound, reserve } from '../../db/ledger.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
type Role = Parameters<typeof authAs>[0];
const patch = (url: string, payload: object, role: Role) => stack.app.inject({ method: 'PATCH', url, headers: authAs(role), payload });
const post = (url: string, payload: object, role: Role) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });

async function addSupplier(sku: string) {
  const id = uniqueId('sup-');
  await stack.db.insertInto('suppliers').values({ id, name: `Supplier ${id}`, default_lead_time_days: 7 }).execute();
  await stack.db.insertInto('supplier_items').values({ supplier_id: id, sku, unit_cost_minor: 500 }).execute();
  return id;
}

describe('PATCH /items/:sku', () => {
  it('edits the fields given, audited with before and after; an empty patch is 400; only ops may', async () => {
    const sku = await addItem(stack.db);
    expect((await patch(`/items/${sku}`, { name: 'Renamed' }, 'buyer')).statusCode).toBe(403);
    expect((await patch(`/items/${sku}`, {}, 'ops')).statusCode).toBe(400);
    expect((await patch(`/items/NO-SUCH-SKU`, { name: 'x' }, 'ops')).statusCode).toBe(404);
    const res = await patch(`/items/${sku}`, { name: 'Renamed', safetyStock: 12, reason: 'new packaging' }, 'ops');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ changed: ['name', 'safetyStock'], before: { name: `Item ${sku}`, safetyStock: 0 }, after: { name: 'Renamed', safetyStock: 12 } });
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('subject_type', '=', 'item').where('subject_id', '=', sku).where('method', '=', 'PATCH').executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'item.update', reason: 'new packaging' });
    expect(audit.before).toMatchObject({ name: `Item ${sku}`, safetyStock: 0 });
    expect(audit.after).toMatchObject({ name: 'Renamed', safetyStock: 12 });
    const event = await stack.db.selectFrom('outbox_events').selectAll().where('topic', '=', 'item.updated').where('key', '=', sku).executeTakeFirstOrThrow();
    expect(event.payload).toMatchObject({ changed: ['name', 'safetyStock'] });
    // The same values again change nothing.
    expect((await patch(`/items/${sku}`, { name: 'Renamed' }, 'ops')).json().changed).toEqual([]);
  });

  it('refuses a change of lot tracking or unit of measure while units are held or on order, with where they are', async () => {
    const [sku, wh] = [await addItem(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 4);
    const refused = await patch(`/items/${sku}`, { lotTracked: true }, 'ops');
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error).toMatchObject({ code: 'item_has_stock', details: [expect.objectContaining({ path: 'lotTracked' })] });
    expect(refused.json().error.message).toContain(`4 available at ${wh}`);
    expect((await stack.db.selectFrom('items').select('lot_tracked').where('sku', '=', sku).executeTakeFirstOrThrow()).lot_tracked).toBe(false);

    const onOrder = await addItem(stack.db);
    await expectInbound(stack.db, { key: uniqueId('inb-'), actor: 'test' }, { sku: onOrder, warehouse: wh, qty: 10 });
    const uom = await patch(`/items/${onOrder}`, { uom: 'case' }, 'ops');
    expect(uom.statusCode).toBe(422);
    expect(uom.json().error.message).toContain('unit of measure');

    const empty = await addItem(stack.db);
    const ok = await patch(`/items/${empty}`, { lotTracked: true, uom: 'kg' }, 'ops');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().after).toMatchObject({ lotTracked: true, uom: 'kg' });
  });

  it('a deactivated sku is refused on new orders and purchase orders, while its stock and reservations still move', async () => {
    const [sku, wh] = [await addItem(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 5);
    const supplierId = await addSupplier(sku);
    const off = await patch(`/items/${sku}`, { active: false, reason: 'discontinued' }, 'ops');
    expect(off.statusCode).toBe(200);
    const audit = await stack.db.selectFrom('audit_log').select(['action', 'before', 'after']).where('subject_id', '=', sku).where('action', '=', 'item.deactivate').executeTakeFirstOrThrow();
    expect(audit.after).toMatchObject({ active: false });

    const order = await post(
      '/orders',
      { orderId: uniqueId('ord-'), channel: 'dtc', customerId: uniqueId('c-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 1, unitPriceMinor: 2_000 }] },
      'system',
    );
    expect(order.statusCode, order.body).toBe(201);
    expect(order.json()).toMatchObject({ status: 'rejected' });
    expect(JSON.stringify(order.json())).toContain('inactive_sku');

    const po = await post('/purchase-orders', { poId: uniqueId('po-'), supplierId, warehouse: wh, lines: [{ sku, qty: 5 }] }, 'buyer');
    expect(po.statusCode).toBe(422);
    expect(po.json().error.code).toBe('sku_inactive');

    // Stock already there still moves: an open order's reservation, say.
    const held = await reserve(stack.db, { key: uniqueId('res-'), actor: 'test' }, { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 2 }] });
    expect(held.lines[0]!.reserved).toBe(2);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('PATCH /suppliers/:id', () => {
  it('buyers and ops edit and deactivate a supplier, audited; a deactivated supplier takes no new PO', async () => {
    const [sku, wh] = [await addItem(stack.db), await addWarehouse(stack.db)];
    const supplierId = await addSupplier(sku);
    expect((await patch(`/suppliers/${supplierId}`, { name: 'x' }, 'viewer')).statusCode).toBe(403);
    expect((await patch(`/suppliers/${supplierId}`, {}, 'buyer')).statusCode).toBe(400);
    expect((await patch(`/suppliers/no-such-supplier`, { name: 'x' }, 'buyer')).statusCode).toBe(404);
    const edited = await patch(`/suppliers/${supplierId}`, { defaultLeadTimeDays: 12 }, 'buyer');
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ changed: ['defaultLeadTimeDays'], before: { defaultLeadTimeDays: 7 }, after: { defaultLeadTimeDays: 12, active: true } });
    const off = await patch(`/suppliers/${supplierId}`, { active: false, reason: 'quality problems' }, 'ops');
    expect(off.json()).toMatchObject({ changed: ['active'], after: { active: false } });
    const audit = await stack.db.selectFrom('audit_log').select(['action', 'before', 'after', 'reason']).where('subject_id', '=', supplierId).where('action', '=', 'supplier.deactivate').executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ before: { active: true }, after: { active: false }, reason: 'quality problems' });
    const po = await post('/purchase-orders', { poId: uniqueId('po-'), supplierId, warehouse: wh, lines: [{ sku, qty: 5 }] }, 'buyer');
    expect(po.statusCode).toBe(422);
    expect(po.json().error.code).toBe('supplier_inactive');
  });
});
