/**
 * A CSV file of orders read as it streams (csv-parse), its rows checked and grouped into
 * orders (domain/order-import.ts), and recorded in one transaction with every row's result,
 * ready for its import process. The same file again under the same id is the same import;
 * other content under it is refused.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Db } from '../db/connection.js';
import { ordersFromRows, requiredColumns, type ImportRow, type RowResult } from '../domain/order-import.js';
import type { ChannelName } from '../domain/order.js';
import { offlineGeocoder } from './geocode.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export const MAX_IMPORT_ROWS = 10_000;

/** The file's rows, or why it is not a CSV file of orders at all (a missing column, too many rows, not CSV). */
export async function readOrderCsv(file: Buffer): Promise<{ rows: ImportRow[] } | { malformed: string }> {
  const rows: ImportRow[] = [];
  const parser = Readable.from([file]).pipe(
    parse({ columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true, max_record_size: 64 * 1024 }),
  );
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; columns: { name: string }[]; error?: { message: string } } }>) {
      if (rows.length === 0) {
        const missing = requiredColumns.filter((c) => !info.columns.some((col) => col.name === c));
        if (missing.length) return { malformed: `the header lacks ${missing.join(', ')} (columns: ${requiredColumns.join(', ')}, and optional ones)` };
      }
      if (rows.length >= MAX_IMPORT_ROWS) return { malformed: `more than ${MAX_IMPORT_ROWS} rows; split the file` };
      rows.push({ row: info.lines, values: record, ...(info.error ? { parseError: `the row has ${Object.keys(record).length} fields, the header ${info.columns.length}` } : {}) });
    }
  } catch (error) {
    return { malformed: `not a CSV file: ${(error as Error).message}` };
  }
  if (rows.length === 0) return { malformed: 'no rows under the header' };
  return { rows };
}

export interface ImportRecord {
  importId: string;
  created: boolean;
  rows: number;
  orders: number;
  rejectedRows: RowResult[];
}

/** Records the import (once per id and file) with its rows' results and its good orders. */
export async function recordOrderImport(db: Db, importId: string, channel: ChannelName, file: Buffer, rows: ImportRow[], actor: string): Promise<ImportRecord | Refusal> {
  const sha = createHash('sha256').update(file).digest('hex');
  const { orders, results } = ordersFromRows(rows, channel, offlineGeocoder);
  return db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('order_imports')
      .values({ id: importId, channel, file_sha256: sha, rows: rows.length, orders: orders.length, created_by: actor })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const existing = await tx.selectFrom('order_imports').select(['file_sha256', 'channel', 'rows', 'orders']).where('id', '=', importId).executeTakeFirstOrThrow();
      if (existing.file_sha256 !== sha || existing.channel !== channel) return refuse.conflict('duplicate_import_id', `import ${importId} was already made of another file or channel`);
      const rejected = await tx.selectFrom('order_import_rows').selectAll().where('import_id', '=', importId).where('accepted', '=', false).orderBy('row_no').execute();
      return { importId, created: false, rows: existing.rows, orders: existing.orders, rejectedRows: rejected.map(rowResult) };
    }
    for (let i = 0; i < results.length; i += 500) {
      await tx
        .insertInto('order_import_rows')
        .values(results.slice(i, i + 500).map((r) => ({ import_id: importId, row_no: r.row, order_id: r.orderId, line_no: r.lineNo, accepted: r.accepted, problems: JSON.stringify(r.problems) })))
        .execute();
    }
    for (let i = 0; i < orders.length; i += 500) {
      await tx
        .insertInto('order_import_orders')
        .values(orders.slice(i, i + 500).map((o, j) => ({ import_id: importId, order_id: o.orderId, seq: i + j + 1, input: JSON.stringify(o) })))
        .execute();
    }
    return { importId, created: true, rows: rows.length, orders: orders.length, rejectedRows: results.filter((r) => !r.accepted) };
  });
}

const rowResult = (r: { row_no: number; order_id: string | null; line_no: number | null; accepted: boolean; problems: string[] }): RowResult => ({
  row: r.row_no,
  orderId: r.order_id,
  lineNo: r.line_no,
  accepted: r.accepted,
  problems: r.problems,
});

/** An import as it stands: each row's result joined with what became of its order. */
export async function findOrderImport(db: Db, importId: string) {
  const row = await db.selectFrom('order_imports').selectAll().where('id', '=', importId).executeTakeFirst();
  if (!row) return undefined;
  const [rows, orders] = await Promise.all([
    db.selectFrom('order_import_rows').selectAll().where('import_id', '=', importId).orderBy('row_no').execute(),
    db.selectFrom('order_import_orders').select(['order_id', 'outcome', 'detail']).where('import_id', '=', importId).orderBy('seq').execute(),
  ]);
  const outcome = new Map(orders.map((o) => [o.order_id, o]));
  return {
    importId,
    channel: row.channel,
    status: row.status,
    createdBy: row.created_by,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    summary: {
      rows: row.rows,
      rejectedRows: rows.filter((r) => !r.accepted).length,
      orders: row.orders,
      byOutcome: Object.fromEntries(['pending', 'created', 'rejected', 'on_hold', 'refused'].map((o) => [o, orders.filter((x) => x.outcome === o).length])),
    },
    rows: rows.map((r) => {
      const order = r.accepted && r.order_id ? outcome.get(r.order_id) : undefined;
      return { ...rowResult(r), order: order ? { outcome: order.outcome, detail: order.detail ?? null } : null };
    }),
  };
}
