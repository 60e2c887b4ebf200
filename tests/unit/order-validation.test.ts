import { describe, expect, it } from 'vitest';
import type { OrderInput, OrderLineInput } from '../../domain/order.js';
import { validateOrder, type CatalogItem, type OrderProblem } from '../../domain/order-validation.js';

const catalog = new Map<string, CatalogItem>([
  ['A', { priceMinor: 1000, active: true }],
  ['B', { priceMinor: 999, active: true }],
  ['OLD', { priceMinor: 500, active: false }],
]);

const line = (lineNo: number, sku: string, unitPriceMinor: number): OrderLineInput => ({
  lineNo,
  sku,
  qty: 1,
  unitPriceMinor,
  discountMinor: 0,
  taxMinor: 0,
});

const order = (lines: OrderLineInput[]): OrderInput => ({
  orderId: 'o-1',
  channel: 'dtc',
  customerId: 'cust-1',
  currency: 'USD',
  shipTo: { country: 'US', lat: 40.7128, lon: -74.006 },
  freightMinor: 0,
  lines,
});

const mismatch = (lineNo: number, price: number, list: number, tolerancePct: number): OrderProblem => ({
  lineNo,
  problem: 'price_mismatch',
  detail: `line ${lineNo}: unit price ${price} differs from list price ${list} by more than ${tolerancePct}%`,
});

describe('validateOrder: one line', () => {
  it.each<{ name: string; line: OrderLineInput; tolerancePct: number; expected: OrderProblem[] }>([
    { name: 'list price', line: line(1, 'A', 1000), tolerancePct: 2, expected: [] },
    // Tolerance 2% of 1000 is 20.
    { name: 'below list, exactly at the tolerance', line: line(1, 'A', 980), tolerancePct: 2, expected: [] },
    { name: 'above list, exactly at the tolerance', line: line(1, 'A', 1020), tolerancePct: 2, expected: [] },
    { name: 'below list, one beyond the tolerance', line: line(1, 'A', 979), tolerancePct: 2, expected: [mismatch(1, 979, 1000, 2)] },
    { name: 'above list, one beyond the tolerance', line: line(1, 'A', 1021), tolerancePct: 2, expected: [mismatch(1, 1021, 1000, 2)] },
    { name: 'far below list', line: line(1, 'A', 0), tolerancePct: 2, expected: [mismatch(1, 0, 1000, 2)] },
    { name: 'far above list', line: line(1, 'A', 5000), tolerancePct: 2, expected: [mismatch(1, 5000, 1000, 2)] },
    // Tolerance 2% of 999 is 19.98: 19 off is within, 20 off is beyond.
    { name: 'fractional tolerance, within', line: line(1, 'B', 1018), tolerancePct: 2, expected: [] },
    { name: 'fractional tolerance, beyond', line: line(1, 'B', 1019), tolerancePct: 2, expected: [mismatch(1, 1019, 999, 2)] },
    { name: 'fractional tolerance, within below', line: line(1, 'B', 980), tolerancePct: 2, expected: [] },
    { name: 'fractional tolerance, beyond below', line: line(1, 'B', 979), tolerancePct: 2, expected: [mismatch(1, 979, 999, 2)] },
    { name: 'zero tolerance, exact price', line: line(1, 'A', 1000), tolerancePct: 0, expected: [] },
    { name: 'zero tolerance, one off', line: line(1, 'A', 1001), tolerancePct: 0, expected: [mismatch(1, 1001, 1000, 0)] },
    { name: 'unknown sku', line: line(1, 'NOPE', 1000), tolerancePct: 2, expected: [{ lineNo: 1, problem: 'unknown_sku', detail: 'line 1: unknown sku NOPE' }] },
    { name: 'sku match is exact (case)', line: line(1, 'a', 1000), tolerancePct: 2, expected: [{ lineNo: 1, problem: 'unknown_sku', detail: 'line 1: unknown sku a' }] },
    { name: 'inactive sku', line: line(1, 'OLD', 500), tolerancePct: 2, expected: [{ lineNo: 1, problem: 'inactive_sku', detail: 'line 1: sku OLD is not sold' }] },
    {
      name: 'inactive sku at a wrong price reports inactive only',
      line: line(1, 'OLD', 9999),
      tolerancePct: 2,
      expected: [{ lineNo: 1, problem: 'inactive_sku', detail: 'line 1: sku OLD is not sold' }],
    },
  ])('$name', ({ line, tolerancePct, expected }) => {
    expect(validateOrder(order([line]), catalog, tolerancePct)).toEqual(expected);
  });
});

describe('validateOrder: whole orders', () => {
  it.each<{ name: string; lines: OrderLineInput[]; expected: OrderProblem[] }>([
    { name: 'empty order', lines: [], expected: [{ problem: 'empty_order', detail: 'the order has no lines' }] },
    { name: 'several good lines', lines: [line(1, 'A', 1000), line(2, 'B', 999), line(3, 'A', 1010)], expected: [] },
    {
      name: 'several problems, in line order',
      lines: [line(1, 'NOPE', 1000), line(2, 'A', 1000), line(3, 'A', 1100), line(4, 'OLD', 500), line(5, 'B', 900)],
      expected: [
        { lineNo: 1, problem: 'unknown_sku', detail: 'line 1: unknown sku NOPE' },
        mismatch(3, 1100, 1000, 2),
        { lineNo: 4, problem: 'inactive_sku', detail: 'line 4: sku OLD is not sold' },
        mismatch(5, 900, 999, 2),
      ],
    },
    {
      name: 'problems follow the order of the lines as submitted',
      lines: [line(7, 'OLD', 500), line(2, 'NOPE', 1)],
      expected: [
        { lineNo: 7, problem: 'inactive_sku', detail: 'line 7: sku OLD is not sold' },
        { lineNo: 2, problem: 'unknown_sku', detail: 'line 2: unknown sku NOPE' },
      ],
    },
  ])('$name', ({ lines, expected }) => {
    expect(validateOrder(order(lines), catalog, 2)).toStrictEqual(expected);
  });
});
