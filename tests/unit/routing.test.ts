import { describe, expect, it } from 'vitest';
import { distanceKm, routeOrder, routingPolicies, type RouteLine, type RoutePlan, type WarehouseSite } from '../../domain/routing.js';

const newYork = { lat: 40.7128, lon: -74.006 };
const losAngeles = { lat: 34.0522, lon: -118.2437 };
const london = { lat: 51.5074, lon: -0.1278 };
const paris = { lat: 48.8566, lon: 2.3522 };

// Rounded distances from New York: NJ 14 km, PA 130 km, IL 1144 km, CA 3936 km.
const NJ: WarehouseSite = { code: 'NJ', lat: 40.7357, lon: -74.1724 };
const PA: WarehouseSite = { code: 'PA', lat: 39.9526, lon: -75.1652 };
const IL: WarehouseSite = { code: 'IL', lat: 41.8781, lon: -87.6298 };
const CA: WarehouseSite = { code: 'CA', ...losAngeles };
// Listed out of distance order on purpose.
const sites = [CA, IL, PA, NJ];

const stock = (entries: Record<string, number>) => new Map(Object.entries(entries));
const line = (lineNo: number, sku: string, qty: number): RouteLine => ({ lineNo, sku, qty });

describe('distanceKm', () => {
  it.each([
    { name: 'same point', a: newYork, b: newYork, km: 0, tolerancePct: 0 },
    { name: 'New York – Los Angeles', a: newYork, b: losAngeles, km: 3936, tolerancePct: 1 },
    { name: 'Los Angeles – New York (symmetric)', a: losAngeles, b: newYork, km: 3936, tolerancePct: 1 },
    { name: 'London – Paris', a: london, b: paris, km: 344, tolerancePct: 1 },
    { name: 'equator to pole: a quarter of a great circle', a: { lat: 0, lon: 0 }, b: { lat: 90, lon: 0 }, km: 10_008, tolerancePct: 0.1 },
    { name: 'antipodes: half a great circle', a: { lat: 0, lon: 0 }, b: { lat: 0, lon: 180 }, km: 20_015, tolerancePct: 0.1 },
    { name: 'across the date line', a: { lat: 0, lon: 179.5 }, b: { lat: 0, lon: -179.5 }, km: 111, tolerancePct: 1 },
  ])('$name ≈ $km km', ({ a, b, km, tolerancePct }) => {
    const d = distanceKm(a, b);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(Math.abs(d - km)).toBeLessThanOrEqual((km * tolerancePct) / 100);
  });
});

type Expected = Pick<RoutePlan, 'units' | 'short' | 'split' | 'reason'>;

