/**
 * Order import (`order-import-<importId>`): one process per CSV file, started by
 * `POST /orders/import` once the file is read and its rows checked. It starts each good
 * order's release in file order (as `POST /orders` would) and writes what became of it.
 */
import type { OrderPolicy } from './order.js';

export const orderImportWorkflowType = 'orderImport';
export type OrderImportWorkflow = (input: OrderImportInput) => Promise<OrderImportSummary>;
export const orderImportWorkflowId = (importId: string) => `order-import-${importId}`;

export interface OrderImportInput {
  importId: string;
  policy: OrderPolicy;
}

export interface OrderImportSummary {
  importId: string;
  created: number;
  rejected: number;
  onHold: number;
  refused: number;
}

export type ImportedOrderOutcome = 'created' | 'rejected' | 'on_hold' | 'refused';

export interface OrderImportActivities {
  /** The next orders of the file not started yet, in file order. */
  pendingImportOrders(input: { importId: string; limit: number }): Promise<string[]>;
  /** Starts one order's release (once; an order id used before with other content is refused) and writes its outcome. */
  startImportedOrder(input: { importId: string; orderId: string; policy: OrderPolicy }): Promise<ImportedOrderOutcome>;
  finishOrderImport(input: { importId: string }): Promise<OrderImportSummary>;
}
