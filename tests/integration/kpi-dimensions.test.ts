/**
 * KPIs by channel, warehouse and sku class, the carrier's delivered event and on-time
 * delivery, pick accuracy with a short pick, stockout rate, and working capital from the
 * journal — against real shipments through the real processes.
 */
import { describe, expect, it } from 'vitest';
import { trialBalance } from '../../db/journal.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
type Role = Parameters<typeof authAs>[0];
const get = (url: string, role: Role = 'viewer') => stack.app.inject({ method: 'GET', url, headers: authAs(role) });
const event = (shipmentId: string, body: object) => stack.app.inject({ method: 'POST', url: `/shipments/${shipmentId}/events`, headers: authAs('system'), payload: body });

async function placeAndShip(orderId: string, channel: string, sku: string, qty: number, found?: number) {
  const promisedBy = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const placed = await stack.app.inject({
    method: 'POST',
    url: '/orders',
    headers: authAs('system'),
    payload: { orderId, channel, customerId: uniqueId('c-'), promisedBy, shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty, unitPriceMinor: 2_000 }] },
  });
  expect(placed.statusCode, placed.body).toBe(201);
  const shipmentId = await eventually(async () => (await stack.db.selectFrom('shipments').select('id').where('order_id', '=', orderId).executeTakeFirst())?.id);
  if (found !== undefined) expect((await event(shipmentId, { type: 'short_pick', found: [{ lineNo: 1, sku, qty: found }] })).statusCode).toBe(200);
  else expect((await event(shipmentId, { type: 'picked' })).statusCode).toBe(200);
  // Before it ships, a delivery is refused and nothing is written.
  const early = await event(shipmentId, { type: 'delivered' });
  expect(early.statusCode).toBe(409);
  expect(early.json().error.code).toBe('not_shipped');
  expect((await event(shipmentId, { type: 'packed' })).statusCode).toBe(200);
  const shipped = await event(shipmentId, { type: 'shipped', carrier: 'UPS', tracking: uniqueId('1Z'), freightCostMinor: 500 });
  expect(shipped.statusCode, shipped.body).toBe(200);
  return shipmentId;
}

