import { describe, expect, it } from 'vitest';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { uniqueId } from '../support/stack.js';
import { useTimeSkipping } from '../support/time-skipping.js';
import { receiveTransferUpdate, submitTransferUpdate, transferViewQuery, transferWorkflowId, transferWorkflowType, type TransferWorkflow } from '../../contracts/transfer.js';

const ts = useTimeSkipping();

describe('transfer in transit (time-skipping server)', () => {
  it('raises transfer_late past its deadline, keeps waiting, and resolves it when the goods arrive', async () => {
    const [from, to, sku] = [await addWarehouse(ts.db), await addWarehouse(ts.db), await addItem(ts.db)];
    await stock(ts.db, sku, from, 10);
    const transferId = uniqueId('tr-');
    const workflowId = transferWorkflowId(transferId);
    await ts.withWorker(async (taskQueue) => {
      const handle = await ts.env.client.workflow.start<TransferWorkflow>(transferWorkflowType, {
        args: [{ transferId, sku, from, to, qty: 6, reason: 'rebalance', requestedBy: 'ops/test', transitDeadline: '3d' }],
        workflowId,
        taskQueue,
      });
      expect(await handle.executeUpdate(submitTransferUpdate)).toMatchObject({ status: 'in_transit' });
      const exceptions = () => ts.db.selectFrom('exceptions').select(['kind', 'status', 'owner_role']).where('reference', '=', transferId).execute();

      await ts.env.sleep('2d');
      expect(await exceptions()).toEqual([]);
      expect((await handle.query(transferViewQuery)).late).toBeUndefined();

      await ts.env.sleep('1d');
      await ts.env.sleep('1h');
      expect(await exceptions()).toEqual([{ kind: 'transfer_late', status: 'open', owner_role: 'ops' }]);
      expect((await handle.query(transferViewQuery)).late).toMatchObject({ deadline: '3d' });
      expect(await balance(ts.db, sku, to, 'in_transit')).toBe(6);

      const received = await handle.executeUpdate(receiveTransferUpdate, { args: [{ received: 6, damaged: 0, actor: 'system/test' }] });
      expect(received).toMatchObject({ status: 'received', receipt: { received: 6, lost: 0 } });
      expect(await exceptions()).toEqual([{ kind: 'transfer_late', status: 'resolved', owner_role: 'ops' }]);
      expect(await balance(ts.db, sku, to, 'available')).toBe(6);
      await handle.result();
    });
  });
});
