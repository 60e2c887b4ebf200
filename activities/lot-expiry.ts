import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { move } from '../db/ledger.js';
import { ledgerCall } from './failures.js';
import { insertException } from './tasks.js';
import type { ExpiredLot, LotExpiryActivities } from '../contracts/lot-expiry.js';

export function createLotExpiryActivities({ db }: { db: Db }): LotExpiryActivities {
  return {
    /**
     * Each lot's available units at a warehouse move to quarantine under a key of the sweep,
     * lot and warehouse, so a retry moves nothing twice (and finds what the first run moved
     * in the ledger's stored results). Allocated units stay promised; the exception names them.
     */
    async quarantineExpiringLots({ sweepId, asOf, through, actor }) {
      const found = await sql<{ sku: string; lot: string; warehouse_code: string; expires_on: string; qty: number; average_cost_minor: number }>`
        select b.sku, b.lot, b.warehouse_code, l.expires_on::text as expires_on, b.qty, i.average_cost_minor
        from inventory_lot_balances b
        join lots l on l.sku = b.sku and l.lot = b.lot
        join items i on i.sku = b.sku
        where b.bucket = 'available' and b.qty > 0 and l.expires_on <= ${through}::date
        order by l.expires_on, b.sku, b.lot, b.warehouse_code`.execute(db);
      // A retry after a partial first run: lots this sweep already moved are read back from the ledger.
      const done = await sql<{ sku: string; lot: string; warehouse: string; qty: number; expires_on: string; average_cost_minor: number }>`
        select m.sku, m.lot, m.to_warehouse as warehouse, sum(m.qty)::bigint as qty, l.expires_on::text as expires_on, i.average_cost_minor
        from inventory_movements m join lots l on l.sku = m.sku and l.lot = m.lot join items i on i.sku = m.sku
        where m.operation_key like ${`${sweepId}:%`} and m.to_bucket = 'quarantine'
        group by 1, 2, 3, 5, 6`.execute(db);
      const moved: ExpiredLot[] = done.rows.map((r) => ({ sku: r.sku, lot: r.lot, warehouse: r.warehouse, expiresOn: r.expires_on, qty: Number(r.qty), valueMinor: Number(r.qty) * r.average_cost_minor }));
      for (const row of found.rows) {
        if (moved.some((m) => m.sku === row.sku && m.lot === row.lot && m.warehouse === row.warehouse_code)) continue;
        await ledgerCall(() =>
          move(db, { key: `${sweepId}:${row.sku}:${row.warehouse_code}:${row.lot}`, actor, process: sweepId, step: 'quarantine', reason: `lot expires ${row.expires_on}` }, 'lot_expiry', [
            { sku: row.sku, qty: row.qty, lot: row.lot, from: { warehouse: row.warehouse_code, bucket: 'available' }, to: { warehouse: row.warehouse_code, bucket: 'quarantine' } },
          ]),
        );
        moved.push({ sku: row.sku, lot: row.lot, warehouse: row.warehouse_code, expiresOn: row.expires_on, qty: row.qty, valueMinor: row.qty * row.average_cost_minor });
      }
      const valueMinor = moved.reduce((n, m) => n + m.valueMinor, 0);
      if (moved.length) {
        const allocated = await sql<{ sku: string; lot: string; warehouse_code: string; qty: number }>`
          select b.sku, b.lot, b.warehouse_code, b.qty from inventory_lot_balances b join lots l on l.sku = b.sku and l.lot = b.lot
          where b.bucket = 'allocated' and b.qty > 0 and l.expires_on <= ${through}::date`.execute(db);
        await insertException(db, {
          id: `${sweepId}:expired`,
          kind: 'lot_expired',
          reference: sweepId,
          workflowId: sweepId,
          ownerRole: 'ops',
          message: `${moved.length} lot${moved.length === 1 ? '' : 's'} reaching expiry moved to quarantine, worth ${valueMinor} (minor units): ${moved
            .slice(0, 10)
            .map((m) => `${m.qty} × ${m.sku} lot ${m.lot} at ${m.warehouse}`)
            .join(', ')}${moved.length > 10 ? ', …' : ''}`,
          details: { asOf, through, valueMinor, lots: moved, stillAllocated: allocated.rows },
        });
      }
      return { sweepId, asOf, moved, valueMinor };
    },
  };
}
