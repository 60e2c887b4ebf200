import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { addItem, addWarehouse, balance } from '../support/fixtures.js';
import { uniqueId } from '../support/stack.js';
import { useTimeSkipping } from '../support/time-skipping.js';
import { inspectionUpdate, parcelReceivedUpdate, type ReturnInput, returnViewQuery, returnWorkflowType, type ReturnWorkflow } from '../../contracts/return.js';

const ts = useTimeSkipping();
const policies = loadConfig({}).policies;
const policy = { returns: policies.returns, order: policies.order };

/**
 * An authorized return of 2 units of a shipped order line, written straight to the
 * database (the order's shipment is not needed by the timers under test).
 */
async function anAuthorizedReturn(): Promise<{ input: ReturnInput; warehouse: string }> {
  const warehouse = await addWarehouse(ts.db);
  const sku = await addItem(ts.db, undefined, { price_minor: 2_000 });
  const orderId = uniqueId('ord-');
  const rmaId = uniqueId('rma-');
  await ts.db
    .insertInto('orders')
    .values({ id: orderId, workflow_id: `order-${orderId}`, channel: 'dtc', customer_id: 'c1', currency: 'USD', status: 'shipped', ship_to: JSON.stringify({ country: 'US', lat: 40, lon: -74 }), freight_minor: 0, total_minor: 4_000 })
    .execute();
  await ts.db.insertInto('order_lines').values({ order_id: orderId, line_no: 1, sku, qty: 2, unit_price_minor: 2_000, discount_minor: 0, tax_minor: 0, shipped_qty: 2 }).execute();
  const now = new Date(await ts.env.currentTimeMs());
  const input: ReturnInput = {
    rmaId,
    orderId,
    channel: 'dtc',
    customerId: 'c1',
    currency: 'USD',
    reasonCode: 'changed_mind',
    resolution: 'refund',
    lines: [{ lineNo: 1, sku, qty: 2, unitPriceMinor: 2_000 }],
    requestedBy: 'ops/test',
    authorizedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
    returnableToSupplier: [],
  };
  await ts.db
    .insertInto('returns')
    .values({
      id: rmaId,
      workflow_id: `rma-${rmaId}`,
      order_id: orderId,
      channel: 'dtc',
      customer_id: 'c1',
      currency: 'USD',
      reason_code: 'changed_mind',
      resolution: 'refund',
      status: 'authorized',
      request_hash: 'test',
      input: JSON.stringify(input),
      requested_by: 'ops/test',
      expires_at: input.expiresAt,
    })
    .execute();
  await ts.db.insertInto('return_lines').values({ return_id: rmaId, line_no: 1, sku, qty: 2 }).execute();
  return { input, warehouse };
}

const recordOf = (rmaId: string) => ts.db.selectFrom('returns').selectAll().where('id', '=', rmaId).executeTakeFirstOrThrow();

describe('return timers (time-skipping server)', () => {
  it('a return with nothing received stays authorized for 29 days and expires when its receipt window closes', async () => {
    const { input } = await anAuthorizedReturn();
    await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<ReturnWorkflow>(returnWorkflowType, { args: [input, policy], workflowId: `rma-${input.rmaId}`, taskQueue });
      await ts.env.sleep('29d');
      expect((await handle.query(returnViewQuery)).status).toBe('authorized');
      await ts.env.sleep('2d');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'expired', receiptWindowClosed: true, lines: [{ authorized: 2, received: 0 }] });
      expect(await recordOf(input.rmaId)).toMatchObject({ status: 'expired', closed_at: expect.any(Date), refund: null });
      expect(await ts.db.selectFrom('payment_gateway_refunds').selectAll().where('reference', '=', input.rmaId).execute()).toEqual([]);
    });
  });

  it('a partial receipt: the window closes on the missing unit, and what came is inspected and refunded', async () => {
    const { input, warehouse } = await anAuthorizedReturn();
    const sku = input.lines[0]!.sku;
    await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<ReturnWorkflow>(returnWorkflowType, { args: [input, policy], workflowId: `rma-${input.rmaId}`, taskQueue });
      await ts.env.sleep('10d');
      const received = await handle.executeUpdate(parcelReceivedUpdate, { args: [{ parcelId: 'P1', warehouse, lines: [{ sku, qty: 1 }], actor: 'wms/test' }] });
      expect(received).toMatchObject({ status: 'receiving', lines: [{ received: 1 }] });
      expect(await balance(ts.db, sku, warehouse, 'return_pending')).toBe(1);

      await ts.env.sleep('21d');
      const closed = await handle.query(returnViewQuery);
      expect(closed).toMatchObject({ status: 'inspecting', receiptWindowClosed: true });
      expect(closed.timeline.at(-1)!.note).toContain('1 authorized units never arrived');
      // The window has closed: a late parcel is refused.
      const late = await handle.executeUpdate(parcelReceivedUpdate, { args: [{ parcelId: 'P2', warehouse, lines: [{ sku, qty: 1 }], actor: 'wms/test' }] }).catch((e: Error) => e);
      expect((late as Error & { cause?: Error }).cause?.message).toMatch(/not waiting for parcels/);

      await handle.executeUpdate(inspectionUpdate, { args: [{ inspectionId: 'I1', actor: 'ops/test', lines: [{ sku, qty: 1, condition: 'as_new' }] }] });
      const result = await handle.result();
      // Changed mind: 2000 less a 10% restocking fee.
      expect(result).toMatchObject({ status: 'refunded', refund: { totalMinor: 1_800, restockingFeeMinor: 200, cashMinor: 1_800 } });
      expect(await balance(ts.db, sku, warehouse, 'available')).toBe(1);
      const record = await recordOf(input.rmaId);
      expect(record).toMatchObject({ status: 'refunded', refund_minor: 1_800 });
      const refunds = await ts.db.selectFrom('payment_gateway_refunds').selectAll().where('reference', '=', input.rmaId).execute();
      expect(refunds.map((r) => r.amount_minor)).toEqual([1_800]);
    });
  });
});
