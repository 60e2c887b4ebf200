import { describe, expect, it } from 'vitest';
import { orderTotalMinor, type OrderLineInput } from '../../domain/order.js';

const line = (lineNo: number, qty: number, unitPriceMinor: number, discountMinor = 0, taxMinor = 0): OrderLineInput => ({
  lineNo,
  sku: `SKU-${lineNo}`,
  qty,
  unitPriceMinor,
  discountMinor,
  taxMinor,
});

describe('orderTotalMinor', () => {
  it.each([
    { name: 'no lines, no freight', lines: [], freightMinor: 0, expected: 0 },
    { name: 'no lines, freight only', lines: [], freightMinor: 500, expected: 500 },
    { name: 'one line, qty times unit price', lines: [line(1, 2, 1000)], freightMinor: 0, expected: 2000 },
    { name: 'discount is subtracted', lines: [line(1, 2, 1000, 300)], freightMinor: 0, expected: 1700 },
    { name: 'tax is added', lines: [line(1, 2, 1000, 0, 160)], freightMinor: 0, expected: 2160 },
    { name: 'freight is added once, not per line', lines: [line(1, 1, 100), line(2, 1, 100)], freightMinor: 50, expected: 250 },
    {
      name: 'several lines with discounts, tax and freight',
      // (3×1500 − 500 + 320) + (1×999 + 80) + (4×250 − 100 + 72) + 695
      lines: [line(1, 3, 1500, 500, 320), line(2, 1, 999, 0, 80), line(3, 4, 250, 100, 72)],
      freightMinor: 695,
      expected: 4320 + 1079 + 972 + 695,
    },
    { name: 'a full discount leaves tax and freight', lines: [line(1, 1, 1000, 1000, 0), line(2, 1, 500, 0, 40)], freightMinor: 300, expected: 840 },
  ])('$name → $expected', ({ lines, freightMinor, expected }) => {
    expect(orderTotalMinor({ lines, freightMinor })).toBe(expected);
  });
});
