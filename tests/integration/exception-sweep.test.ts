/**
 * The exception sweep: conditions found in the records (a stale allocation, a movement the
 * ledger refused) become exceptions worked as cases; a second sweep raises nothing; a
 * condition that has gone clears its case; a case a person resolved stays resolved.
 */
import { describe, expect, it } from 'vitest';
import { exceptionSweepWorkflowType, type ExceptionSweepReport, type ExceptionSweepWorkflow } from '../../contracts/exception-sweep.js';
import { LedgerError, releaseReservations, reserve } from '../../db/ledger.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();

const sweep = (): Promise<ExceptionSweepReport> =>
  stack.client.workflow.execute<ExceptionSweepWorkflow>(exceptionSweepWorkflowType, {
    taskQueue: stack.config.taskQueue,
    workflowId: uniqueId('exception-sweep-test-'),
    args: [{ returnSla: '5d', returnSlaMs: 5 * 86_400_000 }],
  });

const caseOf = (exceptionId: string) =>
  stack.db
    .selectFrom('exceptions as e')
    .innerJoin('exception_cases as c', 'c.id', 'e.case_id')
    .select(['c.id', 'c.status', 'c.cause', 'c.occurrences', 'e.status as exceptionStatus'])
    .where('e.id', '=', exceptionId)
    .executeTakeFirstOrThrow();

describe('exception sweep', () => {
  it('raises what the records show once, clears what has gone, and leaves a resolved case resolved', async () => {
    const [sku, wh] = [await addItem(stack.db), await addWarehouse(stack.db)];
    await stock(stack.db, sku, wh, 5);
    const orderId = uniqueId('stale-');
    const reserved = await reserve(stack.db, { key: `${orderId}:allocate`, actor: 'test' }, {
      orderId,
      channel: 'dtc',
      allowPartial: false,
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
      lines: [{ lineNo: 1, sku, warehouse: wh, qty: 2 }],
    });
    const reservationId = reserved.lines[0]!.reservationId!;
    const refused = await reserve(stack.db, { key: uniqueId('too-much-'), actor: 'test' }, { orderId: uniqueId('big-'), channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku, warehouse: wh, qty: 10 }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LedgerError);
    const refusal = await stack.db.selectFrom('ledger_refusals').select('id').where('sku', '=', sku).executeTakeFirstOrThrow();
    const staleId = `stale-allocation:${reservationId}`;
    const refusalId = `ledger-refusal:${refusal.id}`;

    // Before any sweep the list shows the conditions, without a case.
    const before = (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=stale_allocation', headers: authAs('viewer') })).json().exceptions;
    expect(before).toEqual([expect.objectContaining({ id: staleId, reference: orderId })]);
    expect(before[0].caseId).toBeUndefined();

    const first = await sweep();
    expect(first).toEqual({ found: { stale_allocation: 1, negative_inventory_refused: 1 }, raised: 2, cleared: 0 });
    expect(await caseOf(staleId)).toMatchObject({ status: 'open', occurrences: 1, exceptionStatus: 'open' });
    expect(await caseOf(refusalId)).toMatchObject({ status: 'open', occurrences: 1 });
    // Listed once, as its case.
    const listed = (await stack.app.inject({ method: 'GET', url: '/exceptions?kind=stale_allocation', headers: authAs('viewer') })).json().exceptions;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: staleId, caseId: Number((await caseOf(staleId)).id) });

    // Again: nothing new.
    expect(await sweep()).toEqual({ found: { stale_allocation: 1, negative_inventory_refused: 1 }, raised: 0, cleared: 0 });
    expect((await stack.db.selectFrom('exceptions').select('id').execute()).map((e) => e.id).sort()).toEqual([refusalId, staleId].sort());

    // A person resolves the refusal's case with a cause; the allocation is released.
    const refusalCase = Number((await caseOf(refusalId)).id);
    const resolved = await stack.app.inject({ method: 'POST', url: `/exceptions/cases/${refusalCase}/resolve`, headers: authAs('ops'), payload: { cause: 'count_error', note: 'shelf recounted' } });
    expect(resolved.statusCode, resolved.body).toBe(200);
    await releaseReservations(stack.db, { key: `${orderId}:expire`, actor: 'test' }, { reservationIds: [reservationId] }, 'expired');

    expect(await sweep()).toEqual({ found: { negative_inventory_refused: 1 }, raised: 0, cleared: 1 });
    expect(await caseOf(staleId)).toMatchObject({ status: 'resolved', cause: 'cleared_by_process', exceptionStatus: 'resolved' });
    expect(await caseOf(refusalId)).toMatchObject({ status: 'resolved', cause: 'count_error' });
    expect((await stack.app.inject({ method: 'GET', url: '/exceptions?kind=stale_allocation', headers: authAs('viewer') })).json().exceptions).toEqual([]);
  });
});
