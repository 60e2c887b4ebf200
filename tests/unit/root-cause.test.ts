import { describe, expect, it } from 'vitest';
import { causesFor } from '../../domain/exception-causes.js';
import { precisionAt1, suggestRootCause, tokensOf, trainRootCauses, type PastCase } from '../../domain/root-cause.js';

/** A seeded stream, so the generated history is the same on every run. */
function stream(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Each cause leaves some traces: words people and processes write about it, a warehouse or
 * carrier where it happens more, and the person who usually resolves it. Traces are noisy:
 * a case shows its cause's words only sometimes, and other words always.
 */
const traits: Record<string, { kind: string; words: string[]; where: string[]; by: string[]; weight: number }> = {
  bin_error: { kind: 'short_pick', words: ['bin', 'slot', 'wrong', 'location'], where: ['BER', 'HAM'], by: ['ana', 'ben'], weight: 30 },
  count_error: { kind: 'short_pick', words: ['count', 'cycle', 'variance'], where: ['BER'], by: ['ana'], weight: 14 },
  damaged: { kind: 'short_pick', words: ['broken', 'crushed', 'damaged', 'wet'], where: ['MUC'], by: ['cem'], weight: 10 },
  theft: { kind: 'short_pick', words: ['missing', 'empty', 'box', 'security'], where: ['HAM'], by: ['dan'], weight: 6 },
  carrier_delay: { kind: 'late_shipment', words: ['carrier', 'pickup', 'missed', 'truck'], where: ['MUC', 'BER'], by: ['eva'], weight: 24 },
  warehouse_capacity: { kind: 'late_shipment', words: ['backlog', 'wave', 'staff', 'peak'], where: ['HAM'], by: ['ben'], weight: 12 },
  address_problem: { kind: 'late_shipment', words: ['address', 'postcode', 'undeliverable'], where: ['BER', 'MUC', 'HAM'], by: ['eva'], weight: 6 },
  supplier_delay: { kind: 'po_late', words: ['supplier', 'production', 'delay', 'confirmed'], where: ['ACME', 'GLOBEX'], by: ['fay'], weight: 20 },
  transit_delay: { kind: 'po_late', words: ['vessel', 'port', 'container', 'transit'], where: ['GLOBEX'], by: ['fay', 'gus'], weight: 10 },
  customs: { kind: 'po_late', words: ['customs', 'clearance', 'duty', 'papers'], where: ['INITECH'], by: ['gus'], weight: 5 },
};
const filler = ['order', 'units', 'expected', 'reported', 'today', 'stock', 'line', 'please', 'check', 'again', 'item', 'urgent'];

function generateHistory(n: number, seed: number): PastCase[] {
  const r = stream(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const causes = Object.keys(traits);
  const total = causes.reduce((s, c) => s + traits[c]!.weight, 0);
  return Array.from({ length: n }, (_, i) => {
    let x = r() * total;
    const cause = causes.find((c) => (x -= traits[c]!.weight) < 0) ?? causes[0]!;
    const t = traits[cause]!;
    // Same-kind causes' words show up too, so the words alone do not give it away.
    const siblings = causes.filter((c) => traits[c]!.kind === t.kind && c !== cause);
    const words = [pick(filler), pick(filler), r() < 0.65 ? pick(t.words) : pick(traits[pick(siblings)]!.words), r() < 0.4 ? pick(t.words) : pick(filler), `${Math.floor(r() * 1000)}`];
    const site = r() < 0.7 ? pick(t.where) : pick(['BER', 'HAM', 'MUC', 'ACME', 'GLOBEX', 'INITECH']);
    return {
      id: i + 1,
      kind: t.kind,
      text: words.join(' '),
      features: { site },
      cause,
      resolvedBy: r() < 0.85 ? pick(t.by) : pick(['ana', 'ben', 'cem', 'dan', 'eva', 'fay', 'gus']),
    };
  });
}

describe('suggested root cause', () => {
  const history = generateHistory(1_200, 42);
  const training = history.slice(0, 900);
  const heldOut = history.slice(900);

  it('precision@1 on a held-out quarter beats always guessing the most common cause by at least 15 points', () => {
    const counts = new Map<string, number>();
    for (const c of training) counts.set(c.cause, (counts.get(c.cause) ?? 0) + 1);
    const mostCommon = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const baseline = heldOut.filter((c) => c.cause === mostCommon).length / heldOut.length;
    // Per kind, the most common cause of that kind: a stronger baseline than the overall one.
    const commonOfKind = (kind: string) => [...counts].filter(([cause]) => traits[cause]!.kind === kind).sort((a, b) => b[1] - a[1])[0]![0];
    const kindBaseline = heldOut.filter((c) => c.cause === commonOfKind(c.kind)).length / heldOut.length;

    const precision = precisionAt1(training, heldOut, causesFor);
    console.log(`precision@1 ${precision.toFixed(3)} on ${heldOut.length} held-out cases; most common cause ${baseline.toFixed(3)}, most common cause of the kind ${kindBaseline.toFixed(3)}`);
    expect(precision).toBeGreaterThanOrEqual(baseline + 0.15);
    expect(precision).toBeGreaterThanOrEqual(kindBaseline + 0.15);
  });

  it('says how sure it is, what else it weighed, the past cases it rests on and who usually resolves it', () => {
    const model = trainRootCauses(training);
    const s = suggestRootCause(model, { kind: 'po_late', text: 'PO 4411 held at customs, clearance papers missing', features: { site: 'INITECH' } }, { allowed: causesFor('po_late') })!;
    expect(s.cause).toBe('customs');
    expect(s.confidence).toBeGreaterThan(0.5);
    expect(s.alternatives[0]).toEqual({ cause: 'customs', probability: s.confidence });
    expect(s.alternatives.reduce((n, a) => n + a.probability, 0)).toBeCloseTo(1, 2);
    expect(s.alternatives.every((a) => causesFor('po_late').includes(a.cause))).toBe(true);
    expect(s.restsOn).toHaveLength(3);
    for (const id of s.restsOn) expect(training.find((c) => c.id === id)!.cause).toBe('customs');
    expect(s.owner).toEqual({ user: 'gus', share: expect.any(Number) });
    expect(s.trainedOn).toBe(900);
  });

  it('with nothing to learn from there is no suggestion', () => {
    expect(suggestRootCause(trainRootCauses([]), { kind: 'po_late', text: 'late', features: {} })).toBeNull();
    expect(suggestRootCause(trainRootCauses(training), { kind: 'refund_refused', text: 'declined', features: {} }, { allowed: causesFor('refund_refused') })).toBeNull();
  });

  it.each([
    { text: 'Short pick of 3 at BIN-A-12', features: {} as Record<string, string>, tokens: ['kind=short_pick', 'short', 'pick', 'bin'] },
    { text: 'the carrier and the truck', features: { carrier: 'UPS' } as Record<string, string>, tokens: ['kind=short_pick', 'carrier', 'truck', 'carrier=ups'] },
  ])('tokens of "$text"', ({ text, features, tokens }) => {
    expect(tokensOf({ kind: 'short_pick', text, features })).toEqual(tokens);
  });
});
