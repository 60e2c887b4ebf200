/**
 * Lots with expiry: receipts name lot and expiry, allocation takes lots first-expired-first-out
 * past the channel's minimum shelf life, shipments record the lots that left, and the daily
 * sweep moves lots reaching expiry to quarantine with an exception of their value.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { checkLedger } from '../../db/ledger-check.js';
import { adjust, consumeReservation, inspect, LedgerError, receive, reserve, transferIn, transferOut } from '../../db/ledger.js';
import { LOT_EXPIRY_SCHEDULE_ID, lotExpiryWorkflowType, type LotExpiryReport } from '../../contracts/lot-expiry.js';
import { ensureLotExpirySchedule, lotExpiryHorizonDays } from '../../runtime/schedules.js';
import { computeReplenishment, defaultReplenishmentParams } from '../../db/replenishment.js';
import { addItem, addWarehouse, balance, daysFromToday, lotBalance, stockLot } from '../support/fixtures.js';
import { COST, orderDriver } from '../support/orders.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const { placeOrder, shipmentsOf, ship, waitForOrder } = orderDriver(stack);
const connection = await Connection.connect({ address: inject('temporalAddress') });
const client = new Client({ connection });

afterAll(async () => {
  await client.schedule.getHandle(LOT_EXPIRY_SCHEDULE_ID).delete().catch(() => {});
  await connection.close();
});

const ctx = (key: string) => ({ key: `lots:${key}:${uniqueId()}`, actor: 'test' });
const refusal = async (call: Promise<unknown>) => {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LedgerError);
  return error as LedgerError;
};

describe('lots arriving', () => {
  it('a lot-tracked receipt needs a lot and an expiry not in the past; a known lot keeps its expiry; nothing is written on a refusal', async () => {
    const [sku, plain, wh] = [await addItem(stack.db, undefined, { lot_tracked: true }), await addItem(stack.db), await addWarehouse(stack.db)];
    const base = { sku, warehouse: wh, qty: 5, into: 'available' as const, fromInbound: 0, unitCostMinor: 800, landedCostMinor: 0 };
    expect((await refusal(receive(stack.db, ctx('no-lot'), base))).details).toMatchObject({ field: 'lot', reason: 'required for a lot-tracked item' });
    expect((await refusal(receive(stack.db, ctx('past'), { ...base, lot: { lot: 'L1', expiresOn: daysFromToday(-1) } }))).details).toMatchObject({ field: 'expiresOn', reason: 'in the past' });
    expect((await refusal(receive(stack.db, ctx('bad-date'), { ...base, lot: { lot: 'L1', expiresOn: '2030-02-30' } }))).details).toMatchObject({ field: 'expiresOn' });
    expect((await refusal(receive(stack.db, ctx('plain'), { ...base, sku: plain, lot: { lot: 'L1', expiresOn: daysFromToday(30) } }))).details).toMatchObject({ field: 'lot' });
    expect(await stack.db.selectFrom('lots').select('lot').where('sku', '=', sku).execute()).toEqual([]);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(0);

    await receive(stack.db, ctx('ok'), { ...base, lot: { lot: 'L1', expiresOn: daysFromToday(30) } });
    expect((await refusal(receive(stack.db, ctx('other-expiry'), { ...base, lot: { lot: 'L1', expiresOn: daysFromToday(40) } }))).details).toMatchObject({ field: 'expiresOn' });
    expect(await lotBalance(stack.db, sku, wh, 'available', 'L1')).toBe(5);
    expect(await lotBalance(stack.db, sku, wh, 'supplier', 'L1')).toBe(-5);

    // Counted stock: units found name their lot and expiry, units missing leave the earliest lot.
    expect((await refusal(adjust(stack.db, ctx('adj-no-lot'), { sku, warehouse: wh, delta: 2, reasonCode: 'count' }))).details).toMatchObject({ field: 'lot' });
    await adjust(stack.db, ctx('adj-found'), { sku, warehouse: wh, delta: 2, reasonCode: 'count', lot: 'L2', expiresOn: daysFromToday(90) });
    await adjust(stack.db, ctx('adj-lost'), { sku, warehouse: wh, delta: -6, reasonCode: 'count' });
    expect(await lotBalance(stack.db, sku, wh, 'available', 'L1')).toBe(0);
    expect(await lotBalance(stack.db, sku, wh, 'available', 'L2')).toBe(1);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });

  it('a PO receipt of a lot-tracked item without its lot is 400 with the field, and with it lands in that lot', async () => {
    const [sku, wh] = [await addItem(stack.db, undefined, { lot_tracked: true }), await addWarehouse(stack.db)];
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Lot supplier', default_lead_time_days: 5 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: 500 }).execute();
    const poId = uniqueId('po-');
    const post = (url: string, payload: object, role: Parameters<typeof authAs>[0]) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
    const created = await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 10 }] }, 'buyer');
    expect(created.statusCode, created.body).toBe(200);
    await eventually(async () => ((await stack.db.selectFrom('purchase_order_lines').select('sku').where('po_id', '=', poId).execute()).length ? true : undefined));

    const missing = await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 10 }] }, 'system');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'body', path: ['lines', 0, 'lot'] }), expect.objectContaining({ path: ['lines', 0, 'expiresOn'] })]),
    );
    const past = await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 10, lot: 'B7', expiresOn: daysFromToday(-3) }] }, 'system');
    expect(past.statusCode).toBe(400);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(0);

    const received = await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 10, lot: 'B7', expiresOn: daysFromToday(120) }] }, 'system');
    expect(received.statusCode, received.body).toBe(200);
    expect(await lotBalance(stack.db, sku, wh, 'available', 'B7')).toBe(10);
    expect(await balance(stack.db, sku, wh, 'inbound')).toBe(0);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('allocation by lot', () => {
  it('takes the earliest lot that still has the channel’s minimum shelf life when the order arrives', async () => {
    const [sku, wh] = [await addItem(stack.db, undefined, { lot_tracked: true }), await addWarehouse(stack.db)];
    await stockLot(stack.db, sku, wh, 10, 'SOON', daysFromToday(20));
    await stockLot(stack.db, sku, wh, 10, 'LATER', daysFromToday(100));
    await stockLot(stack.db, sku, wh, 10, 'HELD', daysFromToday(10));
    await stack.db.updateTable('lots').set({ held: true, held_at: new Date(), held_reason: 'test' }).where('sku', '=', sku).where('lot', '=', 'HELD').execute();
    const channel = uniqueId('ws');
    await stack.db.insertInto('channels').values({ code: channel, name: 'Wholesale test', reservation_priority: 3, min_shelf_life_days: 60 }).execute();

    // The retail channel takes the earliest lot (the held one never).
    const retail = await reserve(stack.db, ctx('retail'), { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 4 }] });
    expect(retail.lines[0]!.lots).toEqual([{ lot: 'SOON', qty: 4 }]);
    // Arriving in 5 days with 60 days to spare: only LATER qualifies.
    const wholesale = await reserve(stack.db, ctx('wholesale'), {
      orderId: uniqueId('o-'),
      channel,
      allowPartial: false,
      lines: [{ lineNo: 1, sku, warehouse: wh, qty: 8, arrivesOn: daysFromToday(5) }],
    });
    expect(wholesale.lines[0]!.lots).toEqual([{ lot: 'LATER', qty: 8 }]);
    // 2 of LATER are left that qualify: a wholesale order of 3 is refused whole, or takes 2 partially.
    const refused = await refusal(
      reserve(stack.db, ctx('wholesale-short'), { orderId: uniqueId('o-'), channel, allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3, arrivesOn: daysFromToday(5) }] }),
    );
    expect(refused.code).toBe('insufficient_stock');
    const partial = await reserve(stack.db, ctx('wholesale-partial'), {
      orderId: uniqueId('o-'),
      channel,
      allowPartial: true,
      lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3, arrivesOn: daysFromToday(5) }],
    });
    expect(partial.lines[0]).toMatchObject({ reserved: 2, lots: [{ lot: 'LATER', qty: 2 }] });
    // A line over two lots takes the earlier first.
    const split = await reserve(stack.db, ctx('split'), { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 6 }] });
    expect(split.lines[0]!.lots).toEqual([{ lot: 'SOON', qty: 6 }]);
    expect(await lotBalance(stack.db, sku, wh, 'available', 'HELD')).toBe(10);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });

  it('a different lot picked than the one held is recorded as what left; the held units go back to the shelf', async () => {
    const [sku, wh] = [await addItem(stack.db, undefined, { lot_tracked: true }), await addWarehouse(stack.db)];
    await stockLot(stack.db, sku, wh, 5, 'A', daysFromToday(20));
    await stockLot(stack.db, sku, wh, 5, 'B', daysFromToday(40));
    const held = await reserve(stack.db, ctx('pick'), { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 3 }] });
    const consumed = await consumeReservation(stack.db, ctx('picked-b'), { reservationId: held.lines[0]!.reservationId!, qty: 3, lot: 'B' });
    expect(consumed).toMatchObject({ status: 'consumed', lots: [{ lot: 'B', qty: 3 }] });
    expect(await lotBalance(stack.db, sku, wh, 'available', 'A')).toBe(5);
    expect(await lotBalance(stack.db, sku, wh, 'available', 'B')).toBe(2);
    expect(await lotBalance(stack.db, sku, wh, 'customer', 'B')).toBe(3);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });

  it('an order through the API ships from the earliest lot, and the shipment records it', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true, average_cost_minor: COST });
    const wh = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stockLot(stack.db, sku, wh, 3, 'LATE', daysFromToday(200), COST);
    await stockLot(stack.db, sku, wh, 1, 'EARLY', daysFromToday(50), COST);
    const orderId = await placeOrder(sku, 2);
    const shipments = await shipmentsOf(orderId, 1);
    const shipmentId = shipments.get(wh)!;
    await ship(shipmentId, 300);
    await waitForOrder(orderId, 'shipped');
    const left = await stack.db.selectFrom('shipment_lots').select(['lot', 'qty']).where('shipment_id', '=', shipmentId).orderBy('lot').execute();
    expect(left).toEqual([
      { lot: 'EARLY', qty: 1 },
      { lot: 'LATE', qty: 1 },
    ]);
    expect(await lotBalance(stack.db, sku, wh, 'available', 'LATE')).toBe(2);
    expect(await lotBalance(stack.db, sku, wh, 'allocated', 'EARLY')).toBe(0);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('lots counted', () => {
  it('an adjustment of a lot-tracked item through the API names the lot (and the expiry of a new one), else 400', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true, average_cost_minor: 100 });
    const wh = await addWarehouse(stack.db);
    await stockLot(stack.db, sku, wh, 100, 'K1', daysFromToday(60), 100);
    const adjust = (payload: object) => stack.app.inject({ method: 'POST', url: '/inventory/adjustments', headers: authAs('ops'), payload: { adjustmentId: uniqueId('adj-'), sku, warehouse: wh, reasonCode: 'cycle_count', ...payload } });
    const noLot = await adjust({ delta: 2 });
    expect(noLot.statusCode).toBe(400);
    expect(noLot.json().error.details).toEqual([expect.objectContaining({ in: 'body', path: ['lot'] }), expect.objectContaining({ path: ['expiresOn'] })]);
    expect((await adjust({ delta: 2, lot: 'NEW' })).statusCode).toBe(400);
    const found = await adjust({ delta: 2, lot: 'NEW', expiresOn: daysFromToday(30) });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().status).toBe('posted');
    const lost = await adjust({ delta: -3, lot: 'K1' });
    expect(lost.json().status).toBe('posted');
    const more = await adjust({ delta: 1, lot: 'K1' });
    expect(more.json().status).toBe('posted');
    expect([await lotBalance(stack.db, sku, wh, 'available', 'NEW'), await lotBalance(stack.db, sku, wh, 'available', 'K1')]).toEqual([2, 98]);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('pick lists', () => {
  it('name the bin and, for a lot-tracked item, the lot of each pick', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true });
    const wh = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stack.app.inject({ method: 'PUT', url: `/warehouses/${wh}/locations`, headers: authAs('ops'), payload: { locations: [{ sku, zone: 'A', bin: 'A-01' }] } });
    await stockLot(stack.db, sku, wh, 1, 'P-EARLY', daysFromToday(30));
    await stockLot(stack.db, sku, wh, 5, 'P-LATE', daysFromToday(90));
    const orderId = await placeOrder(sku, 3);
    await shipmentsOf(orderId, 1);
    const res = await stack.app.inject({ method: 'GET', url: `/warehouses/${wh}/waves`, headers: authAs('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    const picks = res.json().waves[0].pickList.flatMap((z: { picks: object[] }) => z.picks);
    expect(picks).toEqual([
      expect.objectContaining({ bin: 'A-01', sku, lot: 'P-EARLY', qty: 1 }),
      expect.objectContaining({ bin: 'A-01', sku, lot: 'P-LATE', qty: 2 }),
    ]);
  });
});

describe('the lot really picked', () => {
  it('a picked event naming other lots than those held: the shipment records what really left, the held units stay on the shelf', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true, average_cost_minor: COST });
    const wh = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stockLot(stack.db, sku, wh, 2, 'HELD-A', daysFromToday(30), COST);
    await stockLot(stack.db, sku, wh, 5, 'TAKEN-B', daysFromToday(90), COST);
    const orderId = await placeOrder(sku, 2);
    const shipmentId = (await shipmentsOf(orderId, 1)).get(wh)!;
    const event = (payload: object) => stack.app.inject({ method: 'POST', url: `/shipments/${shipmentId}/events`, headers: authAs('system'), payload });
    expect((await event({ type: 'picked', lots: [{ lineNo: 1, sku, lot: 'TAKEN-B', qty: 1 }] })).statusCode).toBe(400);
    expect((await event({ type: 'picked', lots: [{ lineNo: 1, sku, lot: 'NEVER', qty: 2 }] })).statusCode).toBe(400);
    const picked = await event({ type: 'picked', lots: [{ lineNo: 1, sku, lot: 'HELD-A', qty: 1 }, { lineNo: 1, sku, lot: 'TAKEN-B', qty: 1 }] });
    expect(picked.statusCode, picked.body).toBe(200);
    expect((await event({ type: 'packed' })).statusCode).toBe(200);
    expect((await event({ type: 'shipped', carrier: 'UPS', tracking: `1Z${shipmentId}`, freightCostMinor: 100 })).statusCode).toBe(200);
    await waitForOrder(orderId, 'shipped');
    const left = await stack.db.selectFrom('shipment_lots').select(['lot', 'qty']).where('shipment_id', '=', shipmentId).orderBy('lot').execute();
    expect(left).toEqual([
      { lot: 'HELD-A', qty: 1 },
      { lot: 'TAKEN-B', qty: 1 },
    ]);
    expect([await lotBalance(stack.db, sku, wh, 'available', 'HELD-A'), await lotBalance(stack.db, sku, wh, 'available', 'TAKEN-B')]).toEqual([1, 4]);
    expect(await balance(stack.db, sku, wh, 'allocated')).toBe(0);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('lots moving on', () => {
  it('a transfer ships the earliest lots and its receipt takes them in; inspection accepts and rejects by lot', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true });
    const [from, to] = [await addWarehouse(stack.db), await addWarehouse(stack.db)];
    await stockLot(stack.db, sku, from, 3, 'T1', daysFromToday(20));
    await stockLot(stack.db, sku, from, 5, 'T2', daysFromToday(40));
    await transferOut(stack.db, ctx('out'), { sku, from, to, qty: 4 });
    expect([await lotBalance(stack.db, sku, to, 'in_transit', 'T1'), await lotBalance(stack.db, sku, to, 'in_transit', 'T2')]).toEqual([3, 1]);
    await transferIn(stack.db, ctx('in'), { sku, warehouse: to, received: 3, lost: 1 });
    expect([await lotBalance(stack.db, sku, to, 'available', 'T1'), await lotBalance(stack.db, sku, to, 'available', 'T2'), await lotBalance(stack.db, sku, to, 'adjustment', 'T2')]).toEqual([3, 0, 1]);

    await receive(stack.db, ctx('q'), { sku, warehouse: to, qty: 4, into: 'quarantine', fromInbound: 0, unitCostMinor: 800, landedCostMinor: 0, lot: { lot: 'Q1', expiresOn: daysFromToday(50) } });
    await inspect(stack.db, ctx('inspect'), { sku, warehouse: to, accepted: 3, rejected: 1 });
    expect([await lotBalance(stack.db, sku, to, 'available', 'Q1'), await lotBalance(stack.db, sku, to, 'damaged', 'Q1')]).toEqual([3, 1]);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('lots coming back', () => {
  it('a return of a lot-tracked item takes back the lots the order shipped, in the order they left', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true, average_cost_minor: COST });
    const wh = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    await stockLot(stack.db, sku, wh, 2, 'FIRST', daysFromToday(60), COST);
    await stockLot(stack.db, sku, wh, 5, 'SECOND', daysFromToday(90), COST);
    const orderId = await placeOrder(sku, 4);
    const shipments = await shipmentsOf(orderId, 1);
    await ship(shipments.get(wh)!, 200);
    await waitForOrder(orderId, 'shipped');
    const post = (url: string, payload: object, role: Parameters<typeof authAs>[0]) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
    const rmaId = uniqueId('rma-');
    const created = await post('/returns', { returnId: rmaId, orderId, lines: [{ sku, qty: 3 }], reasonCode: 'defective', resolution: 'refund' }, 'ops');
    expect(created.statusCode, created.body).toBe(201);
    const parcel = await post(`/returns/${rmaId}/receipt`, { parcelId: 'P1', warehouse: wh, lines: [{ sku, qty: 3 }] }, 'system');
    expect(parcel.statusCode, parcel.body).toBe(200);
    await eventually(async () => ((await lotBalance(stack.db, sku, wh, 'return_pending', 'FIRST')) === 2 ? true : undefined), 20_000, 'the parcel in return_pending');
    expect(await lotBalance(stack.db, sku, wh, 'return_pending', 'SECOND')).toBe(1);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});

describe('the daily expiry sweep', () => {
  it('moves lots reaching expiry to quarantine, raises one exception with their value, and a rerun moves nothing', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true, average_cost_minor: 700 });
    const wh = await addWarehouse(stack.db);
    await stockLot(stack.db, sku, wh, 4, 'TODAY', daysFromToday(0), 700);
    await stockLot(stack.db, sku, wh, 6, 'FRESH', daysFromToday(300), 700);
    const run = async (workflowId: string) =>
      (await client.workflow.execute(lotExpiryWorkflowType, { taskQueue: stack.config.taskQueue, workflowId, args: [{ horizonDays: 0, requestedBy: 'test' }] })) as LotExpiryReport;
    const workflowId = uniqueId('lot-expiry-test-');
    const report = await run(workflowId);
    const mine = report.moved.filter((m) => m.sku === sku);
    expect(mine).toEqual([{ sku, lot: 'TODAY', warehouse: wh, expiresOn: daysFromToday(0), qty: 4, valueMinor: 2_800 }]);
    expect(await lotBalance(stack.db, sku, wh, 'quarantine', 'TODAY')).toBe(4);
    expect(await lotBalance(stack.db, sku, wh, 'available', 'FRESH')).toBe(6);
    expect(await balance(stack.db, sku, wh, 'available')).toBe(6);
    const exception = await stack.db.selectFrom('exceptions').selectAll().where('id', '=', `${workflowId}:expired`).executeTakeFirstOrThrow();
    expect(exception).toMatchObject({ kind: 'lot_expired', owner_role: 'ops' });
    expect((exception.details as { valueMinor: number }).valueMinor).toBe(report.valueMinor);
    expect(exception.message).toContain(`4 × ${sku} lot TODAY`);
    // Quarantined units are not allocated.
    const refused = await refusal(reserve(stack.db, ctx('after-sweep'), { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 7 }] }));
    expect(refused.code).toBe('insufficient_stock');

    // The planner counts the fresh lot, not the expired one in quarantine.
    const [plan] = await computeReplenishment(stack.db, defaultReplenishmentParams, { sku });
    expect(plan).toMatchObject({ sku, warehouse: wh, position: 6 });

    const again = await run(uniqueId('lot-expiry-test-'));
    expect(again.moved.filter((m) => m.sku === sku)).toEqual([]);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });

  it('the worker setup creates the lot-expiry schedule daily at 03:00', async () => {
    await client.schedule.getHandle(LOT_EXPIRY_SCHEDULE_ID).delete().catch(() => {});
    expect(await ensureLotExpirySchedule(client, { taskQueue: 'lot-schedule-test' })).toBe('created');
    const described = await client.schedule.getHandle(LOT_EXPIRY_SCHEDULE_ID).describe();
    expect(described.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 3, end: 3, step: 1 }] })]);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'lotExpirySweep', workflowId: 'lot-expiry', taskQueue: 'lot-schedule-test' });
    expect(await ensureLotExpirySchedule(client, { taskQueue: 'lot-schedule-test', schedule: '12h', horizonDays: 2 })).toBe('updated');
    expect(lotExpiryHorizonDays('3')).toBe(3);
    expect(() => lotExpiryHorizonDays('-1')).toThrow(/LOT_EXPIRY_HORIZON_DAYS/);
  });
});

describe('trace and recall', () => {
  it('traces a lot from its PO receipt to three customers and an open order, and a hold quarantines it and opens the recall task', async () => {
    const sku = await addItem(stack.db, undefined, { lot_tracked: true, average_cost_minor: COST });
    const wh = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74.1 });
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Recall supplier', default_lead_time_days: 5 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: COST }).execute();
    const poId = uniqueId('po-');
    const post = (url: string, payload: object, role: Parameters<typeof authAs>[0]) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
    expect((await post('/purchase-orders', { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 6 }] }, 'buyer')).statusCode).toBe(200);
    await eventually(async () => ((await stack.db.selectFrom('purchase_order_lines').select('sku').where('po_id', '=', poId).execute()).length ? true : undefined));
    const receipt = await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 6, lot: 'RC-1', expiresOn: daysFromToday(180) }] }, 'system');
    expect(receipt.statusCode, receipt.body).toBe(200);

    const shippedOrders: string[] = [];
    for (let i = 0; i < 3; i++) {
      const orderId = await placeOrder(sku, 1);
      const shipments = await shipmentsOf(orderId, 1);
      await ship(shipments.get(wh)!, 100);
      await waitForOrder(orderId, 'shipped');
      shippedOrders.push(orderId);
    }
    const openOrder = await placeOrder(sku, 2);
    await shipmentsOf(openOrder, 1);

    const traced = await stack.app.inject({ method: 'GET', url: `/lots/${sku}/RC-1/trace`, headers: authAs('viewer') });
    expect(traced.statusCode, traced.body).toBe(200);
    const body = traced.json();
    expect(body.received).toEqual([expect.objectContaining({ warehouse: wh, qty: 6, poId, receiptId: 'r1', supplierId, supplierName: 'Recall supplier', operation: 'receive' })]);
    expect(body.shipped.map((s: { orderId: string }) => s.orderId).sort()).toEqual([...shippedOrders].sort());
    expect(body.shipped.every((s: { qty: number }) => s.qty === 1)).toBe(true);
    expect(body.allocated).toEqual([expect.objectContaining({ orderId: openOrder, qty: 2, warehouse: wh })]);
    expect(body.customers).toHaveLength(4);
    expect(body.onHand).toEqual([
      { warehouse: wh, bucket: 'allocated', qty: 2 },
      { warehouse: wh, bucket: 'available', qty: 1 },
    ]);
    expect((await stack.app.inject({ method: 'GET', url: `/lots/${sku}/NOPE/trace`, headers: authAs('viewer') })).statusCode).toBe(404);

    expect((await post(`/lots/${sku}/RC-1/hold`, { reason: 'supplier recall notice' }, 'viewer')).statusCode).toBe(403);
    expect((await post(`/lots/${sku}/RC-1/hold`, {}, 'ops')).statusCode).toBe(400);
    const held = await post(`/lots/${sku}/RC-1/hold`, { reason: 'supplier recall notice' }, 'ops');
    expect(held.statusCode, held.body).toBe(200);
    expect(held.json()).toMatchObject({ moved: [{ warehouse: wh, from: 'available', qty: 1 }], trace: { held: true, heldReason: 'supplier recall notice' } });
    expect(await lotBalance(stack.db, sku, wh, 'quarantine', 'RC-1')).toBe(1);
    const task = await stack.db.selectFrom('tasks').selectAll().where('id', '=', held.json().taskId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ kind: 'lot_recall', role: 'ops', status: 'open' });
    const details = task.details as { openOrders: { orderId: string }[]; customers: string[] };
    expect(details.openOrders.map((o) => o.orderId)).toEqual([openOrder]);
    expect(details.customers).toHaveLength(4);
    // A second hold moves nothing more; the held lot is never allocated again.
    const again = await post(`/lots/${sku}/RC-1/hold`, { reason: 'supplier recall notice' }, 'ops');
    expect(again.json().moved).toEqual([]);
    // Units of the held lot that arrive later stay off limits too.
    await stockLot(stack.db, sku, wh, 3, 'RC-1', daysFromToday(180));
    const refused = await refusal(reserve(stack.db, ctx('held'), { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 1 }] }));
    expect(refused.code).toBe('insufficient_stock');
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('subject_type', '=', 'lot').execute();
    expect(audit.length).toBeGreaterThan(0);
    expect((await checkLedger(stack.db)).problems).toEqual([]);
  });
});
