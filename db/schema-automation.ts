/** Columns and tables of forecasting and automation (migrations 0060–0069). */
import type { ColumnType } from 'kysely';
import type { ForecastMethod } from '../domain/forecast.js';

/** The forecast behind a stored replenishment suggestion (migration 0060). */
export interface ReplenishmentForecastColumns {
  forecast_method: ColumnType<ForecastMethod, ForecastMethod | undefined, ForecastMethod>;
  forecast_wape: number | null;
  forecast_mase: number | null;
  forecast_note: ColumnType<string, string | undefined, string>;
  lead_time_demand: ColumnType<number, number | undefined, number>;
  lead_time_demand_low: ColumnType<number, number | undefined, number>;
  lead_time_demand_high: ColumnType<number, number | undefined, number>;
}

/** The cause and owner suggested when an exception case opened (migration 0061). */
export interface ExceptionCaseSuggestionsTable {
  case_id: number;
  cause: string;
  confidence: number;
  alternatives: ColumnType<{ cause: string; probability: number }[], string, string>;
  rests_on: ColumnType<number[], number[], number[]>;
  owner: string | null;
  owner_share: number | null;
  trained_on: number;
  made_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface AutomationTables {
  exception_case_suggestions: ExceptionCaseSuggestionsTable;
}
