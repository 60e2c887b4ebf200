/**
 * Channel publishing rules with no I/O: feed positions, which outbox events move a
 * channel's available-to-sell, and when a failing channel becomes an exception.
 */

/** A position in the outbox feed: the writing transaction's id (xid8) and the event id. */
export interface FeedPosition {
  txId: bigint;
  id: number;
}

const cursorPattern = /^(\d{1,20})-(\d{1,16})$/;
const maxXid8 = 2n ** 64n - 1n;

/** `<tx_id>-<id>`, the same text `GET /events` pages with. */
export function formatCursor(position: FeedPosition): string {
  return `${position.txId}-${position.id}`;
}

/** The position a cursor names, or undefined when the text is not a cursor. */
export function parseCursor(text: string): FeedPosition | undefined {
  const match = cursorPattern.exec(text);
  if (!match) return undefined;
  const txId = BigInt(match[1]!);
  const id = Number(match[2]!);
  if (txId > maxXid8 || !Number.isSafeInteger(id)) return undefined;
  return { txId, id };
}

/** Feed order: by transaction id, then event id. Negative when `a` comes first. */
export function compareCursors(a: string, b: string): number {
  const left = parseCursor(a);
  const right = parseCursor(b);
  if (!left || !right) throw new Error(`not a feed cursor: ${left ? b : a}`);
  if (left.txId !== right.txId) return left.txId < right.txId ? -1 : 1;
  return left.id - right.id;
}

/** Topics that move a channel's available-to-sell. */
export const AVAILABILITY_CHANGED = 'availability.changed';
export const CHANNEL_UPDATED = 'channel.updated';

export interface FeedEvent {
  cursor: string;
  topic: string;
  key: string;
}

export interface BatchPlan {
  /** Distinct skus whose available-to-sell may have moved, sorted; empty when `snapshot`. */
  skus: string[];
  /** The channel's own settings changed (buffer, webhook): every sku is published again. */
  snapshot: boolean;
  /** Events in the range that concern this channel. */
  relevant: number;
}

/**
 * What a range of the feed means for one channel. Stock movements (`availability.changed`,
 * keyed by sku) concern every channel; a change of the channel's settings
 * (`channel.updated`, keyed by channel) moves every sku at once. Other topics are passed over.
 */
export function planBatch(channel: string, events: readonly FeedEvent[]): BatchPlan {
  const skus = new Set<string>();
  let snapshot = false;
  let relevant = 0;
  for (const event of events) {
    if (event.topic === AVAILABILITY_CHANGED) {
      skus.add(event.key);
      relevant += 1;
    } else if (event.topic === CHANNEL_UPDATED && event.key === channel) {
      snapshot = true;
      relevant += 1;
    }
  }
  return { skus: snapshot ? [] : [...skus].sort(), snapshot, relevant };
}

export interface FailureState {
  consecutiveFailures: number;
  exceptionOpen: boolean;
}

/** A channel that failed `threshold` deliveries in a row raises one exception for the episode. */
export function shouldRaiseDeliveryException(state: FailureState, threshold: number): boolean {
  return !state.exceptionOpen && state.consecutiveFailures >= Math.max(1, threshold);
}
