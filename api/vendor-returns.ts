import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { LedgerError } from '../db/ledger.js';
import type { VendorReturnsTable } from '../db/schema.js';
import { shipVendorReturn, VendorReturnRefusal } from '../services/vendor-returns.js';
import type { AppDeps } from './app.js';
import { ApiError } from './errors.js';
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
        try {
          return view(await shipVendorReturn(db, { vendorReturnId: request.params.id, carrierReference: request.body.carrierReference, actor: request.actor! }));
        } catch (error) {
          if (error instanceof VendorReturnRefusal) throw new ApiError(error.status, error.code, error.message);
          if (error instanceof LedgerError) throw new ApiError(409, error.code, error.message, error.details);
          throw error;
        }
      },
    );
  };
