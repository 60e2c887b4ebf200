import { ActivityFailure, ApplicationFailure, condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ProcessStatus, Warehouses } from '../contracts/search-attributes.js';
import { AdjustmentStatus, type AdjustmentView, adjustmentViewQuery, type AdjustmentWorkflowInput, decideAdjustmentUpdate, submitAdjustmentUpdate, type InventoryAdjustmentActivities } from '../contracts/inventory-adjustment.js';
import type { OrderReleaseActivities } from '../contracts/order.js';
import type { TaskActivities } from '../contracts/shared.js';

const activities = proxyActivities<InventoryAdjustmentActivities & TaskActivities & Pick<OrderReleaseActivities, 'wakeBackorders'>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
});

export async function inventoryAdjustment(input: AdjustmentWorkflowInput): Promise<AdjustmentView> {
  const view: AdjustmentView = { adjustmentId: input.adjustmentId, status: AdjustmentStatus.evaluating, approvalReasons: [] };
  const taskId = `${workflowInfo().workflowId}:approval`;
  /** Set when the approval window closed: a decision arriving now is refused, not lost. */
  let lapsing = false;
  setHandler(adjustmentViewQuery, () => view);
  setHandler(submitAdjustmentUpdate, async () => {
    await condition(() => view.status !== AdjustmentStatus.evaluating);
    return view;
  });
  setHandler(
    decideAdjustmentUpdate,
    async (decision) => {
      view.decision = { ...decision, at: new Date().toISOString() };
      await condition(() => view.status !== AdjustmentStatus.awaitingApproval);
      return view;
    },
    {
      validator: (decision) => {
        if (view.status !== AdjustmentStatus.awaitingApproval || view.decision || lapsing) {
          const state = view.decision ? `already decided (${view.decision.decision} by ${view.decision.actor})` : lapsing ? 'lapsing' : view.status;
          throw ApplicationFailure.nonRetryable(`adjustment ${input.adjustmentId} is ${state}, not awaiting approval`, 'not_waiting');
        }
        if (decision.actor === input.requestedBy) {
          throw ApplicationFailure.nonRetryable('the person who asked for an adjustment may not approve it', 'same_person');
        }
      },
    },
  );

  const setStatus = async (status: AdjustmentStatus, extra: { posted?: boolean } = {}) => {
    view.status = status;
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
    await activities.recordAdjustmentStatus({
      adjustmentId: input.adjustmentId,
      status,
      decidedBy: view.decision?.actor,
      decisionReason: view.decision?.reason,
      decidedAt: view.decision?.at,
      ...extra,
    });
  };
  upsertSearchAttributes([{ key: Warehouses, value: [input.warehouse] }]);

  const evaluation = await activities.evaluateAdjustment(input);
  Object.assign(view, { expected: evaluation.expected, delta: evaluation.delta, valueMinor: evaluation.valueMinor, approvalReasons: evaluation.reasons });

  if (evaluation.delta === 0) {
    await setStatus(AdjustmentStatus.posted);
    return view;
  }
  if (evaluation.needsApproval) {
    await activities.openTask({
      id: taskId,
      kind: 'adjustment_approval',
      reference: input.adjustmentId,
      workflowId: workflowInfo().workflowId,
      role: 'finance',
      title: `Approve stock adjustment of ${evaluation.delta} × ${input.sku} at ${input.warehouse}`,
      reason: evaluation.reasons.join('; '),
      details: { sku: input.sku, warehouse: input.warehouse, delta: evaluation.delta, valueMinor: evaluation.valueMinor, reasonCode: input.reasonCode },
    });
    await setStatus(AdjustmentStatus.awaitingApproval);
    const decided = await condition(() => view.decision !== undefined, input.approvalTimeout);
    if (!decided) {
      lapsing = true;
      await activities.closeTask(taskId, 'system', 'cancelled');
      await setStatus(AdjustmentStatus.expired);
      return view;
    }
    await activities.closeTask(taskId, view.decision!.actor, view.decision!.decision);
    if (view.decision!.decision === 'reject') {
      await setStatus(AdjustmentStatus.rejected);
      return view;
    }
  }

  try {
    const posted = await activities.postAdjustment({
      adjustmentId: input.adjustmentId,
      sku: input.sku,
      warehouse: input.warehouse,
      delta: evaluation.delta,
      reasonCode: input.reasonCode,
      actor: view.decision?.actor ?? input.requestedBy,
    });
    view.journalEntryId = posted.journalEntryId;
    await setStatus(AdjustmentStatus.posted, { posted: true });
    if (evaluation.delta > 0) await activities.wakeBackorders([input.sku]);
  } catch (error) {
    // A refusal by the ledger (the shelf holds fewer units than the books can give up) ends the adjustment.
    if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
    view.refusal = error.cause.message;
    await setStatus(AdjustmentStatus.refused);
  }
  return view;
}
