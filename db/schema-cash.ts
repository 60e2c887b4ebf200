/** Tables of order to cash: the functional currency and exchange rates (migration 0020). */
import type { ColumnType } from 'kysely';

/** A date column: node-postgres reads it as a Date at local midnight; select `::text` for the day itself. */
type DateText = ColumnType<Date, string, string>;
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

export interface CashTables {
  ledger_settings: LedgerSettingsTable;
  fx_rates: FxRatesTable;
}
