import { describe, expect, it } from 'vitest';
import { adjustmentApproval, type AdjustmentPolicy } from '../../domain/adjustment.js';

const policy: AdjustmentPolicy = { approvalValueMinor: 10_000, approvalPct: 10 };

describe('adjustmentApproval', () => {
  it.each([
    // Value threshold: strictly greater.
    { name: 'value at the threshold', expected: 1000, delta: 10, unitCostMinor: 1000, valueMinor: 10_000, reasons: [] },
    { name: 'value just above the threshold', expected: 1000, delta: 10, unitCostMinor: 1001, valueMinor: 10_010, reasons: ['variance value 10010 exceeds 10000'] },
    { name: 'value of a shrink uses the absolute delta', expected: 1000, delta: -11, unitCostMinor: 1000, valueMinor: 11_000, reasons: ['variance value 11000 exceeds 10000'] },
    { name: 'zero unit cost never trips the value rule', expected: 1000, delta: 50, unitCostMinor: 0, valueMinor: 0, reasons: [] },
    // Percentage threshold: strictly greater.
    { name: 'pct at the threshold', expected: 100, delta: 10, unitCostMinor: 1, valueMinor: 10, reasons: [] },
    { name: 'pct at the threshold, shrink', expected: 100, delta: -10, unitCostMinor: 1, valueMinor: 10, reasons: [] },
    { name: 'pct just above the threshold', expected: 100, delta: 11, unitCostMinor: 1, valueMinor: 11, reasons: ['variance 11.0% exceeds 10%'] },
    { name: 'pct of a shrink', expected: 100, delta: -11, unitCostMinor: 1, valueMinor: 11, reasons: ['variance 11.0% exceeds 10%'] },
    { name: 'pct shown to one decimal', expected: 3, delta: 1, unitCostMinor: 1, valueMinor: 1, reasons: ['variance 33.3% exceeds 10%'] },
    { name: 'pct just above by a fraction', expected: 1000, delta: 101, unitCostMinor: 1, valueMinor: 101, reasons: ['variance 10.1% exceeds 10%'] },
    // Both.
    {
      name: 'value and pct both exceeded, value first',
      expected: 100,
      delta: 20,
      unitCostMinor: 1000,
      valueMinor: 20_000,
      reasons: ['variance value 20000 exceeds 10000', 'variance 20.0% exceeds 10%'],
    },
    // Nothing expected.
    { name: 'expected 0, positive delta', expected: 0, delta: 1, unitCostMinor: 1, valueMinor: 1, reasons: ['stock counted where none was expected'] },
    {
      name: 'expected 0, delta worth more than the value threshold',
      expected: 0,
      delta: 3,
      unitCostMinor: 5000,
      valueMinor: 15_000,
      reasons: ['variance value 15000 exceeds 10000', 'stock counted where none was expected'],
    },
    { name: 'expected 0, delta 0', expected: 0, delta: 0, unitCostMinor: 5000, valueMinor: 0, reasons: [] },
    // No change.
    { name: 'delta 0 with stock expected', expected: 50, delta: 0, unitCostMinor: 99_999, valueMinor: 0, reasons: [] },
  ])('$name', ({ expected, delta, unitCostMinor, valueMinor, reasons }) => {
    expect(adjustmentApproval({ expected, delta, unitCostMinor }, policy)).toEqual({ needsApproval: reasons.length > 0, valueMinor, reasons });
  });

  it.each([
    { approvalValueMinor: 0, approvalPct: 100, delta: 1, needsApproval: true },
    { approvalValueMinor: 0, approvalPct: 100, delta: 0, needsApproval: false },
    { approvalValueMinor: 1_000_000, approvalPct: 0, delta: 1, needsApproval: true },
    { approvalValueMinor: 1_000_000, approvalPct: 0, delta: 0, needsApproval: false },
  ])('policy value $approvalValueMinor / pct $approvalPct, delta $delta → needsApproval $needsApproval', ({ approvalValueMinor, approvalPct, delta, needsApproval }) => {
    expect(adjustmentApproval({ expected: 100, delta, unitCostMinor: 100 }, { approvalValueMinor, approvalPct }).needsApproval).toBe(needsApproval);
  });
});
