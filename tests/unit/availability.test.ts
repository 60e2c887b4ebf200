import { describe, expect, it } from 'vitest';
import { availableToPromise, availableToSell } from '../../domain/availability.js';

describe('availableToPromise', () => {
  it.each([
    { available: 10, inbound: 5, inTransit: 3, includeInbound: false, expected: 10 },
    { available: 10, inbound: 5, inTransit: 3, includeInbound: true, expected: 18 },
    { available: 10, inbound: 0, inTransit: 0, includeInbound: true, expected: 10 },
    { available: 0, inbound: 5, inTransit: 3, includeInbound: false, expected: 0 },
    { available: 0, inbound: 5, inTransit: 3, includeInbound: true, expected: 8 },
    { available: 0, inbound: 0, inTransit: 7, includeInbound: true, expected: 7 },
  ])('available $available, inbound $inbound, in transit $inTransit, includeInbound $includeInbound → $expected', ({ includeInbound, expected, ...stock }) => {
    expect(availableToPromise(stock, includeInbound)).toBe(expected);
  });
});

describe('availableToSell', () => {
  it.each([
    // No safety stock, no buffer.
    { name: 'everything sellable', available: 10, safetyStock: 0, bufferQty: 0, bufferPct: 0, expected: 10 },
    // Safety stock.
    { name: 'safety stock held back', available: 10, safetyStock: 3, bufferQty: 0, bufferPct: 0, expected: 7 },
    { name: 'safety stock equal to available', available: 3, safetyStock: 3, bufferQty: 0, bufferPct: 0, expected: 0 },
    { name: 'safety stock above available: never negative', available: 2, safetyStock: 5, bufferQty: 0, bufferPct: 0, expected: 0 },
    // Zero and negative available.
    { name: 'zero available', available: 0, safetyStock: 0, bufferQty: 0, bufferPct: 0, expected: 0 },
    { name: 'zero available with buffers', available: 0, safetyStock: 0, bufferQty: 2, bufferPct: 10, expected: 0 },
    { name: 'negative available', available: -5, safetyStock: 0, bufferQty: 0, bufferPct: 0, expected: 0 },
    { name: 'negative available with safety stock and buffers', available: -5, safetyStock: 2, bufferQty: 1, bufferPct: 50, expected: 0 },
    // Percentage buffer, rounded up to whole units.
    { name: 'pct buffer, exact', available: 100, safetyStock: 0, bufferQty: 0, bufferPct: 10, expected: 90 },
    { name: 'pct buffer 9.5 rounds up to 10', available: 95, safetyStock: 0, bufferQty: 0, bufferPct: 10, expected: 85 },
    { name: 'pct buffer 1.1 rounds up to 2', available: 11, safetyStock: 0, bufferQty: 0, bufferPct: 10, expected: 9 },
    { name: 'pct buffer 0.01 rounds up to 1', available: 1, safetyStock: 0, bufferQty: 0, bufferPct: 1, expected: 0 },
    { name: 'pct buffer 100 holds everything', available: 40, safetyStock: 0, bufferQty: 0, bufferPct: 100, expected: 0 },
    { name: 'pct buffer is a share of stock after safety stock', available: 100, safetyStock: 50, bufferQty: 0, bufferPct: 50, expected: 25 },
    // Quantity buffer.
    { name: 'qty buffer', available: 10, safetyStock: 0, bufferQty: 3, bufferPct: 0, expected: 7 },
    { name: 'qty buffer equal to sellable', available: 10, safetyStock: 0, bufferQty: 10, bufferPct: 0, expected: 0 },
    { name: 'qty buffer above sellable: never negative', available: 10, safetyStock: 0, bufferQty: 12, bufferPct: 0, expected: 0 },
    // Both buffers together, after safety stock.
    { name: 'both buffers: 90 − (9 + 5)', available: 100, safetyStock: 10, bufferQty: 5, bufferPct: 10, expected: 76 },
    { name: 'both buffers: 21 − (ceil 2.1 + 2)', available: 25, safetyStock: 4, bufferQty: 2, bufferPct: 10, expected: 16 },
    { name: 'both buffers exceeding sellable: never negative', available: 10, safetyStock: 2, bufferQty: 5, bufferPct: 50, expected: 0 },
    // Matches tests/integration/inventory-api.test.ts: 22 available, safety 2, 10% and 1 unit → 17.
    { name: 'marketplace example', available: 22, safetyStock: 2, bufferQty: 1, bufferPct: 10, expected: 17 },
  ])('$name → $expected', ({ available, safetyStock, bufferQty, bufferPct, expected }) => {
    expect(availableToSell(available, safetyStock, { bufferQty, bufferPct })).toBe(expected);
  });
});
