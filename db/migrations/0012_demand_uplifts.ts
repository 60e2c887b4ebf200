import { sql, type Kysely } from 'kysely';

/**
 * Promotion or seasonality uplifts per sku and date range (both days inclusive): the
 * planner multiplies a sku's demand by the factors overlapping its horizon, weighted by
 * the days they overlap. A suggestion keeps the factor it applied.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table demand_uplifts (
      sku text not null references items(sku),
      from_date date not null,
      to_date date not null,
      factor double precision not null check (factor >= 0 and factor <= 10),
      updated_by text not null,
      updated_at timestamptz not null default now(),
      primary key (sku, from_date),
      check (to_date >= from_date)
    )`.execute(db);
  await sql`alter table replenishment_suggestions add column sku_uplift double precision not null default 1 check (sku_uplift >= 0)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table replenishment_suggestions drop column sku_uplift`.execute(db);
  await sql`drop table demand_uplifts`.execute(db);
}
