/**
 * Exceptions worked to their cause by people: a case (one kind of exception on one record,
 * however often it was raised) is assigned, commented, snoozed and resolved with a root-cause
 * code from its kind's list and a note. Resolving a case resolves its open occurrences; a
 * later occurrence reopens it (db/exception-cases.ts). Every step is an event of the case.
 */
import type { Selectable, Updateable } from 'kysely';
import type { Db } from '../db/connection.js';
import type { ExceptionCasesTable } from '../db/schema-people.js';
import { ageBucketOf, causesFor, slaOf } from '../domain/exception-causes.js';
import * as refuse from './refusal.js';
import { caseSuggestion } from '../db/exception-suggestions.js';
import type { Refusal } from './refusal.js';

export interface ExceptionCase {
  id: number;
  kind: string;
  reference: string;
  ownerRole: string;
  status: 'open' | 'snoozed' | 'resolved';
  assignee: string | null;
  snoozedUntil: Date | null;
  cause: string | null;
  resolutionNote: string | null;
  resolvedBy: string | null;
  resolvedAt: Date | null;
  openedAt: Date;
  lastRaisedAt: Date;
  occurrences: number;
  reopened: number;
  ageSeconds: number;
  sla: { seconds: number; dueAt: Date; breached: boolean };
  /** The newest occurrence's message. */
  message: string | null;
  workflowId: string | null;
  causes: string[];
}

export function caseView(row: Selectable<ExceptionCasesTable> & { message?: string | null; workflow_id?: string | null }, now = new Date()): ExceptionCase {
  const sla = slaOf(row.kind, row.opened_at, now, row.resolved_at);
  const snoozed = row.status === 'open' && row.snoozed_until !== null && row.snoozed_until > now;
  return {
    id: Number(row.id),
    kind: row.kind,
    reference: row.reference,
    ownerRole: row.owner_role,
    status: row.status === 'resolved' ? 'resolved' : snoozed ? 'snoozed' : 'open',
    assignee: row.assignee,
    snoozedUntil: snoozed ? row.snoozed_until : null,
    cause: row.cause,
    resolutionNote: row.resolution_note,
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_at,
    openedAt: row.opened_at,
    lastRaisedAt: row.last_raised_at,
    occurrences: row.occurrences,
    reopened: row.reopened,
    ageSeconds: Math.round(sla.ageMs / 1000),
    sla: { seconds: sla.slaMs / 1000, dueAt: sla.dueAt, breached: sla.breached },
    message: row.message ?? null,
    workflowId: row.workflow_id ?? null,
    causes: causesFor(row.kind),
  };
}

export interface CaseQuery {
  status?: 'open' | 'snoozed' | 'resolved' | 'all';
  kind?: string;
  assignee?: string;
  ownerRole?: string;
  cause?: string;
  q?: string;
  offset: number;
  limit: number;
}

const withLatest = (db: Db) =>
  db
    .selectFrom('exception_cases as c')
    .selectAll('c')
    .select((eb) => [
      eb.selectFrom('exceptions as e').select('e.message').whereRef('e.case_id', '=', 'c.id').orderBy('e.raised_at', 'desc').limit(1).as('message'),
      eb.selectFrom('exceptions as e').select('e.workflow_id').whereRef('e.case_id', '=', 'c.id').orderBy('e.raised_at', 'desc').limit(1).as('workflow_id'),
    ]);

