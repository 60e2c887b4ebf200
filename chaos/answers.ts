/**
 * The client's view of a chaos run: every answer the load got from the API, classified,
 * timed, and put in the fault window it was sent in.
 *
 * Classes: `2xx`; `4xx` (with status and code: 409s to duplicates and early events are
 * expected); `503` with Retry-After (the API saying "try again later", as it should while a
 * dependency is down); `5xx` (any other 5xx, and a 503 without Retry-After); `no_answer`
 * (connection refused or reset: the API is never killed here, so this should not happen);
 * `hang` (no answer within the deadline, a little above the API's own largest deadline).
 *
 * A fault's window runs from the moment it was injected until the service was back
 * (`Fault.startedAt`..`endedAt`), plus a settle margin: answers to requests sent in it count
 * for that fault. Where windows overlap, the fault that began last takes the answer (a fault
 * under way weighs more than the margin of the one before). Anything else is `none`.
 */
import type { Fault, FaultKind } from './faults.js';

export type AnswerClass = '2xx' | '4xx' | '503' | '5xx' | 'no_answer' | 'hang';
export const ANSWER_CLASSES: readonly AnswerClass[] = ['2xx', '4xx', '503', '5xx', 'no_answer', 'hang'];

export interface AnswerNote {
  /** Epoch ms when the request was sent. */
  sentAt: number;
  /** Until the answer (or the error, or the deadline). */
  ms: number;
  method: string;
  path: string;
  status?: number;
  /** The `error.code` of the body, for a 4xx or 5xx; for a 503 also the dependency and reason it names, e.g. `dependency_unavailable temporal timeout`. */
  code?: string;
  retryAfter?: string | null;
  /** Why there was no answer: the socket error, or the deadline. */
  error?: string;
}

export interface AnswerRecord extends AnswerNote {
  class: AnswerClass;
}

export type AnswerCounts = Record<AnswerClass, number> & { maxMs: number };
export type FaultWindowKind = FaultKind | 'none';

export interface AnswerSummary {
  /** Per fault kind (and `none`): answers by class, and the slowest answer in ms. */
  counts: Partial<Record<FaultWindowKind, AnswerCounts>>;
  /** Per fault kind: answers other than 2xx by `status code`, e.g. `409 out_of_order`, `503 dependency_unavailable postgres unavailable`. */
  codes: Partial<Record<FaultWindowKind, Record<string, number>>>;
  /** Per fault kind: how many faults, and how many seconds their windows (with the margin) covered. */
  windows: Partial<Record<FaultWindowKind, { faults: number; seconds: number }>>;
  /** The answers the check refuses (a 5xx but a 503 with Retry-After, a hang), first ones. */
  bad: AnswerRecord[];
  badCount: number;
  noAnswerCount: number;
  total: number;
  /**
   * 503s sent outside every window: how many, and the most ms any was sent after the last
   * fault's service was back (a dependency may take longer than the margin to be usable again).
   */
  outside503: { count: number; maxMsAfterBack: number };
}

