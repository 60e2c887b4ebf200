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

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- tables of the later points join here
export interface AutomationTables {}
