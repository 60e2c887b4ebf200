import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { workerLimitsFrom, type TemporalConnectionExtras, type WorkerLimits } from './config.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Bundles `workflows/` once; workers reuse the bundle instead of rebuilding it. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface WorkerOptions {
  address: string;
  /** TLS, API key and metadata from the configuration. */
  connection?: TemporalConnectionExtras;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A bundle built once elsewhere (its code, or a file holding it); built here when omitted. */
  bundle?: WorkflowBundleWithSourceMap | { codePath: string };
  /** Activities beside the product's own, e.g. a benchmark's no-op. */
  extraActivities?: object;
  /**
   * A stop lets the tasks in hand finish this long (`WORKER_SHUTDOWN_GRACE`); then running
   * activities are cancelled (and retried elsewhere). A stop ends for sure 5 s after.
   */
  shutdownGraceMs?: number;
  /** Cache and concurrency; from the `WORKER_MAX_*` variables when omitted. */
  limits?: WorkerLimits;
}

export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const limits = options.limits ?? workerLimitsFrom(process.env);
  const connection = await NativeConnection.connect({ address: options.address, ...options.connection });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.bundle ?? (await bundleWorkflows()),
    activities: { ...createActivities(options.deps), ...options.extraActivities },
    maxCachedWorkflows: limits.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: limits.maxConcurrentWorkflowTasks,
    maxConcurrentActivityTaskExecutions: limits.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: limits.maxConcurrentLocalActivities,
    ...(options.shutdownGraceMs !== undefined && { shutdownGraceTime: options.shutdownGraceMs, shutdownForceTime: options.shutdownGraceMs + 5_000 }),
  });
  return { worker, connection };
}
