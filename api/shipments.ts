import { z } from 'zod';
import { containing, listPage } from './lists.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';
import { sendDecision } from './decisions.js';
import { badRequest, notFound, resultOrThrow } from './errors.js';
import { pickedLotProblems } from '../services/lots.js';
import { dateTime, lineNoUnbounded, lineQty, lineQtyOrNone, lotCode, minor, shipmentId, skuText } from './schemas.js';
import { recordDelivery } from '../services/deliveries.js';
import { audited } from './audit.js';
import { shipmentViewQuery, shipmentWorkflowId, type WmsEvent, wmsEventUpdate } from '../contracts/shipment.js';
import { liveView } from './processes.js';

const wmsEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('picked'),
    lots: z
      .array(z.object({ lineNo: lineNoUnbounded, sku: skuText, lot: lotCode, qty: lineQty }))
      .min(1)
      .max(500)
      .optional()
      .describe('a lot-tracked item: the lots really picked per line, adding up to the line (else the lots its reservation holds)'),
  }),
  z.object({
    type: z.literal('short_pick'),
    found: z
      .array(z.object({ lineNo: lineNoUnbounded, sku: skuText, qty: lineQtyOrNone }))
      .min(1, 'say what was found for the short lines'),
  }),
  z.object({ type: z.literal('packed') }),
  z.object({
    type: z.literal('shipped'),
    carrier: z.string().trim().min(1).max(60),
    tracking: z.string().trim().min(1).max(100),
    freightCostMinor: minor,
  }),
  // From the carrier, after the shipment's process has ended: recorded on the shipment's record.
  z.object({ type: z.literal('delivered'), deliveredAt: dateTime.optional().describe('when the carrier delivered it; now when left out') }),
]);

export const shipmentRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/shipments',
      {
        schema: {
          summary: 'Shipments, newest first, with search (shipment, order, tracking) and filters',
          querystring: z.object({ orderId: z.string().max(64).optional(), status: z.string().max(40).optional(), warehouse: z.string().max(16).optional(), ...listPage(50, 500) }),
        },
      },
      async (request) => {
        const { q, orderId, status, warehouse } = request.query;
        let base = db.selectFrom('shipments');
        if (orderId) base = base.where('order_id', '=', orderId);
        if (status) base = base.where('status', '=', status);
        if (warehouse) base = base.where('warehouse_code', '=', warehouse);
        if (q) base = base.where((eb) => eb.or([eb('id', 'ilike', containing(q)), eb('order_id', 'ilike', containing(q)), eb('tracking', 'ilike', containing(q))]));
        const [rows, count] = await Promise.all([
          base.selectAll().orderBy('created_at', 'desc').orderBy('id').offset(request.query.offset).limit(request.query.limit).execute(),
          base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
        ]);
        return {
          total: Number(count.n),
          shipments: rows.map((row) => ({
            shipmentId: row.id,
            orderId: row.order_id,
            warehouse: row.warehouse_code,
            status: row.status,
            shipBy: row.ship_by,
            carrier: row.carrier,
            tracking: row.tracking,
            createdAt: row.created_at,
            shippedAt: row.shipped_at,
            deliveredAt: row.delivered_at,
          })),
        };
      },
    );

    app.get(
      '/shipments/:id',
      { schema: { summary: 'A shipment: its record and the live state of its process', params: z.object({ id: shipmentId }) } },
      async (request) => {
        const id = request.params.id;
        const row = await db.selectFrom('shipments').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) throw notFound(`shipment ${id}`);
        const lines = await db.selectFrom('shipment_lines').selectAll().where('shipment_id', '=', id).orderBy('line_no').execute();
        const workflowId = shipmentWorkflowId(id);
        const { view: process, state: processState } = await liveView(temporal, workflowId, shipmentViewQuery, config.resilience.temporal.queryTimeoutMs);
        return {
          shipmentId: id,
          orderId: row.order_id,
          warehouse: row.warehouse_code,
          status: row.status,
          shipBy: row.ship_by,
          carrier: row.carrier,
          tracking: row.tracking,
          freightCostMinor: row.freight_cost_minor,
          journalEntryId: row.journal_entry_id,
          createdAt: row.created_at,
          pickedAt: row.picked_at,
          packedAt: row.packed_at,
          shippedAt: row.shipped_at,
          deliveredAt: row.delivered_at,
          lines: lines.map((l) => ({ lineNo: l.line_no, sku: l.sku, qty: l.qty, picked: l.picked_qty, shipped: l.shipped_qty, reservationId: l.reservation_id })),
          workflowId,
          temporalUiUrl: `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}`,
          process,
          processState,
        };
      },
    );

    app.post(
      '/shipments/:id/events',
      {
        config: { roles: ['system'] },
        schema: {
          summary: 'An event from the warehouse (picked, short_pick with what was found, packed, shipped with carrier, tracking, freight cost) or the carrier (delivered)',
          description:
            'Events must come in order (409 out_of_order); a repeat of the last event changes nothing; a finished shipment answers 409. ' +
            '`delivered` comes after the process has ended: it is recorded on the shipment once (the same again answers the first; another time 409 already_delivered), and is 409 not_shipped before the shipment shipped.',
          params: z.object({ id: shipmentId }),
          body: wmsEvent,
        },
      },
      async (request) => {
        const event = request.body;
        if (event.type === 'delivered') {
          const delivery = resultOrThrow(await recordDelivery(db, { shipmentId: request.params.id, deliveredAt: event.deliveredAt ? new Date(event.deliveredAt) : new Date(), actor: request.actor! }), 'body');
          return audited(request, delivery, (d) => ({ deliveredAt: d.deliveredAt, recorded: d.recorded }), { action: 'shipment.events.delivered' });
        }
        if (event.type === 'picked' && event.lots) {
          const problems = await pickedLotProblems(db, request.params.id, event.lots);
          if (problems.length) throw badRequest(`invalid body: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, problems.map((p) => ({ in: 'body', ...p })));
          const { lots, ...picked } = event;
          const view = await sendDecision(temporal.workflow.getHandle(shipmentWorkflowId(request.params.id)), wmsEventUpdate, [picked as WmsEvent], `shipment ${request.params.id}`);
          // What really left, read when the shipment is confirmed; a repeat of the event records nothing more.
          await db
            .insertInto('shipment_picked_lots')
            .values(lots.map((l) => ({ shipment_id: request.params.id, line_no: l.lineNo, sku: l.sku, lot: l.lot, qty: l.qty })))
            .onConflict((oc) => oc.columns(['shipment_id', 'line_no', 'sku', 'lot']).doNothing())
            .execute();
          return view;
        }
        return sendDecision(temporal.workflow.getHandle(shipmentWorkflowId(request.params.id)), wmsEventUpdate, [event as WmsEvent], `shipment ${request.params.id}`);
      },
    );
  };
