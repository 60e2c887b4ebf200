/**
 * Where an order's units come from. Prefer the nearest warehouse that can fill every
 * line; otherwise split, each line taking from the nearest warehouses that have it.
 * Never routes to a warehouse without the stock.
 */

export interface WarehouseSite {
  code: string;
  lat: number;
  lon: number;
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
): RoutePlan {
  const left = new Map(available);
  const at = (sku: string, warehouse: string) => Math.max(0, left.get(`${sku}@${warehouse}`) ?? 0);
  const needBySku = new Map<string, number>();
  for (const line of lines) needBySku.set(line.sku, (needBySku.get(line.sku) ?? 0) + line.qty);

  const scores = sites
    .map((site) => {
      let coverable = 0;
      let fillsAll = true;
      for (const [sku, need] of needBySku) {
        coverable += Math.min(need, at(sku, site.code));
        if (at(sku, site.code) < need) fillsAll = false;
      }
      return { warehouse: site.code, distanceKm: Math.round(distanceKm(shipTo, site)), coverableUnits: coverable, fillsAll };
    })
    .sort((a, b) => a.distanceKm - b.distanceKm || a.warehouse.localeCompare(b.warehouse));

  const single = scores.find((s) => s.fillsAll);
  if (single) {
    return {
      units: lines.map((line) => ({ lineNo: line.lineNo, sku: line.sku, warehouse: single.warehouse, qty: line.qty })),
      short: [],
      split: false,
      scores,
      reason: `${single.warehouse} is the nearest warehouse (${single.distanceKm} km) that fills the whole order`,
    };
  }

  const units: RoutedUnits[] = [];
  const short: RoutePlan['short'] = [];
  for (const line of lines) {
    let need = line.qty;
    for (const { warehouse } of scores) {
      if (need === 0) break;
      const take = Math.min(need, at(line.sku, warehouse));
      if (take === 0) continue;
      units.push({ lineNo: line.lineNo, sku: line.sku, warehouse, qty: take });
      left.set(`${line.sku}@${warehouse}`, at(line.sku, warehouse) - take);
      need -= take;
    }
    if (need > 0) short.push({ lineNo: line.lineNo, sku: line.sku, qty: need });
  }
  const used = new Set(units.map((u) => u.warehouse));
  return {
    units,
    short,
    split: used.size > 1,
    scores,
    reason:
      used.size === 0
        ? 'no warehouse has any of the units'
        : `no single warehouse fills the order; nearest stock first from ${[...used].join(', ')}`,
  };
}
