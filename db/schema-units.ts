/** Units of measure (migration 0043): quantities given in a unit other than the base unit, with the conversion used. */
import type { ColumnType, Generated } from 'kysely';

export interface PurchaseUnitQuantitiesTable {
  po_id: string;
  /** 'order' for the line as ordered, else the receipt id. */
  entry: string;
  line_no: number;
  sku: string;
  unit: string;
  /** numeric: read back as a string. */
  unit_qty: ColumnType<string, number, number>;
  units_per_unit: number;
  base_qty: number;
  recorded_at: Generated<Date>;
}

export interface UnitTables {
  purchase_unit_quantities: PurchaseUnitQuantitiesTable;
}
