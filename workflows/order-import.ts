import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderImportActivities, OrderImportInput, OrderImportSummary } from '../contracts/order-import.js';
import { localStepOptions } from './step-options.js';

const records = proxyLocalActivities<OrderImportActivities>(localStepOptions);
// Starting an order waits until it is checked and screened.
const orders = proxyActivities<OrderImportActivities>({ startToCloseTimeout: '2 minutes', retry: { maximumInterval: '1 minute' } });

/** One CSV file's orders, started one after the other in file order; what became of each is on its row. */
export async function orderImport(input: OrderImportInput): Promise<OrderImportSummary> {
  for (;;) {
    const batch = await records.pendingImportOrders({ importId: input.importId, limit: 25 });
    if (batch.length === 0) break;
    for (const orderId of batch) await orders.startImportedOrder({ importId: input.importId, orderId, policy: input.policy });
  }
  return records.finishOrderImport({ importId: input.importId });
}
