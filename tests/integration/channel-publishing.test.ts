/**
 * Channel publishing end to end: a local HTTP receiver plays the channel; stock moves
 * through the ledger and the API; the receiver must end up with the ledger's
 * available-to-sell for every sku, in order, also after it failed, went away, or saw a
 * delivery twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { sql } from 'kysely';
import { readFeed } from '../../db/outbox.js';
import { adjust, releaseReservations, reserve } from '../../db/ledger.js';
import { compareCursors, planBatch } from '../../domain/channel-publishing.js';
import { ChannelReceiver } from '../support/channel-receiver.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';
import { channelPublisherStateQuery, channelPublisherWorkflowId } from '../../contracts/channel-publishing.js';

const stack = useTestStack({
  channelPublishing: {
    pollWaitMs: 2_000,
    pollIntervalMs: 100,
    requestTimeoutMs: 2_000,
    failureThreshold: 3,
    retryInitialMs: 200,
    retryMaxMs: 1_000,
    idleRecheckMs: 2_000,
    readsPerRun: 6,
  },
});

const secrets = { dtc: 'dtc-signing-secret-0123', marketplace: 'marketplace-secret-4567' };
const receiver = new ChannelReceiver(secrets);
const ctx = (what: string) => ({ key: `${what}:${uniqueId()}`, actor: 'test' });
let warehouses: string[] = [];
let skus: string[] = [];

beforeAll(async () => {
  // Publisher ids are the channel's, the same in every test file on the shared server: one
  // another file left (or started) on its own task queue would take this file's signals.
  for (const channel of ['dtc', 'subscription', 'wholesale', 'marketplace']) {
    await stack.client.workflow
      .getHandle(channelPublisherWorkflowId(channel))
      .terminate('the channel publishing test takes the channel')
      .catch(() => {});
  }
  await receiver.start();
  warehouses = [await addWarehouse(stack.db), await addWarehouse(stack.db)];
  skus = [
    await addItem(stack.db, undefined, { safety_stock: 0 }),
    await addItem(stack.db, undefined, { safety_stock: 5 }),
    await addItem(stack.db, undefined, { safety_stock: 2 }),
    await addItem(stack.db, undefined, { safety_stock: 0 }), // never stocked: available-to-sell 0
  ];
  await stock(stack.db, skus[0]!, warehouses[0]!, 20);
  await stock(stack.db, skus[0]!, warehouses[1]!, 5);
  await stock(stack.db, skus[1]!, warehouses[0]!, 8);
  await stock(stack.db, skus[2]!, warehouses[1]!, 30);
});

afterAll(async () => {
  for (const channel of ['dtc', 'marketplace']) {
    await stack.client.workflow
      .getHandle(channelPublisherWorkflowId(channel))
      .terminate('test over')
      .catch((error) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
  }
  await receiver.stop();
});

const get = async (url: string, role: 'viewer' | 'ops' = 'viewer') => {
  const response = await stack.app.inject({ method: 'GET', url, headers: authAs(role) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};

/** The ledger's available-to-sell for the test's skus, as the API shows it. */
async function ledgerAts(channel: string): Promise<Map<string, number>> {
  const body = await get(`/channels/${channel}/availability`);
  return new Map((body.skus as { sku: string; ats: number }[]).filter((s) => skus.includes(s.sku)).map((s) => [s.sku, s.ats]));
}

