import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PeriodCloseActivities, PeriodCloseInput, PeriodCloseResult } from '../contracts/period-close.js';
import type { TaskActivities } from '../contracts/shared.js';
import { remoteStepOptions } from './step-options.js';

const activities = proxyActivities<PeriodCloseActivities & TaskActivities>(remoteStepOptions);

/** Checks the period; closes it when nothing blocks, else asks finance with a task and leaves it open. */
export async function periodClose(input: PeriodCloseInput): Promise<PeriodCloseResult> {
  const checks = await activities.checkPeriod({ period: input.period });
  const blocking = [
    ...checks.ledgerProblems.map((p) => `ledger check ${p.check}`),
    ...checks.unpostedShipments.map((s) => `shipment ${s} left without its posting`),
  ];
  if (blocking.length) {
    const taskId = `${workflowInfo().workflowId}:blocked:${workflowInfo().runId}`;
    await activities.openTask({
      id: taskId,
      kind: 'period_close',
      reference: input.period,
      workflowId: workflowInfo().workflowId,
      role: 'finance',
      title: `Period ${input.period} cannot close yet`,
      reason: blocking.join('; '),
      details: { ...checks },
    });
    return { period: input.period, status: 'blocked', checks, taskId };
  }
  await activities.lockPeriod({ period: input.period, actor: input.actor, checks });
  return { period: input.period, status: 'closed', checks };
}
