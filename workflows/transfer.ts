import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { TransferInput, TransferReceipt, TransferActivities } from '../contracts/transfer.js';
import { ProcessStatus, Warehouses } from '../contracts/search-attributes.js';
import { receiveTransferUpdate, submitTransferUpdate, TransferStatus, type TransferView, transferViewQuery } from '../contracts/transfer.js';
import type { OrderReleaseActivities } from '../contracts/order.js';
import type { TaskActivities } from '../contracts/shared.js';

const activities = proxyActivities<TransferActivities & TaskActivities & Pick<OrderReleaseActivities, 'wakeBackorders'>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
});

/** Stock from one warehouse to another through in_transit: ship at once, then wait for the receipt. */
export async function transfer(input: TransferInput): Promise<TransferView> {
  const view: TransferView = {
    transferId: input.transferId,
    sku: input.sku,
    from: input.from,
    to: input.to,
    qty: input.qty,
    status: TransferStatus.shipping,
    timeline: [{ at: new Date().toISOString(), status: TransferStatus.shipping }],
  };
  let receipt: TransferReceipt | undefined;
  const moveTo = (status: TransferStatus, note?: string) => {
    view.status = status;
    view.timeline.push({ at: new Date().toISOString(), status, note });
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
  };

  setHandler(transferViewQuery, () => view);
  setHandler(submitTransferUpdate, async () => {
    await condition(() => view.status !== TransferStatus.shipping);
    return view;
  });
  setHandler(
    receiveTransferUpdate,
    async (arrived) => {
      receipt = arrived;
      await condition(() => view.status === TransferStatus.received);
      return view;
    },
    {
      validator: (arrived) => {
        if (view.status !== TransferStatus.inTransit || receipt) {
          const state = receipt ? 'already received' : view.status;
          throw ApplicationFailure.nonRetryable(`transfer ${input.transferId} is ${state}, not waiting for a receipt`, 'not_in_transit');
        }
        for (const [name, qty] of [['received', arrived.received], ['damaged', arrived.damaged]] as const) {
          if (!Number.isSafeInteger(qty) || qty < 0) throw ApplicationFailure.nonRetryable(`${name} must be a whole number ≥ 0`, 'bad_quantity');
        }
        // Nothing can arrive that was not shipped: the over-receipt tolerance of a transfer is 0.
        if (arrived.received + arrived.damaged > input.qty) {
          throw ApplicationFailure.nonRetryable(
            `received ${arrived.received} + damaged ${arrived.damaged} exceeds the ${input.qty} shipped; a transfer takes no over-receipt`,
            'over_receipt',
          );
        }
      },
    },
  );

  upsertSearchAttributes([{ key: Warehouses, value: [input.from, input.to] }]);
  try {
    await activities.shipTransfer(input);
  } catch (error) {
    // A refusal by the ledger (the origin lacks available stock) ends the transfer.
    if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
    view.refusal = { code: error.cause.type ?? 'refused', message: error.cause.message };
    moveTo(TransferStatus.refused, error.cause.message);
    return view;
  }
  moveTo(TransferStatus.inTransit, `${input.qty} × ${input.sku} from ${input.from} to ${input.to}`);

  const lateId = `${workflowInfo().workflowId}:transfer_late`;
  // Transfers started before the deadline existed wait without one.
  const deadline = patched('transit-deadline') ? (input.transitDeadline ?? '5d') : undefined;
  if (deadline && !(await condition(() => receipt !== undefined, deadline))) {
    view.late = { since: new Date().toISOString(), deadline };
    await activities.raiseException({
      id: lateId,
      kind: 'transfer_late',
      reference: input.transferId,
      workflowId: workflowInfo().workflowId,
      ownerRole: 'ops',
      message: `transfer ${input.transferId} of ${input.qty} × ${input.sku} from ${input.from} to ${input.to} has been in transit longer than ${deadline}`,
      details: { sku: input.sku, from: input.from, to: input.to, qty: input.qty },
    });
  }
  await condition(() => receipt !== undefined);
  const arrived = receipt!;
  moveTo(TransferStatus.receiving);
  if (view.late) await activities.resolveException(lateId);
  const received = await activities.receiveTransfer({ transferId: input.transferId, ...arrived });
  view.receipt = { ...received, actor: arrived.actor, at: new Date().toISOString() };
  await activities.wakeBackorders([input.sku]);
  moveTo(TransferStatus.received, `received ${received.received}, damaged ${received.damaged}, lost ${received.lost}`);
  await condition(allHandlersFinished);
  return view;
}
