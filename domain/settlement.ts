/**
 * Reconciling a gateway payout: every balance-transaction line matched to what this product
 * posted, and the payout's one journal entry. Lines follow Stripe's balance transactions
 * (`type`, `amount` signed, `fee`, `net` = amount − fee, `source`, `reporting_category`).
 *
 * What each line posts (clearing is the gateway's payment clearing account):
 * - charge matched to a capture: clearing credited with the capture; a different amount is
 *   an exception, its difference to unidentified receipts.
 * - refund matched to a refund: clearing debited.
 * - adjustment in the `dispute` category (a chargeback) matched to a capture: the amount to
 *   chargebacks in dispute, and a dispute task with the order.
 * - stripe_fee: to fees. Every line's `fee` goes to fees too.
 * - payout: the bank, for the payout's amount.
 * - anything that matches nothing: unidentified receipts, and an exception.
 */
import type { JournalLineInput } from './postings.js';

export const settlementLineTypes = ['charge', 'refund', 'adjustment', 'payout', 'stripe_fee'] as const;
export type SettlementLineType = (typeof settlementLineTypes)[number];

export interface SettlementLine {
  lineNo: number;
  id: string;
  type: SettlementLineType;
  amountMinor: number;
  feeMinor: number;
  netMinor: number;
  source?: string;
  /** A dispute's charge (Stripe's dispute object names it), else its `source`. */
  charge?: string;
  reportingCategory?: string;
}

/** What a line's reference was matched to in the books. */
export type Match =
  | { kind: 'capture'; orderId: string; amountMinor: number }
  | { kind: 'refund'; orderId: string; amountMinor: number }
  | { kind: 'none' };

export type Outcome = 'matched' | 'differs' | 'dispute' | 'fee' | 'payout' | 'unmatched';

export interface LineResult {
  lineNo: number;
  outcome: Outcome;
  orderId?: string;
  /** For `differs`: the report's amount less ours. */
  differenceMinor?: number;
  reason?: string;
}

export const accounts = { bank: '1020', disputes: '1150', unidentified: '2400', fees: '6100' } as const;

/** The reference a line is matched by: a dispute's charge, else its source. */
export const referenceOf = (line: SettlementLine): string | undefined => (isDispute(line) ? (line.charge ?? line.source) : line.source);
export const isDispute = (line: SettlementLine): boolean => line.type === 'adjustment' && line.reportingCategory === 'dispute';

/** The outcome of each line and the payout's entry lines (netted per account and side). */
export function reconcile(lines: SettlementLine[], matchOf: (line: SettlementLine) => Match, clearing: string, payoutAmountMinor: number): { results: LineResult[]; entry: JournalLineInput[] } {
  const movements: [account: string, signedMinor: number][] = [];
  const results: LineResult[] = [];
  const unidentified = (line: SettlementLine, reason: string) => {
    movements.push([accounts.unidentified, -line.amountMinor]);
    results.push({ lineNo: line.lineNo, outcome: 'unmatched', reason });
  };
  for (const line of lines) {
    if (line.feeMinor > 0) movements.push([accounts.fees, line.feeMinor]);
    const match = matchOf(line);
    if (line.type === 'payout') {
      results.push({ lineNo: line.lineNo, outcome: 'payout' });
      continue;
    }
    if (line.type === 'stripe_fee') {
      movements.push([accounts.fees, -line.amountMinor]);
      results.push({ lineNo: line.lineNo, outcome: 'fee' });
    } else if (line.type === 'charge') {
      if (match.kind !== 'capture') {
        unidentified(line, `charge ${line.source ?? '(no source)'} matches no capture`);
        continue;
      }
      movements.push([clearing, -match.amountMinor]);
      const difference = line.amountMinor - match.amountMinor;
      if (difference !== 0) movements.push([accounts.unidentified, -difference]);
      results.push({ lineNo: line.lineNo, outcome: difference === 0 ? 'matched' : 'differs', orderId: match.orderId, ...(difference !== 0 ? { differenceMinor: difference, reason: `charged ${line.amountMinor}, captured ${match.amountMinor}` } : {}) });
    } else if (line.type === 'refund') {
      if (match.kind !== 'refund') {
        unidentified(line, `refund ${line.source ?? '(no source)'} matches no refund`);
        continue;
      }
      movements.push([clearing, match.amountMinor]);
      const difference = -line.amountMinor - match.amountMinor;
      if (difference !== 0) movements.push([accounts.unidentified, difference]);
      results.push({ lineNo: line.lineNo, outcome: difference === 0 ? 'matched' : 'differs', orderId: match.orderId, ...(difference !== 0 ? { differenceMinor: difference, reason: `refunded ${-line.amountMinor}, ours ${match.amountMinor}` } : {}) });
    } else if (isDispute(line) && match.kind === 'capture') {
      movements.push([accounts.disputes, -line.amountMinor]);
      results.push({ lineNo: line.lineNo, outcome: 'dispute', orderId: match.orderId });
    } else {
      unidentified(line, isDispute(line) ? `dispute of ${referenceOf(line) ?? '(no charge)'} matches no capture` : `adjustment ${line.source ?? ''} (${line.reportingCategory ?? 'no category'}) matches nothing`);
    }
  }
  movements.push([accounts.bank, payoutAmountMinor]);
  const net = new Map<string, number>();
  for (const [account, minor] of movements) net.set(account, (net.get(account) ?? 0) + minor);
  const entry = [...net]
    .filter(([, minor]) => minor !== 0)
    .map(([account, minor]): JournalLineInput => (minor > 0 ? { account, debitMinor: minor } : { account, creditMinor: -minor }));
  return { results, entry };
}
