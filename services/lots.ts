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
