import { afterAll, expect, inject, it } from 'vitest';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { ensureExceptionSweepSchedule, ensureReplenishmentSchedule, replenishmentScheduleSpec } from '../../runtime/schedules.js';
import { EXCEPTION_SWEEP_SCHEDULE_ID } from '../../contracts/exception-sweep.js';
import { authAs, eventually, useTestStack } from '../support/stack.js';
import { REPLENISHMENT_SCHEDULE_ID } from '../../contracts/replenishment.js';

const stack = useTestStack();
const connection = await Connection.connect({ address: inject('temporalAddress') });
const client = new Client({ connection });

afterAll(async () => {
  await client.schedule.getHandle(REPLENISHMENT_SCHEDULE_ID).delete().catch(() => {});
  await client.schedule.getHandle(EXCEPTION_SWEEP_SCHEDULE_ID).delete().catch(() => {});
  await connection.close();
});

it('the worker setup creates the planner schedule daily at 05:00, and a second setup updates it', async () => {
  await client.schedule.getHandle(REPLENISHMENT_SCHEDULE_ID).delete().catch(() => {});
  expect(await ensureReplenishmentSchedule(client, { taskQueue: 'schedule-test' })).toBe('created');
  const handle = client.schedule.getHandle(REPLENISHMENT_SCHEDULE_ID);
  const created = await handle.describe();
  expect(created.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 5, end: 5, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] })]);
  expect(created.action).toMatchObject({ type: 'startWorkflow', workflowType: 'replenishmentPlanner', workflowId: 'replenishment', taskQueue: 'schedule-test' });
  expect(created.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(created.info.nextActionTimes[0]!.getUTCHours()).toBe(5);

  expect(await ensureReplenishmentSchedule(client, { taskQueue: 'other-queue', schedule: '6h' })).toBe('updated');
  const updated = await handle.describe();
  expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 6 * 3_600_000 })]);
  expect(updated.spec.calendars ?? []).toEqual([]);
  expect(updated.action).toMatchObject({ taskQueue: 'other-queue' });
});

it('a run the schedule starts is stored under the scheduled time and answers the suggestions', async () => {
  await ensureReplenishmentSchedule(client, { taskQueue: stack.config.taskQueue });
  await client.schedule.getHandle(REPLENISHMENT_SCHEDULE_ID).trigger();
  const run = await eventually(
    () => stack.db.selectFrom('replenishment_runs').selectAll().where('trigger', '=', 'schedule').where('status', '=', 'finished').executeTakeFirst(),
    20_000,
    'a scheduled run',
  );
  expect(run.workflow_id).toBe(`replenishment-${run.id}`);
  expect(Number.isNaN(Date.parse(run.id))).toBe(false);
  const res = await stack.app.inject({ method: 'GET', url: '/replenishment/suggestions', headers: authAs('viewer') });
  expect(res.json()).toMatchObject({ source: 'run', run: { runId: run.id, trigger: 'schedule' } });
});

it('reads REPLENISHMENT_SCHEDULE_CRON as a cron expression or an interval', () => {
  expect(replenishmentScheduleSpec()).toEqual({ cronExpressions: ['0 5 * * *'] });
  expect(replenishmentScheduleSpec('30 2 * * 1-5')).toEqual({ cronExpressions: ['30 2 * * 1-5'] });
  expect(replenishmentScheduleSpec('24h')).toEqual({ intervals: [{ every: '24h' }] });
  expect(() => replenishmentScheduleSpec('daily')).toThrow(/REPLENISHMENT_SCHEDULE_CRON/);
});

it('the exception sweep runs every 15 minutes by default with the returns SLA, and a run answers what it found', async () => {
  await client.schedule.getHandle(EXCEPTION_SWEEP_SCHEDULE_ID).delete().catch(() => {});
  const options = { taskQueue: stack.config.taskQueue, schedule: stack.config.exceptionSweepSchedule, returnSla: '5d', returnSlaMs: 5 * 86_400_000 };
  expect(await ensureExceptionSweepSchedule(client, options)).toBe('created');
  expect(await ensureExceptionSweepSchedule(client, options)).toBe('updated');
  const handle = client.schedule.getHandle(EXCEPTION_SWEEP_SCHEDULE_ID);
  const described = await handle.describe();
  expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 15 * 60_000 })]);
  expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'exceptionSweep', workflowId: 'exception-sweep', args: [{ returnSla: '5d', returnSlaMs: 432_000_000 }] });
  await handle.trigger();
  const started = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId, 20_000, 'a triggered sweep');
  expect(started).toMatch(/^exception-sweep-/);
  expect(await client.workflow.getHandle(started).result()).toEqual({ found: {}, raised: 0, cleared: 0 });
});
