import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { addItem, addWarehouse, balance } from '../support/fixtures.js';
import { uniqueId } from '../support/stack.js';
import { useTimeSkipping } from '../support/time-skipping.js';
import { acknowledgePurchaseOrderUpdate, cancelPurchaseOrderUpdate, extendPurchaseOrderUpdate, type PurchaseOrderInput, purchaseOrderViewQuery, purchaseOrderWorkflowId, submitPurchaseOrderUpdate, purchaseOrderWorkflowType, type PurchaseOrderWorkflow } from '../../contracts/purchase-order.js';

const ts = useTimeSkipping();
const policy = loadConfig({}).policies.purchaseOrder;

async function aPurchaseOrder(expectedInDays: number): Promise<PurchaseOrderInput> {
  const warehouse = await addWarehouse(ts.db);
  const sku = await addItem(ts.db);
  const supplierId = uniqueId('sup-');
  await ts.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 10 }).execute();
  await ts.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: 500 }).execute();
  return {
    poId: uniqueId('po-'),
    supplierId,
    warehouse,
    currency: 'USD',
    // The time-skipping server's clock runs ahead of the wall clock once a test has slept.
    expectedAt: new Date((await ts.env.currentTimeMs()) + expectedInDays * 86_400_000).toISOString(),
    lines: [{ lineNo: 1, sku, qty: 40, unitCostMinor: 500 }],
    createdBy: 'buyer/test',
    creatorRole: 'buyer',
    policy,
  };
}

const exceptionsOf = (poId: string) => ts.db.selectFrom('exceptions').selectAll().where('reference', '=', poId).orderBy('raised_at').execute();

describe('purchase order timers (time-skipping server)', () => {
  it('a supplier that does not acknowledge within 2d raises an exception; the late ack resolves it', async () => {
    const input = await aPurchaseOrder(30);
    await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<PurchaseOrderWorkflow>(purchaseOrderWorkflowType, { args: [input], workflowId: purchaseOrderWorkflowId(input.poId), taskQueue });
      await ts.env.sleep('1d');
      expect(await handle.query(purchaseOrderViewQuery)).toMatchObject({ status: 'issued', exceptions: [] });
      expect(await exceptionsOf(input.poId)).toEqual([]);
      expect(await balance(ts.db, input.lines[0]!.sku, input.warehouse, 'inbound')).toBe(40);

      await ts.env.sleep('1d');
      await ts.env.sleep('1h');
      expect((await handle.query(purchaseOrderViewQuery)).exceptions).toEqual(['po_ack_missing']);
      const [missing] = await exceptionsOf(input.poId);
      expect(missing).toMatchObject({ kind: 'po_ack_missing', status: 'open', owner_role: 'buyer' });

      const acked = await handle.executeUpdate(acknowledgePurchaseOrderUpdate, { args: [{ lines: [{ lineNo: 1, confirmedQty: 40 }], actor: 'system/test' }] });
      expect(acked.status).toBe('acknowledged');
      const [resolved] = await exceptionsOf(input.poId);
      expect(resolved?.status).toBe('resolved');
      await handle.terminate('test done');
    });
  });

  it('a PO with open lines at its expected date raises a late exception; cancelling the remainder releases inbound and ends it', async () => {
    const input = await aPurchaseOrder(10);
    await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<PurchaseOrderWorkflow>(purchaseOrderWorkflowType, { args: [input], workflowId: purchaseOrderWorkflowId(input.poId), taskQueue });
      expect((await handle.executeUpdate(submitPurchaseOrderUpdate)).status).toBe('issued');
      await handle.executeUpdate(acknowledgePurchaseOrderUpdate, { args: [{ lines: [{ lineNo: 1, confirmedQty: 40 }], actor: 'system/test' }] });
      await ts.env.sleep('9d');
      expect((await handle.query(purchaseOrderViewQuery)).exceptions).toEqual([]);

      await ts.env.sleep('2d');
      expect((await handle.query(purchaseOrderViewQuery)).exceptions).toEqual(['po_late']);
      const [late] = await exceptionsOf(input.poId);
      expect(late).toMatchObject({ kind: 'po_late', status: 'open' });
      expect(late!.message).toContain('line 1: 40 ×');

      // The buyer extends by a week: the exception is resolved, and a second one comes when that date passes too.
      const newDate = new Date((await ts.env.currentTimeMs()) + 7 * 86_400_000).toISOString();
      await handle.executeUpdate(extendPurchaseOrderUpdate, { args: [{ expectedAt: newDate, reason: 'supplier asked for a week', actor: 'buyer/test' }] });
      expect((await exceptionsOf(input.poId)).map((e) => e.status)).toEqual(['resolved']);
      await ts.env.sleep('6d');
      expect((await handle.query(purchaseOrderViewQuery)).exceptions).toEqual(['po_late']);
      await ts.env.sleep('2d');
      expect((await handle.query(purchaseOrderViewQuery)).exceptions).toEqual(['po_late', 'po_late-2']);
      expect((await exceptionsOf(input.poId)).map((e) => e.status)).toEqual(['resolved', 'open']);

      await handle.executeUpdate(cancelPurchaseOrderUpdate, { args: [{ reason: 'supplier cannot deliver', actor: 'buyer/test' }] });
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'cancelled', lines: [{ cancelled: 40, inbound: 0 }] });
      expect(await balance(ts.db, input.lines[0]!.sku, input.warehouse, 'inbound')).toBe(0);
      expect((await exceptionsOf(input.poId)).map((e) => e.status)).toEqual(['resolved', 'resolved']);
      const record = await ts.db.selectFrom('purchase_orders').selectAll().where('id', '=', input.poId).executeTakeFirstOrThrow();
      expect(record.status).toBe('cancelled');
    });
  });

  it('an approval nobody decides rises in priority after 2d and keeps waiting', async () => {
    const input = await aPurchaseOrder(30);
    input.lines = [{ ...input.lines[0]!, qty: 2_000 }]; // 1 000 000: above the buyer limit
    await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<PurchaseOrderWorkflow>(purchaseOrderWorkflowType, { args: [input], workflowId: purchaseOrderWorkflowId(input.poId), taskQueue });
      expect((await handle.executeUpdate(submitPurchaseOrderUpdate)).status).toBe('awaiting_approval');
      await ts.env.sleep('2d');
      await ts.env.sleep('1h');
      const view = await handle.query(purchaseOrderViewQuery);
      expect(view).toMatchObject({ status: 'awaiting_approval', approval: { escalated: true, approverRole: 'finance' } });
      const task = await ts.db.selectFrom('tasks').selectAll().where('reference', '=', input.poId).executeTakeFirstOrThrow();
      expect(task).toMatchObject({ priority: 'high', status: 'open', role: 'finance' });
      expect(await balance(ts.db, input.lines[0]!.sku, input.warehouse, 'inbound')).toBe(0);
      await handle.terminate('test done');
    });
  });
});
