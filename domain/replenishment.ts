/**
 * Replenishment planning: demand forecast from shipped history (the method chosen by
 * backtest, domain/forecast.ts), safety stock from the forecast's error over the lead time
 * at the SKU class's service level, reorder point, and an order-up-to quantity rounded to
 * MOQ and pack size.
 */
import { demandOver, forecastDemand, type ForecastMethod } from './forecast.js';

export type SkuClass = 'A' | 'B' | 'C';

/** z-scores of the cycle service level each class aims for: A 98%, B 95%, C 90%. */
export const serviceLevelZ: Record<SkuClass, number> = { A: 2.05, B: 1.65, C: 1.28 };

/** Mean and (sample) standard deviation of daily demand; days without shipments count as zero. The planner's forecast before backtested methods, kept as the benchmark's baseline. */
export function demandStats(dailyQty: number[]): { averageDaily: number; deviation: number } {
  const n = dailyQty.length;
  if (n === 0) return { averageDaily: 0, deviation: 0 };
  const mean = dailyQty.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { averageDaily: mean, deviation: 0 };
  const variance = dailyQty.reduce((sum, q) => sum + (q - mean) ** 2, 0) / (n - 1);
  return { averageDaily: mean, deviation: Math.sqrt(variance) };
}

/** Safety stock z × σ × √lead time, in whole units (rounded up). */
export function safetyStock(skuClass: SkuClass, deviation: number, leadTimeDays: number): number {
  // The small epsilon keeps float noise (9.900000000000002) from adding a unit.
  return Math.max(0, Math.ceil(serviceLevelZ[skuClass] * deviation * Math.sqrt(leadTimeDays) - 1e-9));
}

/** Demand over the lead time plus safety stock, in whole units (rounded up). */
export function reorderPoint(averageDaily: number, leadTimeDays: number, safety: number): number {
  return Math.max(0, Math.ceil(averageDaily * leadTimeDays + safety - 1e-9));
}

/** The smallest quantity ≥ need that is at least the MOQ and a whole number of packs; 0 when nothing is needed. */
export function roundOrderQuantity(need: number, moq: number, packSize: number): number {
  if (need <= 0) return 0;
  const atLeast = Math.max(need, moq);
  return Math.ceil(atLeast / packSize) * packSize;
}

export interface ReplenishmentInput {
  skuClass: SkuClass;
  /** Units shipped per day over the history window, oldest first. */
  dailyShipped: number[];
  /** Multiplier for a promotion or season ahead (1 = none). */
  uplift?: number;
  leadTimeDays: number;
  /** Days between planning runs: the order covers them too. */
  reviewPeriodDays: number;
  available: number;
  allocated: number;
  quarantine: number;
  inbound: number;
  inTransit: number;
  moq: number;
  packSize: number;
}

export interface ReplenishmentSuggestion {
  /** Forecast units per day over the lead time (uplift included). */
  averageDaily: number;
  /** The forecast's daily error (root mean square of its backtest errors, uplift included): what safety stock covers. */
  deviation: number;
  /** The forecasting method chosen for this series by backtest, with its errors there (null when too short to backtest). */
  forecastMethod: ForecastMethod;
  forecastWape: number | null;
  forecastMase: number | null;
  forecastNote: string;
  /** Forecast demand over the lead time, and its 90% prediction interval. */
  leadTimeDemand: number;
  leadTimeDemandLow: number;
  leadTimeDemandHigh: number;
  safetyStock: number;
  reorderPoint: number;
  targetLevel: number;
  /** On hand (available + allocated + quarantine) − allocated + inbound + in transit. */
  position: number;
  reorder: boolean;
  suggestedQty: number;
}

/** z of the two-sided 90% prediction interval shown with each suggestion. */
export const intervalZ = 1.645;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Reorder when the position is at or below the reorder point (forecast demand over the lead
 * time plus safety stock); order up to the point plus the forecast over the review period.
 */
export function suggestReplenishment(input: ReplenishmentInput): ReplenishmentSuggestion {
  const uplift = input.uplift ?? 1;
  const lead = Math.max(0, input.leadTimeDays);
  const forecast = forecastDemand(input.dailyShipped, { horizon: lead + input.reviewPeriodDays });
  const leadDemand = demandOver(forecast, lead, intervalZ);
  const wholeHorizon = forecast.daily.reduce((a, b) => a + b, 0) * uplift;
  const reviewDemand = wholeHorizon - leadDemand.expected * uplift;
  const deviation = forecast.errorSd * uplift;
  const safety = safetyStock(input.skuClass, deviation, lead);
  const point = Math.max(0, Math.ceil(leadDemand.expected * uplift + safety - 1e-9));
  const targetLevel = Math.max(0, Math.ceil(point + reviewDemand - 1e-9));
  const onHand = input.available + input.allocated + input.quarantine;
  const position = onHand - input.allocated + input.inbound + input.inTransit;
  const reorder = wholeHorizon > 0 && position <= point;
  return {
    averageDaily: round3(lead > 0 ? (leadDemand.expected * uplift) / lead : (forecast.daily[0] ?? 0) * uplift),
    deviation: round3(deviation),
    forecastMethod: forecast.method,
    forecastWape: forecast.wape,
    forecastMase: forecast.mase,
    forecastNote: forecast.note,
    leadTimeDemand: round3(leadDemand.expected * uplift),
    leadTimeDemandLow: round3(leadDemand.low * uplift),
    leadTimeDemandHigh: round3(leadDemand.high * uplift),
    safetyStock: safety,
    reorderPoint: point,
    targetLevel,
    position,
    reorder,
    suggestedQty: reorder ? roundOrderQuantity(targetLevel - position, input.moq, input.packSize) : 0,
  };
}