describe('deliveries and KPIs by dimension', () => {
  const wh = { a: '', b: '' };
  const sku = { a: '', c: '' };
  let delivered = '';

  it('records a delivery once after the shipment process ended; a repeat answers the first; another time is refused', async () => {
    wh.a = await addWarehouse(stack.db, undefined, { lat: 40.7, lon: -74 });
    wh.b = await addWarehouse(stack.db, undefined, { lat: 34, lon: -118 });
    sku.a = await addItem(stack.db);
    sku.c = await addItem(stack.db);
    await stack.db.updateTable('items').set({ sku_class: 'A' }).where('sku', '=', sku.a).execute();
    await stack.db.updateTable('items').set({ sku_class: 'C' }).where('sku', '=', sku.c).execute();
    await stock(stack.db, sku.a, wh.a, 50);
    await stock(stack.db, sku.c, wh.b, 50);

    delivered = await placeAndShip(uniqueId('ord-'), 'dtc', sku.a, 4);
    await placeAndShip(uniqueId('ord-'), 'wholesale', sku.c, 5, 3);
    await eventually(async () => ((await stack.db.selectFrom('shipments').select('status').where('id', '=', delivered).executeTakeFirst())?.status === 'shipped' ? true : undefined));

    const at = new Date(Date.now() - 1_000).toISOString();
    const first = await event(delivered, { type: 'delivered', deliveredAt: at });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ shipmentId: delivered, recorded: true, reportedBy: 'test-system' });
    const again = await event(delivered, { type: 'delivered', deliveredAt: at });
    expect(again.json()).toMatchObject({ recorded: false, deliveredAt: at });
    const other = await event(delivered, { type: 'delivered', deliveredAt: new Date().toISOString() });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('already_delivered');
    expect((await event(uniqueId('nope-'), { type: 'delivered' })).statusCode).toBe(404);
    const record = (await get(`/shipments/${delivered}`)).json();
    expect(record.deliveredAt).toBe(at);
    const audit = await stack.db.selectFrom('audit_log').select(['action', 'automated']).where('subject_id', '=', delivered).where('action', '=', 'shipment.events.delivered').execute();
    expect(audit).toEqual([
      { action: 'shipment.events.delivered', automated: true },
      { action: 'shipment.events.delivered', automated: true },
    ]);
  }, 90_000);

  it('breaks KPIs down by channel, warehouse and sku class, and says which have no meaning there', async () => {
    const byChannel = (await get('/kpis?by=channel')).json();
    const dtc = byChannel.breakdown.groups.find((g: { key: string }) => g.key === 'dtc');
    const wholesale = byChannel.breakdown.groups.find((g: { key: string }) => g.key === 'wholesale');
    expect(dtc.kpis.onTimeDelivery).toEqual({ value: 1, numerator: 1, denominator: 1 });
    expect(dtc.kpis.pickAccuracy).toMatchObject({ value: 1 });
    expect(wholesale.kpis.pickAccuracy).toEqual({ value: 0, numerator: 0, denominator: 1 });
    expect(byChannel.kpis.fillRate).toBeDefined(); // the whole-business KPIs are still there

    expect(dtc.kpis.atpAccuracy).toEqual({ value: 1, numerator: 1, denominator: 1 });
    expect(wholesale.kpis.atpAccuracy).toEqual({ value: 0, numerator: 0, denominator: 1 }); // picked short
    expect(byChannel.breakdown.notBrokenDown).toEqual(['agedStockOver90Days', 'inventoryAccuracy', 'inventoryTurns', 'purchaseOrderFillRate', 'supplierLeadTimeAdherence']);
    // Order-level KPIs count the order once it has closed as shipped.
    const closed = await eventually(async () => {
      const groups = (await get('/kpis?by=channel')).json().breakdown.groups as { key: string; kpis: Record<string, { numerator: number; denominator: number; value: number | null }> }[];
      const d = groups.find((g) => g.key === 'dtc')!;
      return d.kpis.splitShipmentRate ? d : undefined;
    });
    expect(closed.kpis.splitShipmentRate).toEqual({ value: 0, numerator: 0, denominator: 1 });
    expect(closed.kpis.freightCostPerOrder).toEqual({ value: 500, numerator: 500, denominator: 1 });
    expect(closed.kpis.orderCycleTimeHours!.denominator).toBe(1);

    const byWarehouse = (await get('/kpis?by=warehouse')).json();
    expect(byWarehouse.breakdown.groups.find((g: { key: string }) => g.key === wh.b).kpis.pickAccuracy.value).toBe(0);
    expect(byWarehouse.breakdown.notBrokenDown).toEqual(['atpAccuracy', 'cancellationRate', 'splitShipmentRate', 'stockoutRate']);
    const a = byWarehouse.breakdown.groups.find((g: { key: string }) => g.key === wh.a).kpis;
    expect(a.freightCostPerOrder).toEqual({ value: 500, numerator: 500, denominator: 1 }); // per shipment from the warehouse
    expect(byWarehouse.breakdown.units).toMatchObject({ freightCostPerOrder: 'minor', orderCycleTimeHours: 'hours', inventoryTurns: 'times', pickAccuracy: 'ratio' });
    // 4 units at 2,000 = 8,000 net revenue; COGS 4 × 800 and freight 500 leave 4,300.
    expect(a.marginPctOfNetRevenue).toEqual({ value: 0.5375, numerator: 4_300, denominator: 8_000 });
    // Shipped 4 × 800 at cost over the average of 0 owned at the start and 46 at the end.
    expect(a.inventoryTurns).toEqual({ value: Math.round((3_200 / 18_400) * 10_000) / 10_000, numerator: 3_200, denominator: 18_400 });
    expect(a.agedStockOver90Days).toEqual({ value: 0, numerator: 0, denominator: 46 });
    const byClass = (await get('/kpis?by=sku_class')).json();
    expect(byClass.breakdown.notBrokenDown).toEqual(['cancellationRate', 'freightCostPerOrder', 'marginPctOfNetRevenue', 'orderCycleTimeHours', 'splitShipmentRate', 'supplierLeadTimeAdherence']);
    expect(byClass.breakdown.groups.find((g: { key: string }) => g.key === 'A').kpis.atpAccuracy).toEqual({ value: 1, numerator: 1, denominator: 1 });
    expect(byClass.breakdown.groups.map((g: { key: string }) => g.key)).toEqual(expect.arrayContaining(['A', 'C']));
    expect(byClass.breakdown.groups.find((g: { key: string }) => g.key === 'A').kpis.stockoutRate).toMatchObject({ numerator: 0 });
    expect((await get('/kpis?by=customer')).statusCode).toBe(400);
  });

  it('gives day-by-day series per group, and refuses a breakdown a metric does not have', async () => {
    const picks = (await get('/kpis/series?metric=pick_accuracy&by=warehouse&days=3')).json();
    expect(picks.groups.map((g: { key: string }) => g.key).sort()).toEqual([wh.a, wh.b].sort());
    const today = (key: string) => picks.groups.find((g: { key: string }) => g.key === key).points.at(-1);
    expect(today(wh.a)).toMatchObject({ value: 1, numerator: 1, denominator: 1 });
    expect(today(wh.b)).toMatchObject({ value: 0, numerator: 0, denominator: 1 });
    expect(picks.groups[0].points).toHaveLength(3);

    const onTime = (await get('/kpis/series?metric=on_time_delivery&days=2')).json();
    expect(onTime.points.at(-1)).toMatchObject({ value: 1, numerator: 1, denominator: 1 });
    const stockouts = (await get('/kpis/series?metric=stockout_rate&by=channel&days=1')).json();
    expect(stockouts.groups.map((g: { key: string }) => g.key).sort()).toEqual(['dtc', 'wholesale']);
    const old = (await get('/kpis/series?metric=fill_rate&days=2')).json();
    expect(old.points).toHaveLength(2);
    const refused = await get('/kpis/series?metric=orders_shipped&by=warehouse');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toContain('no breakdown by warehouse');
  });

  it('working capital at each day end: inventory + receivables − payables, as the journal has them', async () => {
    const wc = (await get('/kpis/working-capital?days=3')).json();
    expect(wc.points).toHaveLength(3);
    const balance = await trialBalance(stack.db);
    const of = (code: string) => balance.accounts.find((a) => a.code === code)?.balanceMinor ?? 0;
    const last = wc.points.at(-1);
    expect(last.inventoryMinor).toBe(of('1300'));
    expect(last.receivablesMinor).toBe(of('1100'));
    expect(last.valueMinor).toBe(last.inventoryMinor + last.receivablesMinor - last.payablesMinor);
    // The fixtures put stock on the shelf without a journal entry, so inventory here is what shipments took out.
    expect(last.inventoryMinor).toBeLessThan(0);
    expect((await get('/kpis/working-capital', 'buyer')).statusCode).toBe(403);
  });
});
