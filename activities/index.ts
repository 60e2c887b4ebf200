import type { Db } from '../db/connection.js';
import { createInventoryAdjustmentActivities } from './inventory-adjustment.js';
import { createOrderActivities } from './orders.js';
import { createTaskActivities } from './tasks.js';

export interface ActivityDeps {
  db: Db;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createOrderActivities(deps),
    ...createTaskActivities(deps),
    ...createInventoryAdjustmentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
