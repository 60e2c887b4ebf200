import { sql, type Kysely } from 'kysely';

/**
 * The carrier's delivery of a shipment, reported after its process has ended: when it was
 * delivered and under which event, so on-time delivery can be measured against the promise.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table shipments add column delivered_at timestamptz`.execute(db);
  await sql`alter table shipments add column delivery_reported_at timestamptz`.execute(db);
  await sql`alter table shipments add column delivery_reported_by text`.execute(db);
  // Only a shipped shipment is delivered; its delivery is reported once.
  await sql`alter table shipments add constraint shipments_delivered_after_shipping check (delivered_at is null or (status = 'shipped' and shipped_at is not null))`.execute(db);
  await sql`alter table shipments add constraint shipments_delivery_reported check ((delivered_at is null) = (delivery_reported_at is null))`.execute(db);
  await sql`create index shipments_delivered_idx on shipments (delivered_at) where delivered_at is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index shipments_delivered_idx`.execute(db);
  await sql`alter table shipments drop constraint shipments_delivery_reported`.execute(db);
  await sql`alter table shipments drop constraint shipments_delivered_after_shipping`.execute(db);
  await sql`alter table shipments drop column delivery_reported_by`.execute(db);
  await sql`alter table shipments drop column delivery_reported_at`.execute(db);
  await sql`alter table shipments drop column delivered_at`.execute(db);
}
