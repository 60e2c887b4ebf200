import { describe, expect, it } from 'vitest';
import {
  demandStats,
  excessStock,
  horizonUplift,
  overlappingUplifts,
  planTransfersBeforeBuy,
  reorderPoint,
  roundOrderQuantity,
  safetyStock,
  suggestReplenishment,
  type ReplenishmentInput,
  type WarehousePlan,
} from '../../domain/replenishment.js';

describe('demandStats', () => {
  it.each([
    { name: 'no history', daily: [], averageDaily: 0, deviation: 0 },
    { name: 'one day', daily: [4], averageDaily: 4, deviation: 0 },
    { name: 'steady demand', daily: [5, 5, 5, 5], averageDaily: 5, deviation: 0 },
    { name: 'zeros count as days', daily: [0, 10, 0, 10], averageDaily: 5, deviation: Math.sqrt(100 / 3) },
    { name: 'sample deviation', daily: [2, 4, 4, 4, 5, 5, 7, 9], averageDaily: 5, deviation: Math.sqrt(32 / 7) },
  ])('$name', ({ daily, averageDaily, deviation }) => {
    const stats = demandStats(daily);
    expect(stats.averageDaily).toBeCloseTo(averageDaily, 9);
    expect(stats.deviation).toBeCloseTo(deviation, 9);
  });
});

describe('safetyStock and reorderPoint', () => {
  it.each([
    { skuClass: 'A' as const, deviation: 2, lead: 9, safety: 13 }, // 2.05 × 2 × 3 = 12.3 → 13
    { skuClass: 'B' as const, deviation: 2, lead: 9, safety: 10 }, // 1.65 × 2 × 3 = 9.9 → 10
    { skuClass: 'C' as const, deviation: 2, lead: 9, safety: 8 }, // 1.28 × 2 × 3 = 7.68 → 8
    { skuClass: 'A' as const, deviation: 0, lead: 9, safety: 0 },
    { skuClass: 'B' as const, deviation: 1, lead: 4, safety: 4 }, // 1.65 × 1 × 2 = 3.3 → 4
  ])('class $skuClass, σ $deviation, lead $lead days: $safety', ({ skuClass, deviation, lead, safety }) => {
    expect(safetyStock(skuClass, deviation, lead)).toBe(safety);
  });

  it.each([
    { average: 5, lead: 10, safety: 13, point: 63 },
    { average: 0.5, lead: 3, safety: 0, point: 2 },
    { average: 0, lead: 10, safety: 0, point: 0 },
  ])('reorder point of $average/day over $lead days + $safety', ({ average, lead, safety, point }) => {
    expect(reorderPoint(average, lead, safety)).toBe(point);
  });
});

describe('roundOrderQuantity', () => {
  it.each([
    { need: 0, moq: 10, pack: 6, qty: 0 },
    { need: -5, moq: 10, pack: 6, qty: 0 },
    { need: 3, moq: 10, pack: 1, qty: 10 },
    { need: 3, moq: 10, pack: 6, qty: 12 },
    { need: 25, moq: 10, pack: 6, qty: 30 },
    { need: 24, moq: 10, pack: 6, qty: 24 },
    { need: 7, moq: 1, pack: 1, qty: 7 },
  ])('need $need, MOQ $moq, pack $pack: $qty', ({ need, moq, pack, qty }) => {
    expect(roundOrderQuantity(need, moq, pack)).toBe(qty);
  });
});

