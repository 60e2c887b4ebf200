/**
 * Notifications: a person subscribes to held orders by webhook and e-mail and to short picks
 * by webhook; a held order and a short pick are delivered once each to a local HTTP receiver
 * (signed, Slack-compatible `text`) and to an in-process SMTP sink (smtp-server); a receiver
 * that fails is retried until it answers; e-mail without an SMTP server is refused.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { insertException } from '../../activities/tasks.js';
import { signDelivery } from '../../services/notifications.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, uniqueId, useTestStack } from '../support/stack.js';

interface Hook {
  body: { text: string; deliveryId: number; event: { kind: string; reference: string; url: string } };
  raw: string;
  headers: http.IncomingHttpHeaders;
}
const hooks: Hook[] = [];
const mails: { to: string; data: string }[] = [];
let failNext = 0;
let hookUrl = '';
let smtpPort = 0;

const receiver = http.createServer((request, response) => {
  let raw = '';
  request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  request.on('end', () => {
    if (failNext > 0) {
      failNext -= 1;
      response.writeHead(503).end();
      return;
    }
    hooks.push({ body: JSON.parse(raw), raw, headers: request.headers });
    response.writeHead(200).end('ok');
  });
});
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, session, callback) {
    let data = '';
    stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
    stream.on('end', () => {
      mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), data });
      callback();
    });
  },
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

// The stack reads its settings when it starts (after the sinks above are listening).
const stack = useTestStack({
  notifications: { get smtpUrl() { return `smtp://127.0.0.1:${smtpPort}`; }, mailFrom: 'ops@example.test', publicUrl: 'https://ops.example.test', intervalMs: 200, timeoutMs: 2_000, maxAttempts: 5 },
});

const asUser = (token: string) => ({ authorization: `Bearer ${token}` });

describe('notifications', () => {
  let token = '';
  let secret = '';
  const user = uniqueId('nina-');

  it('a person subscribes by webhook and e-mail; the webhook secret is shown once', async () => {
    await stack.app.inject({ method: 'POST', url: '/users', headers: authAs('admin'), payload: { id: user, name: 'Nina', email: `${user}@example.test`, roles: ['ops'] } });
    token = (await stack.app.inject({ method: 'POST', url: `/users/${user}/tokens`, headers: authAs('admin'), payload: { name: 'x' } })).json().token;
    const hook = await stack.app.inject({ method: 'POST', url: '/me/subscriptions', headers: asUser(token), payload: { channel: 'webhook', topic: 'task', kind: 'order_hold', target: hookUrl } });
    expect(hook.statusCode, hook.body).toBe(201);
    secret = hook.json().secret;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const again = await stack.app.inject({ method: 'POST', url: '/me/subscriptions', headers: asUser(token), payload: { channel: 'webhook', topic: 'task', kind: 'order_hold', target: hookUrl } });
    expect(again.json()).toMatchObject({ created: false });
    expect(again.json().secret).toBeUndefined();
    expect((await stack.app.inject({ method: 'POST', url: '/me/subscriptions', headers: asUser(token), payload: { channel: 'email', topic: 'task', kind: 'order_hold', target: `${user}@example.test` } })).statusCode).toBe(201);
    expect((await stack.app.inject({ method: 'POST', url: '/me/subscriptions', headers: asUser(token), payload: { channel: 'webhook', topic: 'exception', kind: 'short_pick', target: hookUrl } })).statusCode).toBe(201);
    expect((await stack.app.inject({ method: 'POST', url: '/me/subscriptions', headers: asUser(token), payload: { channel: 'fax', topic: 'task', kind: 'order_hold', target: '555' } })).statusCode).toBe(400);
    expect((await stack.app.inject({ method: 'GET', url: '/me/subscriptions', headers: asUser(token) })).json().subscriptions).toHaveLength(3);
  });

  it('a held order reaches the webhook (signed) and the mailbox once each', async () => {
    const sku = await addItem(stack.db, undefined, { price_minor: 60_000 });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 5);
    const orderId = uniqueId('HOLD-');
    const placed = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: { orderId, channel: 'dtc', customerId: uniqueId('c-'), shipTo: { country: 'US', lat: 40.7, lon: -74 }, lines: [{ sku, qty: 2, unitPriceMinor: 60_000 }] },
    });
    expect(placed.json()).toMatchObject({ status: 'on_hold' });
    const delivered = await eventually(async () => hooks.find((h) => h.body.event.reference === orderId));
    expect(delivered.body.text).toContain(`order_hold on ${orderId}`);
    expect(delivered.body.event.url).toBe(`https://ops.example.test/console/orders/${orderId}`);
    const timestamp = String(delivered.headers['x-ops-timestamp']);
    expect(delivered.headers['x-ops-signature']).toBe(signDelivery(secret, timestamp, delivered.raw));
    const mail = await eventually(async () => mails.find((m) => m.data.includes(orderId)));
    expect(mail.to).toBe(`${user}@example.test`);
    expect(mail.data).toMatch(/^Subject: =\?UTF-8\?Q\?Task_order=5Fhold_on_/m);
    expect(mail.data).toContain(`Task order_hold on ${orderId}`);
    expect(mail.data).toContain('From: ops@example.test');
    // Once each, however often the dispatcher looks.
    await new Promise((r) => setTimeout(r, 800));
    expect(hooks.filter((h) => h.body.event.reference === orderId)).toHaveLength(1);
    expect(mails.filter((m) => m.data.includes(orderId))).toHaveLength(1);
    const mine = (await stack.app.inject({ method: 'GET', url: '/me/notifications', headers: asUser(token) })).json().deliveries;
    expect(mine.filter((d: { event: string; status: string }) => d.status === 'sent')).toHaveLength(2);
  });

  it('a receiver that fails is tried again until it answers; an exception of a subscribed kind is delivered too', async () => {
    failNext = 2;
    const reference = uniqueId('SHIP-');
    await insertException(stack.db, { id: `${reference}:short`, kind: 'short_pick', reference, ownerRole: 'ops', message: `short pick on ${reference}` });
    await insertException(stack.db, { id: `${reference}:late`, kind: 'late_shipment', reference, ownerRole: 'ops', message: 'late' });
    const delivered = await eventually(async () => hooks.find((h) => h.body.event.reference === reference), 30_000);
    expect(delivered.body.event.kind).toBe('short_pick');
    expect(delivered.body.event.url).toMatch(/^https:\/\/ops\.example\.test\/console\/exceptions\/\d+$/);
    const row = await stack.db.selectFrom('notification_deliveries').selectAll().where('event_key', '=', `exception:${reference}:short`).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'sent', attempts: 3 });
    expect(hooks.filter((h) => h.body.event.reference === reference)).toHaveLength(1); // not subscribed to late shipments
  }, 60_000);

  it('an unsubscribed kind stops; e-mail is refused where no SMTP server is set', async () => {
    const subs = (await stack.app.inject({ method: 'GET', url: '/me/subscriptions', headers: asUser(token) })).json().subscriptions as { id: number; kind: string }[];
    const shortPick = subs.find((s) => s.kind === 'short_pick')!;
    expect((await stack.app.inject({ method: 'DELETE', url: `/me/subscriptions/${shortPick.id}`, headers: asUser(token) })).statusCode).toBe(200);
    const reference = uniqueId('SHIP-');
    await insertException(stack.db, { id: `${reference}:short`, kind: 'short_pick', reference, ownerRole: 'ops', message: 'after unsubscribing' });
    expect(await stack.db.selectFrom('notification_deliveries').select('id').where('event_key', '=', `exception:${reference}:short`).execute()).toEqual([]);
    const { subscribe } = await import('../../services/notifications.js');
    const refused = await subscribe(stack.db, { smtpUrl: undefined }, user, { channel: 'email', topic: 'task', kind: '*', target: 'x@example.test' });
    expect(refused).toMatchObject({ refused: 'invalid', code: 'smtp_not_configured' });
  });
});
