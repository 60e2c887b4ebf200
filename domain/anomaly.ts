/**
 * Anomaly checks: each compares an observed value with the range its own history gives, and
 * answers an alert that states the expected range, the observed value and the series behind
 * it, or null when the value is within range. Thresholds come in as arguments, so they are
 * configurable; the checks have no clock and no I/O.
 */
import { forecastDemand } from './forecast.js';

export type AnomalyKind = 'anomaly_demand' | 'anomaly_return_rate' | 'anomaly_shrinkage' | 'anomaly_lead_time' | 'anomaly_order_size';

export interface Anomaly {
  kind: AnomalyKind;
  /** What it is about: `SKU@WH`, a supplier, a customer, a warehouse's bin. */
  subject: string;
  expected: { low: number; high: number };
  observed: number;
  direction: 'above' | 'below';
  /** The values the expected range comes from, oldest first. */
  series: number[];
  message: string;
}

export interface AnomalyThresholds {
  /** Demand outside forecast ± this many forecast-error σ. */
  demandSigmas: number;
  /** …and at least this many units away from the forecast (small series are noisy). */
  demandMinUnits: number;
  /** A return rate this many times the usual and at least `returnRateMinPoints` higher. */
  returnRateFactor: number;
  returnRateMinPoints: number;
  returnRateMinShipped: number;
  /** This many negative adjustments or short picks at one place within the window. */
  shrinkageCount: number;
  /** Actual lead time beyond stated × (1 + this), over at least `leadTimeMinOrders` POs. */
  leadTimeTolerance: number;
  leadTimeMinOrders: number;
  /** An order above this many times the customer's median, with at least `orderSizeMinOrders` before. */
  orderSizeFactor: number;
  orderSizeMinOrders: number;
}

export const defaultAnomalyThresholds: AnomalyThresholds = {
  demandSigmas: 3,
  demandMinUnits: 5,
  returnRateFactor: 2,
  returnRateMinPoints: 0.05,
  returnRateMinShipped: 20,
  shrinkageCount: 3,
  leadTimeTolerance: 0.3,
  leadTimeMinOrders: 3,
  orderSizeFactor: 5,
  orderSizeMinOrders: 3,
};

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Yesterday's demand (`observed`) against the forecast from the days before it (`history`, oldest first). */
export function demandAnomaly(subject: string, history: number[], observed: number, t: AnomalyThresholds = defaultAnomalyThresholds): Anomaly | null {
  if (history.length < 14) return null;
  const f = forecastDemand(history, { horizon: 1 });
  const expected = f.daily[0] ?? 0;
  const half = Math.max(t.demandSigmas * f.errorSd, t.demandMinUnits);
  const low = Math.max(0, expected - half);
  const high = expected + half;
  if (observed >= low && observed <= high) return null;
  const direction = observed > high ? 'above' : 'below';
  return {
    kind: 'anomaly_demand',
    subject,
    expected: { low: r2(low), high: r2(high) },
    observed,
    direction,
    series: history,
    message: `${subject}: ${observed} units in a day, ${direction} the expected ${r2(low)}–${r2(high)} (${f.method} forecast ${r2(expected)})`,
  };
}

/** The last window's returns per shipped unit against the sku's usual rate. */
export function returnRateAnomaly(
  subject: string,
  usual: { returned: number; shipped: number },
  recent: { returned: number; shipped: number },
  t: AnomalyThresholds = defaultAnomalyThresholds,
): Anomaly | null {
  if (recent.shipped < t.returnRateMinShipped || usual.shipped < t.returnRateMinShipped) return null;
  const base = usual.returned / usual.shipped;
  const rate = recent.returned / recent.shipped;
  const high = Math.max(base * t.returnRateFactor, base + t.returnRateMinPoints);
  if (rate <= high) return null;
  return {
    kind: 'anomaly_return_rate',
    subject,
    expected: { low: 0, high: r2(high) },
    observed: r2(rate),
    direction: 'above',
    series: [r2(base), r2(rate)],
    message: `${subject}: return rate ${Math.round(rate * 100)}% (${recent.returned} of ${recent.shipped}), usually ${Math.round(base * 100)}% (${usual.returned} of ${usual.shipped})`,
  };
}

/** Negative adjustments or short picks at one place (a bin, a warehouse) in the window: a shrinkage pattern. */
export function shrinkageAnomaly(subject: string, losses: number[], t: AnomalyThresholds = defaultAnomalyThresholds): Anomaly | null {
  const events = losses.filter((q) => q > 0);
  if (events.length < t.shrinkageCount) return null;
  const units = events.reduce((a, b) => a + b, 0);
  return {
    kind: 'anomaly_shrinkage',
    subject,
    expected: { low: 0, high: t.shrinkageCount - 1 },
    observed: events.length,
    direction: 'above',
    series: events,
    message: `${subject}: ${events.length} losses (${units} units) in the window; fewer than ${t.shrinkageCount} is usual`,
  };
}

/** A supplier's actual lead times (days, per PO, oldest first) drifting from its stated one. */
export function leadTimeAnomaly(subject: string, statedDays: number, actualDays: number[], t: AnomalyThresholds = defaultAnomalyThresholds): Anomaly | null {
  if (actualDays.length < t.leadTimeMinOrders || statedDays <= 0) return null;
  const recent = actualDays.slice(-t.leadTimeMinOrders);
  const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
  const low = statedDays * (1 - t.leadTimeTolerance);
  const high = statedDays * (1 + t.leadTimeTolerance);
  if (mean >= low && mean <= high) return null;
  const direction = mean > high ? 'above' : 'below';
  return {
    kind: 'anomaly_lead_time',
    subject,
    expected: { low: r2(low), high: r2(high) },
    observed: r2(mean),
    direction,
    series: actualDays.map(r2),
    message: `${subject}: the last ${recent.length} purchase orders took ${r2(mean)} days on average, stated ${statedDays}`,
  };
}

/** An order's value against the customer's earlier orders (oldest first). */
export function orderSizeAnomaly(subject: string, earlier: number[], value: number, t: AnomalyThresholds = defaultAnomalyThresholds): Anomaly | null {
  if (earlier.length < t.orderSizeMinOrders) return null;
  const sorted = [...earlier].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const high = Math.max(median * t.orderSizeFactor, sorted[sorted.length - 1]!);
  if (value <= high) return null;
  return {
    kind: 'anomaly_order_size',
    subject,
    expected: { low: 0, high: r2(high) },
    observed: value,
    direction: 'above',
    series: earlier,
    message: `${subject}: an order of ${value}, above ${r2(high)} (${t.orderSizeFactor}× the median ${r2(median)} of ${earlier.length} earlier orders, or the largest)`,
  };
}