/** A Retry-After the client can act on: seconds (a positive whole number) or an HTTP date. */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) {
    const seconds = Number(value.trim());
    return seconds > 0 ? seconds * 1_000 : undefined;
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function classify(note: AnswerNote): AnswerClass {
  if (note.status === undefined) return note.error === 'deadline' ? 'hang' : 'no_answer';
  if (note.status < 300) return '2xx';
  if (note.status < 500) return '4xx';
  if (note.status === 503 && retryAfterMs(note.retryAfter) !== undefined) return '503';
  return '5xx';
}

const emptyCounts = (): AnswerCounts => ({ '2xx': 0, '4xx': 0, '503': 0, '5xx': 0, no_answer: 0, hang: 0, maxMs: 0 });

export class AnswerLog {
  readonly records: AnswerRecord[] = [];

  constructor(
    /** The client's deadline for one answer, in ms. */
    readonly deadlineMs: number,
    /** How long after a fault's recovery answers still count for it, in ms. */
    readonly settleMs: number,
  ) {}

  note(note: AnswerNote): AnswerRecord {
    const record = { ...note, class: classify(note) };
    this.records.push(record);
    return record;
  }

  /**
   * The fault an answer lived through: the one whose window (with the margin) holds the moment
   * it was sent, the last to begin when several do; otherwise the first that began while it was
   * still waiting (a request sent just before Temporal is killed answers 503 because of it).
   */
  static faultAt(faults: readonly Fault[], at: number, settleMs: number, answeredAt = at): Fault | undefined {
    let found: Fault | undefined;
    for (const f of faults) if (at >= f.startedAt && at <= f.endedAt + settleMs && (!found || f.startedAt > found.startedAt)) found = f;
    if (found) return found;
    for (const f of faults) if (f.startedAt > at && f.startedAt <= answeredAt && (!found || f.startedAt < found.startedAt)) found = f;
    return found;
  }

  summarize(faults: readonly Fault[]): AnswerSummary {
    const counts: AnswerSummary['counts'] = { none: emptyCounts() };
    const codes: AnswerSummary['codes'] = {};
    const windows: AnswerSummary['windows'] = {};
    for (const f of faults) {
      const w = (windows[f.kind] ??= { faults: 0, seconds: 0 });
      w.faults += 1;
      w.seconds = Math.round((w.seconds + (f.endedAt - f.startedAt + this.settleMs) / 1_000) * 10) / 10;
      counts[f.kind] ??= emptyCounts();
    }
    const bad: AnswerRecord[] = [];
    let badCount = 0;
    let noAnswerCount = 0;
    const outside503 = { count: 0, maxMsAfterBack: 0 };
    for (const r of this.records) {
      const kind: FaultWindowKind = AnswerLog.faultAt(faults, r.sentAt, this.settleMs, r.sentAt + r.ms)?.kind ?? 'none';
      const c = (counts[kind] ??= emptyCounts());
      c[r.class] += 1;
      c.maxMs = Math.max(c.maxMs, r.ms);
      if (r.class !== '2xx') {
        const byCode = (codes[kind] ??= {});
        const key = r.status === undefined ? r.class : `${r.status} ${r.code ?? '-'}`;
        byCode[key] = (byCode[key] ?? 0) + 1;
      }
      if (r.class === '5xx' || r.class === 'hang') {
        badCount += 1;
        if (bad.length < 10) bad.push(r);
      }
      if (r.class === 'no_answer') noAnswerCount += 1;
      if (r.class === '503' && kind === 'none') {
        outside503.count += 1;
        const lastBack = Math.max(-Infinity, ...faults.filter((f) => f.endedAt <= r.sentAt).map((f) => f.endedAt));
        if (Number.isFinite(lastBack)) outside503.maxMsAfterBack = Math.max(outside503.maxMsAfterBack, r.sentAt - lastBack);
      }
    }
    return { counts, codes, windows, bad, badCount, noAnswerCount, total: this.records.length, outside503 };
  }
}

/** One line per bad answer, for a check's detail. */
export function describeAnswer(r: AnswerRecord, faults: readonly Fault[], startedAt: number, settleMs: number): string {
  const fault = AnswerLog.faultAt(faults, r.sentAt, settleMs, r.sentAt + r.ms);
  const what = r.status === undefined ? (r.error === 'deadline' ? 'no answer within the deadline' : `no answer (${r.error})`) : `${r.status}${r.code ? ` ${r.code}` : ''}${r.status === 503 ? ` Retry-After ${r.retryAfter ?? 'missing'}` : ''}`;
  return `${r.method} ${r.path} sent at ${((r.sentAt - startedAt) / 1_000).toFixed(1)} s (${fault ? fault.kind : 'no fault'}): ${what} after ${r.ms} ms`;
}

/** The table of the report: one row per fault kind that had a window, and `none`. */
export function answerTable(summary: AnswerSummary, order: readonly FaultWindowKind[]): string[] {
  const header = ['fault', 'faults', 'window s', ...ANSWER_CLASSES, 'max ms', 'answers other than 2xx, by code'];
  const rows = order
    .filter((kind) => summary.counts[kind])
    .map((kind) => {
      const c = summary.counts[kind]!;
      const w = summary.windows[kind];
      const codes = Object.entries(summary.codes[kind] ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([code, n]) => `${code} ${n}`)
        .join(', ');
      return [kind, w ? String(w.faults) : '-', w ? String(w.seconds) : '-', ...ANSWER_CLASSES.map((k) => String(c[k])), String(c.maxMs), codes || '-'];
    });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
