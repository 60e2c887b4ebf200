import { describe, expect, it } from 'vitest';
import { createReplenishmentActivities } from '../../activities/replenishment.js';
import { consumeReservation, reserve } from '../../db/ledger.js';
import { planTransfersBeforeBuy, suggestReplenishment, type ReplenishmentInput } from '../../domain/replenishment.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';
import { replenishmentWorkflowId } from '../../contracts/replenishment.js';

const stack = useTestStack();

const get = (url: string, role: Parameters<typeof authAs>[0] = 'buyer') => stack.app.inject({ method: 'GET', url, headers: authAs(role) });

/** Ships `qty` of `sku` from `warehouse` today: the ledger's allocated → customer movement. */
async function shipToday(sku: string, warehouse: string, qty: number) {
  const reserved = await reserve(stack.db, { key: uniqueId('r-'), actor: 'test' }, { orderId: uniqueId('o-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse, qty }] });
  await consumeReservation(stack.db, { key: uniqueId('ship-'), actor: 'test' }, { reservationId: reserved.lines[0]!.reservationId!, qty });
}

describe('replenishment planner', () => {
  it('POST /replenishment/run stores a run whose suggestions GET answers, transferring before buying', async () => {
    const west = await addWarehouse(stack.db);
    const east = await addWarehouse(stack.db);
    const sku = await addItem(stack.db);
    await stock(stack.db, sku, west, 30);
    await shipToday(sku, west, 27);
    await stock(stack.db, sku, east, 100);
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 10 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: 400, moq: 20, pack_size: 12 }).execute();

    const viewer = await stack.app.inject({ method: 'POST', url: '/replenishment/run', headers: authAs('viewer'), payload: {} });
    expect(viewer.statusCode).toBe(403);
    const started = await stack.app.inject({ method: 'POST', url: '/replenishment/run', headers: authAs('buyer'), payload: {} });
    expect(started.statusCode, started.body).toBe(202);
    const { runId, workflowId } = started.json();
    expect(workflowId).toBe(replenishmentWorkflowId(runId));

    const run = await eventually(async () => {
      const res = await get(`/replenishment/runs/${runId}`);
      return res.statusCode === 200 && res.json().status === 'finished' ? res.json() : undefined;
    }, 20_000, `run ${runId} to finish`);
    expect(run).toMatchObject({ runId, trigger: 'manual', params: { historyDays: 90, reviewPeriodDays: 7, uplift: 1 } });
    expect(run.counts.transferCount).toBeGreaterThanOrEqual(1);
    expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));

    // What the domain says for these numbers: WEST reorders, EAST (no demand) gives all it holds.
    const daily = new Array<number>(90).fill(0);
    daily[89] = 27;
    const base: Omit<ReplenishmentInput, 'dailyShipped' | 'available'> = { skuClass: 'C', leadTimeDays: 10, reviewPeriodDays: 7, allocated: 0, quarantine: 0, inbound: 0, inTransit: 0, moq: 20, packSize: 12 };
    const [westPlan, eastPlan] = planTransfersBeforeBuy([
      { warehouse: west, available: 3, moq: 20, packSize: 12, plan: suggestReplenishment({ ...base, dailyShipped: daily, available: 3 }) },
      { warehouse: east, available: 100, moq: 20, packSize: 12, plan: suggestReplenishment({ ...base, dailyShipped: new Array<number>(90).fill(0), available: 100 }) },
    ]);
    expect(westPlan!.transfers).toEqual([{ from: east, qty: westPlan!.targetLevel - 3 }]);
    expect(westPlan!.suggestedQty).toBe(0);
    expect(westPlan!.purchaseQtyBeforeTransfers).toBe(24);

    const res = await get(`/replenishment/suggestions?sku=${sku}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ source: 'run', run: { runId, finishedAt: run.finishedAt }, historyDays: 90 });
    const expected = {
      [east]: expect.objectContaining({ sku, warehouse: east, supplierId, excess: 100, transferOutQty: westPlan!.transferInQty, reorder: false, suggestedQty: 0 }),
      [west]: expect.objectContaining({ sku, supplierId, shippedInHistory: 27, leadTimeSource: 'stated', ...westPlan }),
    };
    expect(body.suggestions).toEqual([east, west].sort().map((w) => expected[w]));
    // The forecast behind the line is stored with the run: all-zero training weeks tie, so the mean wins; its backtest error sizes the safety stock.
    const westLine = body.suggestions.find((l: { warehouse: string }) => l.warehouse === west);
    expect(westLine).toMatchObject({ forecastMethod: 'mean', forecastWape: expect.any(Number), forecastMase: expect.any(Number), leadTimeDemand: 3 });
    expect(westLine.leadTimeDemandHigh).toBeGreaterThan(westLine.leadTimeDemand);
    expect(eastPlan!.transferOutQty).toBe(westPlan!.transferInQty);

    // The same run by id, and the same numbers computed on demand.
    expect((await get(`/replenishment/suggestions?sku=${sku}&run=${runId}`)).json().suggestions).toEqual(body.suggestions);
    const fresh = (await get(`/replenishment/suggestions?sku=${sku}&fresh=true`)).json();
    expect(fresh).toMatchObject({ source: 'on_demand', run: null });
    expect(fresh.suggestions).toEqual(body.suggestions);
    // Other inputs than the run's are computed on demand.
    expect((await get(`/replenishment/suggestions?sku=${sku}&uplift=2`)).json()).toMatchObject({ source: 'on_demand', uplift: 2 });

    expect((await get('/replenishment/runs/no-such-run')).statusCode).toBe(404);
    expect((await get('/replenishment/suggestions?run=no-such-run')).statusCode).toBe(404);
    const bad = await stack.app.inject({ method: 'POST', url: '/replenishment/run', headers: authAs('ops'), payload: { historyDays: 2 } });
    expect(bad.statusCode).toBe(400);
    // The body is a JSON object, `{}` for the defaults; none at all does not follow the document.
    const noBody = await stack.app.inject({ method: 'POST', url: '/replenishment/run', headers: authAs('ops') });
    expect(noBody.statusCode, noBody.body).toBe(400);
    const defaults = await stack.app.inject({ method: 'POST', url: '/replenishment/run', headers: authAs('ops'), payload: {} });
    expect(defaults.statusCode, defaults.body).toBe(202);
    await eventually(async () => ((await get(`/replenishment/runs/${defaults.json().runId}`)).json().status === 'finished' ? true : undefined));
  });

  it('recording a run twice writes its suggestions once', async () => {
    const activities = createReplenishmentActivities({ db: stack.db });
    const input = { runId: uniqueId('again-'), workflowId: 'test', trigger: 'manual' as const, requestedBy: 'test', historyDays: 30, reviewPeriodDays: 7, uplift: 1 };
    await activities.startReplenishmentRun(input);
    await activities.startReplenishmentRun(input);
    const first = await activities.recordReplenishmentSuggestions(input);
    const second = await activities.recordReplenishmentSuggestions(input);
    expect(second).toEqual(first);
    const { count } = await stack.db.selectFrom('replenishment_suggestions').select((eb) => eb.fn.countAll<string>().as('count')).where('run_id', '=', input.runId).executeTakeFirstOrThrow();
    expect(Number(count)).toBe(first.placesCount);
  });
});

describe('POST /purchase-orders/from-suggestions', () => {
  it("drafts a PO from a run's suggestions at their quantities, and refuses bad picks with 422 writing nothing", async () => {
    const wh = await addWarehouse(stack.db);
    const other = await addWarehouse(stack.db);
    const [first, second, idle, elsewhere, otherSupplied] = [await addItem(stack.db), await addItem(stack.db), await addItem(stack.db), await addItem(stack.db), await addItem(stack.db)];
    // 30 on the shelf, 27 shipped today: each reorders 24 (MOQ 20, packs of 12), as in the planner test.
    for (const [sku, at] of [[first, wh], [second, wh], [elsewhere, other], [otherSupplied, wh]] as const) {
      await stock(stack.db, sku, at, 30);
      await shipToday(sku, at, 27);
    }
    await stock(stack.db, idle, wh, 5);
    const supplierId = uniqueId('sup-');
    const rival = uniqueId('sup-');
    await stack.db
      .insertInto('suppliers')
      .values([
        { id: supplierId, name: 'Supplier', default_lead_time_days: 10 },
        { id: rival, name: 'Rival', default_lead_time_days: 10 },
      ])
      .execute();
    await stack.db
      .insertInto('supplier_items')
      .values([
        ...[first, second, idle, elsewhere].map((sku, i) => ({ supplier_id: supplierId, sku, unit_cost_minor: 400 + i * 100, moq: 20, pack_size: 12 })),
        { supplier_id: rival, sku: otherSupplied, unit_cost_minor: 400, moq: 20, pack_size: 12 },
      ])
      .execute();
    const activities = createReplenishmentActivities({ db: stack.db });
    const runId = uniqueId('run-');
    const run = { runId, workflowId: `test-${runId}`, trigger: 'manual' as const, requestedBy: 'test', historyDays: 90, reviewPeriodDays: 7, uplift: 1 };
    await activities.startReplenishmentRun(run);
    await activities.recordReplenishmentSuggestions(run);

    const draft = (payload: Record<string, unknown>, role: Parameters<typeof authAs>[0] = 'buyer') =>
      stack.app.inject({ method: 'POST', url: '/purchase-orders/from-suggestions', headers: authAs(role), payload });
    const refused = async (payload: Record<string, unknown>, message: RegExp, code = 'unusable_suggestions') => {
      const res = await draft(payload);
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error).toMatchObject({ code, message: expect.stringMatching(message) });
      expect(await stack.db.selectFrom('purchase_orders').select('id').where('id', '=', payload.poId as string).executeTakeFirst()).toBeUndefined();
      expect((await get(`/purchase-orders/${payload.poId as string}`)).statusCode).toBe(404);
    };
    const poId = uniqueId('po-');
    const lines = [{ sku: first, warehouse: wh }, { sku: second, warehouse: wh }];

    expect((await draft({ poId, runId: run.runId, lines }, 'viewer')).statusCode).toBe(403);
    expect((await draft({ poId, runId: run.runId, lines }, 'finance')).statusCode).toBe(403);
    await refused({ poId, runId: 'no-such-run', lines }, /run no-such-run is not a finished planner run/, 'unknown_run');
    await refused({ poId, runId: run.runId, lines: [...lines, { sku: idle, warehouse: wh }] }, new RegExp(`${idle} at ${wh} has nothing to buy`));
    await refused({ poId, runId: run.runId, lines: [...lines, { sku: first, warehouse: other }] }, new RegExp(`no suggestion for ${first} at ${other}`));
    await refused({ poId, runId: run.runId, lines: [...lines, { sku: elsewhere, warehouse: other }] }, /more than one warehouse/);
    await refused({ poId, runId: run.runId, lines: [...lines, { sku: otherSupplied, warehouse: wh }] }, new RegExp(`more than one supplier \\(.*${rival}`));
    const twice = await draft({ poId, runId: run.runId, lines: [lines[0], lines[0]] });
    expect(twice.statusCode).toBe(422);
    expect(twice.json().error.code).toBe('repeated_suggestion');

    const stored = (await get(`/replenishment/suggestions?run=${run.runId}&warehouse=${wh}`)).json().suggestions as { sku: string; suggestedQty: number }[];
    const qtyOf = (sku: string) => stored.find((s) => s.sku === sku)!.suggestedQty;
    expect([qtyOf(first), qtyOf(second)]).toEqual([24, 24]);

    // 24 × 400 + 24 × 500 = 21 600: under the buyer limit, so issued at once, as a draft by hand would be.
    const created = await draft({ poId, runId: run.runId, lines });
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json()).toMatchObject({ status: 'issued', supplierId, warehouse: wh, valueMinor: 21_600 });
    const again = await draft({ poId, runId: run.runId, lines });
    expect(again.statusCode, again.body).toBe(200);
    const record = await eventually(async () => {
      const res = await get(`/purchase-orders/${poId}`);
      return res.statusCode === 200 && res.json().lines.length === 2 ? res.json() : undefined;
    });
    expect(record).toMatchObject({
      supplierId,
      warehouse: wh,
      lines: [
        { lineNo: 1, sku: first, ordered: 24, unitCostMinor: 400 },
        { lineNo: 2, sku: second, ordered: 24, unitCostMinor: 500 },
      ],
    });
    await eventually(async () => ((await stack.db.selectFrom('inventory_balances').select('qty').where('sku', '=', first).where('warehouse_code', '=', wh).where('bucket', '=', 'inbound').executeTakeFirst())?.qty === 24 ? true : undefined));
  });
});

describe('demand uplifts per sku and date range', () => {
  it('PUT and GET /replenishment/uplifts; the planner weights them by the days they overlap the horizon', async () => {
    const wh = await addWarehouse(stack.db);
    const sku = await addItem(stack.db);
    await stock(stack.db, sku, wh, 30);
    await shipToday(sku, wh, 27);
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 10 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: 400, moq: 20, pack_size: 12 }).execute();

    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const put = (payload: Record<string, unknown>, role: Parameters<typeof authAs>[0] = 'buyer') =>
      stack.app.inject({ method: 'PUT', url: '/replenishment/uplifts', headers: authAs(role), payload });
    // Horizon: lead time 10 + review period 7 = 17 days from today. The promotion covers its last 10 days at ×2;
    // the season after it is beyond the horizon.
    const uplifts = [
      { from: day(30), to: day(40), factor: 5 },
      { from: day(7), to: day(16), factor: 2 },
    ];
    expect((await put({ sku, uplifts }, 'viewer')).statusCode).toBe(403);
    expect((await put({ sku, uplifts }, 'finance')).statusCode).toBe(403);
    const overlap = await put({ sku, uplifts: [...uplifts, { from: day(16), to: day(20), factor: 3 }] });
    expect(overlap.statusCode).toBe(422);
    expect(overlap.json().error).toMatchObject({ code: 'overlapping_uplifts', message: expect.stringMatching(/must not overlap/) });
    expect((await put({ sku, uplifts: [{ from: day(5), to: day(4), factor: 2 }] })).statusCode).toBe(400);
    expect((await put({ sku, uplifts: [{ from: day(5), to: day(6), factor: 11 }] })).statusCode).toBe(400);
    const unknownSku = await put({ sku: 'NO-SUCH-SKU', uplifts });
    expect(unknownSku.statusCode).toBe(422);
    expect(unknownSku.json().error).toMatchObject({ code: 'unknown_sku', message: expect.stringMatching(/unknown sku/) });
    expect((await get(`/replenishment/uplifts?sku=${sku}`)).json().uplifts).toEqual([]);

    const saved = await put({ sku, uplifts }, 'ops');
    expect(saved.statusCode, saved.body).toBe(200);
    const listed = (await get(`/replenishment/uplifts?sku=${sku}`, 'viewer')).json().uplifts;
    expect(listed).toEqual([
      expect.objectContaining({ sku, from: day(7), to: day(16), factor: 2, updatedBy: expect.any(String) }),
      expect.objectContaining({ sku, from: day(30), to: day(40), factor: 5 }),
    ]);

    const daily = new Array<number>(90).fill(0);
    daily[89] = 27;
    const base = { skuClass: 'C' as const, dailyShipped: daily, leadTimeDays: 10, reviewPeriodDays: 7, available: 3, allocated: 0, quarantine: 0, inbound: 0, inTransit: 0, moq: 20, packSize: 12 };
    const skuUplift = (10 * 2 + 7 * 1) / 17;
    const fresh = async (query = '') => (await get(`/replenishment/suggestions?sku=${sku}&fresh=true&all=true${query}`)).json().suggestions[0];
    const withUplift = await fresh();
    expect(withUplift.skuUplift).toBeCloseTo(skuUplift, 12);
    expect(withUplift).toMatchObject(suggestReplenishment({ ...base, uplift: skuUplift }));
    expect(withUplift.averageDaily).toBe(0.476); // 0.3 × 27/17
    // On top of the run-wide uplift.
    expect(await fresh('&uplift=2')).toMatchObject(suggestReplenishment({ ...base, uplift: 2 * skuUplift }));

    // A run stores the factor it applied with the numbers.
    const activities = createReplenishmentActivities({ db: stack.db });
    const runId = uniqueId('run-');
    const run = { runId, workflowId: `test-${runId}`, trigger: 'manual' as const, requestedBy: 'test', historyDays: 90, reviewPeriodDays: 7, uplift: 1 };
    await activities.startReplenishmentRun(run);
    await activities.recordReplenishmentSuggestions(run);
    const stored = (await get(`/replenishment/suggestions?sku=${sku}&run=${runId}&all=true`)).json().suggestions[0];
    expect(stored).toEqual(withUplift);

    // An empty list removes them: back to the plain demand.
    expect((await put({ sku, uplifts: [] })).json()).toEqual({ sku, uplifts: [] });
    expect(await fresh()).toMatchObject({ ...suggestReplenishment({ ...base }), skuUplift: 1 });
  });
});
