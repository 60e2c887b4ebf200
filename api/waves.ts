import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { setItemLocations } from '../services/master-data.js';
import type { AppDeps } from './app.js';
import { notFound, resultOrThrow } from './errors.js';
import { skuText, warehouseCodeBrief } from './schemas.js';

const locationsBody = z.object({
  locations: z
    .array(
      z.object({
        sku: skuText,
        zone: z.string().trim().min(1).max(20),
        bin: z.string().trim().min(1).max(30),
      }),
    )
    .min(1)
    .max(5_000),
});

/** Picking in a warehouse: where skus sit, and the queue of shipments released to pick, in waves. */
export const waveRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.put(
      '/warehouses/:code/locations',
      {
        config: { roles: ['ops'] },
        schema: {
          summary: 'Set the zone and bin of skus in a warehouse (replaces each listed sku’s location)',
          params: z.object({ code: warehouseCodeBrief }),
          body: locationsBody,
        },
      },
      async (request) => resultOrThrow(await setItemLocations(db, request.params.code, request.body.locations)),
    );

    app.get(
      '/warehouses/:code/waves',
      {
        schema: {
          summary: 'Shipments waiting to be picked, in priority order (channel priority, ship-by, order age), cut into waves with pick lists by zone and bin',
          params: z.object({ code: warehouseCodeBrief }),
          querystring: z.object({ waveSize: z.coerce.number().int().min(1).max(200).default(20) }),
        },
      },
      async (request) => {
        const warehouse = request.params.code;
        if (!(await db.selectFrom('warehouses').select('code').where('code', '=', warehouse).executeTakeFirst())) throw notFound(`warehouse ${warehouse}`);
        const queue = await sql<{ id: string; order_id: string; channel: string; priority: number; ship_by: Date | null; order_created_at: Date }>`
          select s.id, s.order_id, o.channel, c.reservation_priority as priority, s.ship_by, o.created_at as order_created_at
          from shipments s join orders o on o.id = s.order_id join channels c on c.code = o.channel
          where s.warehouse_code = ${warehouse} and s.status = 'released'
          order by c.reservation_priority, s.ship_by nulls last, o.created_at, s.id`.execute(db);
        const lines = queue.rows.length
          ? await db
              .selectFrom('shipment_lines as l')
              .leftJoin('item_locations as loc', (join) => join.onRef('loc.sku', '=', 'l.sku').on('loc.warehouse_code', '=', warehouse))
              .select(['l.shipment_id', 'l.sku', 'l.qty', 'l.reservation_id', 'loc.zone', 'loc.bin'])
              .where('l.shipment_id', 'in', queue.rows.map((r) => r.id))
              .execute()
          : [];
        // A lot-tracked line is picked by the lots its reservation holds, each its own pick.
        const heldLots = lines.length
          ? await db
              .selectFrom('reservation_lots')
              .select(['reservation_id', 'lot', sql<number>`qty - consumed_qty`.as('qty')])
              .where('reservation_id', 'in', lines.map((l) => l.reservation_id))
              .where(sql<boolean>`qty > consumed_qty`)
              .orderBy('lot')
              .execute()
          : [];
        const waves = [];
        for (let start = 0; start < queue.rows.length; start += request.query.waveSize) {
          const shipments = queue.rows.slice(start, start + request.query.waveSize);
          const picks = new Map<string, { zone: string; bin: string; sku: string; lot?: string; qty: number; shipments: string[] }>();
          for (const line of lines.filter((l) => shipments.some((s) => s.id === l.shipment_id))) {
            const zone = line.zone ?? 'unassigned';
            const bin = line.bin ?? 'unassigned';
            const lots = heldLots.filter((h) => h.reservation_id === line.reservation_id);
            for (const part of lots.length ? lots.map((h) => ({ lot: h.lot as string | undefined, qty: Number(h.qty) })) : [{ lot: undefined, qty: line.qty }]) {
              const key = `${zone}\u0000${bin}\u0000${line.sku}\u0000${part.lot ?? ''}`;
              const pick = picks.get(key) ?? { zone, bin, sku: line.sku, ...(part.lot ? { lot: part.lot } : {}), qty: 0, shipments: [] };
              pick.qty += part.qty;
              pick.shipments.push(line.shipment_id);
              picks.set(key, pick);
            }
          }
          const pickList = [...picks.values()].sort((a, b) => a.zone.localeCompare(b.zone) || a.bin.localeCompare(b.bin) || a.sku.localeCompare(b.sku) || (a.lot ?? '').localeCompare(b.lot ?? ''));
          waves.push({
            wave: waves.length + 1,
            shipments: shipments.map((s) => ({ shipmentId: s.id, orderId: s.order_id, channel: s.channel, priority: s.priority, shipBy: s.ship_by, orderCreatedAt: s.order_created_at })),
            pickList: [...new Set(pickList.map((p) => p.zone))].map((zone) => ({ zone, picks: pickList.filter((p) => p.zone === zone).map(({ bin, sku, lot, qty, shipments }) => ({ bin, sku, ...(lot ? { lot } : {}), qty, shipments })) })),
          });
        }
        return { warehouse, waiting: queue.rows.length, waveSize: request.query.waveSize, waves };
      },
    );
  };
