import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { Db } from '../../db/connection.js';
import { checkLedger } from '../../db/ledger-check.js';
import { ensureSearchAttributes } from '../../runtime/temporal.js';
import { transferWorkflowId } from '../../activities/transfer.js';
import { receiveTransferUpdate, submitTransferUpdate, transfer, transferViewQuery } from '../../workflows/transfer.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { createTestDatabase, uniqueId } from '../support/stack.js';

let env: TestWorkflowEnvironment;
let db: Db;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('timeSkippingServerPath') } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  ({ db } = await createTestDatabase());
});
afterAll(async () => {
  if (db) expect((await checkLedger(db)).problems).toEqual([]);
  await db?.destroy();
  await env?.teardown();
});

describe('transfer in transit (time-skipping server)', () => {
  it('raises transfer_late past its deadline, keeps waiting, and resolves it when the goods arrive', async () => {
    const [from, to, sku] = [await addWarehouse(db), await addWarehouse(db), await addItem(db)];
    await stock(db, sku, from, 10);
    const transferId = uniqueId('tr-');
    const workflowId = transferWorkflowId(transferId);
    const taskQueue = uniqueId('transfer-timers-');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: createActivities({ db, temporal: env.client }),
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(transfer, {
        args: [{ transferId, sku, from, to, qty: 6, reason: 'rebalance', requestedBy: 'ops/test', transitDeadline: '3d' }],
        workflowId,
        taskQueue,
      });
      expect(await handle.executeUpdate(submitTransferUpdate)).toMatchObject({ status: 'in_transit' });
      const exceptions = () => db.selectFrom('exceptions').select(['kind', 'status', 'owner_role']).where('reference', '=', transferId).execute();

      await env.sleep('2d');
      expect(await exceptions()).toEqual([]);
      expect((await handle.query(transferViewQuery)).late).toBeUndefined();

      await env.sleep('1d');
      await env.sleep('1h');
      expect(await exceptions()).toEqual([{ kind: 'transfer_late', status: 'open', owner_role: 'ops' }]);
      expect((await handle.query(transferViewQuery)).late).toMatchObject({ deadline: '3d' });
      expect(await balance(db, sku, to, 'in_transit')).toBe(6);

      const received = await handle.executeUpdate(receiveTransferUpdate, { args: [{ received: 6, damaged: 0, actor: 'system/test' }] });
      expect(received).toMatchObject({ status: 'received', receipt: { received: 6, lost: 0 } });
      expect(await exceptions()).toEqual([{ kind: 'transfer_late', status: 'resolved', owner_role: 'ops' }]);
      expect(await balance(db, sku, to, 'available')).toBe(6);
      await handle.result();
    });
  });
});
