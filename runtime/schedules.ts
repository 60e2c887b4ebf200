/**
 * Temporal Schedules the product keeps, created or brought up to date whenever a worker
 * (or `npm start`) comes up, so every deployment converges on the configured timing.
 */
import type { Workflow } from '@temporalio/common';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { REPLENISHMENT_SCHEDULE_ID, REPLENISHMENT_WORKFLOW_PREFIX, replenishmentWorkflowType, type ReplenishmentWorkflow } from '../contracts/replenishment.js';
import { CHANNEL_RECONCILE_PREFIX, CHANNEL_RECONCILE_SCHEDULE_ID, channelReconcileWorkflowType, type ChannelReconcileWorkflow } from '../contracts/channel-reconcile.js';
import { EXCEPTION_SWEEP_PREFIX, EXCEPTION_SWEEP_SCHEDULE_ID, exceptionSweepWorkflowType, type ExceptionSweepWorkflow } from '../contracts/exception-sweep.js';
import type { OrderPolicy } from '../contracts/order.js';
import { durationMs } from '../domain/duration.js';
import type { Config } from './config.js';
import { ANOMALY_SCAN_PREFIX, ANOMALY_SCAN_SCHEDULE_ID, anomalyScanWorkflowType, type AnomalyScanWorkflow } from '../contracts/anomaly-scan.js';
import { defaultAnomalyThresholds, type AnomalyThresholds } from '../domain/anomaly.js';

/**
 * Creates a schedule, or brings an existing one to this spec, action and policies: every
 * worker that comes up converges the deployment on its configuration.
 */
