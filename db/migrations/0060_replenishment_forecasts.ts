import { sql, type Kysely } from 'kysely';

/**
 * Each stored suggestion carries the forecast behind it: the method the backtest chose, its
 * WAPE and MASE there (null when the history was too short to backtest), why it was chosen,
 * and the forecast demand over the lead time with its 90% interval. Rows from before keep the
 * mean they were computed with.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table replenishment_suggestions
    add column forecast_method text not null default 'mean'
      check (forecast_method in ('none', 'mean', 'seasonal_naive', 'ses', 'holt', 'holt_winters_additive', 'holt_winters_multiplicative', 'croston', 'sba', 'tsb')),
    add column forecast_wape double precision check (forecast_wape >= 0),
    add column forecast_mase double precision check (forecast_mase >= 0),
    add column forecast_note text not null default 'computed before backtested forecasts: the mean of the history',
    add column lead_time_demand double precision not null default 0 check (lead_time_demand >= 0),
    add column lead_time_demand_low double precision not null default 0 check (lead_time_demand_low >= 0),
    add column lead_time_demand_high double precision not null default 0 check (lead_time_demand_high >= lead_time_demand_low)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table replenishment_suggestions
    drop column forecast_method, drop column forecast_wape, drop column forecast_mase, drop column forecast_note,
    drop column lead_time_demand, drop column lead_time_demand_low, drop column lead_time_demand_high`.execute(db);
}
