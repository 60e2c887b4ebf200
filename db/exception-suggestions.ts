/**
 * The suggested cause and owner of an exception case, made when the case opens or reopens
 * from the cases of its kind people resolved before (domain/root-cause.ts). The model is
 * trained at that moment from the latest resolved cases, so every resolution (a suggestion
 * followed or changed) is training data for the next case.
 */
import { sql, type Kysely } from 'kysely';
import { causesFor, clearedByProcess } from '../domain/exception-causes.js';
import { suggestRootCause, trainRootCauses, type PastCase } from '../domain/root-cause.js';
import type { Database } from './schema.js';

/** How many resolved cases of a kind the model learns from, newest first. */
export const TRAINING_CASES = 2_000;

/** A case's features: the scalar facts of its occurrence (warehouse, supplier, carrier…), not ids or amounts. */
export function caseFeatures(details: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!details || typeof details !== 'object') return out;
  for (const [key, value] of Object.entries(details as Record<string, unknown>)) {
    if (typeof value !== 'string' || value.length > 40 || /id$|Id$/.test(key) || /\d{3,}/.test(value)) continue;
    out[key] = value;
  }
  return out;
}

/** Past resolved cases of `kind` with their newest occurrence's message and details. */
export async function resolvedCasesOf(db: Kysely<Database>, kind: string, limit = TRAINING_CASES): Promise<PastCase[]> {
  const { rows } = await sql<{ id: number; kind: string; cause: string; resolved_by: string; message: string | null; details: unknown }>`
    select c.id, c.kind, c.cause, c.resolved_by, e.message, e.details
    from exception_cases c
    left join lateral (select message, details from exceptions where case_id = c.id order by raised_at desc limit 1) e on true
    where c.kind = ${kind} and c.status = 'resolved' and c.cause is not null and c.cause <> ${clearedByProcess} and c.resolved_by is not null
    order by c.resolved_at desc
    limit ${limit}`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, cause: r.cause, resolvedBy: r.resolved_by, text: r.message ?? '', features: caseFeatures(r.details) }));
}

/** Stores the suggestion for an opening case (replacing one from before it reopened); none when nothing of the kind was resolved yet. */
export async function suggestForCase(db: Kysely<Database>, caseId: number, exception: { kind: string; message: string; details?: unknown }): Promise<void> {
  const past = await resolvedCasesOf(db, exception.kind);
  const suggestion = suggestRootCause(trainRootCauses(past), { kind: exception.kind, text: exception.message, features: caseFeatures(exception.details) }, { allowed: causesFor(exception.kind) });
  if (!suggestion) {
    await db.deleteFrom('exception_case_suggestions').where('case_id', '=', caseId).execute();
    return;
  }
  const row = {
    cause: suggestion.cause,
    confidence: suggestion.confidence,
    alternatives: JSON.stringify(suggestion.alternatives),
    rests_on: suggestion.restsOn,
    owner: suggestion.owner?.user ?? null,
    owner_share: suggestion.owner?.share ?? null,
    trained_on: suggestion.trainedOn,
    made_at: new Date(),
  };
  await db
    .insertInto('exception_case_suggestions')
    .values({ case_id: caseId, ...row })
    .onConflict((oc) => oc.column('case_id').doUpdateSet(row))
    .execute();
}

export interface CaseSuggestionView {
  cause: string;
  confidence: number;
  alternatives: { cause: string; probability: number }[];
  restsOn: number[];
  owner: { user: string; share: number } | null;
  trainedOn: number;
  madeAt: Date;
}

export async function caseSuggestion(db: Kysely<Database>, caseId: number): Promise<CaseSuggestionView | null> {
  const row = await db.selectFrom('exception_case_suggestions').selectAll().where('case_id', '=', caseId).executeTakeFirst();
  if (!row) return null;
  return {
    cause: row.cause,
    confidence: row.confidence,
    alternatives: row.alternatives,
    restsOn: row.rests_on.map(Number),
    owner: row.owner ? { user: row.owner, share: row.owner_share ?? 0 } : null,
    trainedOn: row.trained_on,
    madeAt: row.made_at,
  };
}
