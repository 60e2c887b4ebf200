/**
 * Vendor returns: units owed to a supplier (rejected at a PO inspection, or a return's
 * vendor-return disposition) shipped back. A service the API calls directly, under the
 * same rules as activities: each write idempotent by key, in one transaction.
 */
import type { Selectable } from 'kysely';
import type { Db } from '../db/connection.js';
import { postEntry } from '../db/journal.js';
import { dispose } from '../db/ledger.js';
import type { VendorReturnsTable } from '../db/schema.js';

export type VendorReturn = Selectable<VendorReturnsTable>;

/** A vendor return that cannot be shipped as asked; nothing was written. */
export class VendorReturnRefusal extends Error {
  constructor(
    readonly status: 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'VendorReturnRefusal';
  }
}

/**
 * Ships a vendor return: its units leave damaged for the supplier, and their value (qty ×
 * the unit cost it was owed at) is debited against payables. A repeat with the same carrier
 * reference answers the shipped record and moves nothing; stock not there is the ledger's
 * `LedgerError`.
 */
export async function shipVendorReturn(db: Db, request: { vendorReturnId: string; carrierReference: string; actor: string }): Promise<VendorReturn> {
  const id = request.vendorReturnId;
  const row = await db.selectFrom('vendor_returns').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new VendorReturnRefusal(404, 'not_found', `vendor return ${id} not found`);
  if (row.status === 'shipped') {
    if (row.carrier_reference !== request.carrierReference) throw new VendorReturnRefusal(409, 'already_shipped', `vendor return ${id} was shipped under ${row.carrier_reference}`);
    return row;
  }
  const key = `vendor-return-${id}`;
  await dispose(db, { key: `${key}:ship`, actor: request.actor, process: key, step: 'ship' }, { sku: row.sku, warehouse: row.warehouse_code, qty: row.qty, from: 'damaged', disposition: 'vendor_return' });
  const value = row.qty * row.unit_cost_minor;
  return db.transaction().execute(async (tx) => {
    const entry =
      value > 0
        ? await postEntry(tx, {
            key: `${key}:debit`,
            eventType: 'vendor_return.shipped',
            reference: row.po_id ?? row.return_id!,
            memo: `${row.qty} × ${row.sku} back to ${row.supplier_id} (${request.carrierReference})`,
            actor: request.actor,
            lines: [
              { account: '2000', debitMinor: value },
              { account: '1300', creditMinor: value },
            ],
          })
        : null;
    const shipped = await tx
      .updateTable('vendor_returns')
      .set({ status: 'shipped', shipped_at: new Date(), shipped_by: request.actor, carrier_reference: request.carrierReference, journal_entry_id: entry?.entryId ?? null })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .returningAll()
      .executeTakeFirst();
    return shipped ?? (await tx.selectFrom('vendor_returns').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  });
}
