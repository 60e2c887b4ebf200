import { sql, type Kysely } from 'kysely';

/** CSV order imports: the file, each row's result, and each order's outcome. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table order_imports (
      id text primary key,
      channel text not null references channels(code),
      file_sha256 text not null,
      rows int not null check (rows >= 0),
      orders int not null check (orders >= 0),
      status text not null default 'importing' check (status in ('importing', 'done')),
      created_by text not null,
      created_at timestamptz not null default now(),
      finished_at timestamptz
    )`.execute(db);
  await sql`
    create table order_import_rows (
      import_id text not null references order_imports(id),
      row_no int not null check (row_no > 1),
      order_id text,
      line_no int,
      accepted boolean not null,
      problems jsonb not null default '[]',
      primary key (import_id, row_no)
    )`.execute(db);
  await sql`
    create table order_import_orders (
      import_id text not null references order_imports(id),
      order_id text not null,
      seq int not null,
      input jsonb not null,
      outcome text not null default 'pending' check (outcome in ('pending', 'created', 'rejected', 'on_hold', 'refused')),
      detail jsonb,
      decided_at timestamptz,
      primary key (import_id, order_id),
      unique (import_id, seq)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table order_import_orders`.execute(db);
  await sql`drop table order_import_rows`.execute(db);
  await sql`drop table order_imports`.execute(db);
}
