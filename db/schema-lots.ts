/** Tables of lots and their balances (migration 0040). */
import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Moment = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** ISO dates (`YYYY-MM-DD`); read them with `::text` to avoid time-zone shifts. */
type IsoDate = ColumnType<string, string, string>;

export interface LotsTable {
  sku: string;
  lot: string;
  expires_on: IsoDate;
  /** On hold (a recall): its units are in quarantine and no reservation takes it. */
  held: Generated<boolean>;
  held_reason: string | null;
  held_by: string | null;
  held_at: Moment;
  created_at: CreatedAt;
}

export interface InventoryLotBalancesTable {
  sku: string;
  warehouse_code: string;
  bucket: string;
  lot: string;
  qty: number;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ReservationLotsTable {
  reservation_id: number;
  sku: string;
  lot: string;
  qty: number;
  consumed_qty: Generated<number>;
}

export interface ShipmentLotsTable {
  shipment_id: string;
  line_no: number;
  sku: string;
  lot: string;
  qty: number;
}

export interface ShipmentPickedLotsTable {
  shipment_id: string;
  line_no: number;
  sku: string;
  lot: string;
  qty: number;
  recorded_at: CreatedAt;
}

export interface LotTables {
  shipment_picked_lots: ShipmentPickedLotsTable;
  lots: LotsTable;
  inventory_lot_balances: InventoryLotBalancesTable;
  reservation_lots: ReservationLotsTable;
  shipment_lots: ShipmentLotsTable;
}
