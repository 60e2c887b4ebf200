/**
 * The worker bundle of `npm run bench`: every workflow of the product, plus one trivial
 * workflow (one no-op activity) that measures what the same Temporal server and worker
 * can orchestrate at all. Bench only; the product's bundle is `workflows/index.ts`.
 */
import { proxyActivities } from '@temporalio/workflow';

export * from '../workflows/index.js';

export interface BenchActivities {
  benchNoop(): Promise<void>;
}

const { benchNoop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });

/** One activity and done: the orchestration limit beside a standard order. */
export async function benchTrivial(): Promise<void> {
  await benchNoop();
}
