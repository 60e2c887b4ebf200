import { describe, expect, it } from 'vitest';
import type { Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import { trialBalance } from '../../db/journal.js';
import { consumeReservation, reserve } from '../../db/ledger.js';
import { suggestReplenishment } from '../../domain/replenishment.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';

const stack = useTestStack();

async function addSupplier(db: Db, items: { sku: string; unitCostMinor: number; approved?: boolean }[]) {
  const id = uniqueId('sup-');
  await db.insertInto('suppliers').values({ id, name: `Supplier ${id}`, default_lead_time_days: 10 }).execute();
  await db
    .insertInto('supplier_items')
    .values(items.map((i) => ({ supplier_id: id, sku: i.sku, unit_cost_minor: i.unitCostMinor, approved: i.approved ?? true })))
    .execute();
  return id;
}

type Role = Parameters<typeof authAs>[0];
const post = (url: string, payload: Record<string, unknown>, role: Role) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
const po = (poId: string, path = '') => `/purchase-orders/${poId}${path}`;

/** Sum of debits minus credits on one account for the entries of one reference. */
async function accountBalance(reference: string, account: string): Promise<number> {
  const rows = await stack.db
    .selectFrom('journal_lines')
    .innerJoin('journal_entries', 'journal_entries.id', 'journal_lines.entry_id')
    .select(['debit_minor', 'credit_minor'])
    .where('journal_entries.reference', '=', reference)
    .where('account_code', '=', account)
    .execute();
  return rows.reduce((n, r) => n + Number(r.debit_minor) - Number(r.credit_minor), 0);
}

describe('purchase order lifecycle', () => {
  it('approval by finance, two partial receipts with landed cost, inspection with a reject, invoice match, close', async () => {
    const wh = await addWarehouse(stack.db);
    const inspected = await addItem(stack.db, undefined, { average_cost_minor: 800, requires_inspection: true });
    const plain = await addItem(stack.db, undefined, { average_cost_minor: 0 });
    await stock(stack.db, inspected, wh, 10, 800);
    const supplierId = await addSupplier(stack.db, [
      { sku: inspected, unitCostMinor: 1_000 },
      { sku: plain, unitCostMinor: 3_000 },
    ]);
    const poId = uniqueId('po-');
    // 100 × 1 000 + 200 × 3 000 = 700 000: above the buyer limit of 500 000.
    const draft = { poId, supplierId, warehouse: wh, lines: [{ sku: inspected, qty: 100 }, { sku: plain, qty: 200 }] };
    const created = await post('/purchase-orders', draft, 'buyer');
    expect(created.statusCode).toBe(202);
    expect(created.json()).toMatchObject({ status: 'awaiting_approval', valueMinor: 700_000, approval: { needed: true, approverRole: 'finance' } });
    const task = await stack.db.selectFrom('tasks').selectAll().where('reference', '=', poId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ kind: 'purchase_order_approval', role: 'finance', status: 'open' });
    expect(await balance(stack.db, plain, wh, 'inbound')).toBe(0);

    const again = await post('/purchase-orders', draft, 'buyer');
    expect(again.statusCode).toBe(202);
    const changed = await post('/purchase-orders', { ...draft, lines: [{ sku: plain, qty: 1 }] }, 'buyer');
    expect(changed.statusCode).toBe(409);

    const byBuyer = await post(po(poId, '/approval'), { decision: 'approve', reason: 'needed for the season' }, 'buyer');
    expect(byBuyer.statusCode).toBe(403);
    expect(byBuyer.json().error.code).toBe('over_approval_limit');
    const approved = await post(po(poId, '/approval'), { decision: 'approve', reason: 'needed for the season' }, 'finance');
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'issued', approval: { decision: { decision: 'approve' } } });
    const twice = await post(po(poId, '/approval'), { decision: 'reject', reason: 'changed my mind' }, 'finance');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('not_waiting');

    expect(await balance(stack.db, inspected, wh, 'inbound')).toBe(100);
    expect(await balance(stack.db, plain, wh, 'inbound')).toBe(200);
    const issuedEvent = await stack.db.selectFrom('outbox_events').selectAll().where('topic', '=', 'purchase_order.issued').where('key', '=', poId).execute();
    expect(issuedEvent).toHaveLength(1);

    const ack = await post(po(poId, '/acknowledgement'), { confirmedDate: '2030-01-15', lines: [{ lineNo: 1, confirmedQty: 100 }, { lineNo: 2, confirmedQty: 200 }] }, 'system');
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ status: 'acknowledged', lines: [{ confirmed: 100 }, { confirmed: 200 }] });
    expect((await post(po(poId, '/acknowledgement'), { lines: [] }, 'system')).statusCode).toBe(409);

    // Landed cost 2 400 by value: 40 000 / 640 000 of it (150) to line 1, 2 250 to line 2.
    const first = await post(po(poId, '/receipts'), { receiptId: 'r1', lines: [{ lineNo: 1, qty: 40 }, { lineNo: 2, qty: 200 }], landedCostMinor: 2_400 }, 'system');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'receiving', lines: [{ received: 40, quarantined: 40, inbound: 60 }, { received: 200, inbound: 0 }] });
    expect(await balance(stack.db, inspected, wh, 'quarantine')).toBe(40);
    expect(await balance(stack.db, inspected, wh, 'inbound')).toBe(60);
    expect(await balance(stack.db, plain, wh, 'available')).toBe(200);
    expect(await balance(stack.db, plain, wh, 'inbound')).toBe(0);
    // (10 × 800 + 40 × 1 000 + 150) / 50 = 963; (200 × 3 000 + 2 250) / 200 = 3 011.25 → 3 011.
    const costs = async () =>
      Object.fromEntries((await stack.db.selectFrom('items').select(['sku', 'average_cost_minor']).where('sku', 'in', [inspected, plain]).execute()).map((i) => [i.sku, i.average_cost_minor]));
    expect(await costs()).toEqual({ [inspected]: 963, [plain]: 3_011 });

    const replay = await post(po(poId, '/receipts'), { receiptId: 'r1', lines: [{ lineNo: 1, qty: 40 }, { lineNo: 2, qty: 200 }], landedCostMinor: 2_400 }, 'system');
    expect(replay.statusCode).toBe(200);
    expect(await balance(stack.db, inspected, wh, 'quarantine')).toBe(40);

    const second = await post(po(poId, '/receipts'), { receiptId: 'r2', lines: [{ lineNo: 1, qty: 60 }] }, 'system');
    expect(second.json()).toMatchObject({ lines: [{ received: 100, quarantined: 100, inbound: 0 }, { received: 200 }] });
    // (50 × 963 + 60 × 1 000) / 110 = 983.18 → 983.
    expect((await costs())[inspected]).toBe(983);

    const tooMany = await post(po(poId, '/inspections'), { inspectionId: 'i0', lines: [{ lineNo: 1, accepted: 101, rejected: 0 }] }, 'ops');
    expect(tooMany.statusCode).toBe(409);
    const inspection = await post(po(poId, '/inspections'), { inspectionId: 'i1', lines: [{ lineNo: 1, accepted: 95, rejected: 5 }] }, 'ops');
    expect(inspection.statusCode).toBe(200);
    expect(inspection.json()).toMatchObject({ lines: [{ accepted: 95, rejected: 5, quarantined: 0 }, {}] });
    expect(await balance(stack.db, inspected, wh, 'available')).toBe(105);
    expect(await balance(stack.db, inspected, wh, 'damaged')).toBe(5);
    expect(await balance(stack.db, inspected, wh, 'quarantine')).toBe(0);

    expect(await accountBalance(poId, '1300')).toBe(702_400);
    expect(await accountBalance(poId, '2100')).toBe(-702_400);

    const invoice = await post(
      po(poId, '/invoices'),
      { invoiceId: 'INV-1', lines: [{ lineNo: 1, qty: 100, unitCostMinor: 1_000 }, { lineNo: 2, qty: 200, unitCostMinor: 3_000 }], chargesMinor: 2_400 },
      'finance',
    );
    expect(invoice.statusCode).toBe(200);
    expect(invoice.json()).toMatchObject({ status: 'closed', invoices: [{ invoiceId: 'INV-1', matched: true, totalMinor: 702_400 }] });
    expect(await accountBalance(poId, '2100')).toBe(0);
    expect(await accountBalance(poId, '2000')).toBe(-702_400);

    const record = await stack.app.inject({ method: 'GET', url: po(poId), headers: authAs('viewer') });
    expect(record.statusCode).toBe(200);
    expect(record.json()).toMatchObject({
      status: 'closed',
      lines: [
        { lineNo: 1, ordered: 100, received: 100, accepted: 95, rejected: 5, invoiced: 100 },
        { lineNo: 2, ordered: 200, received: 200, invoiced: 200 },
      ],
      invoices: [{ invoiceId: 'INV-1', status: 'matched' }],
    });
    expect(record.json().receipts).toHaveLength(3);
    expect(record.json().closedAt).not.toBeNull();

    // The 5 rejected units are owed back to the supplier; shipping them debits payables at PO cost.
    const owed = (await stack.app.inject({ method: 'GET', url: `/vendor-returns?status=open&supplierId=${supplierId}`, headers: authAs('viewer') })).json().vendorReturns;
    expect(owed).toEqual([expect.objectContaining({ poId, sku: inspected, qty: 5, unitCostMinor: 1_000, valueMinor: 5_000, status: 'open' })]);
    const shipBack = `/vendor-returns/${owed[0].vendorReturnId}/ship`;
    expect((await post(shipBack, { carrierReference: 'RMA-77' }, 'viewer')).statusCode).toBe(403);
    const shipped = await post(shipBack, { carrierReference: 'RMA-77' }, 'ops');
    expect(shipped.statusCode).toBe(200);
    expect(shipped.json()).toMatchObject({ status: 'shipped', carrierReference: 'RMA-77' });
    expect((await post(shipBack, { carrierReference: 'RMA-77' }, 'ops')).json().journalEntryId).toBe(shipped.json().journalEntryId);
    expect((await post(shipBack, { carrierReference: 'RMA-78' }, 'ops')).statusCode).toBe(409);
    expect(await balance(stack.db, inspected, wh, 'damaged')).toBe(0);
    expect(await accountBalance(poId, '2000')).toBe(-702_400 + 5_000);
    expect(await accountBalance(poId, '1300')).toBe(702_400 - 5_000);

    const scorecard = await stack.app.inject({ method: 'GET', url: `/suppliers/${supplierId}/scorecard`, headers: authAs('buyer') });
    expect(scorecard.json()).toMatchObject({ purchaseOrders: 1, onTimeRate: 1, leadTimeAdherence: 1, averageStatedLeadTimeDays: 10, fillRate: 1, rejectRate: 0.05 });
    expect((await checkLedger(stack.db)).problems).toEqual([]);
    expect((await trialBalance(stack.db)).balanced).toBe(true);
  });

  it('an over-tolerance receipt takes what is within tolerance and waits for a decision on the excess', async () => {
    const wh = await addWarehouse(stack.db);
    const sku = await addItem(stack.db, undefined, { average_cost_minor: 0 });
    const supplierId = await addSupplier(stack.db, [{ sku, unitCostMinor: 1_000 }]);
    const poId = uniqueId('po-');
    const created = await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 100 }] }, 'buyer');
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ status: 'issued', approval: { needed: false } });

    const notWaiting = await post(po(poId, '/approval'), { decision: 'approve', reason: 'looks right' }, 'finance');
    expect(notWaiting.statusCode).toBe(409);

    const receipt = await post(po(poId, '/receipts'), { receiptId: 'r1', lines: [{ lineNo: 1, qty: 110 }] }, 'system');
    expect(receipt.statusCode).toBe(200);
    expect(receipt.json()).toMatchObject({ status: 'receiving', lines: [{ received: 105 }], excess: [{ receiptId: 'r1', lines: [{ qty: 5 }] }] });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(105);
    const task = await stack.db.selectFrom('tasks').selectAll().where('id', '=', `po-${poId}:excess:r1`).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'open', kind: 'purchase_order_receipt_excess' });
    const overTolerance = async () =>
      (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=receipt_over_tolerance&ownerRole=buyer', headers: authAs('viewer') }))
        .json()
        .exceptions.filter((e: { reference: string }) => e.reference === poId);
    expect(await overTolerance()).toMatchObject([{ kind: 'receipt_over_tolerance', ownerRole: 'buyer', temporalUiUrl: expect.stringContaining(`po-${poId}`) }]);

    // The invoice for what was accepted matches, but the PO stays open while the excess waits.
    const invoice = await post(po(poId, '/invoices'), { invoiceId: 'INV-A', lines: [{ lineNo: 1, qty: 105, unitCostMinor: 1_005 }] }, 'system');
    expect(invoice.json()).toMatchObject({ status: 'receiving', invoices: [{ matched: true, totalMinor: 105_525 }] });

    const decided = await post(po(poId, '/receipt-decision'), { receiptId: 'r1', decision: 'accept', reason: 'we will sell them' }, 'buyer');
    expect(decided.statusCode).toBe(200);
    expect(decided.json()).toMatchObject({ lines: [{ received: 110 }] });
    expect(await overTolerance()).toEqual([]);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(110);
    expect((await post(po(poId, '/receipt-decision'), { receiptId: 'r1', decision: 'reject', reason: 'second thoughts' }, 'buyer')).statusCode).toBe(409);

    const mismatch = await post(po(poId, '/invoices'), { invoiceId: 'INV-B', lines: [{ lineNo: 1, qty: 6, unitCostMinor: 1_100 }] }, 'system');
    expect(mismatch.json().invoices[1]).toMatchObject({
      matched: false,
      differences: [
        { lineNo: 1, kind: 'qty_over_received', expected: 5, invoiced: 6 },
        { lineNo: 1, kind: 'price_over_tolerance', expected: 1_000, invoiced: 1_100 },
      ],
    });
    const mismatchTask = await stack.db.selectFrom('tasks').selectAll().where('id', '=', `po-${poId}:invoice:INV-B`).executeTakeFirstOrThrow();
    expect(mismatchTask).toMatchObject({ role: 'finance', kind: 'supplier_invoice_mismatch' });

    // Everything is received and invoiced, but the PO stays open while finance owes a decision on INV-B.
    const last = await post(po(poId, '/invoices'), { invoiceId: 'INV-C', lines: [{ lineNo: 1, qty: 5, unitCostMinor: 1_000 }] }, 'system');
    expect(last.json()).toMatchObject({ status: 'receiving', lines: [{ received: 110, invoiced: 110 }] });
    const decide = (invoiceId: string, body: Record<string, unknown>, role: Role = 'finance') => post(po(poId, `/invoices/${invoiceId}/decision`), body, role);
    // INV-B bills a unit never received: it cannot be approved, only disputed.
    const approve = await decide('INV-B', { decision: 'approve', reason: 'pay it anyway' });
    expect(approve.statusCode).toBe(409);
    expect(approve.json().error.message).toMatch(/can only be rejected/);
    expect((await decide('INV-B', { decision: 'reject', reason: 'not our units' }, 'buyer')).statusCode).toBe(403);
    expect((await decide('INV-A', { decision: 'reject', reason: 'matched already' })).statusCode).toBe(409);
    const unknown = await decide('INV-Z', { decision: 'reject', reason: 'never sent' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toMatch(/invoice INV-Z of purchase order .* not found/);
    expect((await decide('INV-B', { decision: 'maybe', reason: 'unsure' })).statusCode).toBe(400);
    const rejected = await decide('INV-B', { decision: 'reject', reason: 'billed 6 units, 5 came; asked for a credit note' });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json()).toMatchObject({ status: 'closed', invoices: [{}, { invoiceId: 'INV-B', decision: { decision: 'reject' } }, {}] });
    expect((await decide('INV-B', { decision: 'reject', reason: 'again please' })).statusCode).toBe(409);
    expect(await stack.db.selectFrom('tasks').select(['status', 'outcome']).where('id', '=', `po-${poId}:invoice:INV-B`).executeTakeFirstOrThrow()).toEqual({ status: 'done', outcome: 'rejected' });
    const stored = (await stack.app.inject({ method: 'GET', url: po(poId), headers: authAs('viewer') })).json();
    expect(stored.invoices.find((i: { invoiceId: string }) => i.invoiceId === 'INV-B')).toMatchObject({ status: 'rejected', journalEntryId: null, decision: { reason: 'billed 6 units, 5 came; asked for a credit note' } });
    // The 525 price difference within tolerance went to write-offs and adjustments; the rejected invoice posted nothing.
    expect(await accountBalance(poId, '5200')).toBe(525);
    expect(await accountBalance(poId, '2100')).toBe(0);
    expect(await accountBalance(poId, '2000')).toBe(-(105_525 + 5_000));
  });

  it('finance approves an invoice billed above the PO price: payables as billed, the difference a price variance', async () => {
    const wh = await addWarehouse(stack.db);
    const sku = await addItem(stack.db, undefined, { average_cost_minor: 0 });
    const supplierId = await addSupplier(stack.db, [{ sku, unitCostMinor: 1_000 }]);
    const poId = uniqueId('po-');
    expect((await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 10 }] }, 'buyer')).json().status).toBe('issued');
    await post(po(poId, '/receipts'), { receiptId: 'r1', lines: [{ lineNo: 1, qty: 10 }], landedCostMinor: 200 }, 'system');

    const invoice = await post(po(poId, '/invoices'), { invoiceId: 'INV-9', lines: [{ lineNo: 1, qty: 10, unitCostMinor: 1_100 }], chargesMinor: 500 }, 'system');
    expect(invoice.json()).toMatchObject({
      status: 'receiving',
      invoices: [{ matched: false, differences: [{ kind: 'price_over_tolerance' }, { kind: 'charges_over_landed_cost', expected: 200, invoiced: 500 }] }],
    });
    expect(await accountBalance(poId, '2000')).toBe(0);
    const approved = await post(po(poId, '/invoices/INV-9/decision'), { decision: 'approve', reason: 'new price list from March, agreed by phone' }, 'finance');
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'closed', lines: [{ invoiced: 10 }], invoices: [{ decision: { decision: 'approve' }, chargesRelievedMinor: 200 }] });
    // GRNI held 10 × 1,000 + 200 landed; the supplier is owed 11,500; 1,300 is price variance.
    expect(await accountBalance(poId, '2100')).toBe(0);
    expect(await accountBalance(poId, '2000')).toBe(-11_500);
    expect(await accountBalance(poId, '5200')).toBe(1_300);
    const row = await stack.db.selectFrom('supplier_invoices').selectAll().where('po_id', '=', poId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'approved', decision_reason: 'new price list from March, agreed by phone' });
    expect(row.journal_entry_id).not.toBeNull();
  });

  it('cancel the remainder releases inbound; an ops draft waits for a buyer within the limit', async () => {
    const wh = await addWarehouse(stack.db);
    const sku = await addItem(stack.db);
    const supplierId = await addSupplier(stack.db, [{ sku, unitCostMinor: 500 }]);
    const poId = uniqueId('po-');
    const created = await post('/purchase-orders', { poId, supplierId, warehouse: wh, expectedAt: '2030-02-01', lines: [{ sku, qty: 50 }] }, 'ops');
    expect(created.json()).toMatchObject({ status: 'awaiting_approval', approval: { approverRole: 'buyer' } });
    const approved = await post(po(poId, '/approval'), { decision: 'approve', reason: 'routine refill' }, 'buyer');
    expect(approved.json().status).toBe('issued');

    await post(po(poId, '/receipts'), { receiptId: 'r1', lines: [{ lineNo: 1, qty: 20 }] }, 'system');
    expect(await balance(stack.db, sku, wh, 'inbound')).toBe(30);
    const cancelled = await post(po(poId, '/cancel'), { reason: 'supplier out of stock' }, 'buyer');
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ lines: [{ received: 20, cancelled: 30, inbound: 0 }] });
    expect(await balance(stack.db, sku, wh, 'inbound')).toBe(0);
    expect((await post(po(poId, '/cancel'), { reason: 'again please' }, 'ops')).statusCode).toBe(409);
    expect((await post(po(poId, '/receipts'), { receiptId: 'r2', lines: [{ lineNo: 1, qty: 1 }] }, 'system')).statusCode).toBe(409);

    const invoice = await post(po(poId, '/invoices'), { invoiceId: 'INV-1', lines: [{ lineNo: 1, qty: 20, unitCostMinor: 500 }] }, 'finance');
    expect(invoice.json().status).toBe('closed');
    await eventually(async () => ((await stack.db.selectFrom('purchase_orders').select('status').where('id', '=', poId).executeTakeFirst())?.status === 'closed' ? true : undefined));
  });

  it('refuses malformed input with 400 and an item the supplier is not approved for with 422, and writes nothing', async () => {
    const wh = await addWarehouse(stack.db);
    const sku = await addItem(stack.db);
    const other = await addItem(stack.db);
    const supplierId = await addSupplier(stack.db, [
      { sku, unitCostMinor: 500 },
      { sku: other, unitCostMinor: 500, approved: false },
    ]);
    const poId = uniqueId('po-');
    const unapproved = await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku: other, qty: 1 }] }, 'buyer');
    expect(unapproved.statusCode).toBe(422);
    expect(unapproved.json().error.code).toBe('item_not_approved');
    expect(unapproved.json().error.details).toEqual([{ path: 'lines.0.sku', message: `${other} is not an approved item of supplier ${supplierId}`, code: 'item_not_approved' }]);
    const badQty = await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 0 }] }, 'buyer');
    expect(badQty.statusCode).toBe(400);
    const viewer = await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 1 }] }, 'viewer');
    expect(viewer.statusCode).toBe(403);
    expect(await stack.db.selectFrom('purchase_orders').selectAll().where('id', '=', poId).executeTakeFirst()).toBeUndefined();
    const missing = await stack.app.inject({ method: 'GET', url: po(poId), headers: authAs('viewer') });
    expect(missing.statusCode).toBe(404);
    const noSuchPo = await post(po(poId, '/receipts'), { receiptId: 'r1', lines: [{ lineNo: 1, qty: 1 }] }, 'system');
    expect(noSuchPo.statusCode).toBe(404);
  });

  it('suggests what to buy from shipped history, net of stock and inbound, rounded to MOQ and pack size', async () => {
    const wh = await addWarehouse(stack.db);
    const sku = await addItem(stack.db);
    await stock(stack.db, sku, wh, 30);
    const reserved = await reserve(stack.db, { key: uniqueId('r-'), actor: 'test' }, { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 27 }] });
    await consumeReservation(stack.db, { key: uniqueId('ship-'), actor: 'test' }, { reservationId: reserved.lines[0]!.reservationId!, qty: 27 });
    const cheap = await addSupplier(stack.db, [{ sku, unitCostMinor: 400 }]);
    await addSupplier(stack.db, [{ sku, unitCostMinor: 450 }]);
    await stack.db.updateTable('supplier_items').set({ moq: 20, pack_size: 12 }).where('supplier_id', '=', cheap).execute();

    const res = await stack.app.inject({ method: 'GET', url: `/replenishment/suggestions?sku=${sku}`, headers: authAs('buyer') });
    expect(res.statusCode).toBe(200);
    const daily = new Array<number>(90).fill(0);
    daily[89] = 27;
    const expected = suggestReplenishment({ skuClass: 'C', dailyShipped: daily, leadTimeDays: 10, reviewPeriodDays: 7, available: 3, allocated: 0, quarantine: 0, inbound: 0, inTransit: 0, moq: 20, packSize: 12 });
    expect(expected.suggestedQty).toBe(24);
    expect(res.json().suggestions).toEqual([
      expect.objectContaining({ sku, warehouse: wh, supplierId: cheap, unitCostMinor: 400, leadTimeDays: 10, leadTimeSource: 'stated', shippedInHistory: 27, ...expected }),
    ]);
    const bad = await stack.app.inject({ method: 'GET', url: '/replenishment/suggestions?historyDays=2', headers: authAs('buyer') });
    expect(bad.statusCode).toBe(400);
  });
});
