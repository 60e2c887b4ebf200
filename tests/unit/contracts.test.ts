/**
 * Each contract names its workflow type; the worker registers the workflow bundle's exports
 * under their names. A name that drifts would start nothing the worker knows.
 */
import { describe, expect, it } from 'vitest';
import { workflowTypes } from '../../contracts/index.js';
import type { AnomalyScanWorkflow } from '../../contracts/anomaly-scan.js';
import type { AdjustmentWorkflow } from '../../contracts/inventory-adjustment.js';
import type { ChannelOrderWorkflow } from '../../contracts/channel-order.js';
import type { ChannelOrderPublisherWorkflow } from '../../contracts/channel-order-publisher.js';
import type { ChannelPublisherWorkflow } from '../../contracts/channel-publishing.js';
import type { ChannelReconcileWorkflow } from '../../contracts/channel-reconcile.js';
import type { ExceptionSweepWorkflow } from '../../contracts/exception-sweep.js';
import type { LotExpiryWorkflow } from '../../contracts/lot-expiry.js';
import type { OrderReleaseWorkflow } from '../../contracts/order.js';
import type { OrderImportWorkflow } from '../../contracts/order-import.js';
import type { PurchaseOrderWorkflow } from '../../contracts/purchase-order.js';
import type { ReplenishmentWorkflow } from '../../contracts/replenishment.js';
import type { ReturnWorkflow } from '../../contracts/return.js';
import type { ShipmentWorkflow } from '../../contracts/shipment.js';
import type { TransferWorkflow } from '../../contracts/transfer.js';
import * as workflows from '../../workflows/index.js';

// The bundle's functions have the signatures their contracts declare (checked by the compiler).
const signatures: {
  inventoryAdjustment: AdjustmentWorkflow;
  anomalyScan: AnomalyScanWorkflow;
  channelOrderIntake: ChannelOrderWorkflow;
  channelOrderPublisher: ChannelOrderPublisherWorkflow;
  channelPublisher: ChannelPublisherWorkflow;
  channelReconcile: ChannelReconcileWorkflow;
  exceptionSweep: ExceptionSweepWorkflow;
  lotExpirySweep: LotExpiryWorkflow;
  orderImport: OrderImportWorkflow;
  orderRelease: OrderReleaseWorkflow;
  purchaseOrder: PurchaseOrderWorkflow;
  replenishmentPlanner: ReplenishmentWorkflow;
  returnProcess: ReturnWorkflow;
  shipment: ShipmentWorkflow;
  transfer: TransferWorkflow;
} = workflows;

describe('contracts and the workflow bundle', () => {
  it('name exactly the workflows the bundle exports', () => {
    const exported = Object.entries(workflows)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    expect(workflowTypes).toEqual(exported);
    expect(Object.keys(signatures).sort()).toEqual(exported);
  });
});
