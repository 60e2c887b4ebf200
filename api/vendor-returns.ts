import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { postEntry } from '../db/journal.js';
import { dispose, LedgerError } from '../db/ledger.js';
import type { VendorReturnsTable } from '../db/schema.js';
import type { AppDeps } from './app.js';
import { ApiError, conflict, notFound } from './errors.js';
import { vendorReturnId as returnId } from './schemas.js';

const view = (r: Selectable<VendorReturnsTable>) => ({
  vendorReturnId: r.id,
  poId: r.po_id,
  returnId: r.return_id,
  supplierId: r.supplier_id,
  warehouse: r.warehouse_code,
  sku: r.sku,
  qty: r.qty,
  unitCostMinor: r.unit_cost_minor,
  valueMinor: r.qty * r.unit_cost_minor,
  status: r.status,
  createdAt: r.created_at,
  shippedAt: r.shipped_at,
  shippedBy: r.shipped_by,
  carrierReference: r.carrier_reference,
  journalEntryId: r.journal_entry_id,
});

/** Units rejected at inspection go back to their supplier: the list, and shipping one back. */
export const vendorReturnRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/vendor-returns',
      {
        schema: {
          summary: 'Vendor-return lines from rejected receipts, oldest first',
          querystring: z.object({ status: z.enum(['open', 'shipped']).optional(), supplierId: z.string().max(64).optional() }),
        },
      },
      async (request) => {
        let query = db.selectFrom('vendor_returns').selectAll().orderBy('created_at').limit(500);
        if (request.query.status) query = query.where('status', '=', request.query.status);
        if (request.query.supplierId) query = query.where('supplier_id', '=', request.query.supplierId);
        return { vendorReturns: (await query.execute()).map(view) };
      },
    );

    app.post(
      '/vendor-returns/:id/ship',
      {
        config: { roles: ['ops', 'system'] },
        schema: {
          summary: 'Ship rejected units back to the supplier: damaged → supplier, and a debit against payables at the PO cost (a repeat answers the first result)',
          params: z.object({ id: returnId }),
          body: z.object({ carrierReference: z.string().trim().min(1).max(100) }),
        },
      },
      async (request) => {
        const id = request.params.id;
        const row = await db.selectFrom('vendor_returns').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) throw notFound(`vendor return ${id}`);
        if (row.status === 'shipped') {
          if (row.carrier_reference !== request.body.carrierReference) throw conflict('already_shipped', `vendor return ${id} was shipped under ${row.carrier_reference}`);
          return view(row);
        }
        const key = `vendor-return-${id}`;
        try {
          await dispose(db, { key: `${key}:ship`, actor: request.actor!, process: key, step: 'ship' }, { sku: row.sku, warehouse: row.warehouse_code, qty: row.qty, from: 'damaged', disposition: 'vendor_return' });
        } catch (error) {
          if (error instanceof LedgerError) throw new ApiError(409, error.code, error.message, error.details);
          throw error;
        }
        const value = row.qty * row.unit_cost_minor;
        return db.transaction().execute(async (tx) => {
          const entry =
            value > 0
              ? await postEntry(tx, {
                  key: `${key}:debit`,
                  eventType: 'vendor_return.shipped',
                  reference: row.po_id ?? row.return_id!,
                  memo: `${row.qty} × ${row.sku} back to ${row.supplier_id} (${request.body.carrierReference})`,
                  actor: request.actor!,
                  lines: [
                    { account: '2000', debitMinor: value },
                    { account: '1300', creditMinor: value },
                  ],
                })
              : null;
          const shipped = await tx
            .updateTable('vendor_returns')
            .set({ status: 'shipped', shipped_at: new Date(), shipped_by: request.actor!, carrier_reference: request.body.carrierReference, journal_entry_id: entry?.entryId ?? null })
            .where('id', '=', id)
            .where('status', '=', 'open')
            .returningAll()
            .executeTakeFirst();
          return view(shipped ?? (await tx.selectFrom('vendor_returns').selectAll().where('id', '=', id).executeTakeFirstOrThrow()));
        });
      },
    );
  };
