/**
 * Daily demand forecasts per series, chosen by a rolling-origin backtest among a few
 * classic methods: the history's mean (what the planner used before), seasonal naive,
 * simple exponential smoothing, damped Holt, Holt-Winters (additive and multiplicative,
 * weekly), and Croston, SBA and TSB for intermittent demand. Every number is finite:
 * empty, one-point, all-zero or negative histories give a forecast that says why.
 */

export type ForecastMethod =
  | 'none'
  | 'mean'
  | 'seasonal_naive'
  | 'ses'
  | 'holt'
  | 'holt_winters_additive'
  | 'holt_winters_multiplicative'
  | 'croston'
  | 'sba'
  | 'tsb';

export interface MethodScore {
  method: ForecastMethod;
  /** Σ|error| / Σ actual over the backtest windows; null when the held-out demand was all zero. */
  wape: number | null;
  /** Mean absolute error over the mean absolute one-day change of the training data, averaged over the windows. */
  mase: number;
}

export interface DemandForecast {
  method: ForecastMethod;
  /** The smoothing parameters the method was fitted with (empty for those without). */
  params: Record<string, number>;
  /** Forecast units per day for each day of the horizon, starting the day after the history. */
  daily: number[];
  /** The chosen method's backtest errors; null when the history was too short to backtest. */
  wape: number | null;
  mase: number | null;
  /** Root mean square of the chosen method's daily backtest errors (or the history's spread when it could not be backtested). */
  errorSd: number;
  /** Every method that could be scored, best first. */
  candidates: MethodScore[];
  /** How the method was chosen, in words. */
  note: string;
}

export interface ForecastOptions {
  /** Days to forecast. */
  horizon: number;
  /** Days in a season (7: weekly). */
  seasonLength?: number;
  /** Backtest windows, each `testDays` long, ending at the end of the history. */
  origins?: number;
  testDays?: number;
}

const ALPHAS = [0.05, 0.1, 0.2, 0.3, 0.5];
const BETAS = [0.02, 0.1];
const GAMMAS = [0.05, 0.15, 0.3];
const PHI = 0.9; // damping of the trend: long horizons do not run away
const EPS = 1e-9;

/** How a fitted method forecasts `h` days ahead, and its in-sample one-step squared error. */
interface Fit {
  sse: number;
  params: Record<string, number>;
  ahead: (h: number) => number;
}

type Fitter = (y: number[], m: number) => Fit | undefined;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const finite = (x: number) => (Number.isFinite(x) ? x : 0);

function meanFit(y: number[]): Fit | undefined {
  if (y.length === 0) return undefined;
  const level = sum(y) / y.length;
  return { sse: sum(y.map((v) => (v - level) ** 2)), params: {}, ahead: () => level };
}

function seasonalNaiveFit(y: number[], m: number): Fit | undefined {
  if (y.length < m) return undefined;
  const last = y.slice(-m);
  let sse = 0;
  for (let t = m; t < y.length; t++) sse += (y[t]! - y[t - m]!) ** 2;
  return { sse, params: {}, ahead: (h) => last[(h - 1) % m]! };
}

function sesFit(y: number[]): Fit | undefined {
  if (y.length < 2) return undefined;
  let best: Fit | undefined;
  for (const alpha of ALPHAS) {
    let level = y[0]!;
    let sse = 0;
    for (let t = 1; t < y.length; t++) {
      sse += (y[t]! - level) ** 2;
      level += alpha * (y[t]! - level);
    }
    const l = level;
    if (!best || sse < best.sse) best = { sse, params: { alpha }, ahead: () => l };
  }
  return best;
}

/** Damped trend: the h-step forecast is level + (φ + … + φ^h) × trend. */
const dampedSum = (h: number) => (PHI * (1 - PHI ** h)) / (1 - PHI);

