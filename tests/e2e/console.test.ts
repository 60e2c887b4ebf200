/**
 * The ops console in a real headless Chromium against the real API, worker, Temporal and
 * Postgres, on the demo data: two people sign in with their own tokens; one follows a held
 * order from the task queue to its page and approves it, and cannot approve the adjustment
 * they asked for themselves; the other approves that adjustment and resolves a short pick
 * with its root cause. Every page is screenshotted into tests/artifacts/, with its first
 * paint reported (not asserted).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { insertException } from '../../activities/tasks.js';
import { projectRoot } from '../../runtime/config.js';
import { seedDemo } from '../../runtime/seed.js';
import { authAs, eventually, startTestStack, uniqueId, type TestStack } from '../support/stack.js';
import { postShopify, shopifyOrder, SHOPIFY_SHOP } from '../support/storefront.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
// In CI the browser is installed by .ci/run, so a missing one must fail there, not skip.
const skip = !haveChromium && !process.env.CI;
if (skip) console.warn(`console e2e skipped: ${CHROMIUM} is missing (apt-get install chromium to run it)`);

const artifacts = path.join(projectRoot, 'tests', 'artifacts');
const WAIT = { timeout: 20_000 };
const HOSTILE = 'Bin <img src=x onerror="window.__xss=1"><b>A-12</b> empty';
const paints: string[] = [];

describe.skipIf(skip)('ops console (headless Chromium)', () => {
  let stack: TestStack;
  let browser: Browser;
  let baseUrl: string;
  const heldOrderId = uniqueId('HELD-');
  const adjustmentId = uniqueId('adj-');
  const shortShipment = uniqueId('SHIP-');
  const people = { olivia: { id: uniqueId('olivia-'), token: '' }, sam: { id: uniqueId('sam-'), token: '' } };

  async function makePerson(who: { id: string; token: string }, name: string, roles: string[]) {
    const created = await stack.app.inject({ method: 'POST', url: '/users', headers: authAs('admin'), payload: { id: who.id, name, email: `${who.id}@example.test`, roles } });
    expect(created.statusCode, created.body).toBe(201);
    const token = await stack.app.inject({ method: 'POST', url: `/users/${who.id}/tokens`, headers: authAs('admin'), payload: { name: 'console', expiresInDays: 30 } });
    who.token = token.json().token;
  }

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
    await seedDemo(stack.db, () => undefined);
    await makePerson(people.olivia, 'Olivia Okafor', ['ops', 'finance']);
    await makePerson(people.sam, 'Sam Ruiz', ['ops']);

    // A few ordinary orders, and one over the value rule (10 × 129.99 > 1 000.00) that waits in the hold queue.
    const order = (orderId: string, lines: { sku: string; qty: number; unitPriceMinor: number }[]) =>
      stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: { orderId, channel: 'dtc', customerId: uniqueId('C-'), shipTo: { country: 'US', lat: 40.7, lon: -74.0 }, lines } });
    for (let i = 0; i < 4; i += 1) expect((await order(uniqueId('A-'), [{ sku: 'TEE-BLK-M', qty: 1 + i, unitPriceMinor: 1_999 }])).statusCode).toBe(201);
    expect((await order(heldOrderId, [{ sku: 'JKT-RAIN-M', qty: 10, unitPriceMinor: 12_999 }])).json()).toMatchObject({ status: 'on_hold' });

    // Olivia counts fewer rain jackets than the books say: the variance waits for a second person.
    const asOlivia = { authorization: `Bearer ${people.olivia.token}` };
    const adjustment = await stack.app.inject({ method: 'POST', url: '/inventory/adjustments', headers: asOlivia, payload: { adjustmentId, sku: 'JKT-RAIN-L', warehouse: 'EWR', reasonCode: 'cycle_count', countedQty: 1 } });
    expect(adjustment.statusCode, adjustment.body).toBe(202);

    // A short pick at the bench, as the shipment process files it.
    await insertException(stack.db, { id: `${shortShipment}:short`, kind: 'short_pick', reference: shortShipment, workflowId: `shipment-${shortShipment}`, ownerRole: 'ops', message: HOSTILE });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    fs.mkdirSync(artifacts, { recursive: true });
  });

  afterAll(async () => {
    if (paints.length) console.log(`[console] first paint per page (demo data):\n  ${paints.join('\n  ')}`);
    await browser?.close();
    await stack?.stop();
  });

  async function signIn(token: string): Promise<Page> {
    // A tablet at the packing bench, landscape.
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${baseUrl}/console`);
    await page.getByTestId('token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor(WAIT);
    return page;
  }

  /** Opens a page afresh, waits for what shows it is ready, screenshots it and notes its first paint. */
  async function visit(page: Page, url: string, ready: string, name: string) {
    const started = Date.now();
    await page.goto(`${baseUrl}${url}`);
    await page.locator(ready).first().waitFor(WAIT);
    const readyMs = Date.now() - started;
    const fcp = await page.evaluate(() => Math.round(performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1));
    paints.push(`${name.padEnd(16)} first paint ${String(fcp).padStart(4)} ms, data shown ${String(readyMs).padStart(4)} ms  ${url}`);
    await page.screenshot({ path: path.join(artifacts, `console-${name}.png`), fullPage: true });
  }

  it('serves the console under /console with a strict content security policy, and / leads there', async () => {
    const res = await fetch(`${baseUrl}/console/orders/${heldOrderId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain(`data-temporal-ui-url="${stack.config.temporalUiUrl}"`);
    const root = await fetch(baseUrl, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console');
    expect((await fetch(`${baseUrl}/console/app.js`)).headers.get('content-type')).toContain('text/javascript');
  });

  it('a wrong token shows the refusal and stays signed out; nothing is kept in browser storage', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${baseUrl}/console`);
    await page.getByTestId('token').fill('obk_not-a-token-anyone-has-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('message').waitFor(WAIT);
    expect(await page.getByTestId('message').textContent()).toContain('unknown API token');
    await page.screenshot({ path: path.join(artifacts, 'console-sign-in.png') });
    await page.close();
  });

  it('Olivia follows the held order from the task queue to its page and approves it', async () => {
    const page = await signIn(people.olivia.token);
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    expect(await page.evaluate('document.cookie')).not.toContain('ops_session');
    await visit(page, '/console/tasks', `[data-testid="task-link"][data-reference="${heldOrderId}"]`, 'tasks');
    await page.locator(`[data-testid="task-link"][data-reference="${heldOrderId}"]`).click();
    await page.getByTestId('order-page').waitFor(WAIT);
    expect(page.url()).toBe(`${baseUrl}/console/orders/${heldOrderId}`);
    const hold = page.getByTestId('hold-decision');
    expect(await page.getByTestId('hold-flags').textContent()).toContain('value');
    expect(await page.getByTestId('temporal-link').first().getAttribute('href')).toBe(`${stack.config.temporalUiUrl}/namespaces/${stack.config.temporalNamespace}/workflows/order-${heldOrderId}`);
    await page.screenshot({ path: path.join(artifacts, 'console-order-held.png'), fullPage: true });

    await hold.getByTestId('reason').fill('customer called back, address verified');
    await hold.getByTestId('action-approve').click();
    await page.getByTestId('message').waitFor(WAIT);
    expect(await page.getByTestId('message').textContent()).toContain('done');
    await eventually(async () => ((await page.locator('h1 [data-testid="status"]').textContent()) !== 'on_hold' ? true : undefined));
    expect(await hold.getByTestId('why-not').textContent()).toContain('not on hold');
    // The order's story: who decided the hold and why, and the customer's wording a click away.
    await page.reload();
    const story = page.getByTestId('order-story');
    await story.locator('ol[data-audience="operator"]').waitFor(WAIT);
    expect(await story.textContent()).toContain('customer called back, address verified');
    await story.getByTestId('story-audience').click();
    await story.locator('ol[data-audience="customer"]').waitFor(WAIT);
    expect(await story.textContent()).toContain('routine check');
    await visit(page, `/console/orders/${heldOrderId}`, '[data-testid="audit"] [data-testid="row"]', 'order');
    expect(await page.getByTestId('audit').textContent()).toContain(people.olivia.id);
    // The screen a person sees first (docs/console.png is made from it).
    await page.screenshot({ path: path.join(artifacts, 'console-order-screen.png') });
    expect(await page.getByTestId('lines').textContent()).toContain('JKT-RAIN-M');
    await page.close();
  });

  it('Olivia cannot approve the adjustment she asked for: the action says why, and the API refuses it too', async () => {
    const page = await signIn(people.olivia.token);
    await visit(page, `/console/tasks?kind=adjustment_approval&q=${adjustmentId}`, `[data-testid="task-link"][data-reference="${adjustmentId}"]`, 'tasks-filtered');
    await page.locator(`[data-testid="task-link"][data-reference="${adjustmentId}"]`).click();
    const decision = page.getByTestId('adjustment-decision');
    await decision.waitFor(WAIT);
    expect(await decision.getByTestId('action-approve').isDisabled()).toBe(true);
    expect(await decision.getByTestId('why-not').textContent()).toContain('you asked for this adjustment');
    // Past the page, straight to the API with her session and its CSRF token: refused as the same person.
    const refused = await page.evaluate(async (id) => {
      const { csrfToken } = (await (await fetch('/console/session')).json()) as { csrfToken: string };
      const res = await fetch(`/inventory/adjustments/${id}/decision`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: JSON.stringify({ decision: 'approve', reason: 'my own count' }) });
      return { status: res.status, body: await res.json() };
    }, adjustmentId);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'same_person' } } });
    // Without the CSRF token, the same request is refused before it reaches the process.
    const forged = await page.evaluate(async (id) => (await fetch(`/inventory/adjustments/${id}/decision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve', reason: 'forged' }) })).status, adjustmentId);
    expect(forged).toBe(403);
    await page.screenshot({ path: path.join(artifacts, 'console-adjustment-own.png'), fullPage: true });
    const attempts = await stack.db.selectFrom('audit_log').select(['status_code']).where('user_id', '=', people.olivia.id).where('outcome', '=', 'refused').orderBy('id').execute();
    expect(attempts.map((a) => a.status_code)).toEqual([409, 403]);
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor(WAIT);
    await page.close();
  });

  it('Sam approves that adjustment, then works the short pick to its root cause', async () => {
    const page = await signIn(people.sam.token);
    await visit(page, `/console/adjustments/${adjustmentId}`, '[data-testid="adjustment-decision"]', 'adjustment');
    const decision = page.getByTestId('adjustment-decision');
    await decision.getByTestId('reason').fill('recount confirms two jackets missing');
    await decision.getByTestId('action-approve').click();
    await eventually(async () => ((await page.locator('h1 [data-testid="status"]').textContent()) === 'posted' ? true : undefined));

    await visit(page, '/console/exceptions', `[data-testid="case-link"][data-reference="${shortShipment}"]`, 'exceptions');
    const listed = page.locator(`[data-testid="row"]`, { has: page.locator(`[data-reference="${shortShipment}"]`) });
    expect(await listed.textContent()).toContain(HOSTILE);
    expect(await page.locator('main img, main b').count()).toBe(0);
    await page.locator(`[data-testid="case-link"][data-reference="${shortShipment}"]`).click();
    await page.getByTestId('exception-page').waitFor(WAIT);
    await page.getByTestId('assign').getByTestId('action-assign').click();
    await eventually(async () => ((await page.getByTestId('case-history').textContent())?.includes(`assigned by ${people.sam.id}`) ? true : undefined));
    await page.getByTestId('cause').selectOption('bin_error');
    await page.getByTestId('resolve').getByTestId('reason').fill('stock was in A-13, moved back');
    await page.getByTestId('resolve').getByTestId('action-resolve').click();
    await eventually(async () => ((await page.locator('h1 [data-testid="status"]').textContent()) === 'resolved' ? true : undefined));
    expect(await page.getByTestId('case-history').textContent()).toContain(`resolved by ${people.sam.id}`);
    await page.screenshot({ path: path.join(artifacts, 'console-exception-resolved.png'), fullPage: true });
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    const resolved = await stack.db.selectFrom('exception_cases').selectAll().where('reference', '=', shortShipment).executeTakeFirstOrThrow();
    expect(resolved).toMatchObject({ status: 'resolved', cause: 'bin_error', resolved_by: people.sam.id, assignee: people.sam.id });
    await page.close();
  });

  it('every area has its page: lists search on the server, records open by link', async () => {
    const page = await signIn(people.olivia.token);
    await visit(page, `/console/orders?q=${heldOrderId}`, `[data-testid="orders-table"] [data-key="${heldOrderId}"]`, 'orders');
    expect(await page.locator('[data-testid="orders-table"] [data-testid="row"]').count()).toBe(1);
    await visit(page, '/console/orders?status=released', '[data-testid="page-info"]', 'orders-released');
    await visit(page, '/console/shipments', '[data-testid="shipments-table"] [data-testid="row"]', 'shipments');
    const shipmentId = await page.locator('[data-testid="shipments-table"] [data-testid="row"]').first().getAttribute('data-key');
    await visit(page, `/console/shipments/${shipmentId}`, '[data-testid="shipment-page"] [data-testid="lines"] [data-testid="row"]', 'shipment');
    await visit(page, '/console/purchase-orders', '[data-testid="page-info"]', 'purchase-orders');
    await visit(page, '/console/returns', '[data-testid="page-info"]', 'returns');
    await visit(page, '/console/inventory?warehouse=EWR', '[data-testid="inventory-table"] [data-testid="row"]', 'inventory');
    await visit(page, '/console/channels', '[data-testid="channels"] table', 'channels');
    // A storefront channel's page: its last webhook, the rejected delivery with its reason, the lag.
    const secret = 'console-test-shopify-secret';
    expect((await stack.app.inject({ method: 'PUT', url: '/channels/subscription/connector', headers: authAs('admin'), payload: { platform: 'shopify', shop: SHOPIFY_SHOP, webhookSecret: secret } })).statusCode).toBe(200);
    const platformOrderId = String(8_000_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
    const sent = await postShopify(stack, 'subscription', 'orders/create', shopifyOrder(platformOrderId), { secret });
    expect(sent.status).toBe(200);
    const deliveries = `/channels/subscription/deliveries?rejected=true`;
    await eventually(async () => ((await stack.app.inject({ method: 'GET', url: deliveries, headers: authAs('viewer') })).json().deliveries.length ? true : undefined), 30_000, 'the rejected delivery');
    await page.locator('[data-testid="channels"] a[href="/console/channels/subscription"]').click();
    await page.locator('[data-testid="rejected-deliveries"] [data-testid="row"]').first().waitFor(WAIT);
    await visit(page, '/console/channels/subscription', '[data-testid="rejected-deliveries"] [data-testid="row"]', 'channel');
    expect(await page.getByTestId('last-webhook').textContent()).toContain('orders/create');
    expect(await page.getByTestId('rejected-deliveries').textContent()).toMatch(/unknown sku/);
    expect(await page.getByTestId('connector').textContent()).toContain(SHOPIFY_SHOP);
    expect(await page.getByTestId('publishing-lag').textContent()).toContain('events');
    await visit(page, '/console/finance', '[data-testid="trial-balance"] [data-testid="row"]', 'finance');
    expect(await page.getByTestId('trial-balance').textContent()).toContain('balanced');
    await visit(page, '/console/kpis', '[data-testid="chart"] svg', 'kpis');
    await page.getByTestId('breakdown').selectOption('channel');
    await page.locator('[data-testid="kpi-breakdown"] [data-testid="row"][data-key="dtc"]').waitFor(WAIT);
    await page.locator('[data-testid="chart"][data-metric="stockout_rate"] [data-testid="chart-line"][data-key="dtc"]').waitFor({ ...WAIT, state: 'attached' });
    await visit(page, '/console/kpis?by=warehouse', '[data-testid="kpi-breakdown"] [data-testid="row"]', 'kpis-by-warehouse');
    await visit(page, `/console/audit?actor=${people.olivia.id}`, '[data-testid="audit-log"] [data-testid="row"]', 'audit');
    expect(await page.getByTestId('audit-log').textContent()).toContain('refused (409)');
    // Olivia is no admin: the users list says so instead of failing.
    await visit(page, '/console/users', '[data-testid="users"] .muted', 'users-not-admin');
    // Her own notifications: subscribe to short picks by webhook, see it listed with its secret shown once, end it.
    await visit(page, '/console/me', '[data-testid="subscribe"]', 'me');
    await page.getByTestId('topic').selectOption('exception');
    await page.getByTestId('kind').fill('short_pick');
    await page.getByTestId('channel').selectOption('webhook');
    await page.getByTestId('target').fill('https://hooks.example.test/olivia');
    await page.getByTestId('action-subscribe').click();
    await page.locator('[data-testid="subscriptions"] [data-testid="row"], [data-testid="subscribe"] [data-testid="refusal"]').first().waitFor(WAIT);
    expect(await page.locator('[data-testid="subscribe"] [data-testid="refusal"]').count(), await page.getByTestId('subscribe').textContent() ?? '').toBe(0);
    const mine = await stack.db.selectFrom('notification_subscriptions').selectAll().where('user_id', '=', people.olivia.id).execute();
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ topic: 'exception', kind: 'short_pick', channel: 'webhook', target: 'https://hooks.example.test/olivia' });
    expect(await page.getByTestId('webhook-secret').textContent()).toContain(mine[0]!.secret!);
    await page.screenshot({ path: path.join(artifacts, 'console-me.png'), fullPage: true });
    await page.getByTestId('end-subscription').click();
    await page.locator('[data-testid="subscriptions"] .empty').waitFor(WAIT);
    await page.close();

    const admin = await signIn('test-admin-key');
    await visit(admin, `/console/users?q=${people.sam.id}`, `[data-testid="users-table"] [data-key="${people.sam.id}"]`, 'users');
    await visit(admin, `/console/users/${people.sam.id}`, '[data-testid="tokens"] [data-testid="row"]', 'user');
    expect(await admin.getByTestId('tokens').textContent()).toContain(people.sam.token.slice(0, 12));
    expect(await admin.getByTestId('tokens').textContent()).not.toContain(people.sam.token);
    await admin.close();
  });
});
