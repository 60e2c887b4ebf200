import type { ColumnType } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface ShipTo {
  name?: string;
  line1?: string;
  city?: string;
  region?: string;
  postalCode?: string;
  country: string;
  lat: number;
  lon: number;
}

export interface OrdersTable {
  id: string;
  workflow_id: string;
  channel: string;
  customer_id: string;
  currency: string;
  status: string;
  ship_to: Json<ShipTo>;
  billing_country: string | null;
  freight_minor: number;
  total_minor: number;
  promised_by: ColumnType<Date | null, Date | string | null, Date | string | null>;
  status_reason: string | null;
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
}

export interface Database {
  orders: OrdersTable;
  order_lines: OrderLinesTable;
}