describe('suggestReplenishment', () => {
  const base: ReplenishmentInput = {
    skuClass: 'B',
    dailyShipped: [5, 5, 5, 5],
    leadTimeDays: 10,
    reviewPeriodDays: 7,
    available: 20,
    allocated: 5,
    quarantine: 0,
    inbound: 0,
    inTransit: 0,
    moq: 1,
    packSize: 1,
  };
  it.each([
    // Reorder point 50, target 85; position 20 → order 65.
    { name: 'below the reorder point: order up to target', input: {}, reorder: true, position: 20, point: 50, qty: 65 },
    { name: 'inbound counts in the position', input: { inbound: 40 }, reorder: false, position: 60, point: 50, qty: 0 },
    { name: 'in-transit and quarantine count too', input: { inTransit: 10, quarantine: 20 }, reorder: true, position: 50, point: 50, qty: 35 },
    { name: 'allocated stock is not free', input: { available: 0, allocated: 30 }, reorder: true, position: 0, point: 50, qty: 85 },
    { name: 'MOQ and pack size', input: { moq: 100, packSize: 12 }, reorder: true, position: 20, point: 50, qty: 108 },
    { name: 'uplift raises demand', input: { uplift: 2 }, reorder: true, position: 20, point: 100, qty: 150 },
    { name: 'no demand, no order', input: { dailyShipped: [0, 0, 0], available: 0 }, reorder: false, position: 0, point: 0, qty: 0 },
  ])('$name', ({ input, reorder, position, point, qty }) => {
    const plan = suggestReplenishment({ ...base, ...input });
    expect(plan).toMatchObject({ reorder, position, reorderPoint: point, suggestedQty: qty });
  });
});

describe('transfer before buy', () => {
  // Steady 5/day, class B, lead 10, review 7: reorder point 50, target level 85.
  const at = (warehouse: string, available: number, extra: Partial<ReplenishmentInput> = {}, moq = 1, packSize = 1): WarehousePlan => {
    const input: ReplenishmentInput = {
      skuClass: 'B',
      dailyShipped: [5, 5, 5, 5],
      leadTimeDays: 10,
      reviewPeriodDays: 7,
      available,
      allocated: 0,
      quarantine: 0,
      inbound: 0,
      inTransit: 0,
      moq,
      packSize,
      ...extra,
    };
    return { warehouse, available, moq, packSize, plan: suggestReplenishment(input) };
  };

  it.each([
    { available: 200, target: 85, excess: 115 },
    { available: 85, target: 85, excess: 0 },
    { available: 10, target: 85, excess: 0 },
  ])('excess of $available available over target $target: $excess', ({ available, target, excess }) => {
    expect(excessStock(available, { targetLevel: target })).toBe(excess);
  });

  it.each([
    {
      name: 'a warehouse with excess covers the whole need: no purchase',
      places: [at('EAST', 20), at('WEST', 200)],
      expected: { EAST: { transfers: [{ from: 'WEST', qty: 65 }], transferInQty: 65, suggestedQty: 0, purchaseQtyBeforeTransfers: 65 }, WEST: { excess: 115, transferOutQty: 65, suggestedQty: 0 } },
    },
    {
      name: 'excess covers part: transfer it, buy the rest rounded to MOQ and pack',
      places: [at('EAST', 20, {}, 10, 6), at('WEST', 100)],
      // need 65, WEST spares 15 → buy 50, rounded to packs of 6 → 54
      expected: { EAST: { transfers: [{ from: 'WEST', qty: 15 }], transferInQty: 15, suggestedQty: 54, purchaseQtyBeforeTransfers: 66 }, WEST: { excess: 15, transferOutQty: 15 } },
    },
    {
      name: 'no warehouse above its target: buy',
      places: [at('EAST', 20), at('WEST', 85)],
      expected: { EAST: { transfers: [], transferInQty: 0, suggestedQty: 65 }, WEST: { excess: 0, transferOutQty: 0 } },
    },
    {
      name: 'inbound stock is not transferable: the giver counts only available',
      places: [at('EAST', 20), at('WEST', 50, { inbound: 150 })],
      expected: { EAST: { transfers: [], suggestedQty: 65 }, WEST: { excess: 0, reorder: false } },
    },
    {
      name: 'largest excess gives first, then the next',
      places: [at('EAST', 0), at('NORTH', 120), at('WEST', 140)],
      // EAST needs 85: WEST spares 55, NORTH 35 → 55 + 30
      expected: { EAST: { transfers: [{ from: 'WEST', qty: 55 }, { from: 'NORTH', qty: 30 }], transferInQty: 85, suggestedQty: 0 }, NORTH: { transferOutQty: 30 }, WEST: { transferOutQty: 55 } },
    },
    {
      name: 'the most urgent warehouse is served first; the other buys',
      places: [at('EAST', 40), at('SOUTH', 0), at('WEST', 170)],
      // WEST spares 85: SOUTH (0, needs 85) takes all; EAST (40, needs 45) buys 45
      expected: { SOUTH: { transfers: [{ from: 'WEST', qty: 85 }], suggestedQty: 0 }, EAST: { transfers: [], suggestedQty: 45 }, WEST: { transferOutQty: 85 } },
    },
    {
      name: 'no demand anywhere: nothing moves',
      places: [at('EAST', 0, { dailyShipped: [0, 0] }), at('WEST', 200, { dailyShipped: [0, 0] })],
      expected: { EAST: { reorder: false, transfers: [], suggestedQty: 0 }, WEST: { excess: 200, transferOutQty: 0 } },
    },
  ])('$name', ({ places, expected }) => {
    const byWarehouse = Object.fromEntries(planTransfersBeforeBuy(places).map((p) => [p.warehouse, p]));
    for (const [warehouse, fields] of Object.entries(expected)) expect(byWarehouse[warehouse], warehouse).toMatchObject(fields);
  });
});

