/**
 * Lots of lot-tracked items, as the API sees them: the checks a movement that brings units
 * in must pass before anything is written (a lot and its expiry on every lot-tracked line,
 * none on other lines, no expiry in the past).
 */
import type { Db } from '../db/connection.js';

export interface LotLineProblem {
  path: (string | number)[];
  message: string;
}

/** Today's date in UTC, as the database's `current_date` gives it. */
export const todayIso = (now: Date = new Date()) => now.toISOString().slice(0, 10);

/**
 * What is wrong with the lots of incoming lines, one problem per field; `path` is where the
 * line sits in the body (`['lines', index]`).
 */
export async function lotLineProblems(
  db: Db,
  /** `expiryKnown`: the lot is already recorded, so its expiry may be left out. */
  lines: { path: (string | number)[]; sku: string; lot?: string; expiresOn?: string; expiryKnown?: boolean }[],
  now: Date = new Date(),
): Promise<LotLineProblem[]> {
  const skus = [...new Set(lines.map((l) => l.sku))];
  if (skus.length === 0) return [];
  const items = await db.selectFrom('items').select(['sku', 'lot_tracked']).where('sku', 'in', skus).execute();
  const tracked = new Set(items.filter((i) => i.lot_tracked).map((i) => i.sku));
  const problems: LotLineProblem[] = [];
  for (const line of lines) {
    if (tracked.has(line.sku)) {
      if (!line.lot) problems.push({ path: [...line.path, 'lot'], message: `${line.sku} is lot-tracked: the lot is required` });
      if (!line.expiresOn && !line.expiryKnown) problems.push({ path: [...line.path, 'expiresOn'], message: `${line.sku} is lot-tracked: the expiry is required` });
      else if (line.expiresOn && line.expiresOn < todayIso(now)) problems.push({ path: [...line.path, 'expiresOn'], message: `expiry ${line.expiresOn} is in the past` });
    } else if (line.lot !== undefined || line.expiresOn !== undefined) {
      problems.push({ path: [...line.path, line.lot !== undefined ? 'lot' : 'expiresOn'], message: `${line.sku} is not lot-tracked: no lot or expiry may be given` });
    }
  }
  return problems;
}

/**
 * What is wrong with the lots a `picked` event reports: each names a line of the shipment of
 * a lot-tracked item and a known lot of it, and a line's lots add up to the line.
 */
export async function pickedLotProblems(db: Db, shipmentId: string, lots: { lineNo: number; sku: string; lot: string; qty: number }[]): Promise<LotLineProblem[]> {
  const lines = await db
    .selectFrom('shipment_lines as l')
    .innerJoin('items as i', 'i.sku', 'l.sku')
    .select(['l.line_no', 'l.sku', 'l.qty', 'i.lot_tracked'])
    .where('l.shipment_id', '=', shipmentId)
    .execute();
  if (lines.length === 0) return [];
  const known = await db.selectFrom('lots').select(['sku', 'lot']).where('sku', 'in', [...new Set(lots.map((l) => l.sku))]).where('lot', 'in', [...new Set(lots.map((l) => l.lot))]).execute();
  const problems: LotLineProblem[] = [];
  lots.forEach((l, index) => {
    const line = lines.find((x) => x.line_no === l.lineNo && x.sku === l.sku);
    if (!line) problems.push({ path: ['lots', index, 'lineNo'], message: `the shipment has no line ${l.lineNo} of ${l.sku}` });
    else if (!line.lot_tracked) problems.push({ path: ['lots', index, 'sku'], message: `${l.sku} is not lot-tracked` });
    else if (!known.some((k) => k.sku === l.sku && k.lot === l.lot)) problems.push({ path: ['lots', index, 'lot'], message: `no lot ${l.lot} of ${l.sku} was ever received` });
  });
  for (const line of lines) {
    const named = lots.filter((l) => l.lineNo === line.line_no && l.sku === line.sku);
    const total = named.reduce((n, l) => n + l.qty, 0);
    if (named.length && total !== line.qty) problems.push({ path: ['lots'], message: `line ${line.line_no}: the lots add up to ${total}, the line has ${line.qty}` });
    if (new Set(named.map((l) => l.lot)).size !== named.length) problems.push({ path: ['lots'], message: `line ${line.line_no}: each lot once` });
  }
  return problems;
}
