/**
 * What a shipment posts to the journal. Order-level amounts (a line's discount and tax,
 * the order's freight charge) are shared out by units shipped, cumulatively: the share
 * of units n+1..n+k is floor(total × (n+k) / all) − floor(total × n / all), so the
 * shipments of an order add up to the total to the minor unit, whatever the split.
 */
/**
 * One line of a journal entry: an account and a debit or a credit, in minor units of the
 * line's transaction currency (the entry's currency unless the line names its own).
 */
export interface JournalLineInput {
  account: string;
  debitMinor?: number;
  creditMinor?: number;
  /** ISO 4217; default: the entry's currency. */
  currency?: string;
  /**
   * The functional amount when the line settles a balance booked at another rate (a
   * capture crediting the receivable at the revenue's rate); else it is converted at the
   * entry's rate. The difference this leaves is realized exchange gain or loss.
   */
  functionalMinor?: number;
}

export function cumulativeShare(total: number, before: number, now: number, whole: number): number {
  if (whole <= 0) return 0;
  return Math.floor((total * (before + now)) / whole) - Math.floor((total * before) / whole);
}

export interface ShippedLine {
  qty: number;
  unitPriceMinor: number;
  discountMinor: number;
  taxMinor: number;
  /** The units' cost at average cost (a line may ship a substitute at another cost). */
  costMinor: number;
}

export interface ShipmentAmounts {
  revenueMinor: number;
  discountMinor: number;
  taxMinor: number;
  freightChargedMinor: number;
  cogsMinor: number;
  freightCostMinor: number;
}

export function shipmentAmounts(lines: ShippedLine[], freightChargedMinor: number, freightCostMinor: number): ShipmentAmounts {
  return {
    revenueMinor: lines.reduce((n, l) => n + l.qty * l.unitPriceMinor, 0),
    discountMinor: lines.reduce((n, l) => n + l.discountMinor, 0),
    taxMinor: lines.reduce((n, l) => n + l.taxMinor, 0),
    freightChargedMinor,
    cogsMinor: lines.reduce((n, l) => n + l.costMinor, 0),
    freightCostMinor,
  };
}

/** An entry's lines without those that post nothing. */
export const postedLines = (lines: JournalLineInput[]): JournalLineInput[] => lines.filter((l) => (l.debitMinor ?? 0) > 0 || (l.creditMinor ?? 0) > 0);

/**
 * Receivable against revenue, tax payable and freight revenue (discount as a contra
 * revenue); cost of goods against inventory at average cost; the carrier's freight
 * cost against payables. Lines with nothing to post are left out.
 *
 * When the order is in a currency other than the functional one, `currencies` says so:
 * the sale's lines are in the order's currency, the costs (average cost, the carrier's
 * bill) in the functional currency; each side balances in its own currency.
 */
export function shipmentEntryLines(a: ShipmentAmounts, currencies?: { sale: string; cost: string }): JournalLineInput[] {
  const receivable = a.revenueMinor - a.discountMinor + a.taxMinor + a.freightChargedMinor;
  const sale = currencies ? { currency: currencies.sale } : {};
  const cost = currencies ? { currency: currencies.cost } : {};
  const lines: JournalLineInput[] = [
    { account: '1100', debitMinor: receivable, ...sale },
    { account: '4200', debitMinor: a.discountMinor, ...sale },
    { account: '4000', creditMinor: a.revenueMinor, ...sale },
    { account: '2200', creditMinor: a.taxMinor, ...sale },
    { account: '4100', creditMinor: a.freightChargedMinor, ...sale },
    { account: '5000', debitMinor: a.cogsMinor, ...cost },
    { account: '1300', creditMinor: a.cogsMinor, ...cost },
    { account: '5100', debitMinor: a.freightCostMinor, ...cost },
    { account: '2000', creditMinor: a.freightCostMinor, ...cost },
  ];
  return postedLines(lines);
}
