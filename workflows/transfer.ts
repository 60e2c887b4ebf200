import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrderReleaseActivities } from '../contracts/order.js';
import { Warehouses } from '../contracts/search-attributes.js';
import type { TaskActivities } from '../contracts/shared.js';
import {
  receiveTransferUpdate,
  submitTransferUpdate,
  transferPatches,
  TransferStatus,
  transferViewQuery,
  type TransferActivities,
  type TransferInput,
  type TransferReceipt,
  type TransferView,
} from '../contracts/transfer.js';
import { moveTo } from './progress.js';
import { remoteStepOptions } from './step-options.js';

const activities = proxyActivities<TransferActivities & TaskActivities & Pick<OrderReleaseActivities, 'wakeBackorders'>>(remoteStepOptions);

/** Stock from one warehouse to another through in_transit: ship at once, then wait for the receipt. */
export async function transfer(input: TransferInput): Promise<TransferView> {
  return new Transfer(input).run();
}

class Transfer {
  readonly view: TransferView;
  private receipt?: TransferReceipt;
  private readonly workflowId = workflowInfo().workflowId;

  constructor(private readonly input: TransferInput) {
    this.view = {
      transferId: input.transferId,
      sku: input.sku,
      from: input.from,
      to: input.to,
      qty: input.qty,
      status: TransferStatus.shipping,
      timeline: [{ at: new Date().toISOString(), status: TransferStatus.shipping }],
    };
    this.listen();
  }

  private listen(): void {
    const { view } = this;
    setHandler(transferViewQuery, () => view);
    setHandler(submitTransferUpdate, async () => {
      await condition(() => view.status !== TransferStatus.shipping);
      return view;
    });
    setHandler(
      receiveTransferUpdate,
      async (arrived) => {
        this.receipt = arrived;
        await condition(() => view.status === TransferStatus.received);
        return view;
      },
      { validator: (arrived) => this.checkReceipt(arrived) },
    );
  }

  private checkReceipt(arrived: TransferReceipt): void {
    const { input, view } = this;
    if (view.status !== TransferStatus.inTransit || this.receipt) {
      const state = this.receipt ? 'already received' : view.status;
      throw ApplicationFailure.nonRetryable(`transfer ${input.transferId} is ${state}, not waiting for a receipt`, 'not_in_transit');
    }
    for (const [name, qty] of [['received', arrived.received], ['damaged', arrived.damaged]] as const) {
      if (!Number.isSafeInteger(qty) || qty < 0) throw ApplicationFailure.nonRetryable(`${name} must be a whole number ≥ 0`, 'bad_quantity');
    }
    // Nothing can arrive that was not shipped: the over-receipt tolerance of a transfer is 0.
    if (arrived.received + arrived.damaged > input.qty) {
      throw ApplicationFailure.nonRetryable(`received ${arrived.received} + damaged ${arrived.damaged} exceeds the ${input.qty} shipped; a transfer takes no over-receipt`, 'over_receipt');
    }
  }

  async run(): Promise<TransferView> {
    const { input, view } = this;
    upsertSearchAttributes([{ key: Warehouses, value: [input.from, input.to] }]);
    if (!(await this.ship())) return view;
    moveTo(view, TransferStatus.inTransit, `${input.qty} × ${input.sku} from ${input.from} to ${input.to}`);
    // Transfers started before the deadline existed wait without one.
    const deadline = patched(transferPatches.transitDeadline) ? (input.transitDeadline ?? '5d') : undefined;
    if (deadline && !(await condition(() => this.receipt !== undefined, deadline))) await this.raiseLate(deadline);
    await condition(() => this.receipt !== undefined);
    await this.receive(this.receipt!);
    await condition(allHandlersFinished);
    return view;
  }

  /** The stock leaves the origin; a refusal by the ledger (no available stock there) ends the transfer. */
  private async ship(): Promise<boolean> {
    try {
      await activities.shipTransfer(this.input);
      return true;
    } catch (error) {
      if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
      this.view.refusal = { code: error.cause.type ?? 'refused', message: error.cause.message };
      moveTo(this.view, TransferStatus.refused, error.cause.message);
      return false;
    }
  }

  private async raiseLate(deadline: string): Promise<void> {
    const { input } = this;
    this.view.late = { since: new Date().toISOString(), deadline };
    await activities.raiseException({
      id: this.lateId(),
      kind: 'transfer_late',
      reference: input.transferId,
      workflowId: this.workflowId,
      ownerRole: 'ops',
      message: `transfer ${input.transferId} of ${input.qty} × ${input.sku} from ${input.from} to ${input.to} has been in transit longer than ${deadline}`,
      details: { sku: input.sku, from: input.from, to: input.to, qty: input.qty },
    });
  }

  private async receive(arrived: TransferReceipt): Promise<void> {
    const { view, input } = this;
    moveTo(view, TransferStatus.receiving);
    if (view.late) await activities.resolveException(this.lateId());
    const received = await activities.receiveTransfer({ transferId: input.transferId, ...arrived });
    view.receipt = { ...received, actor: arrived.actor, at: new Date().toISOString() };
    await activities.wakeBackorders([input.sku]);
    moveTo(view, TransferStatus.received, `received ${received.received}, damaged ${received.damaged}, lost ${received.lost}`);
  }

  private lateId(): string {
    return `${this.workflowId}:transfer_late`;
  }
}
