/**
 * The outbox feed is ordered by transaction id as a number. Transaction ids grow past a
 * power of ten in any long-lived database (999 → 1000); sorted as text, "1000" would come
 * before "999" and a reader paging with a limit would step over the events in between.
 * Events written under small explicit transaction ids (far below every real one, so
 * finished and first in the feed) make that crossing happen here.
 */
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { feedHead, readFeed } from '../../db/outbox.js';
import { compareCursors } from '../../domain/channel-publishing.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack();

describe('outbox feed order', () => {
  it('puts transaction 9 before transaction 10 and both before later ones, in GET /events, the publishers\' read and the head', async () => {
    await stock(stack.db, await addItem(stack.db), await addWarehouse(stack.db), 3);
    for (const txId of ['10', '9']) {
      await sql`insert into outbox_events (tx_id, topic, key, payload) values (${txId}::xid8, 'test.order', ${`tx-${txId}`}, '{}')`.execute(stack.db);
    }
    const real = await sql<{ tx: string }>`select max(tx_id)::text as tx from outbox_events`.execute(stack.db);
    expect(BigInt(real.rows[0]!.tx)).toBeGreaterThan(99n);

    const page = await stack.app.inject({ method: 'GET', url: '/events?limit=2', headers: authAs('system') });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.json().events.map((e: { key: string }) => e.key)).toEqual(['tx-9', 'tx-10']);
    // Later events may be held back a moment by a transaction running elsewhere on the server.
    const next = await eventually(async () => {
      const answer = await stack.app.inject({ method: 'GET', url: `/events?limit=1&after=${page.json().nextCursor}`, headers: authAs('system') });
      return answer.json().events[0] as { cursor: string } | undefined;
    });
    expect(BigInt(next.cursor.split('-')[0]!)).toBeGreaterThan(99n);

    const read = await eventually(async () => {
      const events = await readFeed(stack.db, '0-0', 3);
      return events.length === 3 ? events : undefined;
    });
    expect(read.map((e) => e.key).slice(0, 2)).toEqual(['tx-9', 'tx-10']);
    expect(compareCursors(read[2]!.cursor, read[1]!.cursor)).toBeGreaterThan(0);

    const head = await eventually(async () => {
      const cursor = await feedHead(stack.db);
      return BigInt(cursor.split('-')[0]!) > 10n ? cursor : undefined;
    });
    expect(compareCursors(head, read[2]!.cursor)).toBeGreaterThanOrEqual(0);
  });
});
