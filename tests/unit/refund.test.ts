import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cumulativeShare, shipmentAmounts, shipmentEntryLines } from '../../domain/postings.js';
import { computeRefund, needsApproval, refundEntryLines, returnedCostMinor, shareByWeight, type RefundInput, type ReturnedLine } from '../../domain/refund.js';
import { decideDisposition, dispositionFor, refuseReturnLine, returnableUnits, withinWindow } from '../../domain/return-rules.js';

const policy: RefundInput['policy'] = {
  restockingFeePct: 10,
  restockingFeeReasons: ['changed_mind', 'wrong_size'],
  freightRefundReasons: ['damaged_in_transit', 'defective', 'wrong_item', 'not_as_described'],
};

/** The order line of the order driver: 3 × 2,000, discount 300, tax 600; the order's freight 999. */
const line = (qty: number, before = 0, over: Partial<ReturnedLine> = {}): ReturnedLine => ({
  lineNo: 1,
  sku: 'SKU-1',
  qty,
  before,
  orderedQty: 3,
  unitPriceMinor: 2_000,
  lineDiscountMinor: 300,
  lineTaxMinor: 600,
  ...over,
});
const freight = (unitsBefore = 0, orderFreightMinor = 999, orderedUnits = 3) => ({ orderFreightMinor, orderedUnits, unitsBefore });

describe('computeRefund', () => {
  it.each([
    {
      name: 'changed mind, 1 of 3: a third of discount and tax, no freight, 10% fee on the net',
      input: { resolution: 'refund', reason: 'changed_mind', lines: [line(1)], freight: freight() },
      // 2000 − 100 + 200 − floor(1900 × 10%) = 1910
      expected: { merchandiseMinor: 2_000, discountMinor: 100, taxMinor: 200, freightMinor: 0, restockingFeeMinor: 190, totalMinor: 1_910 },
    },
    {
      name: 'damaged in transit, 2 of 3: freight share back, no fee',
      input: { resolution: 'refund', reason: 'damaged_in_transit', lines: [line(2)], freight: freight() },
      // discount floor(300×2/3) = 200, tax 400, freight floor(999×2/3) = 666
      expected: { merchandiseMinor: 4_000, discountMinor: 200, taxMinor: 400, freightMinor: 666, restockingFeeMinor: 0, totalMinor: 4_866 },
    },
    {
      name: 'damaged in transit, the last unit after 2 returned: takes what is left of each share',
      input: { resolution: 'refund', reason: 'damaged_in_transit', lines: [line(1, 2)], freight: freight(2) },
      expected: { merchandiseMinor: 2_000, discountMinor: 100, taxMinor: 200, freightMinor: 333, restockingFeeMinor: 0, totalMinor: 2_433 },
    },
    {
      name: 'exchange for another size: neither fee nor freight',
      input: { resolution: 'exchange', reason: 'wrong_size', lines: [line(1)], freight: freight() },
      expected: { merchandiseMinor: 2_000, discountMinor: 100, taxMinor: 200, freightMinor: 0, restockingFeeMinor: 0, totalMinor: 2_100 },
    },
    {
      name: 'odd shares round by cumulative floors: units 3..5 of 7',
      input: {
        resolution: 'refund',
        reason: 'defective',
        lines: [line(3, 2, { orderedQty: 7, unitPriceMinor: 999, lineDiscountMinor: 100, lineTaxMinor: 35 })],
        freight: freight(2, 500, 7),
      },
      // discount 71 − 28 = 43, tax 25 − 10 = 15, freight floor(500×5/7) − floor(500×2/7) = 357 − 142 = 215
      expected: { merchandiseMinor: 2_997, discountMinor: 43, taxMinor: 15, freightMinor: 215, restockingFeeMinor: 0, totalMinor: 2_997 - 43 + 15 + 215 },
    },
    {
      name: 'two lines, fee rounded down on the net of both',
      input: {
        resolution: 'refund',
        reason: 'wrong_size',
        lines: [line(1), line(2, 0, { lineNo: 2, sku: 'SKU-2', orderedQty: 2, unitPriceMinor: 1_234, lineDiscountMinor: 0, lineTaxMinor: 197 })],
        freight: freight(0, 999, 5),
      },
      // net 1900 + 2468 = 4368, fee floor(436.8) = 436; tax 200 + 197
      expected: { merchandiseMinor: 4_468, discountMinor: 100, taxMinor: 397, freightMinor: 0, restockingFeeMinor: 436, totalMinor: 4_468 - 100 + 397 - 436 },
    },
    {
      name: 'a line with nothing received gives nothing back',
      input: { resolution: 'refund', reason: 'defective', lines: [line(0)], freight: freight() },
      expected: { merchandiseMinor: 0, discountMinor: 0, taxMinor: 0, freightMinor: 0, restockingFeeMinor: 0, totalMinor: 0 },
    },
  ] as { name: string; input: Omit<RefundInput, 'policy'>; expected: Record<string, number> }[])('$name', ({ input, expected }) => {
    expect(computeRefund({ ...input, policy })).toMatchObject(expected);
  });

  it('no fee when the policy sets 0%, and none for reasons outside the fee list', () => {
    expect(computeRefund({ resolution: 'refund', reason: 'changed_mind', lines: [line(1)], freight: freight(), policy: { ...policy, restockingFeePct: 0 } }).restockingFeeMinor).toBe(0);
    expect(computeRefund({ resolution: 'refund', reason: 'wrong_item', lines: [line(1)], freight: freight(), policy }).restockingFeeMinor).toBe(0);
  });

  it('returns of every unit, however split, give back exactly what was charged (freight refunded)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 0, max: 9_999 }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 10 }),
        (ordered, discount, tax, orderFreight, cuts) => {
          const price = 3_000;
          const d = Math.min(discount, ordered * price);
          let before = 0;
          let total = 0;
          for (const cut of cuts) {
            const qty = Math.min(cut, ordered - before);
            if (qty === 0) break;
            total += computeRefund({
              resolution: 'refund',
              reason: 'defective',
              lines: [line(qty, before, { orderedQty: ordered, unitPriceMinor: price, lineDiscountMinor: d, lineTaxMinor: tax })],
              freight: freight(before, orderFreight, ordered),
              policy,
            }).totalMinor;
            before += qty;
          }
          if (before < ordered) {
            total += computeRefund({
              resolution: 'refund',
              reason: 'defective',
              lines: [line(ordered - before, before, { orderedQty: ordered, unitPriceMinor: price, lineDiscountMinor: d, lineTaxMinor: tax })],
              freight: freight(before, orderFreight, ordered),
              policy,
            }).totalMinor;
          }
          expect(total).toBe(ordered * price - d + tax + orderFreight);
        },
      ),
    );
  });
});

