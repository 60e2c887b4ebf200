import { describe, expect, it } from 'vitest';
import { checkLedger } from '../../db/ledger-check.js';
import { consumeReservation, reserve } from '../../db/ledger.js';
import { roundOrderQuantity } from '../../domain/replenishment.js';
import { toBaseQty, toBaseUnitCost } from '../../domain/units.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();

type Role = Parameters<typeof authAs>[0];
const send = (method: 'POST' | 'PATCH' | 'GET', url: string, role: Role, payload?: Record<string, unknown>) => stack.app.inject({ method, url, headers: authAs(role), ...(payload ? { payload } : {}) });

/** An item sold in eaches, by the case of 12 and the pallet of 480, and a supplier of it at 100 a unit. */
async function caseItem() {
  const wh = await addWarehouse(stack.db);
  const sku = await addItem(stack.db, undefined, { average_cost_minor: 0 });
  const patched = await send('PATCH', `/items/${sku}`, 'ops', { conversions: { pallet: 480, case: 12 } });
  expect(patched.statusCode, patched.body).toBe(200);
  expect(patched.json()).toMatchObject({ changed: ['conversions'], after: { uom: 'each', conversions: { case: 12, pallet: 480 } } });
  const supplierId = uniqueId('sup-');
  const created = await send('POST', '/suppliers', 'ops', { id: supplierId, name: 'Case supplier', defaultLeadTimeDays: 10, items: [{ sku, unitCostMinor: 100 }], lanes: [{ warehouse: wh, leadTimeDays: 10 }] });
  expect(created.statusCode, created.body).toBe(201);
  return { wh, sku, supplierId };
}