async function keepSchedule<W extends Workflow>(
  client: Client,
  scheduleId: string,
  spec: ScheduleSpec,
  action: ScheduleOptionsStartWorkflowAction<W>,
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: string },
): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(scheduleId).update((current) => ({ ...current, spec, action, policies: { ...current.policies, ...policies } }));
  return 'updated';
}
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
  return keepSchedule(client, REPLENISHMENT_SCHEDULE_ID, spec, action, { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' });
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
  return keepSchedule(client, CHANNEL_RECONCILE_SCHEDULE_ID, spec, action, { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' });
}

export const DEFAULT_ANOMALY_SCAN_SCHEDULE = '1h';

/**
 * `ANOMALY_THRESHOLDS`: a JSON object overriding some of the anomaly checks' thresholds
 * (`{"demandSigmas": 4, "orderSizeFactor": 8}`); unknown names or non-positive numbers refuse to start.
 */
export function anomalyThresholdsFrom(value: string | undefined): Partial<AnomalyThresholds> {
  if (!value?.trim()) return {};
  const parsed: unknown = JSON.parse(value);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`ANOMALY_THRESHOLDS must be a JSON object, got ${value}`);
  for (const [key, v] of Object.entries(parsed)) {
    if (!(key in defaultAnomalyThresholds)) throw new Error(`ANOMALY_THRESHOLDS: unknown threshold ${key}; known: ${Object.keys(defaultAnomalyThresholds).join(', ')}`);
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`ANOMALY_THRESHOLDS: ${key} must be a positive number`);
  }
  return parsed as Partial<AnomalyThresholds>;
}

/** Creates the hourly `anomaly-scan` schedule (`ANOMALY_SCAN_SCHEDULE_CRON`, default every hour), or brings it up to date. */
export async function ensureAnomalyScanSchedule(client: Client, options: { taskQueue: string; schedule?: string; thresholds?: Partial<AnomalyThresholds> }): Promise<'created' | 'updated'> {
  const spec = replenishmentScheduleSpec(options.schedule || DEFAULT_ANOMALY_SCAN_SCHEDULE);
  const action: ScheduleOptionsStartWorkflowAction<AnomalyScanWorkflow> = {
    type: 'startWorkflow',
    workflowType: anomalyScanWorkflowType,
    // Temporal appends the scheduled time: `anomaly-scan-2025-01-31T05:00:00Z`.
    workflowId: ANOMALY_SCAN_PREFIX.slice(0, -1),
    taskQueue: options.taskQueue,
    args: [{ thresholds: options.thresholds ?? {} }],
    workflowExecutionTimeout: '30m',
  };
  return keepSchedule(client, ANOMALY_SCAN_SCHEDULE_ID, spec, action, { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' });
}

/** Creates the `exception-sweep` schedule (every 15 minutes by default), or brings it up to date. */
export async function ensureExceptionSweepSchedule(client: Client, options: { taskQueue: string; schedule: string; returnSla: string; returnSlaMs: number; authExpiryLeadMs?: number; settlementPayoutDays?: number }): Promise<'created' | 'updated'> {
  const spec = replenishmentScheduleSpec(options.schedule);
  const action: ScheduleOptionsStartWorkflowAction<ExceptionSweepWorkflow> = {
    type: 'startWorkflow',
    workflowType: exceptionSweepWorkflowType,
    // Temporal appends the scheduled time: `exception-sweep-2025-01-31T04:15:00Z`.
    workflowId: EXCEPTION_SWEEP_PREFIX.slice(0, -1),
    taskQueue: options.taskQueue,
    args: [{ returnSla: options.returnSla, returnSlaMs: options.returnSlaMs, authExpiryLeadMs: options.authExpiryLeadMs, settlementPayoutDays: options.settlementPayoutDays }],
    workflowExecutionTimeout: '30m',
  };
  return keepSchedule(client, EXCEPTION_SWEEP_SCHEDULE_ID, spec, action, { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '15m' });
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
  return keepSchedule(client, LOT_EXPIRY_SCHEDULE_ID, spec, action, { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' });
}

/** `LOT_EXPIRY_HORIZON_DAYS`: a whole number of days, 0 to 365. */
export function lotExpiryHorizonDays(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 0 || days > 365) throw new Error(`LOT_EXPIRY_HORIZON_DAYS must be a whole number of days from 0 to 365, got "${value}"`);
  return days;
}

/**
 * Every schedule the product keeps, created or brought up to date from the configuration (and
 * the schedule settings read from `env`); answers what happened to each, for the startup log.
 */
export async function ensureSchedules(client: Client, config: Config, env: NodeJS.ProcessEnv = process.env): Promise<[string, 'created' | 'updated'][]> {
  const taskQueue = config.taskQueue;
  return [
    ['replenishment-planner', await ensureReplenishmentSchedule(client, { taskQueue, schedule: env.REPLENISHMENT_SCHEDULE_CRON })],
    [
      'channel-reconcile',
      await ensureChannelReconcileSchedule(client, {
        taskQueue,
        schedule: config.channelConnectors.reconcileSchedule,
        windowMs: config.channelConnectors.reconcileWindowMs,
        orderPolicy: config.policies.order,
        idleMs: config.channelConnectors.intakeIdleMs,
      }),
    ],
    [
      'exception-sweep',
      await ensureExceptionSweepSchedule(client, {
        taskQueue,
        schedule: config.exceptionSweepSchedule,
        returnSla: config.policies.returns.sla,
        returnSlaMs: durationMs(config.policies.returns.sla),
        authExpiryLeadMs: durationMs(config.policies.payments.authExpiryLead),
        settlementPayoutDays: config.policies.payments.settlementPayoutDays,
      }),
    ],
    ['anomaly-scan', await ensureAnomalyScanSchedule(client, { taskQueue, schedule: env.ANOMALY_SCAN_SCHEDULE_CRON, thresholds: anomalyThresholdsFrom(env.ANOMALY_THRESHOLDS) })],
    ['lot-expiry', await ensureLotExpirySchedule(client, { taskQueue, schedule: env.LOT_EXPIRY_SCHEDULE_CRON, horizonDays: lotExpiryHorizonDays(env.LOT_EXPIRY_HORIZON_DAYS) })],
  ];
}
