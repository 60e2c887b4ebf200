import { adjustmentWorkflowType } from './inventory-adjustment.js';
import { anomalyScanWorkflowType } from './anomaly-scan.js';
import { channelOrderWorkflowType } from './channel-order.js';
import { channelOrderPublisherWorkflowType } from './channel-order-publisher.js';
import { channelPublisherWorkflowType } from './channel-publishing.js';
import { channelReconcileWorkflowType } from './channel-reconcile.js';
import { exceptionSweepWorkflowType } from './exception-sweep.js';
import { lotExpiryWorkflowType } from './lot-expiry.js';
import { orderWorkflowType } from './order.js';
import { orderImportWorkflowType } from './order-import.js';
import { periodCloseWorkflowType } from './period-close.js';
import { purchaseOrderWorkflowType } from './purchase-order.js';
import { replenishmentWorkflowType } from './replenishment.js';
import { returnWorkflowType } from './return.js';
import { settlementWorkflowType } from './settlement.js';
import { shipmentWorkflowType } from './shipment.js';
import { transferWorkflowType } from './transfer.js';

/** Every workflow type of the product, as the worker registers them. */
export const workflowTypes = [
  adjustmentWorkflowType,
  anomalyScanWorkflowType,
  channelOrderWorkflowType,
  channelOrderPublisherWorkflowType,
  channelPublisherWorkflowType,
  channelReconcileWorkflowType,
  exceptionSweepWorkflowType,
  lotExpiryWorkflowType,
  orderImportWorkflowType,
  orderWorkflowType,
  periodCloseWorkflowType,
  purchaseOrderWorkflowType,
  replenishmentWorkflowType,
  returnWorkflowType,
  settlementWorkflowType,
  shipmentWorkflowType,
  transferWorkflowType,
].sort();
