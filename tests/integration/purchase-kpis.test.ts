import { beforeAll, describe, expect, it } from 'vitest';
import { addItem, addWarehouse } from '../support/fixtures.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();

interface PoFixture {
  supplierId: string;
  status: string;
  issuedAt: string | null;
  closedAt?: string;
  /** Receipt times; the first is the one lead time counts. */
  receipts: string[];
  lines: { ordered: number; received: number; cancelled?: number }[];
}

describe('purchasing KPIs in GET /kpis', () => {
  let supplier: string;
  let warehouse: string;
  let sku: string;

  /** A PO record as the workflow leaves it, written straight to the database. */
  async function addPo(po: PoFixture) {
    const id = uniqueId('po-');
    await stack.db
      .insertInto('purchase_orders')
      .values({
        id,
        workflow_id: `po-${id}`,
        supplier_id: po.supplierId,
        warehouse_code: warehouse,
        currency: 'USD',
        status: po.status,
        value_minor: 0,
        expected_at: '2026-03-31T00:00:00Z',
        created_by: 'test',
        approval: null,
        issued_at: po.issuedAt,
        closed_at: po.closedAt ?? null,
      })
      .execute();
    await stack.db
      .insertInto('purchase_order_lines')
      .values(po.lines.map((l, i) => ({ po_id: id, line_no: i + 1, sku, ordered_qty: l.ordered, unit_cost_minor: 100, confirmed_qty: null, received_qty: l.received, cancelled_qty: l.cancelled ?? 0 })))
      .execute();
    for (const [i, at] of po.receipts.entries()) {
      const key = uniqueId('op-');
      await stack.db.insertInto('inventory_operations').values({ idempotency_key: key, kind: 'receive', payload_hash: 'test', result: null, process: null, step: null, actor: 'test', reason: null }).execute();
      await stack.db
        .insertInto('purchase_order_receipts')
        .values({ po_id: id, receipt_id: `r${i}`, line_no: 1, sku, qty: 1, into_bucket: 'available', unit_cost_minor: 100, landed_cost_minor: 0, operation_key: key, journal_entry_id: null, actor: 'test', received_at: at })
        .execute();
    }
    return id;
  }

  beforeAll(async () => {
    warehouse = await addWarehouse(stack.db);
    sku = await addItem(stack.db);
    supplier = uniqueId('sup-');
    const laneless = uniqueId('sup-');
    await stack.db
      .insertInto('suppliers')
      .values([
        { id: supplier, name: 'With a lane', default_lead_time_days: 10 },
        { id: laneless, name: 'Default lead time', default_lead_time_days: 7 },
      ])
      .execute();
    // Stated: 5 days on the lane (not the default 10); 7 days for the supplier without one.
    await stack.db.insertInto('supplier_lanes').values({ supplier_id: supplier, warehouse_code: warehouse, lead_time_days: 5 }).execute();

    // A: closed; 4 days (within 5); the 60 received on a 50 line count as 50.
    await addPo({ supplierId: supplier, status: 'closed', issuedAt: '2026-03-01T00:00:00Z', closedAt: '2026-03-10T00:00:00Z', receipts: ['2026-03-05T00:00:00Z', '2026-03-08T00:00:00Z'], lines: [{ ordered: 100, received: 100 }, { ordered: 50, received: 60 }] });
    // B: cancelled with 50 open; 10 days (late).
    await addPo({ supplierId: supplier, status: 'cancelled', issuedAt: '2026-03-02T00:00:00Z', closedAt: '2026-03-20T00:00:00Z', receipts: ['2026-03-12T00:00:00Z'], lines: [{ ordered: 80, received: 30, cancelled: 50 }] });
    // C: still receiving; exactly 5 days (within).
    await addPo({ supplierId: supplier, status: 'receiving', issuedAt: '2026-03-10T00:00:00Z', receipts: ['2026-03-15T00:00:00Z'], lines: [{ ordered: 40, received: 10 }] });
    // D: received and closed before the range; 19 days.
    await addPo({ supplierId: supplier, status: 'closed', issuedAt: '2026-02-01T00:00:00Z', closedAt: '2026-02-25T00:00:00Z', receipts: ['2026-02-20T00:00:00Z'], lines: [{ ordered: 10, received: 10 }] });
    // E: the laneless supplier, 8 days against 7 stated; closed in the range.
    await addPo({ supplierId: laneless, status: 'closed', issuedAt: '2026-03-01T00:00:00Z', closedAt: '2026-03-09T12:00:00Z', receipts: ['2026-03-09T00:00:00Z'], lines: [{ ordered: 20, received: 20 }] });
    // F: rejected at approval, never issued: counted nowhere.
    await addPo({ supplierId: supplier, status: 'rejected', issuedAt: null, closedAt: '2026-03-03T00:00:00Z', receipts: [], lines: [{ ordered: 999, received: 0 }] });
  });

  const kpis = async (query: string) => {
    const res = await stack.app.inject({ method: 'GET', url: `/kpis${query}`, headers: authAs('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().kpis;
  };

  it('PO fill rate over POs closed or cancelled in the range, lead-time adherence over POs first received in it', async () => {
    const k = await kpis('?from=2026-03-01&to=2026-04-01');
    // A 150 of 150, B 30 of 80, E 20 of 20; C is open, D closed before, F never issued.
    expect(k.purchaseOrderFillRate).toMatchObject({ numerator: 200, denominator: 250, value: 0.8, purchaseOrders: 3 });
    // A (4 ≤ 5) and C (5 ≤ 5) within; B (10 > 5) and E (8 > 7) not.
    expect(k.supplierLeadTimeAdherence).toMatchObject({ numerator: 2, denominator: 4, value: 0.5 });
    expect(k.purchaseOrderFillRate.definition).toMatch(/closed or cancelled/);
    expect(k.supplierLeadTimeAdherence.definition).toMatch(/stated lead time/);

    // The range is half-open: E closed on 9 March at noon, received on 9 March at midnight.
    const early = await kpis('?from=2026-03-01&to=2026-03-09T12:00:00Z');
    expect(early.purchaseOrderFillRate).toMatchObject({ numerator: 0, denominator: 0, value: null, purchaseOrders: 0 });
    // First receipts before noon on 9 March: A (within) and E (late).
    expect(early.supplierLeadTimeAdherence).toMatchObject({ numerator: 1, denominator: 2 });
  });

  it('the scorecard counts the same way, over all of the supplier’s POs', async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/suppliers/${supplier}/scorecard`, headers: authAs('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    // Finished A, B, D: (150 + 30 + 10) ÷ (150 + 80 + 10); delivered A ✓, B ✗, C ✓, D ✗ (19 days).
    expect(res.json()).toMatchObject({ purchaseOrders: 4, fillRate: 0.792, leadTimeAdherence: 0.5, averageLeadTimeDays: 9.5, averageStatedLeadTimeDays: 5 });
  });
});
