import { describe, expect, it } from 'vitest';
import { defaultAnomalyThresholds as t, demandAnomaly, leadTimeAnomaly, orderSizeAnomaly, returnRateAnomaly, shrinkageAnomaly } from '../../domain/anomaly.js';

function stream(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
/** Noisy demand around `level` with a weekly shape, `days` long. */
const noisy = (days: number, level: number, seed: number) => {
  const r = stream(seed);
  return Array.from({ length: days }, (_, d) => Math.max(0, Math.round(level * (d % 7 >= 5 ? 1.4 : 1) + (r() - 0.5) * level * 0.4)));
};

describe('demand far outside the forecast interval', () => {
  const history = noisy(56, 20, 1);
  it.each([
    { name: 'a spike', observed: 90, direction: 'above' },
    { name: 'a drop to nothing', observed: 0, direction: 'below' },
  ])('$name is raised with the expected range, the observed value and the series', ({ observed, direction }) => {
    const a = demandAnomaly('SKU-1@BER', history, observed)!;
    expect(a).toMatchObject({ kind: 'anomaly_demand', subject: 'SKU-1@BER', observed, direction, series: history });
    expect(a.expected.low).toBeLessThan(a.expected.high);
    expect(observed < a.expected.low || observed > a.expected.high).toBe(true);
    expect(a.message).toContain(`${observed} units in a day`);
  });

  it('ordinary noise is not raised, day after day', () => {
    const longer = noisy(120, 20, 2);
    for (let day = 56; day < 120; day++) expect(demandAnomaly('SKU-1@BER', longer.slice(0, day), longer[day]!)).toBeNull();
  });

  it('too little history raises nothing', () => {
    expect(demandAnomaly('SKU-1@BER', [1, 2, 3], 500)).toBeNull();
  });

  it('the threshold is configurable', () => {
    expect(demandAnomaly('SKU-1@BER', history, 40, { ...t, demandSigmas: 100, demandMinUnits: 100 })).toBeNull();
  });
});

describe('return rate, shrinkage, lead time, order size', () => {
  it.each([
    { name: 'return rate jumps', got: () => returnRateAnomaly('SKU-2', { returned: 30, shipped: 1000 }, { returned: 12, shipped: 60 }), kind: 'anomaly_return_rate' },
    { name: 'return rate normal', got: () => returnRateAnomaly('SKU-2', { returned: 30, shipped: 1000 }, { returned: 3, shipped: 60 }), kind: null },
    { name: 'return rate on too few shipments', got: () => returnRateAnomaly('SKU-2', { returned: 30, shipped: 1000 }, { returned: 3, shipped: 5 }), kind: null },
    { name: 'repeated losses at one bin', got: () => shrinkageAnomaly('BER/A-01-03', [2, 1, 4]), kind: 'anomaly_shrinkage' },
    { name: 'one loss is not a pattern', got: () => shrinkageAnomaly('BER/A-01-03', [2]), kind: null },
    { name: 'lead time drifting up', got: () => leadTimeAnomaly('SUP-1', 10, [10, 11, 15, 16, 17]), kind: 'anomaly_lead_time' },
    { name: 'lead time as stated', got: () => leadTimeAnomaly('SUP-1', 10, [9, 11, 10, 12, 9]), kind: null },
    { name: 'an order far above the customer’s usual', got: () => orderSizeAnomaly('C-1', [5_000, 6_000, 4_500, 5_500], 90_000), kind: 'anomaly_order_size' },
    { name: 'an order a bit above the usual', got: () => orderSizeAnomaly('C-1', [5_000, 6_000, 4_500, 5_500], 9_000), kind: null },
    { name: 'a new customer has no usual', got: () => orderSizeAnomaly('C-2', [5_000], 90_000), kind: null },
  ])('$name', ({ got, kind }) => {
    const a = got();
    if (kind === null) expect(a).toBeNull();
    else {
      expect(a!.kind).toBe(kind);
      expect(a!.observed).toBeGreaterThan(a!.expected.high);
      expect(a!.series.length).toBeGreaterThan(0);
    }
  });
});