/** Waits until the receiver holds exactly the ledger's figures for every test sku. */
async function converged(channel: string, what = `${channel} to converge`): Promise<Map<string, number>> {
  let last = '';
  try {
    return await eventually(
      async () => {
        const expected = await ledgerAts(channel);
        const held = receiver.stateOf(channel);
        const seen = new Map(skus.map((sku) => [sku, held.get(sku)]));
        last = `ledger ${JSON.stringify([...expected])}, receiver ${JSON.stringify([...seen])}`;
        return skus.every((sku) => seen.get(sku) === expected.get(sku)) ? expected : undefined;
      },
      30_000,
      what,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${last}; ${await deliveryTrail(channel)}`, { cause: error });
  }
}

/** What the receiver got and what the feed holds, to tell a lost change from a late one. */
async function deliveryTrail(channel: string): Promise<string> {
  const requests = receiver.requests
    .filter((r) => r.message.channel === channel)
    .map((r) => {
      const figures = r.message.availability.filter((a) => skus.includes(a.sku)).map((a) => `${skus.indexOf(a.sku)}=${a.ats}`);
      return `#${r.message.sequence} ${r.message.from}..${r.message.to}${r.message.snapshot ? ' snapshot' : ''} ${r.answered}${r.applied ? ' applied' : ''} [${figures.join(' ')}]`;
    });
  const feed = (await readFeed(stack.db, '0-0', 10_000))
    .filter((e) => skus.includes(e.key) || e.topic !== 'availability.changed')
    .map((e) => `${e.cursor} ${e.topic} ${skus.includes(e.key) ? skus.indexOf(e.key) : e.key}`);
  const row = await publishing(channel);
  return `requests: ${requests.join(' | ')}; feed: ${feed.join(' | ')}; publication: ${JSON.stringify({ cursor: row.cursor, lag: row.lag, delivered: row.delivered, failures: row.failures })}`;
}

const publishing = (channel: string) => get(`/channels/${channel}/publishing`);

const setWebhook = (channel: string, payload: Record<string, unknown>) =>
  stack.app.inject({ method: 'PUT', url: `/channels/${channel}/webhook`, headers: authAs('ops'), payload });

/**
 * Applied messages of a channel come in sequence order and cover the feed without a gap:
 * each starts where the one before ended, or past events that do not concern the channel
 * (which its publisher passes over without a delivery), so no change was skipped.
 */
async function expectOrdered(channel: string) {
  const applied = receiver.applied(channel);
  for (let i = 1; i < applied.length; i++) {
    const [previous, next] = [applied[i - 1]!.message, applied[i]!.message];
    expect(next.sequence).toBeGreaterThan(previous.sequence);
    expect(compareCursors(next.to, previous.to)).toBeGreaterThanOrEqual(0);
    if (next.from !== previous.to) {
      const gap = (await readFeed(stack.db, previous.to, 10_000)).filter((e) => compareCursors(e.cursor, next.from!) <= 0);
      expect(gap.length, `message ${next.sequence} starts at ${next.from}, past ${previous.to}`).toBeGreaterThan(0);
      expect(planBatch(channel, gap).relevant, `events between ${previous.to} and ${next.from} passed over`).toBe(0);
    }
  }
  for (const request of receiver.requests.filter((r) => r.message.channel === channel)) {
    expect(request.signatureValid).toBe(true);
    expect(request.idempotencyKey).toBe(request.message.idempotencyKey);
    expect(request.sequenceHeader).toBe(String(request.message.sequence));
  }
}

