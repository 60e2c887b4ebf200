/**
 * What every process's contract shares: a person's decision, a cancel request, and the human
 * queue (tasks) and exception list that processes write through their activities.
 */

/** A person's yes or no, with why; `actor` is who decided (a user id since named users). */
export interface Decision {
  decision: 'approve' | 'reject';
  reason: string;
  actor: string;
  /** The deciding user's id, for four-eyes rules; absent on decisions from before named users. */
  userId?: string;
}

export interface CancelRequest {
  reason: string;
  actor: string;
}

/** One step in a process's story, as its view shows it. */
export interface TimelineEntry<Status extends string> {
  at: string;
  status: Status;
  note?: string;
}

export interface TaskInput {
  id: string;
  kind: string;
  reference: string;
  workflowId: string;
  role: string;
  title: string;
  reason: string;
  details?: Record<string, unknown>;
}

export interface ExceptionInput {
  id: string;
  kind: string;
  reference: string;
  workflowId?: string;
  ownerRole: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The human queue and the exception list; every write is idempotent by id. */
export interface TaskActivities {
  openTask(task: TaskInput): Promise<void>;
  escalateTask(id: string): Promise<void>;
  closeTask(id: string, closedBy: string, outcome: string): Promise<void>;
  raiseException(exception: ExceptionInput): Promise<void>;
  resolveException(id: string): Promise<void>;
}
