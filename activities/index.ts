import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { createChannelPublishingActivities } from './channel-publishing.js';
import { createInventoryAdjustmentActivities } from './inventory-adjustment.js';
import { createOrderReleaseActivities } from './order-release.js';
import { createPurchaseOrderActivities } from './purchase-order.js';
import { createReplenishmentActivities } from './replenishment.js';
import { createShipmentActivities } from './shipment.js';
import { createTaskActivities } from './tasks.js';
import { createTransferActivities } from './transfer.js';

export interface ActivityDeps {
  db: Db;
  /** For activities that nudge other processes (stock arrived for backorders). */
  temporal?: Client;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createOrderReleaseActivities(deps),
    ...createShipmentActivities(deps),
    ...createTaskActivities(deps),
    ...createInventoryAdjustmentActivities(deps),
    ...createPurchaseOrderActivities(deps),
    ...createReplenishmentActivities(deps),
    ...createTransferActivities(deps),
    ...createChannelPublishingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
