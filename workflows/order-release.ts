import { defineQuery, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { orderTotalMinor, type OrderInput } from '../domain/order.js';
import { Channel, CustomerId, ProcessStatus, SkuCount, ValueMinor } from './search-attributes.js';

export const OrderStatus = {
  received: 'received',
  recorded: 'recorded',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export interface OrderTimelineEntry {
  at: string;
  status: OrderStatus;
  note?: string;
}

export interface OrderView {
  orderId: string;
  status: OrderStatus;
  timeline: OrderTimelineEntry[];
}

export const orderViewQuery = defineQuery<OrderView>('orderView');

const { recordOrder, setOrderStatus } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
});

export async function orderRelease(order: OrderInput): Promise<OrderView> {
  const view: OrderView = { orderId: order.orderId, status: OrderStatus.received, timeline: [] };
  setHandler(orderViewQuery, () => view);

  const moveTo = (status: OrderStatus, note?: string) => {
    view.status = status;
    view.timeline.push({ at: new Date().toISOString(), status, note });
    upsertSearchAttributes([{ key: ProcessStatus, value: status }]);
  };

  upsertSearchAttributes([
    { key: Channel, value: order.channel },
    { key: CustomerId, value: order.customerId },
    { key: SkuCount, value: new Set(order.lines.map((l) => l.sku)).size },
    { key: ValueMinor, value: orderTotalMinor(order) },
  ]);
  moveTo(OrderStatus.received);

  await recordOrder(order);
  moveTo(OrderStatus.recorded);
  await setOrderStatus(order.orderId, OrderStatus.recorded);
  return view;
}
