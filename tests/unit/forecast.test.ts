import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { demandOver, forecastDemand, maseScale, wape, type DemandForecast } from '../../domain/forecast.js';
import { demandStats, suggestReplenishment, type ReplenishmentInput } from '../../domain/replenishment.js';

/** A deterministic pseudo-random stream, so the tables below are fixed. */
function stream(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const weekly = (weeks: number, pattern: number[], noise = 0, seed = 1) => {
  const r = stream(seed);
  return Array.from({ length: weeks * 7 }, (_, t) => Math.max(0, Math.round(pattern[t % 7]! + (r() - 0.5) * 2 * noise)));
};

const allFinite = (f: DemandForecast) =>
  [...f.daily, f.errorSd, f.wape ?? 0, f.mase ?? 0, ...f.candidates.flatMap((c) => [c.mase, c.wape ?? 0])].every((x) => Number.isFinite(x));

describe('forecastDemand on awkward histories', () => {
  it.each([
    { name: 'no history', history: [], method: 'none', daily: 0 },
    { name: 'one day', history: [4], method: 'mean', daily: 4 },
    { name: 'all zeros', history: new Array<number>(60).fill(0), method: 'mean', daily: 0 },
    { name: 'a negative adjustment counts as zero', history: [5, 5, -20, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5], method: undefined, daily: undefined },
    { name: 'steady demand', history: new Array<number>(60).fill(6), method: 'mean', daily: 6 },
  ])('$name', ({ history, method, daily }) => {
    const f = forecastDemand(history, { horizon: 10 });
    expect(f.daily).toHaveLength(10);
    expect(allFinite(f)).toBe(true);
    if (method) expect(f.method).toBe(method);
    if (daily !== undefined) for (const d of f.daily) expect(d).toBeCloseTo(daily, 6);
    expect(f.daily.every((d) => d >= 0)).toBe(true);
    expect(f.note.length).toBeGreaterThan(0);
  });

  it('a negative day is said in the note and never forecast below zero', () => {
    const f = forecastDemand([5, 5, -20, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5], { horizon: 5 });
    expect(f.note).toMatch(/Negative or missing days counted as zero/);
    expect(Math.min(...f.daily)).toBeGreaterThanOrEqual(0);
  });

  it('a 10× outlier does not break the forecast', () => {
    const history = weekly(12, [10, 10, 10, 10, 10, 10, 10], 2);
    history[50] = 100;
    const f = forecastDemand(history, { horizon: 14 });
    expect(allFinite(f)).toBe(true);
    expect(Math.max(...f.daily)).toBeLessThan(40);
  });
});

describe('the backtest chooses a method that fits the series', () => {
  it('a weekly pattern is forecast by a seasonal method, with the pattern in the forecast', () => {
    const pattern = [2, 2, 2, 2, 3, 20, 24];
    const f = forecastDemand(weekly(12, pattern, 1), { horizon: 7 });
    expect(['seasonal_naive', 'holt_winters_additive', 'holt_winters_multiplicative']).toContain(f.method);
    // 84 days of history: the next day is index 84, pattern position 0.
    expect(f.daily[5]!).toBeGreaterThan(f.daily[0]! + 10);
    expect(f.mase!).toBeLessThan(f.candidates.find((c) => c.method === 'mean')!.mase);
  });

  it('a rising series is forecast above its mean', () => {
    const history = Array.from({ length: 90 }, (_, t) => Math.round(t / 3));
    const f = forecastDemand(history, { horizon: 7 });
    expect(['holt', 'ses', 'holt_winters_additive', 'seasonal_naive']).toContain(f.method);
    expect(f.daily[0]!).toBeGreaterThan(demandStats(history).averageDaily + 10);
  });

  it('intermittent demand is judged among the intermittent methods only', () => {
    const r = stream(11);
    const history = Array.from({ length: 120 }, () => (r() < 0.2 ? 2 + Math.floor(r() * 10) : 0));
    const f = forecastDemand(history, { horizon: 7 });
    expect(f.candidates.map((c) => c.method).sort()).toEqual(['croston', 'mean', 'sba', 'ses', 'tsb']);
    expect(f.note).toMatch(/intermittent demand/);
  });

  it('intermittent demand is forecast as a rate, not as zero', () => {
    const r = stream(7);
    const history = Array.from({ length: 120 }, () => (r() < 0.15 ? 3 + Math.floor(r() * 5) : 0));
    const f = forecastDemand(history, { horizon: 7 });
    expect(allFinite(f)).toBe(true);
    expect(f.daily[0]!).toBeGreaterThan(0);
    expect(f.candidates.map((c) => c.method)).toEqual(expect.arrayContaining(['croston', 'sba', 'tsb']));
  });

  it('scores every candidate on the same windows and ranks them by MASE', () => {
    const f = forecastDemand(weekly(10, [5, 6, 7, 8, 9, 10, 11], 3), { horizon: 7, origins: 3 });
    expect(f.candidates.length).toBeGreaterThanOrEqual(5);
    expect(f.candidates.map((c) => c.mase)).toEqual([...f.candidates.map((c) => c.mase)].sort((a, b) => a - b));
    // The best unless the mean is within 5% of it.
    const mean = f.candidates.find((c) => c.method === 'mean')!;
    expect(f.method).toBe(f.candidates[0]!.mase > mean.mase * 0.95 ? 'mean' : f.candidates[0]!.method);
    expect(f.note).toMatch(/over 3 backtest window/);
  });
});

describe('error measures', () => {
  it.each([
    { actual: [1, 2, 3], forecast: [1, 2, 3], expected: 0 },
    { actual: [2, 2], forecast: [1, 3], expected: 0.5 },
    { actual: [0, 0], forecast: [1, 1], expected: null },
  ])('WAPE of $forecast against $actual: $expected', ({ actual, forecast, expected }) => {
    expect(wape(actual, forecast)).toBe(expected);
  });

  it.each([
    { y: [1, 3, 1, 3], scale: 2 },
    { y: [4, 4, 4], scale: 4 },
    { y: [0, 0], scale: 1 },
    { y: [], scale: 1 },
  ])('MASE scale of $y: $scale', ({ y, scale }) => {
    expect(maseScale(y)).toBe(scale);
  });

  it('demand over a span adds the days and widens the interval by √days', () => {
    expect(demandOver({ daily: [1, 2, 3, 4], errorSd: 2 }, 4, 1.5)).toEqual({ expected: 10, low: 4, high: 16 });
    expect(demandOver({ daily: [1, 1], errorSd: 5 }, 2, 1.645).low).toBe(0);
  });
});

describe('forecastDemand properties', () => {
  const day = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 5 }), fc.constant(0), fc.integer({ min: 0, max: 5000 }));
  it('any history of whole days gives finite, non-negative forecasts of the asked length', () => {
    fc.assert(
      fc.property(fc.array(day, { maxLength: 120 }), fc.integer({ min: 0, max: 60 }), (history, horizon) => {
        const f = forecastDemand(history, { horizon });
        expect(f.daily).toHaveLength(horizon);
        expect(allFinite(f)).toBe(true);
        expect(f.daily.every((d) => d >= 0)).toBe(true);
        expect(f.errorSd).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  it('fractional and extreme values stay finite too', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 60 }), (history) => {
        expect(allFinite(forecastDemand(history, { horizon: 14 }))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the planner uses the chosen forecast', () => {
  // Class B, lead time 3 days, a week's review: the weekend peak lands in the lead time or not.
  const base: Omit<ReplenishmentInput, 'dailyShipped'> = {
    skuClass: 'B',
    leadTimeDays: 3,
    reviewPeriodDays: 7,
    available: 30,
    allocated: 0,
    quarantine: 0,
    inbound: 0,
    inTransit: 0,
    moq: 1,
    packSize: 1,
  };
  // 12 weeks; the history ends the day before the next day of the pattern.
  const peakAhead = weekly(12, [25, 25, 25, 2, 2, 2, 2], 1, 3);
  const peakPast = weekly(12, [2, 2, 2, 2, 25, 25, 25], 1, 3);

  it('a seasonal sku whose peak is within the lead time reorders earlier and more than one whose peak has passed', () => {
    const ahead = suggestReplenishment({ ...base, dailyShipped: peakAhead });
    const past = suggestReplenishment({ ...base, dailyShipped: peakPast });
    expect(ahead.forecastMethod).toMatch(/seasonal|holt_winters/);
    expect(past.forecastMethod).toMatch(/seasonal|holt_winters/);
    expect(ahead.leadTimeDemand).toBeGreaterThan(60);
    expect(past.leadTimeDemand).toBeLessThan(15);
    expect(ahead.reorder).toBe(true);
    expect(past.reorder).toBe(false);
    expect(ahead.leadTimeDemandLow).toBeLessThanOrEqual(ahead.leadTimeDemand);
    expect(ahead.leadTimeDemandHigh).toBeGreaterThanOrEqual(ahead.leadTimeDemand);
    expect(ahead.forecastMase).not.toBeNull();

    // The mean-based planner saw the same total demand in both and could not tell them apart.
    expect(demandStats(peakAhead).averageDaily).toBeCloseTo(demandStats(peakPast).averageDaily, 0);
  });

  it('safety stock comes from the forecast error, not from the spread of raw demand', () => {
    const plan = suggestReplenishment({ ...base, dailyShipped: weekly(12, [25, 25, 25, 2, 2, 2, 2], 0) });
    // A perfectly repeating week: the seasonal forecast makes no error, the raw demand varies a lot.
    expect(plan.deviation).toBe(0);
    expect(plan.safetyStock).toBe(0);
    expect(demandStats(weekly(12, [25, 25, 25, 2, 2, 2, 2], 0)).deviation).toBeGreaterThan(10);
  });
});
