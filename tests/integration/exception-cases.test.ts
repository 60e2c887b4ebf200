/**
 * Exceptions worked to their cause: a short pick raises an exception filed under a case;
 * it is assigned, commented, snoozed and resolved with a cause from its kind's list; a
 * second occurrence of the same kind on the same record joins the case, and one after it
 * was resolved reopens it; a process clearing its own exception clears the case; the
 * summary counts by kind, cause, owner and age.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { insertException, resolveExceptionRow } from '../../activities/tasks.js';
import { causesFor } from '../../domain/exception-causes.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';

const stack = useTestStack();
type Role = Parameters<typeof authAs>[0];
const get = (url: string, role: Role = 'viewer') => stack.app.inject({ method: 'GET', url, headers: authAs(role) });
const post = (url: string, payload: object, role: Role = 'ops') => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });

async function raise(kind: string, reference: string, suffix = '1') {
  await insertException(stack.db, { id: `${kind}:${reference}:${suffix}`, kind, reference, workflowId: `wf-${reference}`, ownerRole: 'ops', message: `${kind} on ${reference} (${suffix})` });
  const row = await stack.db.selectFrom('exceptions').select('case_id').where('id', '=', `${kind}:${reference}:${suffix}`).executeTakeFirstOrThrow();
  return Number(row.case_id);
}

describe('exception cases', () => {
  it('a short pick at the warehouse raises an exception ops work to its cause', async () => {
    const sku = await addItem(stack.db);
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 10);
    const orderId = uniqueId('ord-');
    const placed = await post('/orders', { orderId, channel: 'dtc', customerId: uniqueId('c-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 3, unitPriceMinor: 2_000 }] }, 'system');
    expect(placed.statusCode, placed.body).toBe(201);
    const shipment = await eventually(async () => (await stack.db.selectFrom('shipments').select('id').where('order_id', '=', orderId).executeTakeFirst())?.id);
    const short = await post(`/shipments/${shipment}/events`, { type: 'short_pick', found: [{ lineNo: 1, sku, qty: 1 }] }, 'system');
    expect([200, 202], short.body).toContain(short.statusCode);
    const listed = await eventually(async () => {
      const found = (await get(`/exceptions/cases?kind=short_pick&q=${shipment}`)).json().cases;
      return found.length ? found : undefined;
    });
    expect(listed[0]).toMatchObject({ kind: 'short_pick', reference: shipment, status: 'open', occurrences: 1, causes: expect.arrayContaining(['bin_error', 'count_error', 'damaged', 'theft']) });
    expect(listed[0].message).toContain(`2 × ${sku}`);
    expect(listed[0].sla.seconds).toBe(4 * 3600);
    expect(listed[0].temporalUiUrl).toContain(`shipment-${shipment}`);
  });

  it('assign, comment, snooze, resolve with a cause; refused causes and states change nothing', async () => {
    const reference = uniqueId('SHIP-');
    const id = await raise('short_pick', reference);
    const assigned = await post(`/exceptions/cases/${id}/assign`, { assignee: 'test-ops' });
    expect(assigned.json()).toMatchObject({ assignee: 'test-ops', status: 'open' });
    expect((await post(`/exceptions/cases/${id}/assign`, { assignee: 'test-system' })).json().error.code).toBe('unknown_user');
    expect((await post(`/exceptions/cases/${id}/comments`, { text: 'bin A-12 looks empty; recounting' })).statusCode).toBe(200);

    const until = new Date(Date.now() + 3_600_000).toISOString();
    const snoozed = await post(`/exceptions/cases/${id}/snooze`, { until, reason: 'recount after the wave' });
    expect(snoozed.json()).toMatchObject({ status: 'snoozed', snoozedUntil: until });
    expect((await get(`/exceptions/cases?q=${reference}`)).json().cases).toHaveLength(0);
    expect((await get(`/exceptions/cases?status=snoozed&q=${reference}`)).json().cases).toHaveLength(1);
    expect((await get('/exceptions?kind=short_pick')).json().exceptions.filter((e: { reference: string }) => e.reference === reference)).toHaveLength(0);
    expect((await post(`/exceptions/cases/${id}/snooze`, { until: '2020-01-01T00:00:00Z', reason: 'in the past' })).json().error.code).toBe('snooze_in_past');

    const wrong = await post(`/exceptions/cases/${id}/resolve`, { cause: 'supplier_delay', note: 'not a cause of a short pick' });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().error).toMatchObject({ code: 'unknown_cause', message: expect.stringContaining('bin_error') });
    expect((await post(`/exceptions/cases/${id}/resolve`, { cause: 'bin_error', note: 'stock was in A-13' }, 'viewer')).statusCode).toBe(403);

    const resolved = await post(`/exceptions/cases/${id}/resolve`, { cause: 'bin_error', note: 'stock was in A-13' });
    expect(resolved.json()).toMatchObject({ status: 'resolved', cause: 'bin_error', resolvedBy: 'test-ops', resolutionNote: 'stock was in A-13' });
    expect((await post(`/exceptions/cases/${id}/resolve`, { cause: 'bin_error', note: 'again' })).json().error.code).toBe('case_resolved');
    const row = await stack.db.selectFrom('exceptions').select('status').where('case_id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('resolved');

    const detail = (await get(`/exceptions/cases/${id}`)).json();
    expect(detail.events.map((e: { kind: string; actor: string }) => `${e.kind}:${e.actor}`)).toEqual(['raised:system', 'assigned:test-ops', 'commented:test-ops', 'snoozed:test-ops', 'resolved:test-ops']);
    const audit = await stack.db.selectFrom('audit_log').select(['action', 'outcome', 'status_code']).where('subject_type', '=', 'exception_case').where('subject_id', '=', String(id)).orderBy('id').execute();
    expect(audit.filter((a) => a.outcome === 'accepted').map((a) => a.action)).toEqual([
      'exception_case.assign',
      'exception_case.comments',
      'exception_case.snooze',
      'exception_case.resolve',
    ]);
    expect(audit.filter((a) => a.outcome === 'refused').map((a) => a.status_code)).toEqual([422, 422, 422, 403, 409]);
  });

  it('groups occurrences of one kind on one record; one after resolution reopens the case; a process clearing the last clears it', async () => {
    const reference = uniqueId('PO-');
    const first = await raise('po_late', reference, '1');
    expect(await raise('po_late', reference, '2')).toBe(first);
    expect(await raise('po_ack_missing', reference, '1')).not.toBe(first);
    const cases = (await get(`/exceptions/cases?q=${reference}`)).json().cases;
    expect(cases.map((c: { kind: string; occurrences: number }) => [c.kind, c.occurrences])).toEqual([
      ['po_late', 2],
      ['po_ack_missing', 1],
    ]);
    // Raising the same occurrence again (an activity retried) changes nothing.
    await raise('po_late', reference, '2');
    expect((await get(`/exceptions/cases/${first}`)).json().occurrences).toBe(2);

    await post(`/exceptions/cases/${first}/resolve`, { cause: 'supplier_delay', note: 'supplier confirmed a new date' }, 'buyer');
    const again = await raise('po_late', reference, '3');
    expect(again).toBe(first);
    const reopened = (await get(`/exceptions/cases/${first}`)).json();
    expect(reopened).toMatchObject({ status: 'open', reopened: 1, occurrences: 3, cause: null });
    expect(reopened.events.map((e: { kind: string }) => e.kind)).toEqual(['raised', 'raised', 'resolved', 'reopened']);

    // The process clears its own exception (the goods arrived): with none open, the case clears.
    await resolveExceptionRow(stack.db, `po_late:${reference}:3`);
    expect((await get(`/exceptions/cases/${first}`)).json()).toMatchObject({ status: 'resolved', cause: 'cleared_by_process', resolvedBy: 'system' });
  });

  it('summarizes open cases by kind, owner and age, and resolved ones by cause', async () => {
    const a = await raise('channel_delivery_failing', uniqueId('ch-'));
    await raise('channel_delivery_failing', uniqueId('ch-'));
    await post(`/exceptions/cases/${a}/assign`, { assignee: 'test-ops' });
    await sql`update exception_cases set opened_at = now() - interval '2 hours' where id = ${a}`.execute(stack.db);
    const summary = (await get('/exceptions/summary')).json();
    expect(summary.open.byKind).toEqual(expect.arrayContaining([{ key: 'channel_delivery_failing', count: 2, breached: 1, oldestAgeSeconds: expect.any(Number) }]));
    expect(summary.open.byOwner).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'test-ops' })]));
    expect(summary.open.byAge.map((b: { key: string }) => b.key)).toEqual(expect.arrayContaining(['under_1h', '1h_to_4h']));
    expect(summary.resolved.byCause).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'bin_error', count: 1 })]));
    expect(summary.resolved.byKindAndCause).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'short_pick/bin_error' })]));
    expect((await get('/exceptions/summary?from=2030-01-02&to=2030-01-01')).statusCode).toBe(400);
    expect(causesFor('unknown_kind')).toEqual(['data_entry_error', 'system_fault', 'duplicate', 'other']);
  });
});
