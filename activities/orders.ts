import type { Db } from '../db/connection.js';
import { orderTotalMinor, orderWorkflowId, type OrderInput } from '../domain/order.js';

export function createOrderActivities({ db }: { db: Db }) {
  return {
    /** Writes the order and its lines once; a retry finds them and writes nothing. */
    async recordOrder(order: OrderInput): Promise<void> {
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
        if (!inserted) return;
        await tx
          .insertInto('order_lines')
          .values(
            order.lines.map((line) => ({
              order_id: order.orderId,
              line_no: line.lineNo,
              sku: line.sku,
              qty: line.qty,
              unit_price_minor: line.unitPriceMinor,
              discount_minor: line.discountMinor,
              tax_minor: line.taxMinor,
            })),
          )
          .execute();
      });
    },

    /** Mirrors the process status onto the order record so lists read SQL, not workflows. */
    async setOrderStatus(orderId: string, status: string, reason?: string): Promise<void> {
      await db
        .updateTable('orders')
        .set({ status, status_reason: reason ?? null, updated_at: new Date() })
        .where('id', '=', orderId)
        .execute();
    },
  };
}
