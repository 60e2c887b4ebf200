import type { LocalActivityOptions } from '@temporalio/workflow';

/**
 * Options for a process's short database steps (each idempotent by key) run as local
 * activities: in the worker that runs the workflow, with one marker in history instead of
 * three events and a round trip through the server's task queue. A step that keeps failing
 * past the local retry threshold backs off on a durable timer, as a remote one would.
 */
export const localStepOptions: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { maximumInterval: '30 seconds' },
};