describe('channel publishing', () => {
  it('refuses bad webhook settings with a 400 that writes nothing, and an unknown channel with 404', async () => {
    const before = await publishing('dtc');
    for (const payload of [
      {},
      { url: 'not a url' },
      { url: 'ftp://example.com/hook' },
      { url: 'http://example.com/hook', secret: 'short' },
      { url: 'http://example.com/hook', batchSize: 0 },
      { url: 'http://example.com/hook', batchSize: 1_001 },
      { url: `http://example.com/${'x'.repeat(2_000)}` },
    ]) {
      const response = await setWebhook('dtc', payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe('invalid_request');
    }
    expect((await setWebhook('nowhere', { url: receiver.url })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'POST', url: '/channels/nowhere/publishing/pause', headers: authAs('ops') })).statusCode).toBe(404);
    const forbidden = await stack.app.inject({ method: 'PUT', url: '/channels/dtc/webhook', headers: authAs('viewer'), payload: { url: receiver.url } });
    expect(forbidden.statusCode).toBe(403);
    expect(before).toMatchObject({ webhookUrl: null, cursor: null, signed: false, batchSize: 100, paused: false });
    // No publisher runs for an unconfigured channel (one another file ran was terminated above).
    expect(['not_started', 'terminated']).toContain(before.publisher.status);
    expect(await publishing('dtc')).toEqual(before);
    const rows = await stack.db.selectFrom('channel_publications').selectAll().execute();
    expect(rows).toEqual([]);
    const events = await stack.db.selectFrom('outbox_events').select('id').where('topic', '=', 'channel.updated').execute();
    expect(events).toEqual([]);
  });

  it('delivers a snapshot, then every change in order, batched and signed, until the receiver matches the ledger', async () => {
    const response = await setWebhook('dtc', { url: receiver.url, secret: secrets.dtc, batchSize: 3 });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ channel: 'dtc', webhookUrl: receiver.url, signed: true, batchSize: 3 });
    const [audited] = await stack.db.selectFrom('audit_log').selectAll().where('route', '=', '/channels/:channel/webhook').where('outcome', '=', 'accepted').execute();
    expect(audited).toMatchObject({
      action: 'channel.webhook.set',
      subject_id: 'dtc',
      before: { webhookUrl: null, signed: false, batchSize: 100, paused: false },
      after: { webhookUrl: receiver.url, signed: true, batchSize: 3, paused: false },
    });
    expect(JSON.stringify(audited)).not.toContain(secrets.dtc);
    await converged('dtc', 'the first snapshot');
    const first = receiver.applied('dtc')[0]!.message;
    expect(first).toMatchObject({ channel: 'dtc', snapshot: true });
    expect(first.availability.map((a) => a.sku)).toEqual(expect.arrayContaining(skus));
    expect(first.availability.find((a) => a.sku === skus[3])!.ats).toBe(0);

    // Reservations, releases, receipts and counted stock, through the ledger and the API.
    const [a, b, c] = skus as [string, string, string];
    const [w1, w2] = warehouses as [string, string];
    await reserve(stack.db, ctx('reserve'), { orderId: 'CP-1', channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku: a, warehouse: w1, qty: 6 }] });
    await reserve(stack.db, ctx('reserve'), { orderId: 'CP-2', channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku: b, warehouse: w1, qty: 4 }] });
    await adjust(stack.db, ctx('adjust'), { sku: c, warehouse: w2, delta: -7, reasonCode: 'cycle_count' });
    await stock(stack.db, b, w2, 9);
    await releaseReservations(stack.db, ctx('release'), { orderId: 'CP-2' });
    for (let i = 0; i < 6; i++) await adjust(stack.db, ctx('adjust'), { sku: a, warehouse: w2, delta: i % 2 ? -1 : 2, reasonCode: 'cycle_count' });
    const viaApi = await stack.app.inject({
      method: 'POST',
      url: '/inventory/adjustments',
      headers: authAs('ops'),
      payload: { adjustmentId: uniqueId('cp-'), sku: c, warehouse: w2, reasonCode: 'found_on_shelf', delta: 2 },
    });
    expect(viaApi.statusCode, viaApi.body).toBeLessThan(300);
    expect(viaApi.json().status).toBe('posted');

    const expected = await converged('dtc');
    expect(expected.get(a)).toBe(20 + 5 - 6 + 3);
    await expectOrdered('dtc');
    const later = receiver.applied('dtc').slice(1);
    expect(later.length).toBeGreaterThanOrEqual(3);
    expect(later.every((r) => !r.message.snapshot && r.message.events <= 3 && r.message.from !== null)).toBe(true);

    const status = await eventually(async () => {
      const view = await publishing('dtc');
      return view.lag.eventsBehind === 0 ? view : undefined;
    });
    expect(status).toMatchObject({
      paused: false,
      failures: { consecutive: 0 },
      exception: null,
      lastDelivery: { sequence: receiver.lastSequence.get('dtc') },
      publisher: { workflowId: 'channel-publisher-dtc', status: 'running' },
      lag: { oldestUndeliveredAt: null },
    });
    expect(status.cursor).toBe(receiver.applied('dtc').at(-1)!.message.to);
    expect(status.delivered.batches).toBe(receiver.applied('dtc').length);
  });

  it('raises one exception for a failing channel, keeps retrying, resumes from its cursor and resolves it', async () => {
    const [a, b] = skus as [string, string];
    const [w1] = warehouses as [string];
    const appliedBefore = receiver.applied('dtc').length;
    const cursorBefore = (await publishing('dtc')).cursor as string;
    receiver.mode = 'fail';
    await adjust(stack.db, ctx('adjust'), { sku: a, warehouse: w1, delta: 4, reasonCode: 'cycle_count' });

    const raised = await eventually(async () => {
      const body = await get('/exceptions?kind=channel_delivery_failing', 'ops');
      return body.exceptions.find((e: { reference: string }) => e.reference === 'dtc');
    }, 30_000, 'the channel_delivery_failing exception');
    expect(raised).toMatchObject({ kind: 'channel_delivery_failing', ownerRole: 'ops', temporalUiUrl: expect.stringContaining('channel-publisher-dtc') });

    // More changes while it is down; the failures go on, the exception stays one.
    await reserve(stack.db, ctx('reserve'), { orderId: 'CP-3', channel: 'dtc', allowPartial: false, lines: [{ lineNo: 1, sku: b, warehouse: w1, qty: 2 }] });
    const failing = await eventually(async () => {
      const view = await publishing('dtc');
      return view.failures.consecutive >= 5 ? view : undefined;
    });
    expect(failing.failures.lastError).toMatch(/HTTP 500/);
    expect(failing.lag.eventsBehind).toBeGreaterThan(0);
    expect(failing.lag.oldestUndeliveredAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(failing.cursor).toBe(cursorBefore);
    expect(failing.exception).toMatchObject({ id: raised.id, status: 'open' });
    const listed = (await get('/exceptions?kind=channel_delivery_failing', 'ops')).exceptions.find((e: { id: string }) => e.id === raised.id);
    expect(listed.details.consecutiveFailures).toBeGreaterThanOrEqual(5);
    expect(listed.details.lastError).toMatch(/HTTP 500/);
    const episodes = await stack.db.selectFrom('exceptions').select(['id', 'status']).where('kind', '=', 'channel_delivery_failing').where('reference', '=', 'dtc').execute();
    expect(episodes).toEqual([{ id: raised.id, status: 'open' }]);
    expect(receiver.applied('dtc').length).toBe(appliedBefore);

    receiver.mode = 'ok';
    await converged('dtc', 'dtc after the outage');
    const recovered = receiver.applied('dtc').slice(appliedBefore);
    expect(recovered[0]!.message.from).toBe(cursorBefore);
    await expectOrdered('dtc');
    await eventually(async () => {
      const body = await get('/exceptions?kind=channel_delivery_failing', 'ops');
      return body.exceptions.some((e: { reference: string }) => e.reference === 'dtc') ? undefined : true;
    });
    const row = await stack.db.selectFrom('exceptions').select(['status', 'resolved_at']).where('id', '=', raised.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('resolved');
    expect(row.resolved_at).not.toBeNull();
    expect(await publishing('dtc')).toMatchObject({ failures: { consecutive: 0, since: null }, exception: null });
  });

  it('catches up after the receiver was gone (connection refused) and came back on the same address', async () => {
    const [, , c] = skus as [string, string, string];
    const [, w2] = warehouses as [string, string];
    await receiver.stop();
    await adjust(stack.db, ctx('adjust'), { sku: c, warehouse: w2, delta: 5, reasonCode: 'cycle_count' });
    const down = await eventually(async () => {
      const view = await publishing('dtc');
      return view.failures.consecutive >= 1 ? view : undefined;
    });
    expect(down.failures.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    await adjust(stack.db, ctx('adjust'), { sku: c, warehouse: w2, delta: -1, reasonCode: 'cycle_count' });
    await receiver.start();
    await converged('dtc', 'dtc after the receiver came back');
    await expectOrdered('dtc');
  });

  it('a delivery the receiver saw twice (its answer was lost) changes nothing the second time', async () => {
    const [a] = skus as [string];
    const [w1] = warehouses as [string];
    const before = receiver.requests.length;
    receiver.mode = 'applyThenFail';
    await adjust(stack.db, ctx('adjust'), { sku: a, warehouse: w1, delta: -3, reasonCode: 'damaged_on_shelf' });
    await converged('dtc');
    const requests = await eventually(async () => {
      const seen = receiver.requests.slice(before).filter((r) => r.message.channel === 'dtc');
      return seen.length >= 2 ? seen : undefined;
    });
    const [firstTry, retry] = requests as [(typeof requests)[0], (typeof requests)[0]];
    expect(firstTry).toMatchObject({ applied: true, answered: 500 });
    expect(retry).toMatchObject({ applied: false, answered: 200 });
    expect(retry.idempotencyKey).toBe(firstTry.idempotencyKey);
    expect(retry.message.sequence).toBe(firstTry.message.sequence);
    // Same key, same request: the retry carries the first attempt's figures, not new ones.
    expect(retry.message).toEqual(firstTry.message);
    await converged('dtc');
    await expectOrdered('dtc');
  });

  it('pause holds deliveries behind the cursor; resume delivers what changed at current figures', async () => {
    const [, b] = skus as [string, string];
    const paused = await stack.app.inject({ method: 'POST', url: '/channels/dtc/publishing/pause', headers: authAs('ops') });
    expect(paused.statusCode).toBe(200);
    expect(paused.json().paused).toBe(true);
    await eventually(async () => ((await stack.client.workflow.getHandle('channel-publisher-dtc').query(channelPublisherStateQuery)).phase === 'paused' ? true : undefined));
    const applied = receiver.applied('dtc').length;
    await releaseReservations(stack.db, ctx('release'), { orderId: 'CP-3' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(receiver.applied('dtc').length).toBe(applied);
    const held = await publishing('dtc');
    expect(held.paused).toBe(true);
    expect(held.lag.eventsBehind).toBeGreaterThan(0);
    expect(receiver.stateOf('dtc').get(b)).not.toBe((await ledgerAts('dtc')).get(b));

    const resumed = await stack.app.inject({ method: 'POST', url: '/channels/dtc/publishing/resume', headers: authAs('ops') });
    expect(resumed.json().paused).toBe(false);
    await converged('dtc', 'dtc after resume');
    await expectOrdered('dtc');

    // Each leaves an audit row whose before and after show what it changed.
    const audit = await stack.db
      .selectFrom('audit_log')
      .select(['action', 'before', 'after'])
      .where('subject_type', '=', 'channel')
      .where('subject_id', '=', 'dtc')
      .where('outcome', '=', 'accepted')
      .where('action', 'like', 'channel.publishing.%')
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { action: 'channel.publishing.pause', before: expect.objectContaining({ paused: false, signed: true }), after: expect.objectContaining({ paused: true }) },
      { action: 'channel.publishing.resume', before: expect.objectContaining({ paused: true }), after: expect.objectContaining({ paused: false }) },
    ]);
  });

  it('never passes an event of a transaction that commits after a later one', async () => {
    const [a, , c] = skus as [string, string, string];
    const [w1] = warehouses as [string];
    const start = (await eventually(async () => {
      const view = await publishing('dtc');
      return view.lag.eventsBehind === 0 ? view : undefined;
    })).cursor as string;
    const applied = receiver.applied('dtc').length;
    let release!: () => void;
    let opened!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    // The first writer takes the lower transaction id and commits last.
    const slow = stack.db.transaction().execute(async (tx) => {
      await tx.insertInto('outbox_events').values({ topic: 'availability.changed', key: c, payload: JSON.stringify({ sku: c, note: 'committed late' }) }).execute();
      opened();
      await held;
    });
    await isOpen;
    try {
      await adjust(stack.db, ctx('adjust'), { sku: a, warehouse: w1, delta: 1, reasonCode: 'cycle_count' });
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await readFeed(stack.db, start, 100)).toEqual([]);
      expect((await publishing('dtc')).cursor).toBe(start);
      expect(receiver.applied('dtc').length).toBe(applied);
      expect(receiver.stateOf('dtc').get(a)).not.toBe((await ledgerAts('dtc')).get(a));
    } finally {
      release();
      await slow;
    }
    const feed = await readFeed(stack.db, start, 100);
    expect(feed.map((e) => e.key)).toEqual([c, a]);
    await converged('dtc', 'dtc after the late commit');
    const delivered = receiver.applied('dtc').slice(applied);
    expect(delivered.flatMap((r) => r.message.availability.map((s) => s.sku))).toEqual(expect.arrayContaining([a, c]));
    expect(delivered[0]!.message.from).toBe(start);
    await expectOrdered('dtc');
  });

  it("gives each channel its own buffer, and every sku again when the channel's settings change", async () => {
    const response = await setWebhook('marketplace', { url: receiver.url, secret: secrets.marketplace });
    expect(response.statusCode, response.body).toBe(200);
    const before = await converged('marketplace');
    const dtc = await ledgerAts('dtc');
    expect([...before].some(([sku, ats]) => ats < dtc.get(sku)!)).toBe(true);

    const applied = receiver.applied('marketplace').length;
    const dtcRequests = receiver.requests.length;
    const channel = await stack.app.inject({
      method: 'POST',
      url: '/channels',
      headers: authAs('ops'),
      payload: { code: 'marketplace', name: 'Marketplaces', reservationPriority: 4, atsBufferQty: 2, atsBufferPct: 25, shortagePolicy: 'cancel_remainder', webhookUrl: receiver.url },
    });
    expect(channel.statusCode, channel.body).toBe(200);
    const after = await converged('marketplace', 'marketplace after its buffer changed');
    expect(after).not.toEqual(before);
    const snapshot = receiver.applied('marketplace').slice(applied).find((r) => r.message.snapshot);
    expect(snapshot?.message.availability.map((s) => s.sku)).toEqual(expect.arrayContaining(skus));
    await expectOrdered('marketplace');
    // Another channel's settings are nothing to dtc: its cursor passes the event without a delivery.
    const { rows } = await sql<{ cursor: string }>`
      select tx_id::text || '-' || id as cursor from outbox_events
      where topic = 'channel.updated' and key = 'marketplace' order by tx_id desc, id desc limit 1`.execute(stack.db);
    await eventually(async () => {
      const cursor = (await publishing('dtc')).cursor as string;
      return compareCursors(cursor, rows[0]!.cursor) >= 0 ? true : undefined;
    });
    expect(receiver.requests.slice(dtcRequests).filter((r) => r.message.channel === 'dtc')).toEqual([]);
    const list = await get('/channels/publishing');
    expect(list.channels.map((c: { channel: string }) => c.channel)).toEqual(expect.arrayContaining(['dtc', 'subscription', 'wholesale', 'marketplace']));
    expect(list.channels.find((c: { channel: string }) => c.channel === 'wholesale')).toMatchObject({ webhookUrl: null, cursor: null });
  });

  it('removing the webhook of a failing channel ends its failures and resolves its exception', async () => {
    // Nothing listens on the receiver's port once it is stopped: every delivery is refused.
    const gone = new ChannelReceiver({});
    await gone.start();
    const deadUrl = gone.url;
    await gone.stop();
    expect((await setWebhook('wholesale', { url: deadUrl })).statusCode).toBe(200);
    const raised = await eventually(async () => (await publishing('wholesale')).exception ?? undefined, 30_000, 'wholesale failing');
    expect(raised).toMatchObject({ status: 'open' });

    const removed = await stack.app.inject({ method: 'DELETE', url: '/channels/wholesale/webhook', headers: authAs('ops') });
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json()).toMatchObject({ webhookUrl: null, failures: { consecutive: 0, since: null }, exception: null });
    const row = await stack.db.selectFrom('exceptions').select('status').where('id', '=', raised.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('resolved');
    await stack.client.workflow.getHandle(channelPublisherWorkflowId('wholesale')).terminate('test over');
  });

  it('a publisher started again after termination resumes from the database cursor, and long runs continue as new', async () => {
    const handle = stack.client.workflow.getHandle('channel-publisher-dtc');
    const runs = await eventually(async () => {
      const state = await handle.query(channelPublisherStateQuery);
      return state.runs > 1 ? state.runs : undefined;
    }, 30_000, 'a continue-as-new');
    expect(runs).toBeGreaterThan(1);

    await handle.terminate('test: the publisher is gone');
    const cursor = (await publishing('dtc')).cursor as string;
    const applied = receiver.applied('dtc').length;
    const [a] = skus as [string];
    const [w2] = warehouses.slice(1) as [string];
    await adjust(stack.db, ctx('adjust'), { sku: a, warehouse: w2, delta: 11, reasonCode: 'cycle_count' });
    // The same URL again: no settings change, so no snapshot; the new publisher reads on from the cursor.
    expect((await setWebhook('dtc', { url: receiver.url })).statusCode).toBe(200);
    await converged('dtc', 'dtc after its publisher was started again');
    const resumed = receiver.applied('dtc').slice(applied);
    expect(resumed[0]!.message).toMatchObject({ from: cursor, snapshot: false });
    await expectOrdered('dtc');
  });
});
