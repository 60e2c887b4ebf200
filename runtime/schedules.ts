/**
 * Temporal Schedules the product keeps, created or brought up to date whenever a worker
 * (or `npm start`) comes up, so every deployment converges on the configured timing.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { REPLENISHMENT_SCHEDULE_ID, REPLENISHMENT_WORKFLOW_PREFIX, replenishmentWorkflowType, type ReplenishmentWorkflow } from '../contracts/replenishment.js';
import { CHANNEL_RECONCILE_PREFIX, CHANNEL_RECONCILE_SCHEDULE_ID, channelReconcileWorkflowType, type ChannelReconcileWorkflow } from '../contracts/channel-reconcile.js';
import type { OrderPolicy } from '../contracts/order.js';
import { LOT_EXPIRY_PREFIX, LOT_EXPIRY_SCHEDULE_ID, lotExpiryWorkflowType, type LotExpiryWorkflow } from '../contracts/lot-expiry.js';

export const DEFAULT_REPLENISHMENT_SCHEDULE = '0 5 * * *';

/**
 * `REPLENISHMENT_SCHEDULE_CRON`: a five-field cron expression (`0 5 * * *`, UTC) or an
 * interval like `24h` or `30m`.
 */
export function replenishmentScheduleSpec(value: string = DEFAULT_REPLENISHMENT_SCHEDULE): ScheduleSpec {
  const text = value.trim();
  if (/^\d+(s|m|h|d)$/.test(text)) return { intervals: [{ every: text as `${number}${'s' | 'm' | 'h' | 'd'}` }] };
  if (text.split(/\s+/).length === 5) return { cronExpressions: [text] };
  throw new Error(`REPLENISHMENT_SCHEDULE_CRON must be a cron expression like "0 5 * * *" or an interval like 24h, got "${value}"`);
}

export interface ReplenishmentScheduleOptions {
  taskQueue: string;
  /** A cron expression or an interval; see `replenishmentScheduleSpec`. */
  schedule?: string;
}

/** Creates the `replenishment-planner` schedule, or updates its timing and task queue when it exists. */
export async function ensureReplenishmentSchedule(client: Client, options: ReplenishmentScheduleOptions): Promise<'created' | 'updated'> {
  const spec = replenishmentScheduleSpec(options.schedule || DEFAULT_REPLENISHMENT_SCHEDULE);
  const action: ScheduleOptionsStartWorkflowAction<ReplenishmentWorkflow> = {
    type: 'startWorkflow',
    workflowType: replenishmentWorkflowType,
    // Temporal appends the scheduled time: `replenishment-2025-01-31T05:00:00Z`.
    workflowId: REPLENISHMENT_WORKFLOW_PREFIX.slice(0, -1),
    taskQueue: options.taskQueue,
    args: [{}],
    workflowExecutionTimeout: '1h',
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' } as const;
  try {
    await client.schedule.create({ scheduleId: REPLENISHMENT_SCHEDULE_ID, spec, action, policies });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(REPLENISHMENT_SCHEDULE_ID).update((current) => ({
    ...current,
    spec,
    action,
    policies: { ...current.policies, ...policies },
  }));
  return 'updated';
}

export const DEFAULT_CHANNEL_RECONCILE_SCHEDULE = '30 4 * * *';

export interface ChannelReconcileScheduleOptions {
  taskQueue: string;
  /** A cron expression or an interval (`CHANNEL_RECONCILE_SCHEDULE_CRON`). */
  schedule?: string;
  /** Each run looks back this far (overlapping the previous run, so an order changed at the edge is not missed). */
  windowMs: number;
  orderPolicy: OrderPolicy;
  idleMs: number;
}

/** Creates the daily `channel-reconcile` schedule (every connected channel against its platform), or brings it up to date. */
export async function ensureChannelReconcileSchedule(client: Client, options: ChannelReconcileScheduleOptions): Promise<'created' | 'updated'> {
  const spec = replenishmentScheduleSpec(options.schedule || DEFAULT_CHANNEL_RECONCILE_SCHEDULE);
  const action: ScheduleOptionsStartWorkflowAction<ChannelReconcileWorkflow> = {
    type: 'startWorkflow',
    workflowType: channelReconcileWorkflowType,
    // Temporal appends the scheduled time: `channel-reconcile-all-2025-01-31T04:30:00Z`.
    workflowId: `${CHANNEL_RECONCILE_PREFIX}all`,
    taskQueue: options.taskQueue,
    args: [{ channel: null, windowMs: options.windowMs, requestedBy: 'schedule', orderPolicy: options.orderPolicy, idleMs: options.idleMs }],
    workflowExecutionTimeout: '2h',
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' } as const;
  try {
    await client.schedule.create({ scheduleId: CHANNEL_RECONCILE_SCHEDULE_ID, spec, action, policies });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(CHANNEL_RECONCILE_SCHEDULE_ID).update((current) => ({ ...current, spec, action, policies: { ...current.policies, ...policies } }));
  return 'updated';
}

export const DEFAULT_LOT_EXPIRY_SCHEDULE = '0 3 * * *';

export interface LotExpiryScheduleOptions {
  taskQueue: string;
  /** A cron expression or an interval (`LOT_EXPIRY_SCHEDULE_CRON`). */
  schedule?: string;
  /** Lots expiring within this many days are moved too (`LOT_EXPIRY_HORIZON_DAYS`, default 0). */
  horizonDays?: number;
}

/** Creates the daily `lot-expiry` schedule (lots reaching expiry to quarantine), or brings it up to date. */
export async function ensureLotExpirySchedule(client: Client, options: LotExpiryScheduleOptions): Promise<'created' | 'updated'> {
  const spec = replenishmentScheduleSpec(options.schedule || DEFAULT_LOT_EXPIRY_SCHEDULE);
  const action: ScheduleOptionsStartWorkflowAction<LotExpiryWorkflow> = {
    type: 'startWorkflow',
    workflowType: lotExpiryWorkflowType,
    // Temporal appends the scheduled time: `lot-expiry-2025-01-31T03:00:00Z`.
    workflowId: LOT_EXPIRY_PREFIX.slice(0, -1),
    taskQueue: options.taskQueue,
    args: [{ horizonDays: options.horizonDays ?? 0, requestedBy: 'schedule' }],
    workflowExecutionTimeout: '1h',
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' } as const;
  try {
    await client.schedule.create({ scheduleId: LOT_EXPIRY_SCHEDULE_ID, spec, action, policies });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(LOT_EXPIRY_SCHEDULE_ID).update((current) => ({ ...current, spec, action, policies: { ...current.policies, ...policies } }));
  return 'updated';
}

/** `LOT_EXPIRY_HORIZON_DAYS`: a whole number of days, 0 to 365. */
export function lotExpiryHorizonDays(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 0 || days > 365) throw new Error(`LOT_EXPIRY_HORIZON_DAYS must be a whole number of days from 0 to 365, got "${value}"`);
  return days;
}