describe('routeOrder', () => {
  it.each<{ name: string; lines: RouteLine[]; available: Map<string, number>; expected: Expected }>([
    {
      name: 'the nearest warehouse fills everything',
      lines: [line(1, 'A', 2), line(2, 'B', 1)],
      available: stock({ 'A@NJ': 5, 'B@NJ': 5, 'A@PA': 5, 'B@PA': 5 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 2 },
          { lineNo: 2, sku: 'B', warehouse: 'NJ', qty: 1 },
        ],
        short: [],
        split: false,
        reason: 'NJ is the nearest warehouse (14 km) that fills the whole order',
      },
    },
    {
      name: 'a farther warehouse that fills everything beats a nearer one that fills part',
      lines: [line(1, 'A', 10)],
      available: stock({ 'A@NJ': 9, 'A@PA': 10 }),
      expected: {
        units: [{ lineNo: 1, sku: 'A', warehouse: 'PA', qty: 10 }],
        short: [],
        split: false,
        reason: 'PA is the nearest warehouse (130 km) that fills the whole order',
      },
    },
    {
      name: 'a far single warehouse beats a split between near ones',
      lines: [line(1, 'A', 3), line(2, 'B', 3)],
      available: stock({ 'A@NJ': 3, 'B@PA': 3, 'A@CA': 3, 'B@CA': 3 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'CA', qty: 3 },
          { lineNo: 2, sku: 'B', warehouse: 'CA', qty: 3 },
        ],
        short: [],
        split: false,
        reason: 'CA is the nearest warehouse (3936 km) that fills the whole order',
      },
    },
    {
      name: 'split when no single warehouse fills: nearest stock first, per line',
      lines: [line(1, 'A', 10), line(2, 'B', 4)],
      available: stock({ 'A@NJ': 6, 'A@PA': 10, 'B@PA': 2, 'B@IL': 5, 'A@CA': 50 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 6 },
          { lineNo: 1, sku: 'A', warehouse: 'PA', qty: 4 },
          { lineNo: 2, sku: 'B', warehouse: 'PA', qty: 2 },
          { lineNo: 2, sku: 'B', warehouse: 'IL', qty: 2 },
        ],
        short: [],
        split: true,
        reason: 'no single warehouse fills the order; nearest stock first from NJ, PA, IL',
      },
    },
    {
      name: 'warehouses without stock (zero or no entry) never appear in the units',
      lines: [line(1, 'A', 5)],
      available: stock({ 'A@NJ': 0, 'B@PA': 100, 'A@IL': 3, 'A@CA': 3 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'IL', qty: 3 },
          { lineNo: 1, sku: 'A', warehouse: 'CA', qty: 2 },
        ],
        short: [],
        split: true,
        reason: 'no single warehouse fills the order; nearest stock first from IL, CA',
      },
    },
    {
      name: 'short quantity reported for the line, from one warehouse',
      lines: [line(1, 'A', 10)],
      available: stock({ 'A@NJ': 4 }),
      expected: {
        units: [{ lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 4 }],
        short: [{ lineNo: 1, sku: 'A', qty: 6 }],
        split: false,
        reason: 'no single warehouse fills the order; nearest stock first from NJ',
      },
    },
    {
      name: 'short quantities reported per line, while other lines are filled',
      lines: [line(1, 'A', 10), line(2, 'B', 2), line(3, 'C', 3)],
      available: stock({ 'A@NJ': 4, 'A@IL': 1, 'B@PA': 2 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 4 },
          { lineNo: 1, sku: 'A', warehouse: 'IL', qty: 1 },
          { lineNo: 2, sku: 'B', warehouse: 'PA', qty: 2 },
        ],
        short: [
          { lineNo: 1, sku: 'A', qty: 5 },
          { lineNo: 3, sku: 'C', qty: 3 },
        ],
        split: true,
        reason: 'no single warehouse fills the order; nearest stock first from NJ, IL, PA',
      },
    },
    {
      name: 'no warehouse has any of the units',
      lines: [line(1, 'A', 2), line(2, 'B', 1)],
      available: stock({ 'C@NJ': 10 }),
      expected: {
        units: [],
        short: [
          { lineNo: 1, sku: 'A', qty: 2 },
          { lineNo: 2, sku: 'B', qty: 1 },
        ],
        split: false,
        reason: 'no warehouse has any of the units',
      },
    },
    {
      name: 'two lines of one sku need the sum from a single warehouse',
      lines: [line(1, 'A', 6), line(2, 'A', 6)],
      available: stock({ 'A@NJ': 8, 'A@PA': 12 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'PA', qty: 6 },
          { lineNo: 2, sku: 'A', warehouse: 'PA', qty: 6 },
        ],
        short: [],
        split: false,
        reason: 'PA is the nearest warehouse (130 km) that fills the whole order',
      },
    },
    {
      name: 'two lines of one sku share a warehouse stock when split',
      lines: [line(1, 'A', 6), line(2, 'A', 6)],
      available: stock({ 'A@NJ': 8, 'A@PA': 10 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 6 },
          { lineNo: 2, sku: 'A', warehouse: 'NJ', qty: 2 },
          { lineNo: 2, sku: 'A', warehouse: 'PA', qty: 4 },
        ],
        short: [],
        split: true,
        reason: 'no single warehouse fills the order; nearest stock first from NJ, PA',
      },
    },
    {
      name: 'two lines of one sku are not double counted against one warehouse',
      lines: [line(1, 'A', 6), line(2, 'A', 6)],
      available: stock({ 'A@NJ': 8 }),
      expected: {
        units: [
          { lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 6 },
          { lineNo: 2, sku: 'A', warehouse: 'NJ', qty: 2 },
        ],
        short: [{ lineNo: 2, sku: 'A', qty: 4 }],
        split: false,
        reason: 'no single warehouse fills the order; nearest stock first from NJ',
      },
    },
  ])('$name', ({ lines, available, expected }) => {
    const before = new Map(available);
    const plan = routeOrder(lines, newYork, sites, available);
    expect({ units: plan.units, short: plan.short, split: plan.split, reason: plan.reason }).toEqual(expected);
    // Every routed unit comes from stock that was there, and no warehouse gives more than it had.
    const taken = new Map<string, number>();
    for (const u of plan.units) {
      expect(u.qty).toBeGreaterThan(0);
      taken.set(`${u.sku}@${u.warehouse}`, (taken.get(`${u.sku}@${u.warehouse}`) ?? 0) + u.qty);
    }
    for (const [key, qty] of taken) expect(qty).toBeLessThanOrEqual(before.get(key) ?? 0);
    // The caller's map is left alone.
    expect(available).toEqual(before);
  });

  it('scores every warehouse, nearest first, with what it could cover', () => {
    const plan = routeOrder([line(1, 'A', 10), line(2, 'B', 4), line(3, 'A', 2)], newYork, sites, stock({ 'A@NJ': 6, 'A@PA': 20, 'B@PA': 2, 'B@IL': 5 }));
    expect(plan.scores).toEqual([
      { warehouse: 'NJ', distanceKm: 14, coverableUnits: 6, fillsAll: false },
      { warehouse: 'PA', distanceKm: 130, coverableUnits: 14, fillsAll: false },
      { warehouse: 'IL', distanceKm: 1144, coverableUnits: 4, fillsAll: false },
      { warehouse: 'CA', distanceKm: 3936, coverableUnits: 0, fillsAll: false },
    ]);
  });

  describe('ties on distance are broken by warehouse code', () => {
    // Two warehouses on the same spot, listed with the later code first.
    const twins: WarehouseSite[] = [
      { ...NJ, code: 'WB' },
      { ...NJ, code: 'WA' },
    ];

    it.each<{ name: string; lines: RouteLine[]; available: Map<string, number>; expected: Expected }>([
      {
        name: 'both fill: the lower code wins',
        lines: [line(1, 'A', 2)],
        available: stock({ 'A@WA': 5, 'A@WB': 5 }),
        expected: {
          units: [{ lineNo: 1, sku: 'A', warehouse: 'WA', qty: 2 }],
          short: [],
          split: false,
          reason: 'WA is the nearest warehouse (14 km) that fills the whole order',
        },
      },
      {
        name: 'split: the lower code gives first',
        lines: [line(1, 'A', 8)],
        available: stock({ 'A@WA': 5, 'A@WB': 5 }),
        expected: {
          units: [
            { lineNo: 1, sku: 'A', warehouse: 'WA', qty: 5 },
            { lineNo: 1, sku: 'A', warehouse: 'WB', qty: 3 },
          ],
          short: [],
          split: true,
          reason: 'no single warehouse fills the order; nearest stock first from WA, WB',
        },
      },
    ])('$name', ({ lines, available, expected }) => {
      const plan = routeOrder(lines, newYork, twins, available);
      expect({ units: plan.units, short: plan.short, split: plan.split, reason: plan.reason }).toEqual(expected);
      expect(plan.scores.map((s) => s.warehouse)).toEqual(['WA', 'WB']);
    });
  });
});

