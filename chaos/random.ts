/** Seeded random numbers, so a chaos run's load and faults (and a benchmark's orders) can be made again from their seed. */

/** mulberry32: a small generator of numbers in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type Random = ReturnType<typeof rng>;

/** A whole number in [min, max]. */
export const between = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

export const chance = (random: Random, p: number) => random() < p;

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A new seed drawn from a generator, for a part of the run that needs its own sequence. */
export const fork = (random: Random) => Math.floor(random() * 4_294_967_296);
