/**
 * Demand uplifts as buyers set them: a promotion or a season ahead, per sku and date range,
 * which the planner weights by the days they overlap each horizon.
 */
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { overlappingUplifts, type DemandUplift } from '../domain/replenishment.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export interface StoredUplift extends DemandUplift {
  sku: string;
  updatedBy: string;
  updatedAt: Date;
}

/** The uplifts of one sku, or of every sku, by sku and first day. */
export async function demandUplifts(db: Db, sku?: string): Promise<StoredUplift[]> {
  let query = db
    .selectFrom('demand_uplifts')
    .select(['sku', sql<string>`from_date::text`.as('from'), sql<string>`to_date::text`.as('to'), 'factor', 'updated_by as updatedBy', 'updated_at as updatedAt']);
  if (sku) query = query.where('sku', '=', sku);
  return query.orderBy('sku').orderBy('from_date').execute();
}

/**
 * Replaces a sku's uplifts with `uplifts` (none removes them all), in one transaction: the
 * same list again leaves the same uplifts. Ranges that share a day, or a sku the item master
 * does not have, are refused and change nothing.
 */
export async function setDemandUplifts(db: Db, sku: string, uplifts: DemandUplift[], actor: string): Promise<{ sku: string; uplifts: StoredUplift[] } | Refusal> {
  const overlaps = overlappingUplifts(uplifts);
  if (overlaps.length) return refuse.invalid('overlapping_uplifts', `uplifts of ${sku} must not overlap: ${overlaps.join('; ')}`, overlaps.map((message) => ({ message })));
  const item = await db.selectFrom('items').select('sku').where('sku', '=', sku).executeTakeFirst();
  if (!item) return refuse.invalid('unknown_sku', `unknown sku ${sku}`, [{ path: 'sku', message: `unknown sku ${sku}` }]);
  await db.transaction().execute(async (tx) => {
    // Two requests for one sku replace in turn rather than interleave.
    await sql`select pg_advisory_xact_lock(hashtext(${`demand_uplifts:${sku}`}))`.execute(tx);
    await tx.deleteFrom('demand_uplifts').where('sku', '=', sku).execute();
    if (uplifts.length) {
      await tx
        .insertInto('demand_uplifts')
        .values(uplifts.map((u) => ({ sku, from_date: u.from, to_date: u.to, factor: u.factor, updated_by: actor })))
        .execute();
    }
  });
  return { sku, uplifts: await demandUplifts(db, sku) };
}
