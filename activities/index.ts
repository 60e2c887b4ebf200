import type { Db } from '../db/connection.js';
import { createOrderActivities } from './orders.js';

export interface ActivityDeps {
  db: Db;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createOrderActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