/** Cases, oldest open first; open excludes snoozed ones until their time. */
export async function listCases(db: Db, query: CaseQuery, now = new Date()): Promise<{ cases: ExceptionCase[]; total: number }> {
  let base = db.selectFrom('exception_cases as c');
  const status = query.status ?? 'open';
  if (status === 'resolved') base = base.where('c.status', '=', 'resolved');
  if (status === 'open') base = base.where('c.status', '=', 'open').where((eb) => eb.or([eb('c.snoozed_until', 'is', null), eb('c.snoozed_until', '<=', now)]));
  if (status === 'snoozed') base = base.where('c.status', '=', 'open').where('c.snoozed_until', '>', now);
  if (query.kind) base = base.where('c.kind', '=', query.kind);
  if (query.assignee) base = query.assignee === 'none' ? base.where('c.assignee', 'is', null) : base.where('c.assignee', '=', query.assignee);
  if (query.ownerRole) base = base.where('c.owner_role', '=', query.ownerRole);
  if (query.cause) base = base.where('c.cause', '=', query.cause);
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base = base.where((eb) => eb.or([eb('c.reference', 'ilike', like), eb('c.kind', 'ilike', like), eb.exists(eb.selectFrom('exceptions as e').select('e.id').whereRef('e.case_id', '=', 'c.id').where('e.message', 'ilike', like))]));
  }
  const ids = base.select('c.id');
  const [rows, count] = await Promise.all([
    withLatest(db)
      .where('c.id', 'in', ids.orderBy('c.opened_at').offset(query.offset).limit(query.limit))
      .orderBy('c.opened_at')
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { cases: rows.map((r) => caseView(r, now)), total: Number(count.n) };
}

export async function getCase(db: Db, id: number) {
  const row = await withLatest(db).where('c.id', '=', id).executeTakeFirst();
  if (!row) return refuse.notFound(`exception case ${id}`);
  const [raised, events, suggestion] = await Promise.all([
    db.selectFrom('exceptions').selectAll().where('case_id', '=', id).orderBy('raised_at').execute(),
    db.selectFrom('exception_events').selectAll().where('case_id', '=', id).orderBy('id').execute(),
    caseSuggestion(db, id),
  ]);
  return {
    ...caseView(row),
    suggestion,
    raised: raised.map((e) => ({ id: e.id, message: e.message, status: e.status, raisedAt: e.raised_at, resolvedAt: e.resolved_at, workflowId: e.workflow_id, details: e.details })),
    events: events.map((e) => ({ at: e.at, actor: e.actor, kind: e.kind, note: e.note, details: e.details })),
  };
}

type Change = { before: ExceptionCase; after: ExceptionCase };

/** One change to a case in a transaction, with its event; the case is locked while it changes. */
async function changeCase(
  db: Db,
  id: number,
  actor: string,
  change: (row: Selectable<ExceptionCasesTable>, now: Date) => { set: Updateable<ExceptionCasesTable>; event: { kind: 'assigned' | 'commented' | 'snoozed' | 'resolved'; note: string | null; details?: unknown } } | Refusal,
): Promise<Change | Refusal> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('exception_cases').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) return refuse.notFound(`exception case ${id}`);
    const now = new Date();
    const result = change(row, now);
    if (refuse.isRefusal(result)) return result;
    const after = Object.keys(result.set).length ? await tx.updateTable('exception_cases').set(result.set).where('id', '=', id).returningAll().executeTakeFirstOrThrow() : row;
    await tx.insertInto('exception_events').values({ case_id: id, actor, kind: result.event.kind, note: result.event.note, details: JSON.stringify(result.event.details ?? {}) }).execute();
    if (result.event.kind === 'resolved') {
      await tx.updateTable('exceptions').set({ status: 'resolved', resolved_at: now }).where('case_id', '=', id).where('status', '=', 'open').execute();
    }
    return { before: caseView(row, now), after: caseView(after, now) };
  });
}

const notOpen = (row: Selectable<ExceptionCasesTable>, what: string) =>
  refuse.conflict('case_resolved', `exception case ${row.id} was resolved (${row.cause}) by ${row.resolved_by}; it cannot be ${what} unless it recurs`);

export async function assignCase(db: Db, id: number, assignee: string | null, actor: string): Promise<Change | Refusal> {
  if (assignee) {
    const user = await db.selectFrom('users').select(['id', 'kind', 'disabled_at']).where('id', '=', assignee).executeTakeFirst();
    if (!user || user.disabled_at || user.kind !== 'person') {
      return refuse.invalid('unknown_user', `${assignee} is not an active person who can work an exception`, [{ path: 'assignee', message: 'not an active person', code: 'unknown_user' }]);
    }
  }
  return changeCase(db, id, actor, (row) => (row.status === 'resolved' ? notOpen(row, 'assigned') : { set: { assignee }, event: { kind: 'assigned', note: assignee ? `assigned to ${assignee}` : 'unassigned', details: { from: row.assignee, to: assignee } } }));
}

export async function commentOnCase(db: Db, id: number, text: string, actor: string): Promise<Change | Refusal> {
  return changeCase(db, id, actor, () => ({ set: {}, event: { kind: 'commented', note: text } }));
}

