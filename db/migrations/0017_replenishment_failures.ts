import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

/**
 * A planner run whose steps failed every attempt is `failed`, with when and why, instead of
 * staying `running` for ever. The run's status constraints are named from here on.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Drops the status constraints under whatever names PostgreSQL gave them.
  await sql.raw(await readFile(new URL('../sql/0017_replenishment_failures.sql', import.meta.url), 'utf8')).execute(db);
  await sql`alter table replenishment_runs
    add column failed_at timestamptz,
    add column failure text,
    add constraint replenishment_runs_status_check check (status in ('running', 'finished', 'failed')),
    add constraint replenishment_runs_finished_check check ((status = 'finished') = (finished_at is not null)),
    add constraint replenishment_runs_failed_check check ((status = 'failed') = (failed_at is not null and failure is not null)),
    add constraint replenishment_runs_counts_check check (status <> 'finished' or (places_count is not null and reorder_count is not null
      and transfer_count is not null and purchase_qty is not null and transfer_qty is not null))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from replenishment_runs where status = 'failed'`.execute(db);
  await sql`alter table replenishment_runs
    drop constraint replenishment_runs_failed_check,
    drop constraint replenishment_runs_status_check,
    drop column failure,
    drop column failed_at,
    add constraint replenishment_runs_status_check check (status in ('running', 'finished'))`.execute(db);
}
