/**
 * The lot expiry sweep (`lot-expiry-…`): daily, every lot reaching its expiry leaves
 * available stock for quarantine, and one exception lists the lots moved with their value.
 * Started by the `lot-expiry` schedule.
 */
export const lotExpiryWorkflowType = 'lotExpirySweep';
export type LotExpiryWorkflow = (input: LotExpiryInput) => Promise<LotExpiryReport>;
export const LOT_EXPIRY_SCHEDULE_ID = 'lot-expiry';
export const LOT_EXPIRY_PREFIX = 'lot-expiry-';

export interface LotExpiryInput {
  /** Lots expiring within this many days of the run's date are moved too (0: expiring today or before). */
  horizonDays: number;
  requestedBy: string;
}

export interface ExpiredLot {
  sku: string;
  lot: string;
  warehouse: string;
  expiresOn: string;
  qty: number;
  /** At the item's average cost. */
  valueMinor: number;
}

export interface LotExpiryReport {
  sweepId: string;
  /** The date lots were judged against (ISO date): those expiring on or before it plus the horizon. */
  asOf: string;
  moved: ExpiredLot[];
  valueMinor: number;
}

export interface LotExpiryActivities {
  /** Moves the available units of every lot expiring by `through` to quarantine and raises one exception with their value; once per sweep. */
  quarantineExpiringLots(input: { sweepId: string; asOf: string; through: string; actor: string }): Promise<LotExpiryReport>;
}