function holtFit(y: number[]): Fit | undefined {
  if (y.length < 4) return undefined;
  let best: Fit | undefined;
  for (const alpha of ALPHAS) {
    for (const beta of BETAS) {
      let level = y[0]!;
      let trend = y[1]! - y[0]!;
      let sse = 0;
      for (let t = 1; t < y.length; t++) {
        const predicted = level + PHI * trend;
        sse += (y[t]! - predicted) ** 2;
        const previous = level;
        level = alpha * y[t]! + (1 - alpha) * predicted;
        trend = beta * (level - previous) + (1 - beta) * PHI * trend;
      }
      const [l, b] = [level, trend];
      if (!best || sse < best.sse) best = { sse, params: { alpha, beta, phi: PHI }, ahead: (h) => l + dampedSum(h) * b };
    }
  }
  return best;
}

function holtWintersFit(multiplicative: boolean): Fitter {
  return (y, m) => {
    if (y.length < 2 * m) return undefined;
    const first = sum(y.slice(0, m)) / m;
    const second = sum(y.slice(m, 2 * m)) / m;
    if (multiplicative && (first <= EPS || second <= EPS)) return undefined;
    // Initial season: each weekday's average departure from its week's mean over every whole
    // week, steadier than the first week alone on noisy counts.
    const weeks = Math.floor(y.length / m);
    const initial = new Array<number>(m).fill(0);
    for (let w = 0; w < weeks; w++) {
      const week = y.slice(w * m, (w + 1) * m);
      const mean = sum(week) / m;
      week.forEach((v, i) => (initial[i]! += (multiplicative ? (mean > EPS ? v / mean : 1) : v - mean) / weeks));
    }
    let best: Fit | undefined;
    for (const alpha of ALPHAS) {
      for (const beta of [0, ...BETAS]) {
        for (const gamma of GAMMAS) {
          let level = first;
          // β = 0: no trend at all, the seasonal model without one.
          let trend = beta === 0 ? 0 : (second - first) / m;
          const season = [...initial];
          let sse = 0;
          for (let t = m; t < y.length; t++) {
            const s = season[t % m]!;
            const base = level + PHI * trend;
            const predicted = multiplicative ? base * s : base + s;
            sse += (y[t]! - predicted) ** 2;
            const previous = level;
            const deseasoned = multiplicative ? (s > EPS ? y[t]! / s : base) : y[t]! - s;
            level = alpha * deseasoned + (1 - alpha) * base;
            if (multiplicative && level < EPS) level = EPS;
            trend = beta * (level - previous) + (1 - beta) * PHI * trend;
            season[t % m] = multiplicative ? gamma * (y[t]! / level) + (1 - gamma) * s : gamma * (y[t]! - level) + (1 - gamma) * s;
          }
          const [l, b, n] = [level, trend, y.length];
          const seasonAt = [...season];
          const ahead = (h: number) => {
            const s = seasonAt[(n + h - 1) % m]!;
            const base = l + dampedSum(h) * b;
            return multiplicative ? base * s : base + s;
          };
          if (!best || sse < best.sse) best = { sse, params: { alpha, beta, gamma, phi: PHI }, ahead };
        }
      }
    }
    return best;
  };
}

/** Croston's method (sizes and intervals smoothed apart); SBA scales it by 1 − α/2 against its bias. */
function crostonFit(debiased: boolean): Fitter {
  return (y) => {
    if (y.filter((v) => v > 0).length < 2) return undefined;
    let best: Fit | undefined;
    for (const alpha of ALPHAS) {
      const factor = debiased ? 1 - alpha / 2 : 1;
      let size = 0;
      let interval = 0;
      let since = 0;
      let seen = false;
      let sse = 0;
      for (const v of y) {
        since += 1;
        const predicted = seen ? (factor * size) / interval : 0;
        if (seen) sse += (v - predicted) ** 2;
        if (v > 0) {
          if (!seen) [size, interval, seen] = [v, since, true];
          else {
            size += alpha * (v - size);
            interval += alpha * (since - interval);
          }
          since = 0;
        }
      }
      const value = (factor * size) / Math.max(interval, 1);
      if (!best || sse < best.sse) best = { sse, params: { alpha }, ahead: () => value };
    }
    return best;
  };
}

