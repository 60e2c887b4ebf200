/**
 * Channel order intake's side effects: the platform order's record, each delivery's
 * outcome, and messages to the order's own process (start, amend, cancel) through the
 * Temporal client, answered as taken or refused.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { ChannelOrderSnapshot } from '../domain/channel-orders.js';
import type { ChannelOrderActivities, ProcessAnswer } from '../contracts/channel-order.js';
import { amendOrderUpdate, cancelOrderUpdate, orderViewQuery, orderWorkflowId, orderWorkflowType, submitOrderUpdate, type OrderReleaseWorkflow, type OrderView } from '../contracts/order.js';
import { orderStartSearchAttributes } from '../contracts/search-attributes.js';
import { createTaskActivities } from './tasks.js';

export function createChannelOrderActivities({ db, temporal }: { db: Db; temporal?: Client }): ChannelOrderActivities {
  const client = () => {
    if (!temporal) throw ApplicationFailure.nonRetryable('channel order intake needs a Temporal client', 'misconfigured');
    return temporal;
  };
  const statusOf = async (orderId: string) => (await db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirst())?.status ?? null;

  /** An update to the order's process, answered as taken or refused; a refusal that only means "not yet" is retried. */
  async function decide(orderId: string, send: () => Promise<OrderView>): Promise<ProcessAnswer> {
    try {
      return { accepted: true, status: (await send()).status };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        // The order is still being checked: the change waits for it.
        if (error.cause.type === 'not_screened') throw ApplicationFailure.retryable(error.cause.message, 'not_screened');
        return { accepted: false, code: error.cause.type ?? 'refused', message: error.cause.message, status: await statusOf(orderId) };
      }
      if (error instanceof WorkflowNotFoundError) {
        const status = await statusOf(orderId);
        return { accepted: false, code: 'not_amendable', message: `order ${orderId} has finished (${status ?? 'unknown'})`, status };
      }
      throw error;
    }
  }

  return {
    ...createTaskActivities({ db }),

    async loadChannelOrder({ channel, platformOrderId }) {
      const row = await db.selectFrom('channel_orders').selectAll().where('channel', '=', channel).where('platform_order_id', '=', platformOrderId).executeTakeFirst();
      return {
        orderStarted: row?.order_started_at != null,
        cancelled: row?.cancelled_at != null,
        latest: (row?.snapshot as ChannelOrderSnapshot | undefined) ?? null,
        applied: (row?.applied as ChannelOrderSnapshot | null | undefined) ?? null,
      };
    },

    /** Starts `order-<orderId>` once and answers when it is checked and screened (a repeat answers the process as it is). */
    async startChannelOrder({ orderId, order, policy, channel, platformOrderId, snapshot }) {
      await db
        .insertInto('channel_orders')
        .values({
          channel,
          platform_order_id: platformOrderId,
          platform: snapshot.platform,
          order_id: orderId,
          snapshot: JSON.stringify(snapshot),
          version: snapshot.version,
          applied: JSON.stringify(snapshot),
          payment_status: snapshot.payment.status,
          payment_gateway: snapshot.payment.gateway,
          coordinates: snapshot.coordinates,
        })
        .onConflict((oc) => oc.columns(['channel', 'platform_order_id']).doNothing())
        .execute();
      const workflowId = orderWorkflowId(orderId);
      const start = new WithStartWorkflowOperation<OrderReleaseWorkflow>(orderWorkflowType, {
        workflowId,
        taskQueue: Context.current().info.taskQueue,
        args: [order, policy],
        memo: { requestHash: createHash('sha256').update(JSON.stringify(order)).digest('hex'), requestId: `channel-intake:${orderId}` },
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: orderStartSearchAttributes(order),
      });
      let view: OrderView;
      try {
        view = await client().workflow.executeUpdateWithStart(submitOrderUpdate, { startWorkflowOperation: start });
      } catch (error) {
        // Started and already finished (a rejected order ends at once).
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        view = await client().workflow.getHandle(workflowId).query(orderViewQuery);
      }
      return { status: view.status, problems: view.problems ?? [] };
    },

    async amendChannelOrder({ orderId, amendment }) {
      return decide(orderId, () => client().workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(amendOrderUpdate, { args: [amendment] }));
    },

    async cancelChannelOrder({ orderId, reason, actor }) {
      return decide(orderId, () => client().workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(cancelOrderUpdate, { args: [{ reason, actor }] }));
    },

    async settleChannelDelivery(input) {
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable('channel_deliveries')
          .set({ outcome: input.outcome, detail: JSON.stringify(input.detail), order_id: input.orderId, decided_at: sql<Date>`now()` })
          .where('id', '=', input.rowId)
          .where('decided_at', 'is', null)
          .execute();
        const latest = input.latest;
        if (!latest) return;
        const values = {
          snapshot: JSON.stringify(latest),
          version: latest.version,
          applied: input.applied ? JSON.stringify(input.applied) : null,
          payment_status: latest.payment.status,
          payment_gateway: latest.payment.gateway,
          coordinates: (input.applied ?? latest).coordinates,
          updated_at: new Date(),
        };
        await tx
          .insertInto('channel_orders')
          .values({
            channel: input.channel,
            platform_order_id: input.platformOrderId,
            platform: latest.platform,
            order_id: input.orderId,
            ...values,
            order_started_at: input.orderStarted ? new Date() : null,
            cancelled_at: input.cancelled ? new Date() : null,
          })
          .onConflict((oc) =>
            oc.columns(['channel', 'platform_order_id']).doUpdateSet({
              ...values,
              order_started_at: input.orderStarted ? sql<Date>`coalesce(channel_orders.order_started_at, now())` : null,
              cancelled_at: input.cancelled ? sql<Date>`coalesce(channel_orders.cancelled_at, now())` : null,
            }),
          )
          .execute();
      });
    },
  };
}
