import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/** A process's database step as a remote activity: retried until it succeeds, at most every 30 s. */
export const remoteStepOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
};

/**
 * Options for a process's short database steps (each idempotent by key) run as local
 * activities: in the worker that runs the workflow, with one marker in history instead of
 * three events and a round trip through the server's task queue.
 *
 * Retries within the local retry threshold stay in the worker. Past it, each retry waits on
 * a durable timer, and unlike a remote activity's retries every one of them adds events to
 * the history (timer, workflow task): a step that fails for hours (database down, a bug) at
 * a 30-second interval would bring an order near Temporal's history limit within days. The
 * interval grows to 5 minutes, about 300 timers a day.
 */
export const localStepOptions: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { maximumInterval: '5 minutes' },
};