/** One warehouse's plan for a sku, as the transfer pass sees it. */
export interface WarehousePlan {
  warehouse: string;
  /** Free stock that could be shipped out today. */
  available: number;
  /** Of the supplier this warehouse would buy from. */
  moq: number;
  packSize: number;
  plan: ReplenishmentSuggestion;
}

export interface ProposedTransfer {
  from: string;
  qty: number;
}

export interface BalancedPlan extends ReplenishmentSuggestion {
  warehouse: string;
  /** Available units above this warehouse's own target level (reorder point + order-up-to need). */
  excess: number;
  /** Of the excess, units proposed to go to other warehouses. */
  transferOutQty: number;
  /** Transfers in from warehouses with excess, proposed before any purchase. */
  transfers: ProposedTransfer[];
  transferInQty: number;
  /** What would be bought without transfers. */
  purchaseQtyBeforeTransfers: number;
  /** What still needs buying once the transfers in are counted (MOQ and pack rounded); 0 when they cover it. */
  suggestedQty: number;
}

/** Units a warehouse can give away: available stock above its target level, so the giver never falls to its reorder point. */
export function excessStock(available: number, plan: Pick<ReplenishmentSuggestion, 'targetLevel'>): number {
  return Math.max(0, available - plan.targetLevel);
}

/**
 * Transfer before buy, for one sku across its warehouses: each warehouse that reorders
 * first takes what it needs up to its target level from warehouses with excess (largest
 * excess first), and buys only the rest, rounded to MOQ and pack size. The most urgent
 * warehouse (furthest below its reorder point) is served first.
 */
export function planTransfersBeforeBuy(places: WarehousePlan[]): BalancedPlan[] {
  const result = new Map<string, BalancedPlan>(
    places.map((p) => [
      p.warehouse,
      {
        ...p.plan,
        warehouse: p.warehouse,
        excess: excessStock(p.available, p.plan),
        transferOutQty: 0,
        transfers: [],
        transferInQty: 0,
        purchaseQtyBeforeTransfers: p.plan.suggestedQty,
      },
    ]),
  );
  const spare = (b: BalancedPlan) => b.excess - b.transferOutQty;
  const urgent = places
    .filter((p) => p.plan.reorder)
    .sort((a, b) => a.plan.position - a.plan.reorderPoint - (b.plan.position - b.plan.reorderPoint) || a.warehouse.localeCompare(b.warehouse));
  for (const receiver of urgent) {
    const balanced = result.get(receiver.warehouse)!;
    let need = receiver.plan.targetLevel - receiver.plan.position;
    const givers = [...result.values()]
      .filter((g) => g.warehouse !== receiver.warehouse && spare(g) > 0)
      .sort((a, b) => spare(b) - spare(a) || a.warehouse.localeCompare(b.warehouse));
    for (const giver of givers) {
      if (need <= 0) break;
      const qty = Math.min(need, spare(giver));
      balanced.transfers.push({ from: giver.warehouse, qty });
      balanced.transferInQty += qty;
      giver.transferOutQty += qty;
      need -= qty;
    }
    balanced.suggestedQty = roundOrderQuantity(need, receiver.moq, receiver.packSize);
  }
  return places.map((p) => result.get(p.warehouse)!);
}

/** A promotion or season: demand × `factor` from `from` to `to`, ISO dates, both days inclusive. */
export interface DemandUplift {
  from: string;
  to: string;
  factor: number;
}

const epochDay = (isoDate: string) => Math.floor(Date.parse(`${isoDate.slice(0, 10)}T00:00:00Z`) / 86_400_000);

/** The ranges of `uplifts` that share a day with another, as messages (empty when none overlap). */
export function overlappingUplifts(uplifts: DemandUplift[]): string[] {
  const sorted = [...uplifts].sort((a, b) => epochDay(a.from) - epochDay(b.from));
  const problems: string[] = [];
  let reach: DemandUplift | undefined; // the range reaching furthest so far
  for (const u of sorted) {
    if (reach && epochDay(u.from) <= epochDay(reach.to)) problems.push(`${reach.from}..${reach.to} overlaps ${u.from}..${u.to}`);
    if (!reach || epochDay(u.to) > epochDay(reach.to)) reach = u;
  }
  return problems;
}

/**
 * The demand factor over a horizon of `horizonDays` days starting on `start` (an ISO date):
 * each uplift's factor weighted by the days it overlaps the horizon, and 1 for the days no
 * uplift covers. Uplifts are expected not to overlap one another. A horizon of no days is 1.
 */
export function horizonUplift(uplifts: DemandUplift[], start: string, horizonDays: number): number {
  if (horizonDays <= 0) return 1;
  const first = epochDay(start);
  const last = first + horizonDays - 1;
  let covered = 0;
  let weighted = 0;
  for (const u of uplifts) {
    const days = Math.min(last, epochDay(u.to)) - Math.max(first, epochDay(u.from)) + 1;
    if (days <= 0) continue;
    covered += days;
    weighted += days * u.factor;
  }
  return (weighted + (horizonDays - covered)) / horizonDays;
}