describe('units of measure', () => {
  it('converts only to whole base units and whole minor units', () => {
    expect(toBaseQty(1.5, 12)).toBe(18);
    expect(toBaseQty(1.1, 10)).toBe(11);
    expect(toBaseQty(0.3, 12)).toBeUndefined();
    expect(toBaseUnitCost(1_200, 12)).toBe(100);
    expect(toBaseUnitCost(1_000, 12)).toBeUndefined();
  });

  it('an item keeps its conversions; zero, negative and the base unit itself are refused', async () => {
    const sku = await addItem(stack.db);
    for (const conversions of [{ case: 0 }, { case: -12 }, { case: 1.5 }]) {
      const res = await send('PATCH', `/items/${sku}`, 'ops', { conversions });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.body).toContain('conversions.case');
    }
    const base = await send('PATCH', `/items/${sku}`, 'ops', { conversions: { each: 1 } });
    expect(base.statusCode).toBe(422);
    expect(base.json().error.code).toBe('base_unit_converted');
    expect((await send('PATCH', `/items/${sku}`, 'ops', { conversions: { case: 12 } })).statusCode).toBe(200);
    const again = await send('PATCH', `/items/${sku}`, 'ops', { conversions: { case: 12 } });
    expect(again.json().changed).toEqual([]);
    expect((await send('GET', `/items/${sku}`, 'ops')).json().conversions).toEqual({ case: 12 });
  });

  it('a supplier buys in a purchase unit, priced per case and kept per unit; the unit cannot then be dropped', async () => {
    const { sku, supplierId } = await caseItem();
    const fractional = await send('PATCH', `/suppliers/${supplierId}`, 'buyer', { items: [{ sku, unitCostMinor: 1_000, costUnit: 'case' }] });
    expect(fractional.statusCode).toBe(422);
    expect(fractional.json().error.code).toBe('fractional_unit_cost');
    const unknown = await send('PATCH', `/suppliers/${supplierId}`, 'buyer', { items: [{ sku, purchaseUnit: 'crate' }] });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.code).toBe('unknown_unit');

    const set = await send('PATCH', `/suppliers/${supplierId}`, 'buyer', { items: [{ sku, purchaseUnit: 'case', unitCostMinor: 1_320, costUnit: 'case' }] });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({
      changed: [`items.${sku}.purchaseUnit`, `items.${sku}.unitCostMinor`],
      before: { items: [{ sku, unitCostMinor: 100, packSize: 1 }] },
      after: { items: [{ sku, unitCostMinor: 110, packSize: 12, purchaseUnit: 'case' }] },
    });
    expect((await send('GET', `/suppliers/${supplierId}`, 'buyer')).json().items).toEqual([{ sku, unitCostMinor: 110, moq: 1, packSize: 12, purchaseUnit: 'case' }]);
    const drop = await send('PATCH', `/items/${sku}`, 'ops', { conversions: { pallet: 480 } });
    expect(drop.statusCode).toBe(422);
    expect(drop.json().error.code).toBe('unit_in_use');
  });

  it('PO lines and receipts in cases post base units, record the conversion, and refuse fractions of a unit', async () => {
    const { wh, sku, supplierId } = await caseItem();
    const poId = uniqueId('po-');
    const fraction = await send('POST', '/purchase-orders', 'buyer', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 0.3, unit: 'case' }] });
    expect(fraction.statusCode).toBe(400);
    expect(fraction.json().error.message).toContain('lines.0.qty');
    const unknownUnit = await send('POST', '/purchase-orders', 'buyer', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 1, unit: 'crate' }] });
    expect(unknownUnit.statusCode).toBe(400);
    expect(unknownUnit.json().error.message).toContain('lines.0.unit');
    const baseFraction = await send('POST', '/purchase-orders', 'buyer', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 1.5 }] });
    expect(baseFraction.statusCode).toBe(400);
    expect(await stack.db.selectFrom('purchase_orders').select('id').where('id', '=', poId).execute()).toEqual([]);

    // 1.5 cases of 12 at 1 200 a case: 18 units at 100.
    const draft = { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 1.5, unit: 'case', unitCostMinor: 1_200 }] };
    const created = await send('POST', '/purchase-orders', 'buyer', draft);
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json()).toMatchObject({ status: 'issued', valueMinor: 1_800, lines: [{ ordered: 18 }] });
    expect((await send('POST', '/purchase-orders', 'buyer', draft)).statusCode).toBe(200);
    expect(await balance(stack.db, sku, wh, 'inbound')).toBe(18);

    const badReceipt = await send('POST', `/purchase-orders/${poId}/receipts`, 'system', { receiptId: 'r0', lines: [{ lineNo: 1, qty: 0.1, unit: 'case' }] });
    expect(badReceipt.statusCode).toBe(400);
    expect(badReceipt.json().error.message).toContain('lines.0.qty');
    expect(await balance(stack.db, sku, wh, 'inbound')).toBe(18);

    const first = await send('POST', `/purchase-orders/${poId}/receipts`, 'system', { receiptId: 'r1', lines: [{ lineNo: 1, qty: 1, unit: 'case' }] });
    expect(first.statusCode, first.body).toBe(200);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(12);
    expect(await balance(stack.db, sku, wh, 'inbound')).toBe(6);
    // The replay moves nothing.
    expect((await send('POST', `/purchase-orders/${poId}/receipts`, 'system', { receiptId: 'r1', lines: [{ lineNo: 1, qty: 1, unit: 'case' }] })).statusCode).toBe(200);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(12);
    // A quarter case short of the half ordered: a short receipt of 3 in base units.
    const short = await send('POST', `/purchase-orders/${poId}/receipts`, 'system', { receiptId: 'r2', lines: [{ lineNo: 1, qty: 0.25, unit: 'case' }] });
    expect(short.statusCode, short.body).toBe(200);
    expect(short.json().lines[0]).toMatchObject({ ordered: 18, received: 15 });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(15);

    const recorded = await stack.db.selectFrom('purchase_unit_quantities').select(['entry', 'line_no', 'unit', 'unit_qty', 'units_per_unit', 'base_qty']).where('po_id', '=', poId).orderBy('entry').execute();
    expect(recorded.map((r) => ({ ...r, unit_qty: Number(r.unit_qty) }))).toEqual([
      { entry: 'order', line_no: 1, unit: 'case', unit_qty: 1.5, units_per_unit: 12, base_qty: 18 },
      { entry: 'r1', line_no: 1, unit: 'case', unit_qty: 1, units_per_unit: 12, base_qty: 12 },
      { entry: 'r2', line_no: 1, unit: 'case', unit_qty: 0.25, units_per_unit: 12, base_qty: 3 },
    ]);
    const detail = await send('GET', `/purchase-orders/${poId}`, 'buyer');
    expect(detail.json().unitQuantities).toEqual([
      { entry: 'order', lineNo: 1, sku, unit: 'case', unitQty: 1.5, unitsPerUnit: 12, baseQty: 18 },
      { entry: 'r1', lineNo: 1, sku, unit: 'case', unitQty: 1, unitsPerUnit: 12, baseQty: 12 },
      { entry: 'r2', lineNo: 1, sku, unit: 'case', unitQty: 0.25, unitsPerUnit: 12, baseQty: 3 },
    ]);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });

  it("replenishment rounds to the supplier's purchase unit in base units", async () => {
    const { wh, sku, supplierId } = await caseItem();
    await stock(stack.db, sku, wh, 30);
    const reserved = await reserve(stack.db, { key: uniqueId('r-'), actor: 'test' }, { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 27 }] });
    await consumeReservation(stack.db, { key: uniqueId('ship-'), actor: 'test' }, { reservationId: reserved.lines[0]!.reservationId!, qty: 27 });
    const suggestion = async () => (await send('GET', `/replenishment/suggestions?sku=${sku}&fresh=true`, 'buyer')).json().suggestions[0];

    const inEaches = await suggestion();
    expect(inEaches).toMatchObject({ supplierId, packSize: 1, reorder: true });
    const need = inEaches.targetLevel - inEaches.position;
    expect(inEaches.suggestedQty).toBe(need);

    expect((await send('PATCH', `/suppliers/${supplierId}`, 'buyer', { items: [{ sku, purchaseUnit: 'case' }] })).statusCode).toBe(200);
    const inCases = await suggestion();
    expect(inCases).toMatchObject({ supplierId, packSize: 12, reorder: true, targetLevel: inEaches.targetLevel, position: inEaches.position });
    expect(inCases.suggestedQty).toBe(roundOrderQuantity(need, 1, 12));
    expect(inCases.suggestedQty % 12).toBe(0);
    expect(inCases.suggestedQty).toBeGreaterThanOrEqual(need);
  });
});
