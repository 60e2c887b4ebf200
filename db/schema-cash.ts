/** Tables of order to cash: the functional currency and exchange rates (migration 0020). */
import type { ColumnType } from 'kysely';

/** A date column: node-postgres reads it as a Date at local midnight; select `::text` for the day itself. */
type DateText = ColumnType<Date, string, string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface LedgerSettingsTable {
  id: ColumnType<boolean, boolean | undefined, never>;
  functional_currency: string;
}

export interface FxRatesTable {
  from_currency: string;
  to_currency: string;
  rate_date: DateText;
  /** numeric(22,10): read as its decimal text. */
  rate: ColumnType<string, string, string>;
  set_by: string;
  set_at: Stamp;
}

type Generated<T> = ColumnType<T, T | undefined, T>;
type Moment = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** The payment an order carries (migration 0021). */
export interface OrderPaymentsTable {
  order_id: string;
  kind: 'authorization' | 'terms';
  gateway: string | null;
  authorization_id: string | null;
  currency: string;
  authorized_minor: Generated<number>;
  expires_at: Moment;
  due_date: ColumnType<Date | null, string | null | undefined, string | null>;
  captured_minor: Generated<number>;
  refunded_minor: Generated<number>;
  voided_minor: Generated<number>;
  created_at: CreatedAt;
  updated_at: Stamp;
}

export interface PaymentCapturesTable {
  idempotency_key: string;
  order_id: string;
  shipment_id: string;
  capture_id: string;
  amount_minor: number;
  currency: string;
  journal_entry_id: number | null;
  created_at: CreatedAt;
}

export interface PaymentRefundsTable {
  idempotency_key: string;
  order_id: string;
  return_id: string;
  refund_id: string | null;
  amount_minor: number;
  uncaptured_minor: number;
  currency: string;
  created_at: CreatedAt;
}

export interface PaymentCaptureFailuresTable {
  shipment_id: string;
  order_id: string;
  amount_minor: number;
  reason: string;
  failed_at: CreatedAt;
}

export interface PaymentGatewayAuthorizationsTable {
  authorization_id: string;
  idempotency_key: string;
  reference: string;
  amount_minor: number;
  currency: string;
  captured_minor: Generated<number>;
  voided_at: Moment;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  request_hash: string;
  created_at: CreatedAt;
}

export interface PaymentGatewayCapturesTable {
  idempotency_key: string;
  capture_id: string;
  authorization_id: string;
  amount_minor: number;
  currency: string;
  request_hash: string;
  created_at: CreatedAt;
}

export interface PaymentGatewayVoidsTable {
  idempotency_key: string;
  authorization_id: string;
  released_minor: number;
  created_at: CreatedAt;
}

export interface SettlementsTable {
  id: string;
  gateway: string;
  payout_id: string;
  arrival_date: ColumnType<Date, string, string>;
  amount_minor: number;
  currency: string;
  payload_hash: string;
  status: Generated<'received' | 'reconciled'>;
  summary: ColumnType<unknown, string | null | undefined, string | null>;
  journal_entry_id: number | null;
  received_by: string;
  created_at: CreatedAt;
  reconciled_at: Moment;
}

export interface SettlementLinesTable {
  settlement_id: string;
  line_no: number;
  txn_id: string;
  type: string;
  reporting_category: string | null;
  amount_minor: number;
  fee_minor: number;
  net_minor: number;
  source: string | null;
  charge: string | null;
  outcome: string | null;
  order_id: string | null;
  difference_minor: number | null;
}

export interface AccountingPeriodsTable {
  /** YYYY-MM. */
  period: string;
  status: 'open' | 'closed';
  closed_at: Moment;
  closed_by: string | null;
  reopened_at: Moment;
  reopened_by: string | null;
  reopen_reason: string | null;
  checks: ColumnType<unknown, string | null | undefined, string | null>;
  updated_at: Stamp;
}

export interface CustomerPaymentsTable {
  id: string;
  customer_id: string;
  received_on: ColumnType<Date, string, string>;
  amount_minor: number;
  currency: string;
  payload_hash: string;
  unapplied_minor: number;
  journal_entry_id: number | null;
  recorded_by: string;
  created_at: CreatedAt;
}

export interface CustomerPaymentAllocationsTable {
  payment_id: string;
  /** The order the payment was applied in. */
  seq: number;
  order_id: string;
  amount_minor: number;
}

export interface CashTables {
  customer_payments: CustomerPaymentsTable;
  customer_payment_allocations: CustomerPaymentAllocationsTable;
  accounting_periods: AccountingPeriodsTable;
  settlements: SettlementsTable;
  settlement_lines: SettlementLinesTable;
  ledger_settings: LedgerSettingsTable;
  fx_rates: FxRatesTable;
  order_payments: OrderPaymentsTable;
  payment_captures: PaymentCapturesTable;
  payment_refunds: PaymentRefundsTable;
  payment_capture_failures: PaymentCaptureFailuresTable;
  payment_gateway_authorizations: PaymentGatewayAuthorizationsTable;
  payment_gateway_captures: PaymentGatewayCapturesTable;
  payment_gateway_voids: PaymentGatewayVoidsTable;
}
