/** Pure purchasing rules: approval by value, receipt tolerance, landed cost, three-way match. */

export type PurchaseOrderCreatorRole = 'buyer' | 'ops';

export interface PurchaseLine {
  lineNo: number;
  qty: number;
  unitCostMinor: number;
}

export function purchaseOrderValue(lines: PurchaseLine[]): number {
  return lines.reduce((sum, l) => sum + l.qty * l.unitCostMinor, 0);
}

/**
 * A buyer's PO proceeds up to the buyer limit; anything above waits for finance. Ops
 * has no purchasing limit of its own, so an ops draft waits for a buyer (up to the
 * limit) or finance.
 */
export function approvalNeeded(valueMinor: number, creator: PurchaseOrderCreatorRole, buyerLimitMinor: number): { needed: boolean; approverRole: 'buyer' | 'finance' } {
  const approverRole = valueMinor > buyerLimitMinor ? 'finance' : 'buyer';
  return { needed: creator !== 'buyer' || valueMinor > buyerLimitMinor, approverRole };
}

/** May this role approve a PO of this value? Finance has no limit. */
export function mayApprove(role: string, valueMinor: number, buyerLimitMinor: number): boolean {
  if (role === 'finance') return true;
  return role === 'buyer' && valueMinor <= buyerLimitMinor;
}

export interface LineProgress {
  ordered: number;
  received: number;
  cancelled: number;
}

export function toleranceUnits(ordered: number, tolerancePct: number): number {
  return Math.floor((ordered * tolerancePct) / 100);
}

/** What of an arriving quantity is accepted at once; the rest (over the tolerance) waits for a decision. */
export function splitReceipt(line: LineProgress, qty: number, tolerancePct: number): { accepted: number; excess: number } {
  const ceiling = line.ordered - line.cancelled + toleranceUnits(line.ordered, tolerancePct);
  const accepted = Math.max(0, Math.min(qty, ceiling - line.received));
  return { accepted, excess: qty - accepted };
}

/** A line is done when it is fully received or cancelled, or received short within the tolerance. */
export function lineComplete(line: LineProgress, tolerancePct: number): boolean {
  return line.received + line.cancelled >= line.ordered || (line.received > 0 && line.received >= line.ordered - toleranceUnits(line.ordered, tolerancePct));
}

/**
 * Spreads a landed cost (freight, duty) over receipt lines by value or by quantity, in
 * whole minor units that add up exactly (largest remainder, ties to the earlier line).
 */
export function allocateLandedCost(lines: { qty: number; unitCostMinor: number }[], totalMinor: number, basis: 'value' | 'quantity'): number[] {
  if (lines.length === 0 || totalMinor === 0) return lines.map(() => 0);
  let weights = lines.map((l) => (basis === 'value' ? l.qty * l.unitCostMinor : l.qty));
  let sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) {
    weights = lines.map((l) => l.qty);
    sum = weights.reduce((a, b) => a + b, 0);
  }
  const shares = weights.map((w) => Math.floor((totalMinor * w) / sum));
  let left = totalMinor - shares.reduce((a, b) => a + b, 0);
  const order = weights
    .map((w, i) => ({ i, rest: (totalMinor * w) % sum }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    shares[i]! += 1;
    left -= 1;
  }
  return shares;
}

export interface InvoiceLine {
  lineNo: number;
  qty: number;
  unitCostMinor: number;
}

export interface MatchLine {
  lineNo: number;
  unitCostMinor: number;
  received: number;
  invoiced: number;
}

export interface InvoiceDifference {
  lineNo?: number;
  kind: 'unknown_line' | 'qty_over_received' | 'price_over_tolerance' | 'charges_over_landed_cost';
  expected: number;
  invoiced: number;
}

export interface InvoiceMatch {
  matched: boolean;
  differences: InvoiceDifference[];
  /** What the invoice relieves from GRNI: its units at PO cost, plus its charges up to the landed cost not yet invoiced. */
  grniMinor: number;
  /** The part of the charges that relieves landed cost received (the rest is a price variance). */
  chargesRelievedMinor: number;
  /** What is owed to the supplier. */
  totalMinor: number;
}

/**
 * Three-way match: every invoice line against the PO price (within a tolerance) and the
 * quantity received and not yet invoiced; charges against landed cost received and not yet invoiced.
 */
export function matchInvoice(
  poLines: MatchLine[],
  invoice: { lines: InvoiceLine[]; chargesMinor: number },
  landedUninvoicedMinor: number,
  priceTolerancePct: number,
): InvoiceMatch {
  const differences: InvoiceDifference[] = [];
  const chargesRelievedMinor = Math.min(invoice.chargesMinor, Math.max(0, landedUninvoicedMinor));
  let grniMinor = chargesRelievedMinor;
  let totalMinor = invoice.chargesMinor;
  for (const line of invoice.lines) {
    totalMinor += line.qty * line.unitCostMinor;
    const po = poLines.find((l) => l.lineNo === line.lineNo);
    if (!po) {
      differences.push({ lineNo: line.lineNo, kind: 'unknown_line', expected: 0, invoiced: line.qty });
      continue;
    }
    grniMinor += line.qty * po.unitCostMinor;
    if (line.qty > po.received - po.invoiced) {
      differences.push({ lineNo: line.lineNo, kind: 'qty_over_received', expected: po.received - po.invoiced, invoiced: line.qty });
    }
    if (Math.abs(line.unitCostMinor - po.unitCostMinor) * 100 > po.unitCostMinor * priceTolerancePct) {
      differences.push({ lineNo: line.lineNo, kind: 'price_over_tolerance', expected: po.unitCostMinor, invoiced: line.unitCostMinor });
    }
  }
  if (invoice.chargesMinor > landedUninvoicedMinor) {
    differences.push({ kind: 'charges_over_landed_cost', expected: landedUninvoicedMinor, invoiced: invoice.chargesMinor });
  }
  return { matched: differences.length === 0, differences, grniMinor, totalMinor, chargesRelievedMinor };
}

/** Differences a person may accept (the supplier's price); billing for units not received can only be disputed. */
export function acceptableDifferences(differences: InvoiceDifference[]): boolean {
  return differences.every((d) => d.kind === 'price_over_tolerance' || d.kind === 'charges_over_landed_cost');
}

/**
 * The journal lines of a supplier invoice taken into payables: GRNI relieved at PO cost, the
 * supplier's total owed, and the difference as a purchase price variance.
 */
export function invoicePostingLines(grniMinor: number, totalMinor: number): { account: string; debitMinor?: number; creditMinor?: number }[] {
  const variance = totalMinor - grniMinor;
  const lines: { account: string; debitMinor?: number; creditMinor?: number }[] = [];
  if (grniMinor > 0) lines.push({ account: '2100', debitMinor: grniMinor });
  if (variance > 0) lines.push({ account: '5200', debitMinor: variance });
  lines.push({ account: '2000', creditMinor: totalMinor });
  if (variance < 0) lines.push({ account: '5200', creditMinor: -variance });
  return lines;
}