/**
 * Shipments post as activities/shipment.ts does (each line's discount and tax, and the
 * order's freight, shared by units shipped, cumulatively); returns give back per
 * domain/refund.ts. Returning every shipped unit, however shipments and returns split them,
 * must reverse each amount the shipments posted to the minor unit.
 */
describe('a full return reverses what the shipments posted', () => {
  const orderLine = fc.record({
    qty: fc.integer({ min: 1, max: 6 }),
    unitPriceMinor: fc.integer({ min: 1, max: 99_999 }),
    discountPct: fc.integer({ min: 0, max: 100 }),
    taxMinor: fc.integer({ min: 0, max: 99_999 }),
    /** Units of the line that ship at all (the rest cancelled), and which shipment / return each unit is in. */
    shippedPct: fc.integer({ min: 1, max: 100 }),
  });

  function simulate(
    lines: { qty: number; unitPriceMinor: number; discountPct: number; taxMinor: number; shippedPct: number }[],
    freightMinor: number,
    shipmentOf: number[],
    returnOf: number[],
  ) {
    const ordered = lines.map((l) => ({ ...l, discountMinor: Math.floor((l.qty * l.unitPriceMinor * l.discountPct) / 100), shipped: Math.max(1, Math.floor((l.qty * l.shippedPct) / 100)) }));
    const orderedUnits = ordered.reduce((n, l) => n + l.qty, 0);
    // Units in line order, each with the shipment and the return it is in.
    const units = ordered.flatMap((l, lineNo) => Array.from({ length: l.shipped }, (_, i) => ({ lineNo, shipment: 0, rma: 0, i }))).map((u, k) => ({
      ...u,
      shipment: shipmentOf[k % shipmentOf.length]!,
      rma: returnOf[k % returnOf.length]!,
    }));
    const posted = { revenue: 0, discount: 0, tax: 0, freight: 0, receivable: 0 };
    const shippedBefore = ordered.map(() => 0);
    let unitsShippedBefore = 0;
    for (const shipment of [...new Set(units.map((u) => u.shipment))].sort()) {
      const now = ordered.map((_, lineNo) => units.filter((u) => u.shipment === shipment && u.lineNo === lineNo).length);
      const unitsNow = now.reduce((n, q) => n + q, 0);
      const amounts = shipmentAmounts(
        ordered.flatMap((l, lineNo) =>
          now[lineNo]! > 0
            ? [{ qty: now[lineNo]!, unitPriceMinor: l.unitPriceMinor, discountMinor: cumulativeShare(l.discountMinor, shippedBefore[lineNo]!, now[lineNo]!, l.qty), taxMinor: cumulativeShare(l.taxMinor, shippedBefore[lineNo]!, now[lineNo]!, l.qty), costMinor: 0 }]
            : [],
        ),
        cumulativeShare(freightMinor, unitsShippedBefore, unitsNow, orderedUnits),
        0,
      );
      posted.revenue += amounts.revenueMinor;
      posted.discount += amounts.discountMinor;
      posted.tax += amounts.taxMinor;
      posted.freight += amounts.freightChargedMinor;
      posted.receivable += shipmentEntryLines(amounts).find((l) => l.account === '1100')?.debitMinor ?? 0;
      now.forEach((q, lineNo) => (shippedBefore[lineNo]! += q));
      unitsShippedBefore += unitsNow;
    }
    const refunded = { revenue: 0, discount: 0, tax: 0, freight: 0, paid: 0 };
    const returnedBefore = ordered.map(() => 0);
    let unitsReturnedBefore = 0;
    for (const rma of [...new Set(units.map((u) => u.rma))].sort()) {
      const now = ordered.map((_, lineNo) => units.filter((u) => u.rma === rma && u.lineNo === lineNo).length);
      const b = computeRefund({
        resolution: 'refund',
        reason: 'defective',
        lines: ordered.map((l, lineNo) => ({ lineNo: lineNo + 1, sku: `SKU-${lineNo}`, qty: now[lineNo]!, before: returnedBefore[lineNo]!, orderedQty: l.qty, unitPriceMinor: l.unitPriceMinor, lineDiscountMinor: l.discountMinor, lineTaxMinor: l.taxMinor })),
        freight: { orderFreightMinor: freightMinor, orderedUnits, unitsBefore: unitsReturnedBefore },
        policy,
      });
      const entry = refundEntryLines(b, { cashMinor: b.totalMinor, appliedToReceivableMinor: 0 });
      expect(entry.reduce((n, l) => n + (l.debitMinor ?? 0), 0)).toBe(entry.reduce((n, l) => n + (l.creditMinor ?? 0), 0));
      refunded.revenue += b.merchandiseMinor;
      refunded.discount += b.discountMinor;
      refunded.tax += b.taxMinor;
      refunded.freight += b.freightMinor;
      refunded.paid += b.totalMinor;
      now.forEach((q, lineNo) => (returnedBefore[lineNo]! += q));
      unitsReturnedBefore += now.reduce((n, q) => n + q, 0);
    }
    return { posted, refunded };
  }

  it('for any split of shipments and returns, discounts, tax and freight', () => {
    fc.assert(
      fc.property(
        fc.array(orderLine, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 9_999 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        (lines, freightMinor, shipmentOf, returnOf) => {
          const { posted, refunded } = simulate(lines, freightMinor, shipmentOf, returnOf);
          expect({ revenue: refunded.revenue, discount: refunded.discount, tax: refunded.tax, freight: refunded.freight, paid: refunded.paid }).toEqual({
            revenue: posted.revenue,
            discount: posted.discount,
            tax: posted.tax,
            freight: posted.freight,
            paid: posted.receivable,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    // [name, lines, freight, shipment of each unit, return of each unit]
    ['one line, 3 units in 2 shipments, returned 1 + 2', [{ qty: 3, unitPriceMinor: 2_000, discountPct: 5, taxMinor: 600, shippedPct: 100 }], 999, [0, 1, 1], [0, 1, 1]],
    ['returns cut across shipments', [{ qty: 5, unitPriceMinor: 1_999, discountPct: 3, taxMinor: 793, shippedPct: 100 }], 1_001, [0, 0, 0, 1, 1], [1, 0, 1, 0, 1]],
    ['two lines, two shipments, three returns', [{ qty: 3, unitPriceMinor: 999, discountPct: 10, taxMinor: 101, shippedPct: 100 }, { qty: 4, unitPriceMinor: 3_333, discountPct: 0, taxMinor: 1_067, shippedPct: 100 }], 777, [0, 1], [0, 1, 2]],
    ['a line partly cancelled: only what shipped comes back', [{ qty: 7, unitPriceMinor: 1_234, discountPct: 7, taxMinor: 555, shippedPct: 60 }], 500, [0, 1], [1, 0]],
    ['everything discounted, no tax, no freight', [{ qty: 2, unitPriceMinor: 1_500, discountPct: 100, taxMinor: 0, shippedPct: 100 }], 0, [0, 1], [0]],
  ])('%s', (_name, lines, freightMinor, shipmentOf, returnOf) => {
    const { posted, refunded } = simulate(lines, freightMinor, shipmentOf, returnOf);
    expect(refunded).toEqual({ revenue: posted.revenue, discount: posted.discount, tax: posted.tax, freight: posted.freight, paid: posted.receivable });
    expect(posted.revenue).toBeGreaterThan(0);
  });
});

describe('shareByWeight', () => {
  it.each([
    { total: 2_401, weights: [800, 800, 801], expected: [800, 800, 801] },
    { total: 10, weights: [1, 1, 1], expected: [3, 3, 4] },
    { total: 1_601, weights: [2 * 800, 0], expected: [1_601, 0] },
    { total: 7, weights: [0, 0], expected: [3, 4] },
    { total: 0, weights: [5, 9], expected: [0, 0] },
    { total: 9_007_199_254_740_991, weights: [3_000_000_000, 1_000_000_000], expected: [6_755_399_441_055_743, 2_251_799_813_685_248] },
  ])('$total over $weights', ({ total, weights, expected }) => {
    const shares = shareByWeight(total, weights);
    expect(shares).toEqual(expected);
    expect(shares.reduce((n, s) => n + s, 0)).toBe(total);
  });

  it('refuses what is not a non-negative integer', () => {
    expect(() => shareByWeight(10, [1, -1])).toThrow(RangeError);
    expect(() => shareByWeight(1.5, [1])).toThrow(RangeError);
  });
});

describe('refundEntryLines', () => {
  const sum = (lines: ReturnType<typeof refundEntryLines>, side: 'debitMinor' | 'creditMinor') => lines.reduce((n, l) => n + (l[side] ?? 0), 0);

  it('a refund: contra revenue, discount, tax and freight back, fee kept, clearing paid; balanced', () => {
    const b = computeRefund({ resolution: 'refund', reason: 'changed_mind', lines: [line(1)], freight: freight(), policy });
    const lines = refundEntryLines(b, { cashMinor: b.totalMinor, appliedToReceivableMinor: 0 });
    expect(Object.fromEntries(lines.map((l) => [l.account, l.debitMinor ?? -l.creditMinor!]))).toEqual({ '4300': 2_000, '4200': -100, '2200': 200, '4400': -190, '1000': -1_910 });
    expect(sum(lines, 'debitMinor')).toBe(sum(lines, 'creditMinor'));
  });

  it('an exchange credit applies to the receivable first, the rest is paid; a wrong split is refused', () => {
    const b = computeRefund({ resolution: 'exchange', reason: 'wrong_size', lines: [line(1)], freight: freight(), policy });
    const lines = refundEntryLines(b, { cashMinor: 100, appliedToReceivableMinor: 2_000 });
    expect(lines.find((l) => l.account === '1100')?.creditMinor).toBe(2_000);
    expect(lines.find((l) => l.account === '1000')?.creditMinor).toBe(100);
    expect(sum(lines, 'debitMinor')).toBe(sum(lines, 'creditMinor'));
    expect(() => refundEntryLines(b, { cashMinor: 0, appliedToReceivableMinor: 2_000 })).toThrow(/does not match/);
  });
});

describe('needsApproval', () => {
  it.each([
    [49_999, false],
    [50_000, false],
    [50_001, true],
  ])('%i against a limit of 50,000 → %s', (total, expected) => {
    expect(needsApproval(total, { refundApprovalLimitMinor: 50_000 })).toBe(expected);
  });
});

describe('returnedCostMinor', () => {
  it('cumulative shares of the line cost: every unit back restores the COGS exactly', () => {
    // 3 units shipped at 800, 800 and 801 (two shipments): 2401.
    expect([returnedCostMinor(2_401, 3, 0, 1), returnedCostMinor(2_401, 3, 1, 1), returnedCostMinor(2_401, 3, 2, 1)]).toEqual([800, 800, 801]);
    expect(returnedCostMinor(2_401, 3, 0, 3)).toBe(2_401);
  });
});

describe('returnableUnits', () => {
  it.each([
    { name: 'all shipped in the window, nothing covered', u: { shipped: 3, shippedInWindow: 3, covered: 0 }, expected: 3 },
    { name: 'another return covers 2', u: { shipped: 3, shippedInWindow: 3, covered: 2 }, expected: 1 },
    { name: 'everything covered', u: { shipped: 3, shippedInWindow: 3, covered: 3 }, expected: 0 },
    { name: 'window closed for every unit', u: { shipped: 3, shippedInWindow: 0, covered: 0 }, expected: 0 },
    { name: 'split shipment, only the later one inside the window', u: { shipped: 3, shippedInWindow: 1, covered: 0 }, expected: 1 },
    { name: 'covered units count against the old shipment first', u: { shipped: 3, shippedInWindow: 1, covered: 2 }, expected: 1 },
    { name: 'covered beyond the old shipment eat into the window', u: { shipped: 3, shippedInWindow: 2, covered: 2 }, expected: 1 },
    { name: 'nothing shipped', u: { shipped: 0, shippedInWindow: 0, covered: 0 }, expected: 0 },
  ])('$name → $expected', ({ u, expected }) => {
    expect(returnableUnits(u)).toBe(expected);
  });

  it('says why a line is refused', () => {
    expect(refuseReturnLine(1, { shipped: 0, shippedInWindow: 0, covered: 0 })).toBe('nothing of it has shipped');
    expect(refuseReturnLine(1, { shipped: 2, shippedInWindow: 0, covered: 0 })).toMatch(/window has closed/);
    expect(refuseReturnLine(2, { shipped: 2, shippedInWindow: 2, covered: 1 })).toMatch(/1 already covered/);
    expect(refuseReturnLine(1, { shipped: 2, shippedInWindow: 2, covered: 1 })).toBeUndefined();
  });

  it('the window includes its last day', () => {
    expect(withinWindow(0, 30 * 86_400_000, 30)).toBe(true);
    expect(withinWindow(0, 30 * 86_400_000 + 1, 30)).toBe(false);
  });
});

describe('dispositions', () => {
  it.each([
    ['as_new', true, 'restock'],
    ['opened', true, 'refurbish'],
    ['needs_repair', false, 'refurbish'],
    ['damaged', true, 'damaged'],
    ['defective', true, 'vendor_return'],
    ['defective', false, 'damaged'],
  ] as const)('%s (supplier %s) → %s', (condition, hasSupplier, expected) => {
    expect(dispositionFor(condition, { hasSupplier })).toBe(expected);
  });

  it('the inspector overrides with a reason; a vendor return needs a supplier', () => {
    expect(decideDisposition({ condition: 'opened', override: { disposition: 'restock', reason: 'sealed inner bag, sellable' } }, { hasSupplier: false })).toEqual({
      disposition: 'restock',
      ruleDisposition: 'refurbish',
      overridden: true,
    });
    expect(decideDisposition({ condition: 'opened', override: { disposition: 'restock', reason: '' } }, { hasSupplier: false })).toEqual({ problem: 'an override needs a reason' });
    expect(decideDisposition({ condition: 'damaged', override: { disposition: 'vendor_return', reason: 'supplier fault' } }, { hasSupplier: false })).toEqual({
      problem: 'no approved supplier takes this sku back',
    });
  });
});
