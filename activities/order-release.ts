import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { functionalCurrency, rateOn, todayUtc } from '../db/fx-rates.js';
import { convertMinor, minorUnits } from '../domain/currency.js';
import type { Db } from '../db/connection.js';
import { LedgerError, releaseReservations, reserve, type ReserveLine } from '../db/ledger.js';
import { orderTotalMinor, type ChannelName, type OrderInput, type OrderLineInput } from '../domain/order.js';
import { validateOrder, type OrderProblem } from '../domain/order-validation.js';
import { distanceKm, routeOrder, routingPolicies, transitDays } from '../domain/routing.js';
import { ledgerCall } from './failures.js';
import { ORDER_CANCELLED, ORDER_RELEASED, writeOrderEvent } from '../db/order-events.js';
import { orderWorkflowId, stockArrivedSignal, type AllocationRequest, type AllocationResult, type CapturedOrder, type OrderStateUpdate, type OrderReleaseActivities } from '../contracts/order.js';

export function createOrderReleaseActivities({ db, temporal }: { db: Db; temporal?: Client }): OrderReleaseActivities {
  async function recordOrderState(update: OrderStateUpdate): Promise<void> {
    await db.transaction().execute(async (tx) => {
      // A move into released or cancelled is announced in the feed once (a retry finds the status already there).
      const before = await tx.selectFrom('orders').select('status').where('id', '=', update.orderId).forUpdate().executeTakeFirst();
      if (before && before.status !== update.status && (update.status === 'released' || update.status === 'cancelled')) {
        await writeOrderEvent(tx, update.status === 'released' ? ORDER_RELEASED : ORDER_CANCELLED, update.orderId, { status: update.status, ...(update.reason ? { reason: update.reason } : {}) });
      }
      await tx
        .updateTable('orders')
        .set({
          status: update.status,
          status_reason: update.reason ?? null,
          updated_at: new Date(),
          ...(update.hold !== undefined ? { hold: JSON.stringify(update.hold) } : {}),
          ...(update.routing !== undefined ? { routing: JSON.stringify(update.routing) } : {}),
          ...(update.problems !== undefined ? { problems: JSON.stringify(update.problems) } : {}),
          ...(update.released ? { released_at: new Date() } : {}),
          ...(update.closed ? { closed_at: new Date() } : {}),
        })
        .where('id', '=', update.orderId)
        .execute();
      for (const line of update.lines ?? []) {
        await tx
          .updateTable('order_lines')
          .set({ allocated_qty: line.allocated, backordered_qty: line.backordered, cancelled_qty: line.cancelled, shipped_qty: line.shipped })
          .where('order_id', '=', update.orderId)
          .where('line_no', '=', line.lineNo)
          .execute();
      }
    });
  }

  return {
    recordOrderState,

    /**
     * Writes the order once, checks it against the item master, and gathers what the
     * risk rules need to know about the customer.
     */
    async captureOrder(order: OrderInput, velocityWindowHours: number, priceTolerancePct: number): Promise<CapturedOrder> {
      await db.transaction().execute(async (tx) => {
        const inserted = await tx
          .insertInto('orders')
          .values({
            id: order.orderId,
            workflow_id: orderWorkflowId(order.orderId),
            channel: order.channel,
            customer_id: order.customerId,
            currency: order.currency,
            status: 'received',
            ship_to: JSON.stringify(order.shipTo),
            billing_country: order.billingCountry ?? null,
            freight_minor: order.freightMinor,
            total_minor: orderTotalMinor(order),
            promised_by: order.promisedBy ?? null,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted && order.payment) {
          const p = order.payment;
          await tx
            .insertInto('order_payments')
            .values(
              p.kind === 'authorization'
                ? { order_id: order.orderId, kind: 'authorization', gateway: p.gateway, authorization_id: p.authorizationId, currency: p.currency, authorized_minor: p.amountMinor, expires_at: p.expiresAt }
                : { order_id: order.orderId, kind: 'terms', currency: order.currency, due_date: p.dueDate },
            )
            .execute();
        }
        // A storefront order may arrive without a line it can ship; it is recorded, and rejected.
        if (!inserted || order.lines.length === 0) return;
        await tx
          .insertInto('order_lines')
          .values(
            lineRows(order.orderId, order.lines),
          )
          .execute();
      });
      const skus = [...new Set(order.lines.map((l) => l.sku))];
      const [items, history, channel] = await Promise.all([
        db.selectFrom('items').select(['sku', 'price_minor', 'active']).where('sku', 'in', skus).execute(),
        sql<{ previous: number; recent: number }>`
          select count(*)::int as previous,
            count(*) filter (where created_at > now() - make_interval(hours => ${velocityWindowHours}))::int as recent
          from orders where customer_id = ${order.customerId} and id <> ${order.orderId}
            and created_at <= (select created_at from orders where id = ${order.orderId})`.execute(db),
        db.selectFrom('channels').select('shortage_policy').where('code', '=', order.channel).executeTakeFirst(),
      ]);
      const catalog = new Map(items.map((i) => [i.sku, { priceMinor: i.price_minor, active: i.active }]));
      const counts = history.rows[0]!;
      // List prices are in the functional currency: an order in another is compared at today's rate, and refused without one.
      const functional = await functionalCurrency(db);
      let priced = order;
      const currencyProblems: OrderProblem[] = [];
      if (order.currency !== functional) {
        const rate = await rateOn(db, order.currency, functional, todayUtc());
        const digits = minorUnits(order.currency);
        if (!rate || digits === undefined) {
          currencyProblems.push({ problem: 'no_fx_rate', detail: `no ${order.currency}→${functional} exchange rate on or before ${todayUtc()}: finance sets one with PUT /fx-rates` });
        } else {
          priced = { ...order, lines: order.lines.map((l) => ({ ...l, unitPriceMinor: convertMinor(l.unitPriceMinor, rate.rate, digits, minorUnits(functional)!) })) };
        }
      }
      return {
        problems: [...validateOrder(priced, catalog, priceTolerancePct), ...currencyProblems],
        // The order itself counts toward its customer's velocity.
        facts: { previousOrders: counts.previous, ordersInWindow: counts.recent + 1 },
        shortagePolicy: channel?.shortage_policy ?? 'backorder',
      };
    },

    /**
     * Routes what the lines still need to warehouses with stock, substituting where the
     * item master allows, and reserves it in one ledger operation under the attempt's key,
     * even when nothing is left to reserve. A retry of the attempt routes again (and may
     * find other lines, or none, since the first run took the stock); the ledger answers
     * it with what the first run reserved, matching the retry on this request.
     */
    async allocateOrder(request: AllocationRequest): Promise<AllocationResult> {
      const key = `${orderWorkflowId(request.orderId)}:allocate:${request.attempt}`;
      const skus = [...new Set(request.lines.map((l) => l.sku))];
      const substitutesBySku = new Map(
        (await db.selectFrom('items').select(['sku', 'substitutes']).where('sku', 'in', skus).execute()).map((i) => [i.sku, i.substitutes]),
      );
      const allSkus = [...new Set([...skus, ...[...substitutesBySku.values()].flat()])];
      const [lotTracked, channelRow] = await Promise.all([
        db.selectFrom('items').select('sku').where('sku', 'in', allSkus).where('lot_tracked', '=', true).execute(),
        db.selectFrom('channels').select('min_shelf_life_days').where('code', '=', request.channel).executeTakeFirst(),
      ]);
      const lotSkus = lotTracked.map((i) => i.sku);
      const lotStock = lotSkus.length
        ? await db
            .selectFrom('inventory_lot_balances as b')
            .innerJoin('lots as l', (j) => j.onRef('l.sku', '=', 'b.sku').onRef('l.lot', '=', 'b.lot'))
            .select(['b.sku', 'b.warehouse_code', 'b.qty', sql<string>`l.expires_on::text`.as('expires_on')])
            .where('b.bucket', '=', 'available')
            .where('b.sku', 'in', lotSkus)
            .where('b.qty', '>', 0)
            .where('l.held', '=', false)
            .execute()
        : [];
      const [warehouses, stock, shippedToday] = await Promise.all([
        db.selectFrom('warehouses').select(['code', 'lat', 'lon', 'freight_base_minor', 'freight_per_km_minor', 'daily_capacity']).where('active', '=', true).execute(),
        db
          .selectFrom('inventory_balances')
          .select(['sku', 'warehouse_code', 'qty'])
          .where('bucket', '=', 'available')
          .where('sku', 'in', allSkus)
          .where('qty', '>', 0)
          .execute(),
        sql<{ warehouse_code: string; n: number }>`
          select warehouse_code, count(*)::int as n from shipments where created_at >= date_trunc('day', now()) group by warehouse_code`.execute(db),
      ]);
      const sites = warehouses.map((w) => ({
        code: w.code,
        lat: w.lat,
        lon: w.lon,
        freightBaseMinor: w.freight_base_minor,
        freightPerKmMinor: w.freight_per_km_minor,
        remainingCapacity: w.daily_capacity - (shippedToday.rows.find((r) => r.warehouse_code === w.code)?.n ?? 0),
      }));
      const policy = routingPolicies[request.channel as ChannelName] ?? routingPolicies.dtc;
      const timing = { promisedBy: request.promisedBy, now: new Date().toISOString() };
      const available = new Map(stock.map((b) => [`${b.sku}@${b.warehouse_code}`, b.qty]));
      // A lot-tracked item counts only the lots that still have the channel's shelf life when
      // the order arrives from that warehouse; the ledger holds reservations to the same rule.
      const arrivesOn = new Map(
        sites.map((w) => [w.code, new Date(Date.now() + transitDays(distanceKm(w, request.shipTo)) * 86_400_000).toISOString().slice(0, 10)]),
      );
      const usableFrom = (warehouse: string) =>
        new Date(Date.parse(`${arrivesOn.get(warehouse)!}T00:00:00Z`) + (channelRow?.min_shelf_life_days ?? 0) * 86_400_000).toISOString().slice(0, 10);
      for (const sku of lotSkus) {
        for (const w of sites) {
          const usable = lotStock.filter((b) => b.sku === sku && b.warehouse_code === w.code && b.expires_on >= usableFrom(w.code)).reduce((n, b) => n + b.qty, 0);
          if (available.has(`${sku}@${w.code}`)) available.set(`${sku}@${w.code}`, Math.min(usable, available.get(`${sku}@${w.code}`)!));
        }
      }
      const plan = routeOrder(request.lines, request.shipTo, sites, available, policy, timing);

      // Shortfalls go to a substitute the item master names, from what the first plan left.
      const substituted: AllocationResult['routing']['substituted'] = [];
      const units = [...plan.units];
      const take = (unit: { sku: string; warehouse: string; qty: number }) =>
        available.set(`${unit.sku}@${unit.warehouse}`, (available.get(`${unit.sku}@${unit.warehouse}`) ?? 0) - unit.qty);
      plan.units.forEach(take);
      for (const short of plan.short) {
        let need = short.qty;
        for (const substitute of substitutesBySku.get(short.sku) ?? []) {
          if (need === 0) break;
          const alt = routeOrder([{ lineNo: short.lineNo, sku: substitute, qty: need }], request.shipTo, sites, available, policy, timing);
          for (const unit of alt.units) {
            units.push(unit);
            take(unit);
            substituted.push({ lineNo: short.lineNo, sku: short.sku, substitute, qty: unit.qty });
            need -= unit.qty;
          }
        }
      }
      const whole = request.allowPartial || units.reduce((n, u) => n + u.qty, 0) >= request.lines.reduce((n, l) => n + l.qty, 0);
      const lines: ReserveLine[] = whole
        ? units.map((u) => ({ lineNo: u.lineNo, sku: u.sku, warehouse: u.warehouse, qty: u.qty, ...(lotSkus.includes(u.sku) ? { arrivesOn: arrivesOn.get(u.warehouse) } : {}) }))
        : [];
      const routing = whole
        ? { split: plan.split, scores: plan.scores, reason: plan.reason, substituted }
        : { split: plan.split, scores: plan.scores, reason: 'the whole order is not available yet', substituted: [] };
      try {
        const reserved = await reserve(
          db,
          { key, actor: request.actor, process: orderWorkflowId(request.orderId), step: `allocate:${request.attempt}` },
          { orderId: request.orderId, channel: request.channel, expiresAt: request.expiresAt, allowPartial: request.allowPartial, lines, annotation: routing },
          // What was asked, without what the process reads off its clock: a workflow task that
          // runs again after a worker crash computes another expiry for the same question.
          { orderId: request.orderId, attempt: request.attempt, channel: request.channel, lines: request.lines, allowPartial: request.allowPartial },
        );
        return toAllocationResult(reserved as StoredAllocation);
      } catch (error) {
        if (error instanceof LedgerError && error.code === 'insufficient_stock' && !request.allowPartial) {
          return { allocations: [], routing: { ...routing, reason: 'the whole order is not available yet' } };
        }
        throw error;
      }
    },

    /** Returns reservations to available: compensation on cancel, or expiry of a held allocation. */
    async releaseOrderReservations(request: { orderId: string; key: string; reservationIds: number[]; outcome: 'released' | 'expired'; actor: string; reason: string }) {
      const result = await ledgerCall(() =>
        releaseReservations(
          db,
          { key: request.key, actor: request.actor, process: orderWorkflowId(request.orderId), step: request.key.split(':').pop(), reason: request.reason },
          { reservationIds: request.reservationIds, strict: false },
          request.outcome,
        ),
      );
      return { released: result.resolved.reduce((n, r) => n + r.qty, 0) };
    },

    /** Hands allocated units to fulfillment: their reservations no longer expire by timer. */
    async releaseToFulfillment(request: { reservationIds: number[]; state: OrderStateUpdate }): Promise<void> {
      if (request.reservationIds.length) {
        await db.updateTable('reservations').set({ expires_at: null }).where('id', 'in', request.reservationIds).where('status', '=', 'active').execute();
      }
      await recordOrderState(request.state);
    },

    /**
     * An amendment on the order record: its address, billing country, freight and total, and
     * its lines (only while none is allocated: the process takes new lines only then). Sets
     * values, so a retry changes nothing more.
     */
    async recordOrderAmendment(amendment): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable('orders')
          .set({
            ship_to: JSON.stringify(amendment.shipTo),
            billing_country: amendment.billingCountry,
            freight_minor: amendment.freightMinor,
            total_minor: amendment.totalMinor,
            updated_at: new Date(),
          })
          .where('id', '=', amendment.orderId)
          .execute();
        const lines = await tx.selectFrom('order_lines').select(['line_no', 'sku', 'qty', 'unit_price_minor', 'discount_minor', 'tax_minor', 'allocated_qty', 'shipped_qty']).where('order_id', '=', amendment.orderId).forUpdate().execute();
        const same =
          lines.length === amendment.lines.length &&
          amendment.lines.every((l) => lines.some((r) => r.line_no === l.lineNo && r.sku === l.sku && Number(r.qty) === l.qty && Number(r.unit_price_minor) === l.unitPriceMinor && Number(r.discount_minor) === l.discountMinor && Number(r.tax_minor) === l.taxMinor));
        if (same) return;
        if (lines.some((r) => r.allocated_qty > 0 || r.shipped_qty > 0)) throw new Error(`order ${amendment.orderId} has allocated lines; they cannot be replaced`);
        await tx.deleteFrom('order_lines').where('order_id', '=', amendment.orderId).execute();
        await tx
          .insertInto('order_lines')
          .values(
            lineRows(amendment.orderId, amendment.lines),
          )
          .execute();
      });
    },

    /**
     * Stock arrived for these skus: nudge the backordered orders that can now get some,
     * in reservation priority (channel, then order age), so the first in line is served first.
     */
    async wakeBackorders(skus: string[]): Promise<{ woken: string[] }> {
      if (!temporal || skus.length === 0) return { woken: [] };
      const waiting = await sql<{ order_id: string; sku: string; backordered_qty: number }>`
        select l.order_id, l.sku, l.backordered_qty from order_lines l
        join orders o on o.id = l.order_id
        join channels c on c.code = o.channel
        where l.sku = any(${skus}) and l.backordered_qty > 0 and o.status = 'backordered'
        order by c.reservation_priority, o.created_at, l.order_id`.execute(db);
      const stock = await db
        .selectFrom('inventory_balances')
        .select(['sku', (eb) => eb.fn.sum<number>('qty').as('qty')])
        .where('bucket', '=', 'available')
        .where('sku', 'in', skus)
        .groupBy('sku')
        .execute();
      const left = new Map(stock.map((s) => [s.sku, Number(s.qty)]));
      const woken = new Set<string>();
      for (const line of waiting.rows) {
        const there = left.get(line.sku) ?? 0;
        if (there <= 0) continue;
        left.set(line.sku, there - line.backordered_qty);
        woken.add(line.order_id);
      }
      for (const orderId of woken) {
        await temporal.workflow
          .getHandle(orderWorkflowId(orderId))
          .signal(stockArrivedSignal)
          .catch(() => {});
      }
      return { woken: [...woken] };
    },
  };
}

/** The reserve operation's stored result, with the routing that chose it as its annotation. */
interface StoredAllocation {
  lines: { lineNo: number; sku: string; warehouse: string; reserved: number; reservationId: number | null }[];
  annotation: AllocationResult['routing'];
}

function toAllocationResult(stored: StoredAllocation): AllocationResult {
  return {
    allocations: stored.lines
      .filter((l) => l.reserved > 0 && l.reservationId !== null)
      .map((l) => ({ lineNo: l.lineNo, sku: l.sku, warehouse: l.warehouse, qty: l.reserved, reservationId: l.reservationId! })),
    routing: stored.annotation,
  };
}

/** An order's lines as `order_lines` rows. */
const lineRows = (orderId: string, lines: readonly OrderLineInput[]) =>
  lines.map((line) => ({
    order_id: orderId,
    line_no: line.lineNo,
    sku: line.sku,
    qty: line.qty,
    unit_price_minor: line.unitPriceMinor,
    discount_minor: line.discountMinor,
    tax_minor: line.taxMinor,
  }));
