import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import { createChannelOrderActivities } from './channel-order.js';
import { createChannelOrderPublishingActivities } from './channel-order-publishing.js';
import { createChannelPublishingActivities } from './channel-publishing.js';
import { createChannelReconcileActivities } from './channel-reconcile.js';
import { createExceptionSweepActivities } from './exception-sweep.js';
import { createInventoryAdjustmentActivities } from './inventory-adjustment.js';
import { createLotExpiryActivities } from './lot-expiry.js';
import { createOrderImportActivities } from './order-import.js';
import { createOrderReleaseActivities } from './order-release.js';
import { createPurchaseOrderActivities } from './purchase-order.js';
import { createReplenishmentActivities } from './replenishment.js';
import { createAnomalyScanActivities } from './anomaly-scan.js';
import { paymentGatewayFromEnv, type PaymentGateway } from './payment-gateway.js';
import { createPaymentActivities } from './payment.js';
import { createSettlementActivities } from './settlement.js';
import { createPeriodCloseActivities } from './period-close.js';
import { createReturnActivities } from './return.js';
import { createShipmentActivities } from './shipment.js';
import { createTaskActivities } from './tasks.js';
import { createTransferActivities } from './transfer.js';

export interface ActivityDeps {
  db: Db;
  /** For activities that nudge other processes (stock arrived for backorders). */
  temporal?: Client;
  /** Where captures, voids and refunds go; the local fake gateway (or PAYMENT_GATEWAY_URL's) when not given. */
  paymentGateway?: PaymentGateway;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  const paymentGateway = deps.paymentGateway ?? paymentGatewayFromEnv(deps.db);
  return {
    ...createPaymentActivities({ db: deps.db, paymentGateway }),
    ...createSettlementActivities(deps),
    ...createPeriodCloseActivities(deps),
    ...createOrderReleaseActivities(deps),
    ...createShipmentActivities(deps),
    ...createTaskActivities(deps),
    ...createInventoryAdjustmentActivities(deps),
    ...createPurchaseOrderActivities(deps),
    ...createReplenishmentActivities(deps),
    ...createAnomalyScanActivities(deps),
    ...createTransferActivities(deps),
    ...createReturnActivities({ ...deps, paymentGateway }),
    ...createChannelPublishingActivities(deps),
    ...createChannelOrderActivities(deps),
    ...createChannelOrderPublishingActivities(deps),
    ...createChannelReconcileActivities(deps),
    ...createOrderImportActivities(deps),
    ...createExceptionSweepActivities(deps),
    ...createLotExpiryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
