import { sql, type Kysely } from 'kysely';

/** A supplier can be deactivated (`PATCH /suppliers/:id`): no new purchase orders from it; its open ones still move. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table suppliers add column active boolean not null default true`.execute(db);
  await sql`alter table suppliers add column updated_at timestamptz not null default now()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table suppliers drop column updated_at`.execute(db);
  await sql`alter table suppliers drop column active`.execute(db);
}
