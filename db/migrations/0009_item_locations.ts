import { sql, type Kysely } from 'kysely';

/** Where each sku sits in a warehouse (zone and bin), for pick lists. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table item_locations (
      warehouse_code text not null references warehouses(code),
      sku text not null references items(sku),
      zone text not null,
      bin text not null,
      primary key (warehouse_code, sku)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table item_locations`.execute(db);
}
