import { ActivityFailure, ApplicationFailure, condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  AdjustmentStatus,
  adjustmentViewQuery,
  decideAdjustmentUpdate,
  submitAdjustmentUpdate,
  type AdjustmentEvaluation,
  type AdjustmentView,
  type AdjustmentWorkflowInput,
  type InventoryAdjustmentActivities,
} from '../contracts/inventory-adjustment.js';
import type { OrderReleaseActivities } from '../contracts/order.js';
import { ProcessStatus, Warehouses } from '../contracts/search-attributes.js';
import type { Decision, TaskActivities } from '../contracts/shared.js';
import { remoteStepOptions } from './step-options.js';

const activities = proxyActivities<InventoryAdjustmentActivities & TaskActivities & Pick<OrderReleaseActivities, 'wakeBackorders'>>(remoteStepOptions);

/** A stock adjustment or cycle count: posted at once, or after a second person approves it. */
export async function inventoryAdjustment(input: AdjustmentWorkflowInput): Promise<AdjustmentView> {
  return new InventoryAdjustment(input).run();
}

class InventoryAdjustment {
  readonly view: AdjustmentView;
  private readonly workflowId = workflowInfo().workflowId;
  private readonly taskId = `${this.workflowId}:approval`;
  /** Set when the approval window closed: a decision arriving now is refused, not lost. */
  private lapsing = false;

  constructor(private readonly input: AdjustmentWorkflowInput) {
    this.view = { adjustmentId: input.adjustmentId, status: AdjustmentStatus.evaluating, approvalReasons: [] };
    this.listen();
  }

  private listen(): void {
    const { view } = this;
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
      { validator: (decision) => this.checkDecision(decision) },
    );
  }

  private checkDecision(decision: Decision): void {
    const { view } = this;
    if (view.status !== AdjustmentStatus.awaitingApproval || view.decision || this.lapsing) {
      const state = view.decision ? `already decided (${view.decision.decision} by ${view.decision.actor})` : this.lapsing ? 'lapsing' : view.status;
      throw ApplicationFailure.nonRetryable(`adjustment ${this.input.adjustmentId} is ${state}, not awaiting approval`, 'not_waiting');
    }
    // Four eyes: the same user may not ask and approve, whatever roles they hold. Processes
    // started before named users carry only actor strings, and compare those.
    const requester = this.input.requestedByUserId ?? this.input.requestedBy;
    if ((decision.userId ?? decision.actor) === requester) {
      throw ApplicationFailure.nonRetryable(`${requester} asked for this adjustment and may not also approve it: someone else must decide`, 'same_person');
    }
  }

  async run(): Promise<AdjustmentView> {
    const { view, input } = this;
    upsertSearchAttributes([{ key: Warehouses, value: [input.warehouse] }]);
    const evaluation = await activities.evaluateAdjustment(input);
    Object.assign(view, { expected: evaluation.expected, delta: evaluation.delta, valueMinor: evaluation.valueMinor, approvalReasons: evaluation.reasons });
    if (evaluation.delta === 0) {
      await this.setStatus(AdjustmentStatus.posted);
      return view;
    }
    if (evaluation.needsApproval && !(await this.approved(evaluation))) return view;
    await this.post(evaluation.delta);
    return view;
  }

  /** Waits for a second person; a rejection or a lapsed window ends the adjustment unposted. */
  private async approved(evaluation: AdjustmentEvaluation): Promise<boolean> {
    const { view, input } = this;
    await activities.openTask({
      id: this.taskId,
      kind: 'adjustment_approval',
      reference: input.adjustmentId,
      workflowId: this.workflowId,
      role: 'finance',
      title: `Approve stock adjustment of ${evaluation.delta} × ${input.sku} at ${input.warehouse}`,
      reason: evaluation.reasons.join('; '),
      details: { sku: input.sku, warehouse: input.warehouse, delta: evaluation.delta, valueMinor: evaluation.valueMinor, reasonCode: input.reasonCode },
    });
    await this.setStatus(AdjustmentStatus.awaitingApproval);
    if (!(await condition(() => view.decision !== undefined, input.approvalTimeout))) {
      this.lapsing = true;
      await activities.closeTask(this.taskId, 'system', 'cancelled');
      await this.setStatus(AdjustmentStatus.expired);
      return false;
    }
    await activities.closeTask(this.taskId, view.decision!.actor, view.decision!.decision);
    if (view.decision!.decision === 'reject') {
      await this.setStatus(AdjustmentStatus.rejected);
      return false;
    }
    return true;
  }

  private async post(delta: number): Promise<void> {
    const { view, input } = this;
    try {
      const posted = await activities.postAdjustment({
        adjustmentId: input.adjustmentId,
        sku: input.sku,
        warehouse: input.warehouse,
        delta,
        reasonCode: input.reasonCode,
        actor: view.decision?.actor ?? input.requestedBy,
        ...(input.lot ? { lot: input.lot } : {}),
        ...(input.expiresOn ? { expiresOn: input.expiresOn } : {}),
      });
      view.journalEntryId = posted.journalEntryId;
      await this.setStatus(AdjustmentStatus.posted, { posted: true });
      if (delta > 0) await activities.wakeBackorders([input.sku]);
    } catch (error) {
      // A refusal by the ledger (the shelf holds fewer units than the books can give up) ends the adjustment.
      if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
      view.refusal = error.cause.message;
      await this.setStatus(AdjustmentStatus.refused);
    }
  }

  private async setStatus(status: AdjustmentStatus, extra: { posted?: boolean } = {}): Promise<void> {
    const { view } = this;
    view.status = status;
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
    await activities.recordAdjustmentStatus({
      adjustmentId: this.input.adjustmentId,
      status,
      decidedBy: view.decision?.actor,
      decisionReason: view.decision?.reason,
      decidedAt: view.decision?.at,
      ...extra,
    });
  }
}
