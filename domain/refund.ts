/**
 * What a return gives back, from what the customer paid. Order-level amounts (a line's
 * discount and tax, the order's freight) are shared by units exactly as shipments shared
 * them out (`cumulativeShare`): the returns of an order take the shares of units n+1..n+k
 * after the n returned before, so returning everything gives back what was charged, to
 * the minor unit, however the returns were split.
 */
import type { ChannelName } from './order.js';
import { cumulativeShare, postedLines, type JournalLineInput } from './postings.js';
import type { ReturnReason, ReturnResolution } from './return-rules.js';

export interface ReturnPolicy {
  /** Days after a unit shipped during which it may be returned, per channel. */
  windowDays: Record<ChannelName, number>;
  /** How long an authorized return waits for its parcels. */
  receiptExpiry: string;
  /** A refund above this needs a finance approval. */
  refundApprovalLimitMinor: number;
  /** Percentage of the net merchandise kept as a restocking fee… */
  restockingFeePct: number;
  /** …for returns with these reasons (the customer's choice, not our fault). */
  restockingFeeReasons: ReturnReason[];
  /** The freight charged is given back for these reasons (our or the carrier's fault). */
  freightRefundReasons: ReturnReason[];
  /** A return received but not refunded within this shows as an exception. */
  sla: string;
}

export interface ReturnedLine {
  lineNo: number;
  sku: string;
  /** Units given back by this return. */
  qty: number;
  /** Units of the same order line given back by earlier returns. */
  before: number;
  /** The order line as paid: units ordered, unit price, its discount and tax. */
  orderedQty: number;
  unitPriceMinor: number;
  lineDiscountMinor: number;
  lineTaxMinor: number;
}

export interface RefundInput {
  resolution: ReturnResolution;
  reason: ReturnReason;
  lines: ReturnedLine[];
  /** The order's freight charge and its units, and the units given back before this return. */
  freight: { orderFreightMinor: number; orderedUnits: number; unitsBefore: number };
  policy: Pick<ReturnPolicy, 'restockingFeePct' | 'restockingFeeReasons' | 'freightRefundReasons'>;
}

export interface RefundLine {
  lineNo: number;
  sku: string;
  qty: number;
  merchandiseMinor: number;
  discountMinor: number;
  taxMinor: number;
}

export interface RefundBreakdown {
  lines: RefundLine[];
  /** Units × unit price. */
  merchandiseMinor: number;
  /** The discount those units had: it is not given back. */
  discountMinor: number;
  taxMinor: number;
  /** Freight given back (by reason; never on an exchange, whose replacement ships free). */
  freightMinor: number;
  /** Kept by policy, on the net merchandise, rounded down (never on an exchange). */
  restockingFeeMinor: number;
  /** What the customer is owed: merchandise − discount + tax + freight − fee. */
  totalMinor: number;
  freightRefunded: boolean;
  feeCharged: boolean;
}

export function computeRefund(input: RefundInput): RefundBreakdown {
  const lines: RefundLine[] = input.lines
    .filter((l) => l.qty > 0)
    .map((l) => ({
      lineNo: l.lineNo,
      sku: l.sku,
      qty: l.qty,
      merchandiseMinor: l.qty * l.unitPriceMinor,
      discountMinor: cumulativeShare(l.lineDiscountMinor, l.before, l.qty, l.orderedQty),
      taxMinor: cumulativeShare(l.lineTaxMinor, l.before, l.qty, l.orderedQty),
    }));
  const merchandiseMinor = lines.reduce((n, l) => n + l.merchandiseMinor, 0);
  const discountMinor = lines.reduce((n, l) => n + l.discountMinor, 0);
  const taxMinor = lines.reduce((n, l) => n + l.taxMinor, 0);
  const units = lines.reduce((n, l) => n + l.qty, 0);
  const exchange = input.resolution === 'exchange';
  const freightRefunded = !exchange && input.policy.freightRefundReasons.includes(input.reason);
  const freightMinor = freightRefunded ? cumulativeShare(input.freight.orderFreightMinor, input.freight.unitsBefore, units, input.freight.orderedUnits) : 0;
  const feeCharged = !exchange && input.policy.restockingFeeReasons.includes(input.reason) && input.policy.restockingFeePct > 0;
  const restockingFeeMinor = feeCharged ? Math.floor(((merchandiseMinor - discountMinor) * input.policy.restockingFeePct) / 100) : 0;
  return {
    lines,
    merchandiseMinor,
    discountMinor,
    taxMinor,
    freightMinor,
    restockingFeeMinor,
    totalMinor: merchandiseMinor - discountMinor + taxMinor + freightMinor - restockingFeeMinor,
    freightRefunded,
    feeCharged,
  };
}

/**
 * The journal entry of a refund or an exchange credit, mirroring the shipment's posting:
 * refunds and returns (contra revenue) for the merchandise, the discount back, tax payable
 * and freight revenue reversed, the fee kept as income; paid out through the payment
 * clearing account, and on an exchange first applied to the replacement's receivable.
 */
export function refundEntryLines(b: RefundBreakdown, settlement: { cashMinor: number; appliedToReceivableMinor: number }): JournalLineInput[] {
  if (settlement.cashMinor + settlement.appliedToReceivableMinor !== b.totalMinor || settlement.cashMinor < 0 || settlement.appliedToReceivableMinor < 0) {
    throw new Error(`settlement ${settlement.cashMinor} + ${settlement.appliedToReceivableMinor} does not match the total ${b.totalMinor}`);
  }
  const lines: JournalLineInput[] = [
    { account: '4300', debitMinor: b.merchandiseMinor },
    { account: '4200', creditMinor: b.discountMinor },
    { account: '2200', debitMinor: b.taxMinor },
    { account: '4100', debitMinor: b.freightMinor },
    { account: '4400', creditMinor: b.restockingFeeMinor },
    { account: '1100', creditMinor: settlement.appliedToReceivableMinor },
    { account: '1000', creditMinor: settlement.cashMinor },
  ];
  return postedLines(lines);
}

/** A refund above the limit waits for finance. */
export function needsApproval(totalMinor: number, policy: Pick<ReturnPolicy, 'refundApprovalLimitMinor'>): boolean {
  return totalMinor > policy.refundApprovalLimitMinor;
}

/**
 * The original cost of returned units: the cost the line's shipments posted to COGS,
 * shared by units cumulatively, so that every unit of the line coming back restores
 * exactly what its shipments took out of inventory.
 */
export function returnedCostMinor(lineCogsMinor: number, shippedUnits: number, returnedBefore: number, qty: number): number {
  return cumulativeShare(lineCogsMinor, returnedBefore, qty, shippedUnits);
}

/**
 * `total` shared over parts by weight, cumulatively (floors of running sums), so the parts
 * add up to `total` exactly. Parts weigh equally when every weight is zero.
 */
export function shareByWeight(total: number, weights: number[]): number[] {
  if (weights.some((w) => !Number.isSafeInteger(w) || w < 0) || !Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`shareByWeight takes non-negative integers, got ${total} over [${weights.join(', ')}]`);
  }
  const used = weights.some((w) => w > 0) ? weights : weights.map(() => 1);
  // BigInt: total × running weight may pass 2^53 (units × unit cost as weights).
  const whole = used.reduce((n, w) => n + BigInt(w), 0n);
  let running = 0n;
  let previous = 0n;
  return used.map((w) => {
    running += BigInt(w);
    const upTo = (BigInt(total) * running) / whole;
    const share = Number(upTo - previous);
    previous = upTo;
    return share;
  });
}
