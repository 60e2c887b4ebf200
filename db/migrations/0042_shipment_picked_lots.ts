import { sql, type Kysely } from 'kysely';

/** The lots the warehouse reports picking for a shipment's lines (a `picked` event with `lots`); the shipment consumes these. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table shipment_picked_lots (
      shipment_id text not null references shipments(id),
      line_no int not null,
      sku text not null,
      lot text not null,
      qty bigint not null check (qty > 0),
      recorded_at timestamptz not null default now(),
      primary key (shipment_id, line_no, sku, lot),
      foreign key (sku, lot) references lots(sku, lot)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table shipment_picked_lots`.execute(db);
}
