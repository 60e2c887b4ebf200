import { describe, expect, it } from 'vitest';
import { createReplenishmentActivities } from '../../activities/replenishment.js';
import { consumeReservation, reserve } from '../../db/ledger.js';
import { planTransfersBeforeBuy, suggestReplenishment, type ReplenishmentInput } from '../../domain/replenishment.js';
import { replenishmentWorkflowId } from '../../workflows/replenishment-planner.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

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
    const noBody = await stack.app.inject({ method: 'POST', url: '/replenishment/run', headers: authAs('ops') });
    expect(noBody.statusCode, noBody.body).toBe(202);
    await eventually(async () => ((await get(`/replenishment/runs/${noBody.json().runId}`)).json().status === 'finished' ? true : undefined));
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
