/**
 * The engine's work per order, read from histories through the Temporal client: for each
 * sampled order its own history and those of the child workflows it started (its
 * shipments), counted by kind. Each count is what the server stored and the worker
 * produced: a workflow task is a round trip through the server and a run of the workflow
 * code; a search-attribute upsert is also a visibility write; payload bytes are what was
 * serialized into history.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const eventTypeNames = proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>;
const History = proto.temporal.api.history.v1.History;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface EngineWork {
  workflowTasks: number;
  events: number;
  eventsOwn: number;
  eventsChildren: number;
  remoteActivities: number;
  localActivities: number;
  patchMarkers: number;
  timers: number;
  updates: number;
  signalsReceived: number;
  signalsSent: number;
  searchAttributeUpserts: number;
  memoUpserts: number;
  childWorkflows: number;
  payloadBytes: number;
  historyBytes: number;
}

const zero = (): EngineWork => ({
  workflowTasks: 0,
  events: 0,
  eventsOwn: 0,
  eventsChildren: 0,
  remoteActivities: 0,
  localActivities: 0,
  patchMarkers: 0,
  timers: 0,
  updates: 0,
  signalsReceived: 0,
  signalsSent: 0,
  searchAttributeUpserts: 0,
  memoUpserts: 0,
  childWorkflows: 0,
  payloadBytes: 0,
  historyBytes: 0,
});

const typeName = (event: HistoryEvent) => (eventTypeNames[Number(event.eventType ?? 0)] ?? String(event.eventType)).replace(/^EVENT_TYPE_/, '');

/** Bytes of every payload (an object with `metadata` and binary `data`) under `value`. */
function payloadBytes(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  if (value instanceof Uint8Array) return 0;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + payloadBytes(v), 0);
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && 'metadata' in record) return record.data.length;
  let total = 0;
  for (const key of Object.keys(record)) total += payloadBytes(record[key]);
  return total;
}

function count(events: HistoryEvent[], work: EngineWork, byType: Map<string, number>, own: boolean): string[] {
  const children: string[] = [];
  work.events += events.length;
  if (own) work.eventsOwn += events.length;
  else work.eventsChildren += events.length;
  work.historyBytes += History.encode({ events }).finish().length;
  for (const event of events) {
    const type = typeName(event);
    byType.set(type, (byType.get(type) ?? 0) + 1);
    work.payloadBytes += payloadBytes(event);
    switch (type) {
      case 'WORKFLOW_TASK_COMPLETED':
        work.workflowTasks++;
        break;
      case 'ACTIVITY_TASK_SCHEDULED':
        work.remoteActivities++;
        break;
      case 'MARKER_RECORDED': {
        const name = event.markerRecordedEventAttributes?.markerName;
        if (name === 'core_local_activity') work.localActivities++;
        else if (name === 'core_patch') work.patchMarkers++;
        break;
      }
      case 'TIMER_STARTED':
        work.timers++;
        break;
      case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED':
        work.updates++;
        break;
      case 'WORKFLOW_EXECUTION_SIGNALED':
        work.signalsReceived++;
        break;
      case 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
        work.signalsSent++;
        break;
      case 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES':
        work.searchAttributeUpserts++;
        break;
      case 'WORKFLOW_PROPERTIES_MODIFIED':
        work.memoUpserts++;
        break;
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED': {
        work.childWorkflows++;
        const id = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
        if (id) children.push(id);
        break;
      }
    }
  }
  return children;
}

/**
 * Mean engine work per order over the given order workflows (their histories as they stand,
 * children included), events by type per order, and the same for the children alone.
 */
export async function engineWorkPerOrder(client: Client, workflowIds: string[]) {
  const total = zero();
  const byType = new Map<string, number>();
  const childByType = new Map<string, number>();
  for (const workflowId of workflowIds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const childIds = count(history.events ?? [], total, byType, true);
    for (const childId of childIds) {
      const child = await client.workflow.getHandle(childId).fetchHistory();
      // Grandchildren (if a shipment ever starts one) count too.
      const queue = count(child.events ?? [], total, childByType, false);
      while (queue.length) {
        const next = await client.workflow.getHandle(queue.shift()!).fetchHistory();
        queue.push(...count(next.events ?? [], total, childByType, false));
      }
    }
  }
  const n = Math.max(1, workflowIds.length);
  const perOrder = Object.fromEntries(Object.entries(total).map(([key, value]) => [key, round(value / n)])) as unknown as EngineWork;
  const table = (map: Map<string, number>) => Object.fromEntries([...map].map(([type, v]) => [type, round(v / n)] as const).sort((a, b) => b[1] - a[1]));
  return { sampled: workflowIds.length, perOrder, eventsByType: table(byType), childEventsByType: table(childByType) };
}
