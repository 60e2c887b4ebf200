import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes every process sets, so the Temporal UI finds it by business facts. */
export const ProcessStatus = defineSearchAttributeKey('ProcessStatus', SearchAttributeType.KEYWORD);
export const Channel = defineSearchAttributeKey('Channel', SearchAttributeType.KEYWORD);
export const CustomerId = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const Warehouses = defineSearchAttributeKey('Warehouses', SearchAttributeType.KEYWORD_LIST);
export const SkuCount = defineSearchAttributeKey('SkuCount', SearchAttributeType.INT);
export const ValueMinor = defineSearchAttributeKey('ValueMinor', SearchAttributeType.INT);
export const HoldReason = defineSearchAttributeKey('HoldReason', SearchAttributeType.KEYWORD);

export const allSearchAttributes = [ProcessStatus, Channel, CustomerId, Warehouses, SkuCount, ValueMinor, HoldReason];
