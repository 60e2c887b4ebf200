import { upsertSearchAttributes } from '@temporalio/workflow';
import { ProcessStatus } from '../contracts/search-attributes.js';
import type { TimelineEntry } from '../contracts/shared.js';

/** A process's view: its status and the story of how it got there. */
export interface Progress<Status extends string> {
  status: Status;
  timeline: TimelineEntry<Status>[];
}

/** The process moves on: the view, its timeline and the `ProcessStatus` search attribute say so. */
export function moveTo<Status extends string>(view: Progress<Status>, status: Status, note?: string): void {
  view.status = status;
  view.timeline.push({ at: new Date().toISOString(), status, note });
  upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
}
