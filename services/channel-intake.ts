/**
 * Handing a storefront delivery to its order: recorded once (by the platform's delivery id),
 * then signalled to the platform order's intake process, which is started when it is not
 * running. The webhook route does this for each authenticated delivery, and reconciliation
 * for each platform order it finds missing or behind.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { recordIdOf, type ChannelOrderSnapshot, type Platform } from '../domain/channel-orders.js';
import type { ChannelName } from '../domain/order.js';
import { channelDeliverySignal, channelOrderWorkflowId, channelOrderWorkflowType, type ChannelDeliveryNotice, type ChannelOrderInput, type ChannelOrderWorkflow } from '../contracts/channel-order.js';
import type { OrderPolicy } from '../contracts/order.js';
import { Channel } from '../contracts/search-attributes.js';
import { markHandedOver, recordDelivery, type DeliveryRecord } from './channel-connectors.js';

export interface Handover {
  channel: string;
  platform: Platform;
  deliveryId: string;
  topic: string;
  bodySha256: string;
  snapshot: ChannelOrderSnapshot;
  orderIdPrefix: string;
}

export interface IntakeSettings {
  taskQueue: string;
  orderPolicy: OrderPolicy;
  idleMs: number;
  /** The hand-over to Temporal must be done by then (the platform's own timeout). */
  deadlineMs: number;
}

/** Records the delivery (once) and hands it to the order's intake process unless that was done. */
export async function handOverDelivery(db: Db, temporal: Client, delivery: Handover, settings: IntakeSettings): Promise<DeliveryRecord & { orderId: string }> {
  const { channel, platform, snapshot } = delivery;
  const platformOrderId = snapshot.platformOrderId;
  const record = await recordDelivery(db, { channel, platform, deliveryId: delivery.deliveryId, topic: delivery.topic, platformOrderId, bodySha256: delivery.bodySha256, snapshot });
  const orderId = recordIdOf(delivery.orderIdPrefix, platformOrderId);
  if (record.handedOver) return { ...record, orderId };
  const notice: ChannelDeliveryNotice = { rowId: record.rowId, deliveryId: delivery.deliveryId, topic: delivery.topic, snapshot };
  const input: ChannelOrderInput = { channel: channel as ChannelName, platform, platformOrderId, orderId, orderPolicy: settings.orderPolicy, idleMs: settings.idleMs };
  await temporal.withDeadline(Date.now() + settings.deadlineMs, () =>
    temporal.workflow.signalWithStart<ChannelOrderWorkflow, [ChannelDeliveryNotice]>(channelOrderWorkflowType, {
      workflowId: channelOrderWorkflowId(channel, platformOrderId),
      taskQueue: settings.taskQueue,
      args: [input],
      signal: channelDeliverySignal,
      signalArgs: [notice],
      typedSearchAttributes: [{ key: Channel, value: channel }],
    }),
  );
  await markHandedOver(db, record.rowId, orderId);
  return { ...record, orderId };
}