describe('horizonUplift', () => {
  const start = '2026-06-01';
  it.each([
    { name: 'no uplifts', uplifts: [], days: 10, factor: 1 },
    { name: 'covers the whole horizon', uplifts: [{ from: '2026-05-01', to: '2026-07-01', factor: 1.5 }], days: 10, factor: 1.5 },
    { name: 'before the horizon', uplifts: [{ from: '2026-05-01', to: '2026-05-31', factor: 3 }], days: 10, factor: 1 },
    { name: 'after the horizon', uplifts: [{ from: '2026-06-11', to: '2026-06-20', factor: 3 }], days: 10, factor: 1 },
    { name: 'last day of the horizon only', uplifts: [{ from: '2026-06-10', to: '2026-06-20', factor: 3 }], days: 10, factor: (9 + 3) / 10 },
    { name: 'first day only (to is inclusive)', uplifts: [{ from: '2026-05-20', to: '2026-06-01', factor: 2 }], days: 4, factor: (2 + 3) / 4 },
    { name: 'half the horizon at 2', uplifts: [{ from: '2026-06-06', to: '2026-06-30', factor: 2 }], days: 10, factor: 1.5 },
    {
      name: 'two uplifts weighted by overlap days',
      uplifts: [
        { from: '2026-06-01', to: '2026-06-03', factor: 2 },
        { from: '2026-06-08', to: '2026-06-09', factor: 0.5 },
      ],
      days: 10,
      factor: (3 * 2 + 2 * 0.5 + 5) / 10,
    },
    { name: 'a factor of 0 stops demand on its days', uplifts: [{ from: '2026-06-01', to: '2026-06-05', factor: 0 }], days: 10, factor: 0.5 },
    { name: 'a date-time counts as its day', uplifts: [{ from: '2026-06-01T23:00:00Z', to: '2026-06-02', factor: 2 }], days: 4, factor: 1.5 },
    { name: 'no horizon', uplifts: [{ from: '2026-06-01', to: '2026-06-30', factor: 2 }], days: 0, factor: 1 },
  ])('$name', ({ uplifts, days, factor }) => {
    expect(horizonUplift(uplifts, start, days)).toBeCloseTo(factor, 12);
  });
});

describe('overlappingUplifts', () => {
  it.each([
    { name: 'none', uplifts: [], problems: 0 },
    { name: 'adjacent ranges do not overlap', uplifts: [{ from: '2026-06-01', to: '2026-06-10', factor: 2 }, { from: '2026-06-11', to: '2026-06-20', factor: 3 }], problems: 0 },
    { name: 'a shared day overlaps', uplifts: [{ from: '2026-06-10', to: '2026-06-20', factor: 3 }, { from: '2026-06-01', to: '2026-06-10', factor: 2 }], problems: 1 },
    { name: 'one inside another', uplifts: [{ from: '2026-06-01', to: '2026-06-30', factor: 2 }, { from: '2026-06-05', to: '2026-06-06', factor: 3 }], problems: 1 },
    {
      name: 'a long range over two later ones',
      uplifts: [{ from: '2026-06-01', to: '2026-06-30', factor: 2 }, { from: '2026-06-05', to: '2026-06-06', factor: 3 }, { from: '2026-06-10', to: '2026-06-12', factor: 3 }],
      problems: 2,
    },
  ])('$name', ({ uplifts, problems }) => {
    expect(overlappingUplifts(uplifts)).toHaveLength(problems);
  });
});