/** Teunter–Syntetos–Babai: the probability of demand is smoothed every day, so obsolescence shows. */
function tsbFit(y: number[]): Fit | undefined {
  const firstDemand = y.findIndex((v) => v > 0);
  if (firstDemand < 0 || y.filter((v) => v > 0).length < 2) return undefined;
  let best: Fit | undefined;
  for (const alpha of ALPHAS) {
    for (const beta of [0.05, 0.1, 0.2]) {
      let size = y[firstDemand]!;
      let probability = y.filter((v) => v > 0).length / y.length;
      let sse = 0;
      for (let t = firstDemand + 1; t < y.length; t++) {
        const v = y[t]!;
        sse += (v - probability * size) ** 2;
        if (v > 0) {
          probability += beta * (1 - probability);
          size += alpha * (v - size);
        } else probability *= 1 - beta;
      }
      const value = probability * size;
      if (!best || sse < best.sse) best = { sse, params: { alpha, beta }, ahead: () => value };
    }
  }
  return best;
}

/** Candidates in order of simplicity: on a tie the simpler one wins. */
const FITTERS: [ForecastMethod, Fitter][] = [
  ['mean', meanFit],
  ['seasonal_naive', seasonalNaiveFit],
  ['ses', sesFit],
  ['croston', crostonFit(false)],
  ['sba', crostonFit(true)],
  ['tsb', tsbFit],
  ['holt', holtFit],
  ['holt_winters_additive', holtWintersFit(false)],
  ['holt_winters_multiplicative', holtWintersFit(true)],
];

/** Average days between demands above which a series is intermittent (Syntetos–Boylan's cut-off). */
export const INTERMITTENT_ADI = 1.32;
/** How much lower (as a share) another method's backtest MASE must be for it to replace the mean. */
export const MEAN_MARGIN = 0.05;
const INTERMITTENT_METHODS = new Set<ForecastMethod>(['mean', 'ses', 'croston', 'sba', 'tsb']);

/** Mean absolute one-day change of `y`, the MASE denominator; the mean level (or 1) when the series never changes. */
export function maseScale(y: number[]): number {
  let total = 0;
  for (let t = 1; t < y.length; t++) total += Math.abs(y[t]! - y[t - 1]!);
  if (y.length > 1 && total > EPS) return total / (y.length - 1);
  const level = y.length ? sum(y.map(Math.abs)) / y.length : 0;
  return level > EPS ? level : 1;
}

/** WAPE of forecasts against actuals; null when the actuals sum to zero. */
export function wape(actual: number[], forecast: number[]): number | null {
  const total = sum(actual.map(Math.abs));
  if (total <= EPS) return null;
  return sum(actual.map((a, i) => Math.abs(a - (forecast[i] ?? 0)))) / total;
}

/** Daily demand as the methods see it: non-finite days as zero and negative days (adjustments, returns) as zero. */
export function cleanDemand(history: number[]): number[] {
  return history.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
}

function forecastWith(fit: Fit, horizon: number): number[] {
  return Array.from({ length: Math.max(0, horizon) }, (_, i) => Math.max(0, finite(fit.ahead(i + 1))));
}

const round = (x: number, digits = 4) => Math.round(finite(x) * 10 ** digits) / 10 ** digits;