describe('routeOrder with a channel policy', () => {
  // Ship-to in New York; NJ is near, IL is 1,150 km, CA is 3,940 km away.
  const shipTo = { lat: 40.71, lon: -74.01 };
  const site = (code: string, lat: number, lon: number, extra: Partial<WarehouseSite> = {}): WarehouseSite => ({
    code,
    lat,
    lon,
    freightBaseMinor: 500,
    freightPerKmMinor: 1,
    ...extra,
  });
  const NJ = site('NJ', 40.74, -74.17);
  const IL = site('IL', 41.88, -87.63);
  const CA = site('CA', 34.05, -118.24);
  const now = '2026-11-27T12:00:00Z';
  const stock = (entries: Record<string, number>) => new Map(Object.entries(entries));
  const dtc = routingPolicies.dtc;
  const wholesale = routingPolicies.wholesale;

  it.each([
    {
      name: 'one warehouse that fills everything is preferred over a split',
      sites: [NJ, IL],
      available: { 'A@NJ': 5, 'A@IL': 5 },
      qty: 4,
      policy: dtc,
      promisedBy: undefined,
      expected: [['NJ', 4]],
    },
    {
      name: 'a split when no single warehouse can fill',
      sites: [NJ, IL],
      available: { 'A@NJ': 2, 'A@IL': 3 },
      qty: 4,
      policy: dtc,
      promisedBy: undefined,
      expected: [['NJ', 2], ['IL', 2]],
    },
    {
      name: 'dtc splits when one far shipment would be late and the split is not',
      sites: [NJ, IL, CA],
      available: { 'A@NJ': 2, 'A@IL': 2, 'A@CA': 10 },
      qty: 4,
      policy: dtc,
      promisedBy: '2026-11-30T12:00:00Z',
      expected: [['NJ', 2], ['IL', 2]],
    },
    {
      name: 'wholesale keeps one shipment where a split would only save a little',
      sites: [NJ, IL, CA],
      available: { 'A@NJ': 2, 'A@IL': 2, 'A@CA': 10 },
      qty: 4,
      policy: wholesale,
      promisedBy: '2026-12-20T12:00:00Z',
      expected: [['CA', 4]],
    },
    {
      name: 'a warehouse out of capacity today gets no work; the next one takes it',
      sites: [site('NJ', 40.74, -74.17, { remainingCapacity: 0 }), IL],
      available: { 'A@NJ': 10, 'A@IL': 10 },
      qty: 4,
      policy: dtc,
      promisedBy: undefined,
      expected: [['IL', 4]],
    },
  ])('$name', ({ sites, available, qty, policy, promisedBy, expected }) => {
    const plan = routeOrder([{ lineNo: 1, sku: 'A', qty }], shipTo, sites, stock(available as Record<string, number>), policy, { promisedBy, now });
    expect(plan.units.map((u) => [u.warehouse, u.qty])).toEqual(expected);
    expect(plan.split).toBe(expected.length > 1);
    expect(plan.reason).toContain(expected[0]![0] as string);
  });

  it('costs each warehouse: freight by its model, transit days, days late, and the capacity it has left', () => {
    const plan = routeOrder([{ lineNo: 1, sku: 'A', qty: 1 }], shipTo, [NJ, site('CA', 34.05, -118.24, { remainingCapacity: 3 })], stock({ 'A@NJ': 1, 'A@CA': 1 }), dtc, {
      promisedBy: '2026-11-30T12:00:00Z',
      now,
    });
    const ca = plan.scores.find((s) => s.warehouse === 'CA')!;
    expect(ca.transitDays).toBe(1 + Math.ceil(ca.distanceKm / 800));
    expect(ca.freightMinor).toBe(500 + ca.distanceKm);
    expect(ca.lateDays).toBe(ca.transitDays! - 3);
    expect(ca.costMinor).toBe(ca.freightMinor! + ca.lateDays! * dtc.lateDayPenaltyMinor);
    expect(ca.remainingCapacity).toBe(3);
    expect(plan.units).toEqual([{ lineNo: 1, sku: 'A', warehouse: 'NJ', qty: 1 }]);
  });
});
