import { proxyActivities } from '@temporalio/workflow';
import type { ExceptionSweepActivities, ExceptionSweepInput, ExceptionSweepReport } from '../contracts/exception-sweep.js';

const activities = proxyActivities<ExceptionSweepActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** One sweep: raise what the records show, clear what has gone; the time is the workflow's. */
export async function exceptionSweep(input: ExceptionSweepInput): Promise<ExceptionSweepReport> {
  return activities.sweepDerivedExceptions({ ...input, now: new Date().toISOString() });
}
