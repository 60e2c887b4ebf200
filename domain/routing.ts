/**
 * Where an order's units come from. Without a channel policy: the nearest warehouse
 * that fills every line, else a split, nearest stock first. With one, each warehouse is
 * costed (freight by its model and the distance, days late against the promise, and no
 * work for a warehouse out of daily capacity), and one shipment is preferred unless a
 * split costs less even after the policy's penalty per extra shipment.
 * Never routes to a warehouse without the stock.
 */
import type { ChannelName } from './order.js';

export interface WarehouseSite {
  code: string;
  lat: number;
  lon: number;
  freightBaseMinor?: number;
  freightPerKmMinor?: number;
  /** Shipments it can still take today; 0 or less takes it out of routing. */
  remainingCapacity?: number;
}

export interface RoutingPolicy {
  /** What each shipment beyond the first costs: how much a split must save to be chosen. */
  splitPenaltyMinor: number;
  /** What each day late against the promised date costs. */
  lateDayPenaltyMinor: number;
}

/** Per channel: consumers are promised speed; wholesale wants one delivery; marketplaces watch cost. */
export const routingPolicies: Record<ChannelName, RoutingPolicy> = {
  dtc: { splitPenaltyMinor: 300, lateDayPenaltyMinor: 2_000 },
  subscription: { splitPenaltyMinor: 800, lateDayPenaltyMinor: 500 },
  wholesale: { splitPenaltyMinor: 5_000, lateDayPenaltyMinor: 300 },
  marketplace: { splitPenaltyMinor: 1_000, lateDayPenaltyMinor: 1_000 },
};

/** The promise a route is measured against. */
export interface RouteTiming {
  /** ISO time the customer was promised delivery by. */
  promisedBy?: string;
  /** ISO time the route is planned at. */
  now: string;
}

const DAY_MS = 86_400_000;

/** A day to pick and pack, then a day per 800 km. */
export function transitDays(distance: number): number {
  return 1 + Math.ceil(distance / 800);
}

export interface RouteLine {
  lineNo: number;
  sku: string;
  qty: number;
}

export interface RoutedUnits {
  lineNo: number;
  sku: string;
  warehouse: string;
  qty: number;
}

export interface WarehouseScore {
  warehouse: string;
  distanceKm: number;
  /** Units of the order this warehouse could supply. */
  coverableUnits: number;
  fillsAll: boolean;
  /** With a policy: freight of a shipment from here, days late, and the shipment's cost. */
  freightMinor?: number;
  transitDays?: number;
  lateDays?: number;
  costMinor?: number;
  remainingCapacity?: number;
}

export interface RoutePlan {
  units: RoutedUnits[];
  /** Units no warehouse has, per line. */
  short: { lineNo: number; sku: string; qty: number }[];
  split: boolean;
  scores: WarehouseScore[];
  reason: string;
}

export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** `available` maps `${sku}@${warehouse}` to units that can be promised there. */
export function routeOrder(
  lines: RouteLine[],
  shipTo: { lat: number; lon: number },
  sites: WarehouseSite[],
  available: Map<string, number>,
  policy?: RoutingPolicy,
  timing?: RouteTiming,
): RoutePlan {
  const left = new Map(available);
  const open = sites.filter((site) => site.remainingCapacity === undefined || site.remainingCapacity > 0);
  const closed = sites.filter((site) => !open.includes(site)).map((site) => site.code);
  const at = (sku: string, warehouse: string) => (closed.includes(warehouse) ? 0 : Math.max(0, left.get(`${sku}@${warehouse}`) ?? 0));
  const needBySku = new Map<string, number>();
  for (const line of lines) needBySku.set(line.sku, (needBySku.get(line.sku) ?? 0) + line.qty);

  const scores: WarehouseScore[] = sites.map((site) => {
    let coverable = 0;
    let fillsAll = true;
    for (const [sku, need] of needBySku) {
      coverable += Math.min(need, at(sku, site.code));
      if (at(sku, site.code) < need) fillsAll = false;
    }
    const distance = Math.round(distanceKm(shipTo, site));
    const score: WarehouseScore = { warehouse: site.code, distanceKm: distance, coverableUnits: coverable, fillsAll };
    if (policy) {
      const freight = (site.freightBaseMinor ?? 0) + (site.freightPerKmMinor ?? 0) * distance;
      const days = transitDays(distance);
      const late = timing?.promisedBy
        ? Math.max(0, Math.ceil((Date.parse(timing.now) + days * DAY_MS - Date.parse(timing.promisedBy)) / DAY_MS))
        : 0;
      Object.assign(score, { freightMinor: freight, transitDays: days, lateDays: late, costMinor: freight + late * policy.lateDayPenaltyMinor });
      if (site.remainingCapacity !== undefined) score.remainingCapacity = site.remainingCapacity;
    }
    return score;
  });
  const rank = (a: WarehouseScore, b: WarehouseScore) =>
    (a.costMinor ?? 0) - (b.costMinor ?? 0) || a.distanceKm - b.distanceKm || a.warehouse.localeCompare(b.warehouse);
  scores.sort(rank);
  const usable = scores.filter((s) => !closed.includes(s.warehouse));

  // Split: each line from the best-ranked warehouses that have it.
  const units: RoutedUnits[] = [];
  const short: RoutePlan['short'] = [];
  for (const line of lines) {
    let need = line.qty;
    for (const { warehouse } of usable) {
      if (need === 0) break;
      const take = Math.min(need, at(line.sku, warehouse));
      if (take === 0) continue;
      units.push({ lineNo: line.lineNo, sku: line.sku, warehouse, qty: take });
      left.set(`${line.sku}@${warehouse}`, at(line.sku, warehouse) - take);
      need -= take;
    }
    if (need > 0) short.push({ lineNo: line.lineNo, sku: line.sku, qty: need });
  }
  const used = [...new Set(units.map((u) => u.warehouse))];
  const splitCost = policy
    ? used.reduce((n, w) => n + (scores.find((s) => s.warehouse === w)!.costMinor ?? 0), 0) + Math.max(0, used.length - 1) * policy.splitPenaltyMinor
    : Infinity;

  const single = usable.find((s) => s.fillsAll);
  const closedNote = closed.length ? `; out of capacity today: ${closed.join(', ')}` : '';
  if (single && (used.length <= 1 || (single.costMinor ?? 0) <= splitCost)) {
    return {
      units: lines.map((line) => ({ lineNo: line.lineNo, sku: line.sku, warehouse: single.warehouse, qty: line.qty })),
      short: [],
      split: false,
      scores,
      reason: policy
        ? `${single.warehouse} fills the whole order at the lowest cost (${single.costMinor}${used.length > 1 ? ` against ${splitCost} split` : ''})${closedNote}`
        : `${single.warehouse} is the nearest warehouse (${single.distanceKm} km) that fills the whole order`,
    };
  }
  return {
    units,
    short,
    split: used.length > 1,
    scores,
    reason:
      used.length === 0
        ? `no warehouse has any of the units${closedNote}`
        : single
          ? `a split from ${used.join(', ')} costs ${splitCost}, less than one shipment from ${single.warehouse} at ${single.costMinor}${closedNote}`
          : `no single warehouse fills the order; ${policy ? 'lowest cost' : 'nearest'} stock first from ${used.join(', ')}${closedNote}`,
  };
}
