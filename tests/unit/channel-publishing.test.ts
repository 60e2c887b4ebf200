import { describe, expect, it } from 'vitest';
import {
  compareCursors,
  formatCursor,
  parseCursor,
  planBatch,
  shouldRaiseDeliveryException,
  type FeedEvent,
} from '../../domain/channel-publishing.js';
import { durationMs } from '../../domain/duration.js';

describe('feed cursors', () => {
  it.each([
    { text: '0-0', txId: 0n, id: 0 },
    { text: '741-12', txId: 741n, id: 12 },
    { text: '18446744073709551615-9007199254740991', txId: 2n ** 64n - 1n, id: Number.MAX_SAFE_INTEGER },
  ])('$text round-trips', ({ text, txId, id }) => {
    expect(parseCursor(text)).toEqual({ txId, id });
    expect(formatCursor({ txId, id })).toBe(text);
  });

  it.each(['', '12', '12-', '-3', 'a-1', '1-2-3', '18446744073709551616-1', '1-9007199254740993', ' 1-2'])('refuses %j', (text) => {
    expect(parseCursor(text)).toBeUndefined();
  });

  it.each([
    { a: '5-1', b: '5-2', sign: -1 },
    { a: '5-9', b: '6-1', sign: -1, why: 'transaction id first, even with a larger event id' },
    { a: '10-1', b: '9-100', sign: 1, why: 'numeric, not text, order' },
    { a: '7-7', b: '7-7', sign: 0 },
    { a: '18446744073709551615-1', b: '18446744073709551614-2', sign: 1, why: 'beyond 2^53' },
  ])('$a vs $b → $sign', ({ a, b, sign }) => {
    expect(Math.sign(compareCursors(a, b))).toBe(sign);
    expect(Math.sign(compareCursors(b, a))).toBe(-sign || 0);
  });

  it('throws on a text that is not a cursor', () => {
    expect(() => compareCursors('1-1', 'x')).toThrow(/not a feed cursor: x/);
  });
});

describe('planBatch', () => {
  const event = (topic: string, key: string, n: number): FeedEvent => ({ topic, key, cursor: `1-${n}` });

  it('collects each sku once, sorted, from stock movements', () => {
    const plan = planBatch('dtc', [
      event('availability.changed', 'TEE-M', 1),
      event('availability.changed', 'CAP', 2),
      event('availability.changed', 'TEE-M', 3),
    ]);
    expect(plan).toEqual({ skus: ['CAP', 'TEE-M'], snapshot: false, relevant: 3 });
  });

  it("passes over other topics and other channels' settings", () => {
    const plan = planBatch('dtc', [
      event('purchase_order.issued', 'PO-1', 1),
      event('channel.updated', 'marketplace', 2),
      event('availability.changed', 'CAP', 3),
    ]);
    expect(plan).toEqual({ skus: ['CAP'], snapshot: false, relevant: 1 });
  });

  it("turns into a snapshot of every sku when the channel's own settings changed", () => {
    const plan = planBatch('marketplace', [event('availability.changed', 'CAP', 1), event('channel.updated', 'marketplace', 2)]);
    expect(plan).toEqual({ skus: [], snapshot: true, relevant: 2 });
  });

  it('finds nothing to deliver in a range of unrelated events', () => {
    expect(planBatch('dtc', [event('purchase_order.issued', 'PO-1', 1), event('channel.updated', 'wholesale', 2)])).toEqual({
      skus: [],
      snapshot: false,
      relevant: 0,
    });
    expect(planBatch('dtc', [])).toEqual({ skus: [], snapshot: false, relevant: 0 });
  });
});

describe('shouldRaiseDeliveryException', () => {
  it.each([
    { failures: 0, open: false, threshold: 3, raise: false },
    { failures: 2, open: false, threshold: 3, raise: false },
    { failures: 3, open: false, threshold: 3, raise: true },
    { failures: 9, open: false, threshold: 3, raise: true, why: 'an episode whose exception was not recorded yet' },
    { failures: 3, open: true, threshold: 3, raise: false, why: 'once per episode' },
    { failures: 12, open: true, threshold: 3, raise: false },
    { failures: 1, open: false, threshold: 0, raise: true, why: 'a threshold below one means the first failure' },
  ])('$failures failures, open $open, threshold $threshold → $raise', ({ failures, open, threshold, raise }) => {
    expect(shouldRaiseDeliveryException({ consecutiveFailures: failures, exceptionOpen: open }, threshold)).toBe(raise);
  });
});

describe('durationMs', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
  ] as const)('%s → %d', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });

  it.each(['', '5', 'm5', '1.5s', '-1s', '3w'])('refuses %j', (text) => {
    expect(() => durationMs(text)).toThrow(/not a duration/);
  });
});
