/**
 * A suggested root cause and owner for an exception case, from the cases people resolved
 * before: a multinomial naive Bayes over the case's kind, the words of its message and its
 * features (warehouse, supplier, carrier…), with Laplace smoothing. The suggestion says how
 * sure it is, the other causes it weighed, and the past cases most like this one that it
 * rests on; the owner is whoever resolved most past cases of that cause.
 */

export interface PastCase {
  id: number;
  kind: string;
  text: string;
  features: Record<string, string>;
  cause: string;
  resolvedBy: string;
}

export type NewCase = Pick<PastCase, 'kind' | 'text' | 'features'>;

export interface RootCauseModel {
  examples: { id: number; cause: string; resolvedBy: string; tokens: Set<string> }[];
  classes: Map<string, { cases: number; tokens: Map<string, number>; total: number }>;
  vocabulary: Set<string>;
}

export interface CauseSuggestion {
  cause: string;
  /** The posterior probability of the cause among those the kind allows, 0–1. */
  confidence: number;
  /** Every cause weighed, most likely first. */
  alternatives: { cause: string; probability: number }[];
  /** The past cases of this cause most like this one (most shared words and features first). */
  restsOn: number[];
  /** Who resolved most past cases of this cause and kind, and their share of them. */
  owner: { user: string; share: number } | null;
  trainedOn: number;
}

const STOP = new Set(['the', 'and', 'for', 'was', 'has', 'with', 'from', 'not', 'but', 'are', 'this', 'that', 'its', 'into', 'after', 'before', 'of', 'to', 'at', 'on', 'in', 'by']);

/** The tokens a case is judged by: its kind, the words of its message (no numbers or ids), its features. */
export function tokensOf(c: NewCase): string[] {
  const words = c.text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w.length >= 3 && !STOP.has(w));
  const features = Object.entries(c.features).map(([k, v]) => `${k}=${v}`.toLowerCase());
  return [`kind=${c.kind}`, ...words, ...features];
}

export function trainRootCauses(cases: PastCase[]): RootCauseModel {
  const model: RootCauseModel = { examples: [], classes: new Map(), vocabulary: new Set() };
  for (const c of cases) {
    const tokens = tokensOf(c);
    const cls = model.classes.get(c.cause) ?? { cases: 0, tokens: new Map<string, number>(), total: 0 };
    cls.cases += 1;
    for (const t of tokens) {
      cls.tokens.set(t, (cls.tokens.get(t) ?? 0) + 1);
      cls.total += 1;
      model.vocabulary.add(t);
    }
    model.classes.set(c.cause, cls);
    model.examples.push({ id: c.id, cause: c.cause, resolvedBy: c.resolvedBy, tokens: new Set(tokens) });
  }
  return model;
}

/**
 * The most likely cause among `allowed` (every cause seen when not given), or null when no
 * past case of an allowed cause exists to learn from.
 */
export function suggestRootCause(model: RootCauseModel, c: NewCase, options: { allowed?: readonly string[]; evidence?: number } = {}): CauseSuggestion | null {
  const allowed = options.allowed ? new Set(options.allowed) : undefined;
  const candidates = [...model.classes].filter(([cause]) => !allowed || allowed.has(cause));
  if (candidates.length === 0) return null;
  const known = candidates.reduce((n, [, cls]) => n + cls.cases, 0);
  const v = model.vocabulary.size + 1;
  const tokens = tokensOf(c);
  const scores = candidates.map(([cause, cls]) => {
    let score = Math.log(cls.cases / known);
    for (const t of tokens) score += Math.log(((cls.tokens.get(t) ?? 0) + 1) / (cls.total + v));
    return { cause, score };
  });
  const top = Math.max(...scores.map((s) => s.score));
  const weights = scores.map((s) => ({ cause: s.cause, w: Math.exp(s.score - top) }));
  const sum = weights.reduce((n, w) => n + w.w, 0);
  const alternatives = weights
    .map((w) => ({ cause: w.cause, probability: Math.round((w.w / sum) * 1000) / 1000 }))
    .sort((a, b) => b.probability - a.probability || a.cause.localeCompare(b.cause));
  const best = alternatives[0]!;

  const own = new Set(tokens);
  const same = model.examples.filter((e) => e.cause === best.cause);
  const overlap = (e: (typeof same)[number]) => [...e.tokens].filter((t) => own.has(t)).length / new Set([...e.tokens, ...own]).size;
  const restsOn = same
    .map((e) => ({ id: e.id, o: overlap(e) }))
    .sort((a, b) => b.o - a.o || b.id - a.id)
    .slice(0, options.evidence ?? 3)
    .map((e) => e.id);

  const byPerson = new Map<string, number>();
  for (const e of same) if (e.tokens.has(`kind=${c.kind}`)) byPerson.set(e.resolvedBy, (byPerson.get(e.resolvedBy) ?? 0) + 1);
  const ranked = [...byPerson].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const ofKind = ranked.reduce((n, [, k]) => n + k, 0);
  const owner = ranked[0] ? { user: ranked[0][0], share: Math.round((ranked[0][1] / ofKind) * 1000) / 1000 } : null;

  return { cause: best.cause, confidence: best.probability, alternatives, restsOn, owner, trainedOn: model.examples.length };
}

/** Share of `cases` whose suggested cause (trained on `training`) is their cause: precision at 1. */
export function precisionAt1(training: PastCase[], cases: PastCase[], allowedFor?: (kind: string) => readonly string[]): number {
  if (cases.length === 0) return 0;
  const model = trainRootCauses(training);
  const hits = cases.filter((c) => suggestRootCause(model, c, { allowed: allowedFor?.(c.kind) })?.cause === c.cause).length;
  return hits / cases.length;
}
