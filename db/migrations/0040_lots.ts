import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';

/**
 * Lots with expiry: the lots of lot-tracked items, balances per lot inside each bucket, the
 * lots each reservation holds and each shipment took, and a channel's minimum remaining
 * shelf life. The ledger functions that keep lot balances are in ../sql/0040_lots.sql.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const run = (query: ReturnType<typeof sql>) => query.execute(db);
  await run(sql`alter table channels add column min_shelf_life_days int not null default 0 check (min_shelf_life_days between 0 and 3650)`);
  await run(sql`
    create table lots (
      sku text not null references items(sku),
      lot text not null check (lot ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$'),
      expires_on date not null,
      held boolean not null default false,
      held_reason text,
      held_by text,
      held_at timestamptz,
      created_at timestamptz not null default now(),
      primary key (sku, lot),
      check (held = (held_at is not null))
    )`);
  await run(sql`create index lots_expiry_idx on lots (expires_on)`);
  await run(sql`
    create table inventory_lot_balances (
      sku text not null,
      warehouse_code text not null references warehouses(code),
      bucket text not null check (bucket in (
        'available', 'allocated', 'quarantine', 'damaged', 'return_pending', 'in_transit',
        'supplier', 'customer', 'adjustment', 'scrap')),
      lot text not null,
      qty bigint not null,
      updated_at timestamptz not null default now(),
      primary key (sku, warehouse_code, bucket, lot),
      foreign key (sku, lot) references lots(sku, lot),
      constraint lot_balance_never_negative check (
        bucket in ('supplier', 'customer', 'adjustment', 'scrap') or qty >= 0)
    )`);
  await run(sql`create index inventory_lot_balances_lot_idx on inventory_lot_balances (sku, lot)`);
  // The lot a movement moved; a column added to an append-only table, written only by new rows.
  await run(sql`alter table inventory_movements add column lot text`);
  await run(sql`create index inventory_movements_lot_idx on inventory_movements (sku, lot) where lot is not null`);
  await run(sql`
    create table reservation_lots (
      reservation_id bigint not null references reservations(id),
      sku text not null,
      lot text not null,
      qty bigint not null check (qty > 0),
      consumed_qty bigint not null default 0 check (consumed_qty >= 0 and consumed_qty <= qty),
      primary key (reservation_id, lot),
      foreign key (sku, lot) references lots(sku, lot)
    )`);
  await run(sql`
    create table shipment_lots (
      shipment_id text not null references shipments(id),
      line_no int not null,
      sku text not null,
      lot text not null,
      qty bigint not null check (qty > 0),
      primary key (shipment_id, line_no, sku, lot),
      foreign key (sku, lot) references lots(sku, lot)
    )`);
  await sql.raw(await readFile(new URL('../sql/0040_lots.sql', import.meta.url), 'utf8')).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // The functions as 0005 left them come back with that migration's file.
  await sql.raw(await readFile(new URL('../sql/0005_ledger_functions.sql', import.meta.url), 'utf8').then((s) => s.replaceAll('create function', 'create or replace function'))).execute(db);
  for (const table of ['shipment_lots', 'reservation_lots', 'inventory_lot_balances', 'lots']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
  await sql`alter table inventory_movements drop column lot`.execute(db);
  await sql`alter table channels drop column min_shelf_life_days`.execute(db);
}
