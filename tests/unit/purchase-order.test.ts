import { describe, expect, it } from 'vitest';
import { allocateLandedCost, approvalNeeded, lineComplete, matchInvoice, mayApprove, splitReceipt } from '../../domain/purchase-order.js';

describe('approvalNeeded and mayApprove', () => {
  it.each([
    { name: 'buyer at the limit proceeds', value: 500_000, creator: 'buyer' as const, needed: false, approverRole: 'buyer' },
    { name: 'buyer above the limit waits for finance', value: 500_001, creator: 'buyer' as const, needed: true, approverRole: 'finance' },
    { name: 'ops draft within the limit waits for a buyer', value: 100, creator: 'ops' as const, needed: true, approverRole: 'buyer' },
    { name: 'ops draft above the limit waits for finance', value: 900_000, creator: 'ops' as const, needed: true, approverRole: 'finance' },
  ])('$name', ({ value, creator, needed, approverRole }) => {
    expect(approvalNeeded(value, creator, 500_000)).toEqual({ needed, approverRole });
  });

  it.each([
    { role: 'finance', value: 10_000_000, may: true },
    { role: 'buyer', value: 500_000, may: true },
    { role: 'buyer', value: 500_001, may: false },
    { role: 'ops', value: 1, may: false },
  ])('$role approving $value: $may', ({ role, value, may }) => {
    expect(mayApprove(role, value, 500_000)).toBe(may);
  });
});

describe('splitReceipt and lineComplete (5% tolerance)', () => {
  it.each([
    { name: 'exact', line: { ordered: 100, received: 0, cancelled: 0 }, qty: 100, accepted: 100, excess: 0 },
    { name: 'over within tolerance', line: { ordered: 100, received: 0, cancelled: 0 }, qty: 105, accepted: 105, excess: 0 },
    { name: 'over beyond tolerance', line: { ordered: 100, received: 0, cancelled: 0 }, qty: 110, accepted: 105, excess: 5 },
    { name: 'second receipt past the ceiling', line: { ordered: 100, received: 100, cancelled: 0 }, qty: 10, accepted: 5, excess: 5 },
    { name: 'nothing left after the ceiling', line: { ordered: 100, received: 105, cancelled: 0 }, qty: 3, accepted: 0, excess: 3 },
    { name: 'cancelled units lower the ceiling', line: { ordered: 100, received: 20, cancelled: 80 }, qty: 10, accepted: 5, excess: 5 },
    { name: 'small line rounds the tolerance down', line: { ordered: 10, received: 0, cancelled: 0 }, qty: 11, accepted: 10, excess: 1 },
  ])('$name', ({ line, qty, accepted, excess }) => {
    expect(splitReceipt(line, qty, 5)).toEqual({ accepted, excess });
  });

  it.each([
    { line: { ordered: 100, received: 0, cancelled: 0 }, complete: false },
    { line: { ordered: 100, received: 94, cancelled: 0 }, complete: false },
    { line: { ordered: 100, received: 95, cancelled: 0 }, complete: true },
    { line: { ordered: 100, received: 20, cancelled: 80 }, complete: true },
    { line: { ordered: 100, received: 0, cancelled: 100 }, complete: true },
    { line: { ordered: 10, received: 0, cancelled: 0 }, complete: false },
  ])('complete $line: $complete', ({ line, complete }) => {
    expect(lineComplete(line, 5)).toBe(complete);
  });
});

describe('allocateLandedCost', () => {
  it.each([
    { name: 'by value', lines: [{ qty: 40, unitCostMinor: 1_000 }, { qty: 200, unitCostMinor: 3_000 }], total: 2_400, basis: 'value' as const, shares: [150, 2_250] },
    { name: 'by quantity', lines: [{ qty: 40, unitCostMinor: 1_000 }, { qty: 200, unitCostMinor: 3_000 }], total: 2_400, basis: 'quantity' as const, shares: [400, 2_000] },
    { name: 'remainders add up exactly', lines: [{ qty: 1, unitCostMinor: 1 }, { qty: 1, unitCostMinor: 1 }, { qty: 1, unitCostMinor: 1 }], total: 100, basis: 'value' as const, shares: [34, 33, 33] },
    { name: 'zero-value lines fall back to quantity', lines: [{ qty: 1, unitCostMinor: 0 }, { qty: 3, unitCostMinor: 0 }], total: 8, basis: 'value' as const, shares: [2, 6] },
    { name: 'nothing to spread', lines: [{ qty: 5, unitCostMinor: 10 }], total: 0, basis: 'value' as const, shares: [0] },
  ])('$name', ({ lines, total, basis, shares }) => {
    const result = allocateLandedCost(lines, total, basis);
    expect(result).toEqual(shares);
    expect(result.reduce((a, b) => a + b, 0)).toBe(total);
  });
});

describe('matchInvoice (1% price tolerance)', () => {
  const po = [
    { lineNo: 1, unitCostMinor: 1_000, received: 100, invoiced: 0 },
    { lineNo: 2, unitCostMinor: 3_000, received: 50, invoiced: 50 },
  ];
  it.each([
    { name: 'exact match', lines: [{ lineNo: 1, qty: 100, unitCostMinor: 1_000 }], charges: 0, kinds: [], grni: 100_000, total: 100_000 },
    { name: 'price within tolerance', lines: [{ lineNo: 1, qty: 10, unitCostMinor: 1_010 }], charges: 0, kinds: [], grni: 10_000, total: 10_100 },
    { name: 'price beyond tolerance', lines: [{ lineNo: 1, qty: 10, unitCostMinor: 1_011 }], charges: 0, kinds: ['price_over_tolerance'], grni: 10_000, total: 10_110 },
    { name: 'more than received and not invoiced', lines: [{ lineNo: 2, qty: 1, unitCostMinor: 3_000 }], charges: 0, kinds: ['qty_over_received'], grni: 3_000, total: 3_000 },
    { name: 'unknown line', lines: [{ lineNo: 9, qty: 1, unitCostMinor: 1 }], charges: 0, kinds: ['unknown_line'], grni: 0, total: 1 },
    { name: 'charges within landed cost', lines: [{ lineNo: 1, qty: 1, unitCostMinor: 1_000 }], charges: 500, kinds: [], grni: 1_500, total: 1_500 },
    { name: 'charges beyond landed cost', lines: [{ lineNo: 1, qty: 1, unitCostMinor: 1_000 }], charges: 501, kinds: ['charges_over_landed_cost'], grni: 1_500, total: 1_501 },
  ])('$name', ({ lines, charges, kinds, grni, total }) => {
    const match = matchInvoice(po, { lines, chargesMinor: charges }, 500, 1);
    expect(match.differences.map((d) => d.kind)).toEqual(kinds);
    expect(match.matched).toBe(kinds.length === 0);
    expect({ grni: match.grniMinor, total: match.totalMinor }).toEqual({ grni, total });
  });
});
