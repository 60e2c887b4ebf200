import { sql, type Kysely } from 'kysely';

/**
 * Replenishment planner runs (`replenishment-<runId>`): one row per run with its inputs and
 * counts, and one suggestion row per sku and warehouse with the numbers behind it. A run's
 * suggestions are written in the same transaction that marks it finished.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table replenishment_runs (
      id text primary key,
      workflow_id text not null unique,
      trigger text not null check (trigger in ('schedule', 'manual')),
      requested_by text not null,
      status text not null check (status in ('running', 'finished')),
      history_days int not null check (history_days > 0),
      review_period_days int not null check (review_period_days > 0),
      uplift double precision not null check (uplift >= 0),
      places_count int check (places_count >= 0),
      reorder_count int check (reorder_count >= 0),
      transfer_count int check (transfer_count >= 0),
      purchase_qty bigint check (purchase_qty >= 0),
      transfer_qty bigint check (transfer_qty >= 0),
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      check ((status = 'finished') = (finished_at is not null)),
      check (status = 'running' or (places_count is not null and reorder_count is not null and transfer_count is not null
        and purchase_qty is not null and transfer_qty is not null))
    )`.execute(db);
  await sql`create index replenishment_runs_finished_idx on replenishment_runs (finished_at desc) where status = 'finished'`.execute(db);
  await sql`
    create table replenishment_suggestions (
      run_id text not null references replenishment_runs(id) on delete cascade,
      sku text not null references items(sku),
      warehouse_code text not null references warehouses(code),
      sku_class text not null,
      supplier_id text references suppliers(id),
      unit_cost_minor bigint check (unit_cost_minor >= 0),
      moq int not null check (moq > 0),
      pack_size int not null check (pack_size > 0),
      lead_time_days int not null check (lead_time_days > 0),
      stated_lead_time_days int not null check (stated_lead_time_days > 0),
      lead_time_source text not null,
      shipped_in_history bigint not null check (shipped_in_history >= 0),
      average_daily double precision not null check (average_daily >= 0),
      deviation double precision not null check (deviation >= 0),
      safety_stock bigint not null check (safety_stock >= 0),
      reorder_point bigint not null check (reorder_point >= 0),
      target_level bigint not null check (target_level >= 0),
      position bigint not null,
      reorder boolean not null,
      excess bigint not null check (excess >= 0),
      transfer_out_qty bigint not null check (transfer_out_qty >= 0 and transfer_out_qty <= excess),
      transfers jsonb not null default '[]',
      transfer_in_qty bigint not null check (transfer_in_qty >= 0),
      purchase_qty_before_transfers bigint not null check (purchase_qty_before_transfers >= 0),
      suggested_qty bigint not null check (suggested_qty >= 0),
      primary key (run_id, sku, warehouse_code),
      check (reorder or (suggested_qty = 0 and transfer_in_qty = 0))
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table replenishment_suggestions`.execute(db);
  await sql`drop table replenishment_runs`.execute(db);
}
