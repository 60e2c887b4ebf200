/**
 * Period close: finance closes an ended month through its close process; the database then
 * refuses postings into it, an event dated in it is posted in the first open period with its
 * document date kept, a rate dated in it is 422, and reopening needs a reason and is audited.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { journalEntries, postEntry, trialBalance } from '../../db/journal.js';
import { authAs, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
type Role = Parameters<typeof authAs>[0];
const send = (method: 'POST' | 'PUT', url: string, payload: object, role: Role = 'finance') => stack.app.inject({ method, url, headers: authAs(role), payload });
const now = new Date();
const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)).toISOString().slice(0, 7);
const thisMonth = now.toISOString().slice(0, 7);

describe('period close', () => {
  it('closes an ended month; postings dated in it land in the next open period with their date; reopening is audited', async () => {
    expect((await send('POST', `/periods/${lastMonth}/close`, {}, 'ops')).statusCode).toBe(403);
    const notEnded = await send('POST', `/periods/${thisMonth}/close`, {});
    expect(notEnded.statusCode).toBe(422);
    expect(notEnded.json().error.code).toBe('period_not_ended');

    const closed = await send('POST', `/periods/${lastMonth}/close`, {});
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toMatchObject({ period: lastMonth, status: 'closed', workflowId: `period-close-${lastMonth}`, checks: { ledgerProblems: [], unpostedShipments: [] } });
    expect((await stack.app.inject({ method: 'GET', url: '/periods', headers: authAs('viewer') })).json().periods).toEqual([expect.objectContaining({ period: lastMonth, status: 'closed', closedBy: 'test-finance' })]);

    // A late event dated in the closed month: posted on the first day of this month, its date kept.
    const key = uniqueId('late-');
    const documentDate = `${lastMonth}-20`;
    await postEntry(stack.db, { key, eventType: 'test.late', reference: key, actor: 'test', documentDate, lines: [{ account: '1100', debitMinor: 700 }, { account: '4000', creditMinor: 700 }] });
    const [entry] = await journalEntries(stack.db, { reference: key, limit: 1 });
    expect(entry).toMatchObject({ documentDate, postingDate: `${thisMonth}-01` });
    // As of the end of last month the late entry is not there; as of today it is.
    const endOfLast = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0)).toISOString().slice(0, 10);
    const before = await trialBalance(stack.db, endOfLast);
    const after = await trialBalance(stack.db);
    expect(after.totalDebits - before.totalDebits).toBeGreaterThanOrEqual(700);
    expect(before.balanced && after.balanced).toBe(true);

    // The database refuses a posting into the closed month whatever the code says.
    await expect(
      sql`insert into journal_entries (idempotency_key, event_type, reference, payload_hash, actor, document_date, posting_date)
          values (${uniqueId('x-')}, 'test', 'x', 'h', 'test', ${documentDate}::date, ${documentDate}::date)`.execute(stack.db),
    ).rejects.toThrow(/is closed/);
    // A date a caller sends for the closed month is 422.
    const rate = await send('PUT', '/fx-rates', { rates: [{ date: documentDate, from: 'EUR', rate: '1.1' }] });
    expect(rate.statusCode).toBe(422);
    expect(rate.json().error).toMatchObject({ code: 'period_closed', details: [{ path: 'rates.0.date' }] });

    // Reopening: finance, with a reason, audited; a second reopen is 409.
    expect((await send('POST', `/periods/${lastMonth}/reopen`, {})).statusCode).toBe(400);
    const reopened = await send('POST', `/periods/${lastMonth}/reopen`, { reason: 'a supplier invoice of the month arrived late' });
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json()).toMatchObject({ period: lastMonth, status: 'open', reopenedBy: 'test-finance' });
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('action', '=', 'period.reopen').executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ subject_id: lastMonth, reason: 'a supplier invoice of the month arrived late', actor: 'test-finance' });
    expect((await send('POST', `/periods/${lastMonth}/reopen`, { reason: 'once more please' })).statusCode).toBe(409);
    // Open again, the month takes postings on their own date.
    const k2 = uniqueId('late-');
    await postEntry(stack.db, { key: k2, eventType: 'test.late', reference: k2, actor: 'test', documentDate, lines: [{ account: '1100', debitMinor: 5 }, { account: '4000', creditMinor: 5 }] });
    expect((await journalEntries(stack.db, { reference: k2, limit: 1 }))[0]).toMatchObject({ documentDate, postingDate: documentDate });
  });
});
