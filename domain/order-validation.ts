/** An order checked against the item master before anything is reserved. */
import type { OrderInput } from './order.js';

export interface CatalogItem {
  priceMinor: number;
  active: boolean;
}

export interface OrderProblem {
  lineNo?: number;
  problem:
    | 'unknown_sku'
    | 'inactive_sku'
    | 'price_mismatch'
    | 'empty_order'
    // Found while reading a storefront's order (domain/channel-orders.ts).
    | 'missing_sku'
    | 'negative_amount'
    | 'unsupported_currency'
    | 'missing_address'
    // The order's currency has no exchange rate into the functional currency for its date.
    | 'no_fx_rate';
  detail: string;
}

/** Unknown or inactive SKUs, and unit prices off the list price by more than `tolerancePct`. */
export function validateOrder(order: OrderInput, catalog: Map<string, CatalogItem>, tolerancePct: number): OrderProblem[] {
  const found = order.problems ?? [];
  if (order.lines.length === 0) return found.some((p) => p.problem === 'empty_order') ? found : [...found, { problem: 'empty_order', detail: 'the order has no lines' }];
  const problems: OrderProblem[] = [...found];
  for (const line of order.lines) {
    // A line already found without a sku is not looked up again.
    if (found.some((p) => p.lineNo === line.lineNo && p.problem === 'missing_sku')) continue;
    const item = catalog.get(line.sku);
    if (!item) {
      problems.push({ lineNo: line.lineNo, problem: 'unknown_sku', detail: `line ${line.lineNo}: unknown sku ${line.sku}` });
    } else if (!item.active) {
      problems.push({ lineNo: line.lineNo, problem: 'inactive_sku', detail: `line ${line.lineNo}: sku ${line.sku} is not sold` });
    } else if (Math.abs(line.unitPriceMinor - item.priceMinor) * 100 > item.priceMinor * tolerancePct) {
      problems.push({
        lineNo: line.lineNo,
        problem: 'price_mismatch',
        detail: `line ${line.lineNo}: unit price ${line.unitPriceMinor} differs from list price ${item.priceMinor} by more than ${tolerancePct}%`,
      });
    }
  }
  return problems;
}