export async function snoozeCase(db: Db, id: number, until: Date, reason: string, actor: string): Promise<Change | Refusal> {
  return changeCase(db, id, actor, (row, now) => {
    if (row.status === 'resolved') return notOpen(row, 'snoozed');
    if (until <= now) return refuse.invalid('snooze_in_past', 'snooze until a time in the future', [{ path: 'until', message: 'must be in the future', code: 'snooze_in_past' }]);
    if (until.getTime() - now.getTime() > 30 * 86_400_000) return refuse.invalid('snooze_too_long', 'an exception may be snoozed for 30 days at most', [{ path: 'until', message: 'at most 30 days ahead', code: 'snooze_too_long' }]);
    return { set: { snoozed_until: until }, event: { kind: 'snoozed', note: reason, details: { until } } };
  });
}

export async function resolveCase(db: Db, id: number, cause: string, note: string, actor: string): Promise<Change | Refusal> {
  // Whether the person followed the suggested cause, kept with the resolution: how well the suggestions serve.
  const suggested = await caseSuggestion(db, id);
  return changeCase(db, id, actor, (row, now) => {
    if (row.status === 'resolved') return refuse.conflict('case_resolved', `exception case ${row.id} was already resolved (${row.cause}) by ${row.resolved_by}`);
    const causes = causesFor(row.kind);
    if (!causes.includes(cause)) {
      return refuse.invalid('unknown_cause', `${cause} is not a cause of ${row.kind}; one of ${causes.join(', ')}`, [{ path: 'cause', message: `one of ${causes.join(', ')}`, code: 'unknown_cause' }]);
    }
    return { set: { status: 'resolved', cause, resolution_note: note, resolved_by: actor, resolved_at: now, snoozed_until: null }, event: { kind: 'resolved', note, details: { cause, ...(suggested ? { suggestedCause: suggested.cause, followedSuggestion: suggested.cause === cause } : {}) } } };
  });
}

export type SummaryDimension = 'kind' | 'cause' | 'owner' | 'age';

/**
 * Counts of cases by kind, cause, owner (assignee, or the owning role when unassigned) and
 * age: open ones now (with how many are past their SLA), and those resolved in the window
 * by cause (the root-cause view).
 */
export async function summarizeCases(db: Db, window: { from: Date; to: Date }, now = new Date()) {
  const rows = await db
    .selectFrom('exception_cases')
    .selectAll()
    .where((eb) => eb.or([eb('status', '=', 'open'), eb.and([eb('resolved_at', '>=', window.from), eb('resolved_at', '<', window.to)])]))
    .execute();
  const views = rows.map((r) => caseView(r, now));
  const open = views.filter((c) => c.status !== 'resolved');
  const resolved = views.filter((c) => c.status === 'resolved');
  const tally = (cases: ExceptionCase[], keyOf: (c: ExceptionCase) => string) => {
    const groups = new Map<string, { key: string; count: number; breached: number; oldestAgeSeconds: number }>();
    for (const c of cases) {
      const key = keyOf(c);
      const g = groups.get(key) ?? { key, count: 0, breached: 0, oldestAgeSeconds: 0 };
      g.count += 1;
      if (c.sla.breached) g.breached += 1;
      g.oldestAgeSeconds = Math.max(g.oldestAgeSeconds, c.ageSeconds);
      groups.set(key, g);
    }
    return [...groups.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  };
  const owner = (c: ExceptionCase) => c.assignee ?? `unassigned:${c.ownerRole}`;
  return {
    window: { from: window.from, to: window.to },
    open: {
      total: open.length,
      snoozed: open.filter((c) => c.status === 'snoozed').length,
      breached: open.filter((c) => c.sla.breached).length,
      byKind: tally(open, (c) => c.kind),
      byOwner: tally(open, owner),
      byAge: tally(open, (c) => ageBucketOf(c.ageSeconds * 1000)),
    },
    resolved: {
      total: resolved.length,
      byCause: tally(resolved, (c) => c.cause ?? 'unknown'),
      byKindAndCause: tally(resolved, (c) => `${c.kind}/${c.cause}`),
      byOwner: tally(resolved, (c) => c.resolvedBy ?? 'unknown'),
      reopened: resolved.filter((c) => c.reopened > 0).length + open.filter((c) => c.reopened > 0).length,
    },
  };
}

/** Case ids of the raised exceptions listed by GET /exceptions, with their state. */
export async function caseStates(db: Db, exceptionIds: string[]) {
  if (!exceptionIds.length) return new Map<string, Selectable<ExceptionCasesTable>>();
  const rows = await db
    .selectFrom('exceptions as e')
    .innerJoin('exception_cases as c', 'c.id', 'e.case_id')
    .selectAll('c')
    .select('e.id as exception_id')
    .where('e.id', 'in', exceptionIds)
    .execute();
  return new Map(rows.map((r) => [r.exception_id, r]));
}
