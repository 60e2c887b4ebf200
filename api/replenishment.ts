/** Replenishment suggestions per sku and warehouse, from the ledger's shipped history and positions. */
import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { suggestReplenishment, type SkuClass } from '../domain/replenishment.js';
import type { AppDeps } from './app.js';

const DAY_MS = 86_400_000;

const query = z.object({
  sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{2,39}$/).optional(),
  warehouse: z.string().min(1).max(16).optional(),
  historyDays: z.coerce.number().int().min(7).max(365).default(90),
  reviewPeriodDays: z.coerce.number().int().min(1).max(90).default(7),
  uplift: z.coerce.number().min(0).max(10).default(1).describe('demand multiplier for a promotion or season ahead'),
  all: z.enum(['true', 'false']).default('false').describe('list every sku and warehouse, not only those to reorder'),
});

export const replenishmentRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/replenishment/suggestions',
      { schema: { summary: 'What to buy now per sku and warehouse, with the numbers behind it', querystring: query } },
      async (request) => {
        const q = request.query;
        const since = new Date(Date.now() - q.historyDays * DAY_MS);
        const firstDay = Math.floor(since.getTime() / DAY_MS) + 1;

        let balances = db
          .selectFrom('inventory_balances')
          .innerJoin('items', 'items.sku', 'inventory_balances.sku')
          .select(['inventory_balances.sku', 'warehouse_code', 'bucket', 'qty', 'items.sku_class'])
          .where('items.active', '=', true)
          .where('bucket', 'in', ['available', 'allocated', 'quarantine', 'inbound', 'in_transit']);
        if (q.sku) balances = balances.where('inventory_balances.sku', '=', q.sku);
        if (q.warehouse) balances = balances.where('warehouse_code', '=', q.warehouse);

        const [positionRows, shipped, sources, actualLead] = await Promise.all([
          balances.execute(),
          // Shipped history is the ledger's allocated → customer movements.
          sql<{ sku: string; warehouse: string; day: number; qty: number }>`
            select m.sku, m.from_warehouse as warehouse, floor(extract(epoch from m.created_at) / 86400)::int as day, sum(m.qty)::bigint as qty
            from inventory_movements m
            where m.from_bucket = 'allocated' and m.to_bucket = 'customer' and m.created_at >= ${since}
            group by 1, 2, 3`.execute(db),
          // The cheapest approved item of an approved supplier, with its lane's stated lead time.
          sql<{ sku: string; warehouse: string | null; supplier_id: string; unit_cost_minor: number; moq: number; pack_size: number; lead_time_days: number }>`
            select distinct on (si.sku, l.warehouse_code) si.sku, l.warehouse_code as warehouse, si.supplier_id, si.unit_cost_minor, si.moq, si.pack_size,
              coalesce(l.lead_time_days, s.default_lead_time_days) as lead_time_days
            from supplier_items si
            join suppliers s on s.id = si.supplier_id and s.approved
            left join supplier_lanes l on l.supplier_id = si.supplier_id
            where si.approved
            order by si.sku, l.warehouse_code, si.unit_cost_minor, si.supplier_id`.execute(db),
          // Actual lead time: issue to first receipt, averaged over the supplier's POs to a warehouse.
          sql<{ supplier_id: string; warehouse: string; days: number; pos: number }>`
            select p.supplier_id, p.warehouse_code as warehouse,
              avg(extract(epoch from (r.first_at - p.issued_at)) / 86400)::float8 as days, count(*)::int as pos
            from purchase_orders p
            join (select po_id, min(received_at) as first_at from purchase_order_receipts group by po_id) r on r.po_id = p.id
            where p.issued_at is not null
            group by 1, 2`.execute(db),
        ]);

        type Place = { sku: string; warehouse: string; skuClass: SkuClass; buckets: Record<string, number> };
        const places = new Map<string, Place>();
        for (const row of positionRows) {
          const key = `${row.sku}@${row.warehouse_code}`;
          const place = places.get(key) ?? { sku: row.sku, warehouse: row.warehouse_code, skuClass: row.sku_class, buckets: {} };
          place.buckets[row.bucket] = Number(row.qty);
          places.set(key, place);
        }

        const suggestions = [...places.values()]
          .map((place) => {
            const daily = new Array<number>(q.historyDays).fill(0);
            for (const s of shipped.rows) {
              if (s.sku !== place.sku || s.warehouse !== place.warehouse) continue;
              const index = s.day - firstDay;
              if (index >= 0 && index < daily.length) daily[index]! += Number(s.qty);
            }
            const source =
              sources.rows.find((s) => s.sku === place.sku && s.warehouse === place.warehouse) ??
              sources.rows.find((s) => s.sku === place.sku && s.warehouse === null) ??
              sources.rows.find((s) => s.sku === place.sku);
            const actual = source ? actualLead.rows.find((a) => a.supplier_id === source.supplier_id && a.warehouse === place.warehouse) : undefined;
            const statedLeadTimeDays = source?.lead_time_days ?? 14;
            const leadTimeDays = actual ? Math.max(1, Math.round(actual.days)) : statedLeadTimeDays;
            const plan = suggestReplenishment({
              skuClass: place.skuClass,
              dailyShipped: daily,
              uplift: q.uplift,
              leadTimeDays,
              reviewPeriodDays: q.reviewPeriodDays,
              available: place.buckets.available ?? 0,
              allocated: place.buckets.allocated ?? 0,
              quarantine: place.buckets.quarantine ?? 0,
              inbound: place.buckets.inbound ?? 0,
              inTransit: place.buckets.in_transit ?? 0,
              moq: Number(source?.moq ?? 1),
              packSize: Number(source?.pack_size ?? 1),
            });
            return {
              sku: place.sku,
              warehouse: place.warehouse,
              skuClass: place.skuClass,
              supplierId: source?.supplier_id ?? null,
              unitCostMinor: source ? Number(source.unit_cost_minor) : null,
              moq: Number(source?.moq ?? 1),
              packSize: Number(source?.pack_size ?? 1),
              leadTimeDays,
              statedLeadTimeDays,
              leadTimeSource: actual ? `actual over ${actual.pos} purchase orders` : 'stated',
              shippedInHistory: daily.reduce((a, b) => a + b, 0),
              ...plan,
            };
          })
          .filter((s) => q.all === 'true' || s.reorder)
          .sort((a, b) => a.sku.localeCompare(b.sku) || a.warehouse.localeCompare(b.warehouse));
        return { historyDays: q.historyDays, reviewPeriodDays: q.reviewPeriodDays, uplift: q.uplift, suggestions };
      },
    );
  };
