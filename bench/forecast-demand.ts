/**
 * A reproducible demand set for `npm run bench:forecast`: daily series of four classes, with
 * promotions and stockout gaps in their history, from a seeded generator (same seed, same
 * series on every machine).
 */

export type SeriesClass = 'seasonal' | 'trending' | 'intermittent' | 'lumpy';
export const seriesClasses: SeriesClass[] = ['seasonal', 'trending', 'intermittent', 'lumpy'];

export interface BenchSeries {
  id: string;
  class: SeriesClass;
  /** Training days, oldest first. */
  train: number[];
  /** The held-out days that follow. */
  test: number[];
}

/** Mulberry32: small, seeded, good enough for test data. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(r: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(r)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k += 1;
    p *= r();
  } while (p > limit);
  return k - 1;
}

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

/** The expected demand of day `t` for a smooth series of a class (before promotions and gaps). */
function profile(kind: SeriesClass, r: () => number): (t: number) => number {
  switch (kind) {
    case 'seasonal': {
      const level = 5 + r() * 40;
      const shape = Array.from({ length: 7 }, () => 0.4 + r() * 1.6);
      const norm = shape.reduce((a, b) => a + b, 0) / 7;
      return (t) => (level * shape[t % 7]!) / norm;
    }
    case 'trending': {
      const start = 3 + r() * 20;
      const slope = (r() - 0.3) * 0.25; // mostly rising, some falling
      const weekly = r() < 0.5 ? Array.from({ length: 7 }, () => 0.8 + r() * 0.4) : new Array<number>(7).fill(1);
      return (t) => Math.max(0.2, start + slope * t) * weekly[t % 7]!;
    }
    case 'intermittent':
    case 'lumpy':
      return () => 0; // drawn per day from the series' chance and size below
  }
}

function draw(kind: SeriesClass, r: () => number, expected: number, params: { chance: number; size: number }): number {
  if (kind === 'intermittent') return r() < params.chance ? 1 + poisson(r, params.size - 1) : 0;
  if (kind === 'lumpy') return r() < params.chance ? Math.max(1, Math.round(params.size * Math.exp(normal(r) * 0.8 - 0.32))) : 0;
  return poisson(r, expected);
}

/**
 * `perClass` series of each class, `trainDays` + `testDays` long. Promotions (×1.5–3 for
 * 3–7 days) and stockout gaps (3–10 days of zero: demand lost, not late) fall in the training
 * days only: the held-out days are what the business would have sold.
 */
export function generateDemandSet(seed: number, perClass: number, trainDays: number, testDays: number): BenchSeries[] {
  const r = seeded(seed);
  const out: BenchSeries[] = [];
  for (const kind of seriesClasses) {
    for (let i = 0; i < perClass; i++) {
      const mean = profile(kind, r);
      const params = kind === 'intermittent' ? { chance: 0.08 + r() * 0.25, size: 1 + r() * 4 } : { chance: 0.04 + r() * 0.15, size: 5 + r() * 40 };
      const days = Array.from({ length: trainDays + testDays }, (_, t) => draw(kind, r, mean(t), params));
      const promotions = Math.floor(r() * 3);
      for (let p = 0; p < promotions; p++) {
        const from = Math.floor(r() * (trainDays - 7));
        const factor = 1.5 + r() * 1.5;
        for (let t = from; t < from + 3 + Math.floor(r() * 5); t++) days[t] = Math.round(days[t]! * factor);
      }
      if (r() < 0.3) {
        const from = Math.floor(r() * (trainDays - 10));
        for (let t = from; t < from + 3 + Math.floor(r() * 8); t++) days[t] = 0;
      }
      out.push({ id: `${kind}-${String(i).padStart(3, '0')}`, class: kind, train: days.slice(0, trainDays), test: days.slice(trainDays) });
    }
  }
  return out;
}
