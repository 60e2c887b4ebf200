/**
 * CSV order import: one process per file; every row's result; good orders imported although
 * other rows are bad; the same file again is the same import; the 400/409/415 rule.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
let sku = '';
const header = 'order_id,customer_id,currency,sku,qty,unit_price,discount,tax,freight,ship_name,ship_city,ship_postal_code,ship_country';

const post = (importId: string, body: string, role: 'system' | 'ops' | 'viewer' | 'buyer' = 'system', contentType = 'text/csv', channel = 'wholesale') =>
  stack.app.inject({ method: 'POST', url: `/orders/import?importId=${importId}&channel=${channel}`, headers: { ...authAs(role), 'content-type': contentType }, payload: body });
const view = async (importId: string) => (await stack.app.inject({ method: 'GET', url: `/orders/imports/${importId}`, headers: authAs('viewer') })).json();

beforeAll(async () => {
  const warehouse = await addWarehouse(stack.db, undefined, { lat: 41.9, lon: -87.6 });
  sku = await addItem(stack.db, undefined, { price_minor: 1_250 });
  await stock(stack.db, sku, warehouse, 100);
});

describe('CSV order import', () => {
  it('imports the good orders, reports every bad row, and answers the same file again as the same import', async () => {
    const id = uniqueId('imp-');
    const [a, b, c] = [uniqueId('IMP-A-'), uniqueId('IMP-B-'), uniqueId('IMP-C-')];
    const used = uniqueId('IMP-USED-');
    const placed = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: { orderId: used, channel: 'wholesale', customerId: 'W-9', shipTo: { country: 'US', lat: 41.9, lon: -87.6 }, lines: [{ sku, qty: 1, unitPriceMinor: 1_250 }] },
    });
    expect(placed.statusCode).toBe(201);
    const file = [
      header,
      `${a},W-1,USD,${sku},2,12.50,1.00,2.00,9.99,"Acme, Inc.",Chicago,60601,US`,
      `${a},W-1,USD,${sku.toLowerCase()},1,12.50,0,1.00,9.99,"Acme, Inc.",Chicago,60601,US`,
      `${b},W-2,USD,${sku},three,12.50,0,0,0,,Chicago,60601,US`,
      `${b},W-2,USD,${sku},1,12.50,0,0,0,,Chicago,60601,US`,
      `${c},W-3,USD,NO-SUCH-SKU,1,12.50,0,0,0,,Toronto,M5V 2T6,CA`,
      `,W-4,USD,${sku},1,12.50,0,0,0,,Chicago,60601,US`,
      `${uniqueId('IMP-D-')},W-5,USD,${sku},1,12.50`,
      `${used},W-9,USD,${sku},5,12.50,0,0,0,,Chicago,60601,US`,
    ].join('\n');
    const first = await post(id, file);
    expect(first.statusCode, first.body).toBe(202);
    const answer = first.json();
    expect(answer).toMatchObject({ importId: id, workflowId: `order-import-${id}`, created: true, rows: 8, orders: 3 });
    expect(answer.rejectedRows.map((r: { row: number; problems: string[] }) => [r.row, r.problems.join('; ')])).toEqual([
      [4, 'qty "three" is not a whole number from 1 to 100000'],
      [5, `order ${b} is not imported: row 4 is bad`],
      [7, expect.stringContaining('order_id "": letters, digits')],
      [8, expect.stringContaining('the row has 6 fields, the header 13')],
    ]);

    const done = await eventually(async () => {
      const v = await view(id);
      return v.status === 'done' ? v : undefined;
    }, 30_000, 'the import to finish');
    expect(done.summary).toMatchObject({ rows: 8, rejectedRows: 4, orders: 3, byOutcome: { created: 1, rejected: 1, refused: 1, pending: 0 } });
    const byRow = new Map(done.rows.map((r: { row: number }) => [r.row, r]));
    expect(byRow.get(2)).toMatchObject({ orderId: a, lineNo: 1, accepted: true, order: { outcome: 'created' } });
    expect(byRow.get(6)).toMatchObject({ orderId: c, accepted: true, order: { outcome: 'rejected' } });
    expect(JSON.stringify((byRow.get(6) as { order: unknown }).order)).toContain('unknown sku NO-SUCH-SKU');
    expect(byRow.get(9)).toMatchObject({ orderId: used, order: { outcome: 'refused', detail: { reason: expect.stringContaining('different content') } } });

    const order = (await stack.app.inject({ method: 'GET', url: `/orders/${a}`, headers: authAs('viewer') })).json();
    expect(order.record).toMatchObject({ channel: 'wholesale', customerId: 'W-1', freightMinor: 999, shipTo: { name: 'Acme, Inc.', postalCode: '60601' } });
    expect(order.record.lines.map((l: { sku: string; qty: number; unitPriceMinor: number; discountMinor: number; taxMinor: number }) => [l.sku, l.qty, l.unitPriceMinor, l.discountMinor, l.taxMinor])).toEqual([
      [sku, 2, 1250, 100, 200],
      [sku, 1, 1250, 0, 100],
    ]);
    expect(await stack.db.selectFrom('orders').select('id').where('id', '=', b).executeTakeFirst()).toBeUndefined();

    const again = await post(id, file);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, rows: 8, orders: 3 });
    expect(again.json().rejectedRows).toHaveLength(4);
    const other = await post(id, `${header}\n${uniqueId('X-')},W-1,USD,${sku},1,12.50,0,0,0,,Chicago,60601,US`);
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('duplicate_import_id');
  });

  it('keeps the 400/403/415 rule, writing nothing', async () => {
    const before = (await stack.db.selectFrom('order_imports').select('id').execute()).length;
    const id = uniqueId('imp-');
    expect((await post(id, `${header}\nX-1,W,USD,${sku},1,1,0,0,0,,,,US`, 'viewer')).statusCode).toBe(403);
    expect((await post(id, `${header}\nX-1,W,USD,${sku},1,1,0,0,0,,,,US`, 'buyer')).statusCode).toBe(403);
    expect((await post(id, '{"orders": []}', 'system', 'application/json')).statusCode).toBe(415);
    for (const bad of ['', 'order_id,sku\nA,B', header, `${header}\n"unterminated,W,USD`]) {
      const res = await post(id, bad);
      expect(res.statusCode, `${JSON.stringify(bad)}: ${res.body}`).toBe(400);
    }
    expect((await stack.app.inject({ method: 'POST', url: `/orders/import?importId=${id}&channel=nowhere`, headers: { ...authAs('ops'), 'content-type': 'text/csv' }, payload: header })).statusCode).toBe(400);
    expect((await stack.db.selectFrom('order_imports').select('id').execute()).length).toBe(before);
  });
});
