import type { Db } from './connection.js';
import type { DraftProblem, PurchaseOrderDraft } from '../contracts/purchase-order.js';

/** A PO buys only from an approved supplier, only its approved items, for a known warehouse. */
export async function purchaseOrderProblems(db: Db, draft: Pick<PurchaseOrderDraft, 'supplierId' | 'warehouse' | 'lines'>): Promise<DraftProblem[]> {
  const problems: DraftProblem[] = [];
  const [supplier, warehouse, supplierItems] = await Promise.all([
    db.selectFrom('suppliers').select(['id', 'approved', 'active']).where('id', '=', draft.supplierId).executeTakeFirst(),
    db.selectFrom('warehouses').select(['code', 'active']).where('code', '=', draft.warehouse).executeTakeFirst(),
    db
      .selectFrom('supplier_items')
      .innerJoin('items', 'items.sku', 'supplier_items.sku')
      .select(['supplier_items.sku', 'supplier_items.approved', 'items.active'])
      .where('supplier_id', '=', draft.supplierId)
      .execute(),
  ]);
  if (!supplier) problems.push({ path: 'supplierId', message: `unknown supplier ${draft.supplierId}` });
  else if (!supplier.approved) problems.push({ path: 'supplierId', message: `supplier ${draft.supplierId} is not approved` });
  else if (!supplier.active) problems.push({ path: 'supplierId', message: `supplier ${draft.supplierId} is deactivated` });
  if (!warehouse?.active) problems.push({ path: 'warehouse', message: `unknown or inactive warehouse ${draft.warehouse}` });
  draft.lines.forEach((line, index) => {
    const item = supplierItems.find((i) => i.sku === line.sku);
    if (supplier && item && item.approved && !item.active) {
      problems.push({ path: `lines.${index}.sku`, message: `${line.sku} is deactivated` });
    } else if (supplier && (!item || !item.approved)) {
      problems.push({ path: `lines.${index}.sku`, message: `${line.sku} is not an approved item of supplier ${draft.supplierId}` });
    }
  });
  return problems;
}
