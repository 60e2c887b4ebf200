import type { ColumnType, Generated } from 'kysely';
import type { Address, ShortagePolicy } from '../domain/order.js';
import type { PeopleTables } from './schema-people.js';
import type { AutomationTables, ReplenishmentForecastColumns } from './schema-automation.js';
import type { LotTables } from './schema-lots.js';
import type { UnitTables } from './schema-units.js';
import type { CashTables } from './schema-cash.js';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface OrdersTable {
  id: string;
  workflow_id: string;
  channel: string;
  customer_id: string;
  currency: string;
  status: string;
  ship_to: Json<Address>;
  billing_country: string | null;
  freight_minor: number;
  total_minor: number;
  promised_by: ColumnType<Date | null, Date | string | null, Date | string | null>;
  status_reason: string | null;
  hold: ColumnType<unknown, string | null, string | null>;
  routing: ColumnType<unknown, string | null, string | null>;
  problems: ColumnType<unknown, string | null, string | null>;
  released_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  closed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OrderLinesTable {
  order_id: string;
  line_no: number;
  sku: string;
  qty: number;
  unit_price_minor: number;
  discount_minor: number;
  tax_minor: number;
  allocated_qty: Generated<number>;
  backordered_qty: Generated<number>;
  cancelled_qty: Generated<number>;
  shipped_qty: Generated<number>;
}

/** Buckets inside a warehouse; never below zero. */
export const stockBuckets = [
  'available',
  'allocated',
  'inbound',
  'quarantine',
  'damaged',
  'return_pending',
  'in_transit',
] as const;
/** Outside accounts: where stock comes from and goes to. */
export const outsideAccounts = ['supplier', 'customer', 'adjustment', 'scrap'] as const;
export type StockBucket = (typeof stockBuckets)[number];
export type OutsideAccount = (typeof outsideAccounts)[number];
export type Bucket = StockBucket | OutsideAccount;

export interface ItemsTable {
  sku: string;
  name: string;
  uom: Generated<string>;
  price_minor: number;
  standard_cost_minor: number;
  average_cost_minor: number;
  requires_inspection: Generated<boolean>;
  lot_tracked: Generated<boolean>;
  substitutes: Generated<string[]>;
  sku_class: Generated<'A' | 'B' | 'C'>;
  safety_stock: Generated<number>;
  active: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** Units of measure (migration 0043): unit name → whole base units in one. */
  unit_conversions: ColumnType<Record<string, number>, string | undefined, string>;
}

export interface Zone {
  code: string;
  bins: string[];
}

export interface WarehousesTable {
  code: string;
  name: string;
  lat: number;
  lon: number;
  freight_base_minor: number;
  freight_per_km_minor: number;
  daily_capacity: number;
  zones: Json<Zone[]>;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface SuppliersTable {
  id: string;
  name: string;
  approved: Generated<boolean>;
  default_lead_time_days: number;
  created_at: CreatedAt;
  /** Deactivated suppliers take no new purchase orders (migration 0041). */
  active: Generated<boolean>;
  updated_at: UpdatedAt;
}

export interface SupplierItemsTable {
  supplier_id: string;
  sku: string;
  unit_cost_minor: number;
  moq: Generated<number>;
  pack_size: Generated<number>;
  approved: Generated<boolean>;
  /** The unit this supplier sells the item in (migration 0043); its conversion is then the pack size. */
  purchase_unit: Generated<string | null>;
}

export interface SupplierLanesTable {
  supplier_id: string;
  warehouse_code: string;
  lead_time_days: number;
}

export type { ShortagePolicy };

export interface ChannelsTable {
  code: string;
  name: string;
  reservation_priority: number;
  ats_buffer_qty: Generated<number>;
  ats_buffer_pct: Generated<number>;
  shortage_policy: Generated<ShortagePolicy>;
  webhook_url: string | null;
  /** Days of shelf life a lot must have left when the order arrives (migration 0040). */
  min_shelf_life_days: Generated<number>;
  updated_at: UpdatedAt;
}

export interface InventoryBalancesTable {
  sku: string;
  warehouse_code: string;
  bucket: Bucket;
  qty: number;
  updated_at: UpdatedAt;
}

export interface InventoryOperationsTable {
  idempotency_key: string;
  kind: string;
  payload_hash: string;
  result: ColumnType<unknown, string | null, string | null>;
  process: string | null;
  step: string | null;
  actor: string;
  reason: string | null;
  created_at: CreatedAt;
}

export interface InventoryMovementsTable {
  id: Generated<number>;
  operation_key: string;
  leg: number;
  sku: string;
  qty: number;
  from_warehouse: string;
  from_bucket: Bucket;
  to_warehouse: string;
  to_bucket: Bucket;
  /** The lot moved, for a lot-tracked item (migration 0040). */
  lot: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
}

export type ReservationStatus = 'active' | 'consumed' | 'released' | 'expired';

export interface ReservationsTable {
  id: Generated<number>;
  order_id: string;
  line_no: number;
  sku: string;
  warehouse_code: string;
  channel: string;
  priority: number;
  qty: number;
  consumed_qty: Generated<number>;
  status: Generated<ReservationStatus>;
  expires_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  operation_key: string;
  resolved_by: string | null;
  created_at: CreatedAt;
  resolved_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface LedgerRefusalsTable {
  id: Generated<number>;
  operation_key: string;
  kind: string;
  sku: string;
  warehouse_code: string;
  bucket: string;
  requested: number;
  on_hand: number;
  process: string | null;
  actor: string;
  refused_at: CreatedAt;
}

export interface OutboxEventsTable {
  id: Generated<number>;
  tx_id: Generated<string>;
  topic: string;
  key: string;
  payload: Json<unknown>;
  created_at: CreatedAt;
}

export interface AccountsTable {
  code: string;
  name: string;
  type: 'asset' | 'liability' | 'equity' | 'revenue' | 'expense';
}

export interface JournalEntriesTable {
  id: Generated<number>;
  idempotency_key: string;
  event_type: string;
  reference: string;
  memo: string | null;
  payload_hash: string;
  reverses_entry_id: number | null;
  actor: string;
  posted_at: CreatedAt;
  /** The date of the business event (migration 0020): its rate's date. */
  document_date: ColumnType<Date, string | undefined, never>;
  /** The first day of the first open period on or after the document date (migration 0023). */
  posting_date: ColumnType<Date, string | undefined, never>;
}

export interface JournalLinesTable {
  entry_id: number;
  line_no: number;
  account_code: string;
  /** Functional amounts. */
  debit_minor: number;
  credit_minor: number;
  /** The transaction currency, the amount in it, and the rate to functional (migration 0020); null rate: a functional-only line. */
  currency: string;
  txn_debit_minor: number;
  txn_credit_minor: number;
  rate: string | null;
}

export interface TasksTable {
  id: string;
  kind: string;
  reference: string;
  workflow_id: string;
  role: string;
  status: Generated<'open' | 'done' | 'cancelled'>;
  priority: Generated<'normal' | 'high'>;
  title: string;
  reason: string;
  details: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  escalated_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  closed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  closed_by: string | null;
  outcome: string | null;
}

export interface ExceptionsTable {
  id: string;
  kind: string;
  reference: string;
  workflow_id: string | null;
  owner_role: string;
  message: string;
  details: Json<Record<string, unknown>>;
  status: Generated<'open' | 'resolved'>;
  raised_at: CreatedAt;
  resolved_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  /** The case it belongs to: its kind on its record (migration 0051). */
  case_id: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface InventoryAdjustmentsTable {
  id: string;
  sku: string;
  warehouse_code: string;
  kind: 'delta' | 'count';
  reason_code: string;
  counted_qty: number | null;
  expected_qty: number | null;
  delta: number | null;
  value_minor: number | null;
  status: string;
  requested_by: string;
  decided_by: string | null;
  decision_reason: string | null;
  decided_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: CreatedAt;
  posted_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface ShipmentsTable {
  id: string;
  order_id: string;
  warehouse_code: string;
  workflow_id: string;
  status: string;
  ship_by: ColumnType<Date | null, Date | string | null, Date | string | null>;
  carrier: string | null;
  tracking: string | null;
  freight_cost_minor: number | null;
  journal_entry_id: number | null;
  created_at: CreatedAt;
  picked_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  packed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  shipped_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  closed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  /** The carrier's delivery, reported after the process ended (migration 0052). */
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  delivery_reported_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  delivery_reported_by: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: UpdatedAt;
}

export interface ShipmentLinesTable {
  shipment_id: string;
  line_no: number;
  sku: string;
  reservation_id: number;
  qty: number;
  picked_qty: number | null;
  shipped_qty: Generated<number>;
}

export interface PurchaseOrdersTable {
  id: string;
  workflow_id: string;
  supplier_id: string;
  warehouse_code: string;
  currency: string;
  status: string;
  status_reason: string | null;
  value_minor: number;
  expected_at: ColumnType<Date, Date | string, Date | string>;
  confirmed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_by: string;
  approval: ColumnType<unknown, string | null, string | null>;
  issued_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  acknowledged_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  closed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface PurchaseOrderLinesTable {
  po_id: string;
  line_no: number;
  sku: string;
  ordered_qty: number;
  unit_cost_minor: number;
  confirmed_qty: number | null;
  received_qty: Generated<number>;
  accepted_qty: Generated<number>;
  rejected_qty: Generated<number>;
  cancelled_qty: Generated<number>;
  invoiced_qty: Generated<number>;
}

export interface PurchaseOrderReceiptsTable {
  po_id: string;
  receipt_id: string;
  line_no: number;
  sku: string;
  qty: number;
  into_bucket: 'available' | 'quarantine';
  unit_cost_minor: number;
  landed_cost_minor: number;
  operation_key: string;
  journal_entry_id: number | null;
  actor: string;
  received_at: CreatedAt;
}

export interface SupplierInvoicesTable {
  po_id: string;
  invoice_id: string;
  supplier_id: string;
  /** A mismatch waits for finance, who approves (taken into payables) or rejects (disputed). */
  status: 'matched' | 'mismatch' | 'approved' | 'rejected';
  lines: Json<unknown>;
  charges_minor: number;
  total_minor: number;
  differences: Json<unknown>;
  journal_entry_id: number | null;
  actor: string;
  received_at: CreatedAt;
  decided_by: ColumnType<string | null, string | null | undefined, string | null>;
  decision_reason: ColumnType<string | null, string | null | undefined, string | null>;
  decided_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface ItemLocationsTable {
  warehouse_code: string;
  sku: string;
  zone: string;
  bin: string;
}

export interface TransfersTable {
  id: string;
  workflow_id: string;
  sku: string;
  from_warehouse: string;
  to_warehouse: string;
  qty: number;
  reason: string;
  status: string;
  requested_by: string;
  ship_operation_key: string;
  received_qty: number | null;
  damaged_qty: number | null;
  lost_qty: number | null;
  loss_unit_cost_minor: number | null;
  journal_entry_id: number | null;
  received_by: string | null;
  shipped_at: CreatedAt;
  received_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface ReplenishmentRunsTable {
  id: string;
  workflow_id: string;
  trigger: 'schedule' | 'manual';
  requested_by: string;
  status: 'running' | 'finished' | 'failed';
  history_days: number;
  review_period_days: number;
  uplift: number;
  places_count: number | null;
  reorder_count: number | null;
  transfer_count: number | null;
  purchase_qty: number | null;
  transfer_qty: number | null;
  started_at: CreatedAt;
  finished_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  failed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  failure: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ReplenishmentSuggestionsTable extends ReplenishmentForecastColumns {
  run_id: string;
  sku: string;
  warehouse_code: string;
  sku_class: 'A' | 'B' | 'C';
  supplier_id: string | null;
  unit_cost_minor: number | null;
  moq: number;
  pack_size: number;
  lead_time_days: number;
  stated_lead_time_days: number;
  lead_time_source: string;
  shipped_in_history: number;
  average_daily: number;
  deviation: number;
  safety_stock: number;
  reorder_point: number;
  target_level: number;
  position: number;
  reorder: boolean;
  excess: number;
  transfer_out_qty: number;
  transfers: Json<{ from: string; qty: number }[]>;
  transfer_in_qty: number;
  purchase_qty_before_transfers: number;
  suggested_qty: number;
  sku_uplift: Generated<number>;
}

export interface VendorReturnsTable {
  id: string;
  /** The purchase order whose receipt was rejected, or null when the units came back from a customer return. */
  po_id: string | null;
  /** The customer return (RMA) whose defective units go back to the supplier. */
  return_id: ColumnType<string | null, string | null | undefined, string | null>;
  supplier_id: string;
  warehouse_code: string;
  sku: string;
  qty: number;
  unit_cost_minor: number;
  status: Generated<'open' | 'shipped'>;
  created_at: CreatedAt;
  shipped_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  shipped_by: string | null;
  carrier_reference: string | null;
  journal_entry_id: number | null;
}

export interface Database extends PeopleTables, AutomationTables, LotTables, CashTables, UnitTables {
  returns: ReturnsTable;
  return_lines: ReturnLinesTable;
  return_receipts: ReturnReceiptsTable;
  return_inspections: ReturnInspectionsTable;
  payment_gateway_refunds: PaymentGatewayRefundsTable;
  payment_gateway_faults: PaymentGatewayFaultsTable;
  audit_log: AuditLogTable;
  vendor_returns: VendorReturnsTable;
  item_locations: ItemLocationsTable;
  shipments: ShipmentsTable;
  shipment_lines: ShipmentLinesTable;
  tasks: TasksTable;
  exceptions: ExceptionsTable;
  inventory_adjustments: InventoryAdjustmentsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  items: ItemsTable;
  warehouses: WarehousesTable;
  suppliers: SuppliersTable;
  supplier_items: SupplierItemsTable;
  supplier_lanes: SupplierLanesTable;
  channels: ChannelsTable;
  inventory_balances: InventoryBalancesTable;
  inventory_operations: InventoryOperationsTable;
  inventory_movements: InventoryMovementsTable;
  reservations: ReservationsTable;
  ledger_refusals: LedgerRefusalsTable;
  outbox_events: OutboxEventsTable;
  accounts: AccountsTable;
  journal_entries: JournalEntriesTable;
  journal_lines: JournalLinesTable;
  purchase_orders: PurchaseOrdersTable;
  purchase_order_lines: PurchaseOrderLinesTable;
  purchase_order_receipts: PurchaseOrderReceiptsTable;
  supplier_invoices: SupplierInvoicesTable;
  transfers: TransfersTable;
  replenishment_runs: ReplenishmentRunsTable;
  replenishment_suggestions: ReplenishmentSuggestionsTable;
  demand_uplifts: DemandUpliftsTable;
  channel_publications: ChannelPublicationsTable;
  channel_connectors: ChannelConnectorsTable;
  channel_deliveries: ChannelDeliveriesTable;
  channel_orders: ChannelOrdersTable;
  channel_order_publications: ChannelOrderPublicationsTable;
  channel_order_updates: ChannelOrderUpdatesTable;
  channel_reconciliations: ChannelReconciliationsTable;
  order_imports: OrderImportsTable;
  order_import_rows: OrderImportRowsTable;
  order_import_orders: OrderImportOrdersTable;
}

/** A promotion or seasonality factor on a sku's demand from one day to another (both inclusive). */
export interface DemandUpliftsTable {
  sku: string;
  /** ISO dates (`YYYY-MM-DD`); read them with `::text` to avoid time-zone shifts. */
  from_date: ColumnType<string, string, string>;
  to_date: ColumnType<string, string, string>;
  factor: number;
  updated_by: string;
  updated_at: UpdatedAt;
}

/** One accepted change made through the API; append-only. */
export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  actor: string;
  role: string;
  /** Made by a system key (storefront, WMS, supplier portal), not a person. */
  automated: Generated<boolean>;
  action: string;
  subject_type: string;
  subject_id: string | null;
  method: string;
  route: string;
  before: ColumnType<unknown, string | null, never>;
  after: ColumnType<unknown, string | null, never>;
  reason: string | null;
  request_id: string;
  status_code: number;
  /** The user who made the change or attempt (null on rows from before named users). */
  user_id: string | null;
  /** `refused`: a person's attempt the API refused (403, 409, 422); nothing changed. */
  outcome: Generated<'accepted' | 'refused'>;
}

/** Where a channel's publisher stands in the outbox feed, and how its deliveries fare. */
export interface ChannelPublicationsTable {
  channel: string;
  /** HMAC key for the `X-Signature` header; never shown by the API. */
  secret: string | null;
  batch_size: Generated<number>;
  paused: Generated<boolean>;
  /** xid8 as text; null with `cursor_id` until the first delivery. */
  cursor_tx: string | null;
  cursor_id: number | null;
  sequence: Generated<number>;
  delivered_batches: Generated<number>;
  delivered_events: Generated<number>;
  delivered_skus: Generated<number>;
  last_delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_delivered_sequence: number | null;
  pending_sequence: ColumnType<number | null, number | null | undefined, number | null>;
  pending_body: ColumnType<string | null, string | null | undefined, string | null>;
  consecutive_failures: Generated<number>;
  failing_since: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_error: string | null;
  last_failure_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  open_exception_id: string | null;
  updated_by: Generated<string>;
  updated_at: UpdatedAt;
}

type Stamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A customer return (RMA) against one order, from authorization to refund. */
export interface ReturnsTable {
  id: string;
  workflow_id: string;
  order_id: string;
  channel: string;
  customer_id: string;
  currency: string;
  reason_code: string;
  resolution: 'refund' | 'exchange';
  status: string;
  status_reason: ColumnType<string | null, string | null | undefined, string | null>;
  request_hash: string;
  /** What the process was started with. */
  input: Json<unknown>;
  requested_by: string;
  authorized_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  first_received_at: Stamp;
  inspected_at: Stamp;
  refunded_at: Stamp;
  closed_at: Stamp;
  refund: ColumnType<unknown, string | null | undefined, string | null>;
  refund_minor: ColumnType<number | null, number | null | undefined, number | null>;
  credit_minor: ColumnType<number | null, number | null | undefined, number | null>;
  restocked_value_minor: Generated<number>;
  returned_value_minor: Generated<number>;
  approval: ColumnType<unknown, string | null | undefined, string | null>;
  gateway_refund_id: ColumnType<string | null, string | null | undefined, string | null>;
  replacement_order_id: ColumnType<string | null, string | null | undefined, string | null>;
  journal_entry_id: ColumnType<number | null, number | null | undefined, number | null>;
  updated_at: UpdatedAt;
}

export interface ReturnLinesTable {
  return_id: string;
  /** The order line returned. */
  line_no: number;
  sku: string;
  /** Units authorized. */
  qty: number;
  replacement_sku: ColumnType<string | null, string | null | undefined, string | null>;
  received_qty: Generated<number>;
  inspected_qty: Generated<number>;
  restocked_qty: Generated<number>;
  refurbished_qty: Generated<number>;
  damaged_qty: Generated<number>;
  vendor_returned_qty: Generated<number>;
  refunded_qty: Generated<number>;
  refurbished_restocked_qty: Generated<number>;
  refurbished_scrapped_qty: Generated<number>;
}

/** Units of one parcel, per order line, and the original cost they brought back into inventory. */
export interface ReturnReceiptsTable {
  return_id: string;
  parcel_id: string;
  line_no: number;
  sku: string;
  warehouse_code: string;
  qty: number;
  cost_minor: number;
  operation_key: string;
  journal_entry_id: number | null;
  actor: string;
  received_at: CreatedAt;
}

export interface ReturnInspectionsTable {
  return_id: string;
  inspection_id: string;
  seq: number;
  line_no: number;
  sku: string;
  warehouse_code: string;
  qty: number;
  condition: string;
  disposition: 'restock' | 'refurbish' | 'damaged' | 'vendor_return';
  rule_disposition: string;
  override_reason: string | null;
  cost_minor: number;
  operation_key: string;
  vendor_return_id: string | null;
  actor: string;
  inspected_at: CreatedAt;
}

/** The local payment gateway's book of refunds: one per idempotency key. */
export interface PaymentGatewayRefundsTable {
  idempotency_key: string;
  refund_id: string;
  reference: string;
  amount_minor: number;
  currency: string;
  request_hash: string;
  created_at: CreatedAt;
}

/** Failures a test plans for the local gateway, per idempotency key. */
export interface PaymentGatewayFaultsTable {
  idempotency_key: string;
  kind: 'unavailable' | 'lost_response' | 'declined';
  remaining: number;
  hits: Generated<number>;
}

/** A channel's storefront connector: platform, shop, webhook secrets (never shown), mapping choices, admin API. */
export interface ChannelConnectorsTable {
  channel: string;
  platform: 'shopify' | 'woocommerce';
  shop: string;
  webhook_secret: string;
  previous_secret: string | null;
  previous_secret_until: Stamp;
  sku_prefix_map: ColumnType<Record<string, string>, string | undefined, string>;
  currencies: ColumnType<string[], string[] | undefined, string[]>;
  order_id_prefix: string;
  api_base_url: string | null;
  api_token: string | null;
  updated_by: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** One authenticated webhook delivery and what came of it. */
export interface ChannelDeliveriesTable {
  id: Generated<number>;
  channel: string;
  platform: 'shopify' | 'woocommerce';
  delivery_id: string;
  topic: string;
  platform_order_id: string | null;
  order_id: string | null;
  body_sha256: string;
  snapshot: ColumnType<unknown, string | null, string | null>;
  received_at: CreatedAt;
  handed_over_at: Stamp;
  outcome: Generated<string>;
  detail: ColumnType<unknown, string | null | undefined, string | null>;
  decided_at: Stamp;
}

/** A platform order and the order this product made of it. */
export interface ChannelOrdersTable {
  channel: string;
  platform_order_id: string;
  platform: 'shopify' | 'woocommerce';
  order_id: string;
  snapshot: Json<unknown>;
  version: ColumnType<Date, Date | string, Date | string>;
  applied: ColumnType<unknown, string | null | undefined, string | null>;
  order_started_at: Stamp;
  cancelled_at: Stamp;
  payment_status: string | null;
  payment_gateway: string | null;
  coordinates: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Where a channel's order publisher stands in the outbox feed, and how its platform calls fare. */
export interface ChannelOrderPublicationsTable {
  channel: string;
  cursor_tx: string | null;
  cursor_id: number | null;
  paused: Generated<boolean>;
  sent_events: Generated<number>;
  skipped_events: Generated<number>;
  refused_events: Generated<number>;
  last_sent_at: Stamp;
  consecutive_failures: Generated<number>;
  failing_since: Stamp;
  last_error: string | null;
  last_failure_at: Stamp;
  open_exception_id: string | null;
  updated_at: UpdatedAt;
}

/** What one feed event became on the platform. */
export interface ChannelOrderUpdatesTable {
  channel: string;
  event_id: number;
  order_id: string;
  topic: string;
  outcome: 'sent' | 'already' | 'skipped' | 'refused';
  action: string;
  reference: string | null;
  detail: string | null;
  at: CreatedAt;
}

/** One reconciliation of a channel's orders with its platform. */
export interface ChannelReconciliationsTable {
  id: string;
  channel: string;
  period_from: ColumnType<Date, Date | string, Date | string>;
  period_to: ColumnType<Date, Date | string, Date | string>;
  requested_by: string;
  platform_orders: number;
  report: Json<unknown>;
  finished_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A CSV file of orders, imported by one process. */
export interface OrderImportsTable {
  id: string;
  channel: string;
  file_sha256: string;
  rows: number;
  orders: number;
  status: Generated<'importing' | 'done'>;
  created_by: string;
  created_at: CreatedAt;
  finished_at: Stamp;
}

/** One row of an imported file and its result. */
export interface OrderImportRowsTable {
  import_id: string;
  row_no: number;
  order_id: string | null;
  line_no: number | null;
  accepted: boolean;
  problems: Json<string[]>;
}

/** One order of an imported file and what became of it. */
export interface OrderImportOrdersTable {
  import_id: string;
  order_id: string;
  seq: number;
  input: Json<unknown>;
  outcome: Generated<'pending' | 'created' | 'rejected' | 'on_hold' | 'refused'>;
  detail: ColumnType<unknown, string | null | undefined, string | null>;
  decided_at: Stamp;
}