/** The method with the lowest backtest MASE over the last `origins` windows of `testDays`, refitted on the whole history. */
export function forecastDemand(history: number[], options: ForecastOptions): DemandForecast {
  const y = cleanDemand(history);
  const m = options.seasonLength ?? 7;
  const origins = options.origins ?? 4;
  const testDays = options.testDays ?? 7;
  const horizon = Math.max(0, Math.floor(options.horizon));
  const cleaned = y.some((v, i) => v !== history[i]) ? ' Negative or missing days counted as zero.' : '';

  if (y.length === 0) {
    return { method: 'none', params: {}, daily: new Array<number>(horizon).fill(0), wape: null, mase: null, errorSd: 0, candidates: [], note: 'No history: no demand forecast.' };
  }
  const minTrain = 7;
  const windows = Math.min(origins, Math.floor((y.length - minTrain) / testDays));
  if (windows < 1) {
    const fit = meanFit(y)!;
    const level = fit.ahead(1);
    const spread = y.length > 1 ? Math.sqrt(fit.sse / (y.length - 1)) : level;
    return {
      method: 'mean',
      params: {},
      daily: forecastWith(fit, horizon),
      wape: null,
      mase: null,
      errorSd: round(spread),
      candidates: [],
      note: `Only ${y.length} day(s) of history, too few to backtest: the mean, with the history's spread as its error.${cleaned}`,
    };
  }

  // Syntetos–Boylan: demand on fewer than 1 day in 1.32 is intermittent, where trend and season fit noise.
  const demandDays = y.filter((v) => v > 0).length;
  const intermittent = demandDays > 0 && y.length / demandDays > INTERMITTENT_ADI;
  const scores = new Map<ForecastMethod, { abs: number; actual: number; mase: number; squares: number; count: number; windows: number }>();
  for (let w = windows; w >= 1; w--) {
    const cut = y.length - w * testDays;
    const train = y.slice(0, cut);
    const test = y.slice(cut, cut + testDays);
    const scale = maseScale(train);
    for (const [method, fitter] of FITTERS) {
      if (intermittent && !INTERMITTENT_METHODS.has(method)) continue;
      const fit = fitter(train, m);
      if (!fit) continue;
      const predicted = forecastWith(fit, test.length);
      const errors = test.map((a, i) => a - predicted[i]!);
      const abs = sum(errors.map(Math.abs));
      const score = scores.get(method) ?? { abs: 0, actual: 0, mase: 0, squares: 0, count: 0, windows: 0 };
      score.abs += abs;
      score.actual += sum(test);
      score.mase += abs / test.length / scale;
      score.squares += sum(errors.map((e) => e * e));
      score.count += test.length;
      score.windows += 1;
      scores.set(method, score);
    }
  }
  // A method scores only if it could be fitted at every origin, so all compete on the same windows.
  const candidates = FITTERS.map(([method]) => ({ method, score: scores.get(method) }))
    .filter((c) => c.score && c.score.windows === windows)
    .map((c) => ({ method: c.method, s: c.score! }));
  const ranked = candidates
    .map((c) => ({ method: c.method, wape: c.s.actual > EPS ? round(c.s.abs / c.s.actual) : null, mase: round(c.s.mase / c.s.windows), rmse: Math.sqrt(c.s.squares / c.s.count) }))
    .sort((a, b) => a.mase - b.mase);
  // The mean stays unless another method beats it clearly: four short weeks are a noisy judge.
  const mean = ranked.find((c) => c.method === 'mean');
  const chosen = mean && ranked[0]!.mase > mean.mase * (1 - MEAN_MARGIN) ? mean : ranked[0]!;
  const fit = FITTERS.find(([method]) => method === chosen.method)![1](y, m)!;
  return {
    method: chosen.method,
    params: fit.params,
    daily: forecastWith(fit, horizon),
    wape: chosen.wape,
    mase: chosen.mase,
    errorSd: round(chosen.rmse),
    candidates: ranked.map(({ method, wape: w, mase }) => ({ method, wape: w, mase })),
    note: `Lowest MASE of ${ranked.length} methods over ${windows} backtest window(s) of ${testDays} days${intermittent ? ' (intermittent demand: no trend or season methods)' : ''}.${cleaned}`,
  };
}

/** Forecast demand over the first `days` days of the horizon, with a two-sided interval of ±z·σ·√days, never below zero. */
export function demandOver(forecast: Pick<DemandForecast, 'daily' | 'errorSd'>, days: number, z: number): { expected: number; low: number; high: number } {
  const n = Math.max(0, Math.min(days, forecast.daily.length));
  const expected = sum(forecast.daily.slice(0, n));
  const half = z * forecast.errorSd * Math.sqrt(n);
  return { expected: round(expected, 3), low: round(Math.max(0, expected - half), 3), high: round(expected + half, 3) };
}
