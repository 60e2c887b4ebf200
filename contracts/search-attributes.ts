import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { orderTotalMinor, type OrderInput } from '../domain/order.js';

/** Custom search attributes every process sets, so the Temporal UI finds it by business facts. */
export const ProcessStatus = defineSearchAttributeKey('ProcessStatus', SearchAttributeType.KEYWORD);
export const Channel = defineSearchAttributeKey('Channel', SearchAttributeType.KEYWORD);
export const CustomerId = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const Warehouses = defineSearchAttributeKey('Warehouses', SearchAttributeType.KEYWORD_LIST);
export const SkuCount = defineSearchAttributeKey('SkuCount', SearchAttributeType.INT);
export const ValueMinor = defineSearchAttributeKey('ValueMinor', SearchAttributeType.INT);
export const HoldReason = defineSearchAttributeKey('HoldReason', SearchAttributeType.KEYWORD);

export const allSearchAttributes = [ProcessStatus, Channel, CustomerId, Warehouses, SkuCount, ValueMinor, HoldReason];

/** What an order process starts with, however the order came (API, storefront, CSV import). */
export const orderStartSearchAttributes = (order: OrderInput): SearchAttributePair[] => [
  { key: ProcessStatus, value: 'received' },
  { key: Channel, value: order.channel },
  { key: CustomerId, value: order.customerId },
  { key: SkuCount, value: new Set(order.lines.map((l) => l.sku)).size },
  { key: ValueMinor, value: orderTotalMinor(order) },
];
