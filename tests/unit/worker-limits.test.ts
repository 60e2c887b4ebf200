import { describe, expect, it } from 'vitest';
import { loadConfig, workerLimitsFrom } from '../../runtime/config.js';
import { StartupError } from '../../runtime/startup-error.js';

describe("the worker's cache and concurrency (WORKER_MAX_*)", () => {
  it('has small-box defaults, also in the loaded configuration', () => {
    const defaults = { maxCachedWorkflows: 500, maxConcurrentWorkflowTasks: 20, maxConcurrentActivities: 50, maxConcurrentLocalActivities: 50 };
    expect(workerLimitsFrom({})).toEqual(defaults);
    expect(loadConfig({}).worker).toEqual(defaults);
  });

  it('takes each limit from its variable', () => {
    const limits = workerLimitsFrom({
      WORKER_MAX_CACHED_WORKFLOWS: '2000',
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '100',
      WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '8',
    });
    expect(limits).toEqual({ maxCachedWorkflows: 2000, maxConcurrentWorkflowTasks: 40, maxConcurrentActivities: 100, maxConcurrentLocalActivities: 8 });
  });

  it('allows no cache at all, but refuses zero concurrency, non-numbers, and more workflow tasks than cached runs', () => {
    expect(workerLimitsFrom({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).maxCachedWorkflows).toBe(0);
    expect(() => workerLimitsFrom({ WORKER_MAX_CONCURRENT_ACTIVITIES: '0' })).toThrow(/WORKER_MAX_CONCURRENT_ACTIVITIES must be at least 1/);
    expect(() => workerLimitsFrom({ WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(StartupError);
    expect(() => workerLimitsFrom({ WORKER_MAX_CACHED_WORKFLOWS: '10', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '20' })).toThrow(/must not exceed WORKER_MAX_CACHED_WORKFLOWS/);
  });
});
