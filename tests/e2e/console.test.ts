/** The ops console in a real headless Chromium against the real API, worker, Temporal and Postgres. */
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectRoot } from '../../runtime/config.js';
import { addItem, addWarehouse, stock } from '../support/fixtures.js';
import { authAs, eventually, startTestStack, uniqueId, type TestStack } from '../support/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
// In CI the browser is installed by .ci/run, so a missing one must fail there, not skip.
const skip = !haveChromium && !process.env.CI;
if (skip) console.warn(`console e2e skipped: ${CHROMIUM} is missing (apt-get install chromium to run it)`);

const artifacts = path.join(projectRoot, 'tests', 'artifacts');
const WAIT = { timeout: 20_000 };
const HOSTILE = 'Supplier <img src=x onerror="window.__xss=1"><b>late</b>';

describe.skipIf(skip)('ops console (headless Chromium)', () => {
  let stack: TestStack;
  let browser: Browser;
  let baseUrl: string;
  let sku: string;
  let warehouse: string;
  const heldOrderId = uniqueId('ord-');

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;

    sku = await addItem(stack.db, undefined, { price_minor: 60_000 });
    warehouse = await addWarehouse(stack.db);
    await stock(stack.db, sku, warehouse, 5);
    // 2 × 600.00 is over the order value rule's 1000.00: the order waits in the hold queue.
    const res = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: {
        orderId: heldOrderId,
        channel: 'dtc',
        customerId: uniqueId('cust-'),
        shipTo: { country: 'US', lat: 40.7, lon: -74.0 },
        lines: [{ sku, qty: 2, unitPriceMinor: 60_000 }],
      },
    });
    expect(res.json()).toMatchObject({ status: 'on_hold' });

    // Text from the API must reach the page as text: markup in a message stays inert.
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
    await stack.db
      .insertInto('exceptions')
      .values({ id: uniqueId('exc-'), kind: 'late_po', reference: 'PO-1', workflow_id: 'po-PO-1', owner_role: 'buyer', message: HOSTILE, details: '{}', raised_at: threeHoursAgo })
      .execute();
    await stack.db
      .insertInto('tasks')
      .values({
        id: uniqueId('task-'),
        kind: 'po_approval',
        reference: 'PO-2',
        workflow_id: 'po-PO-2',
        role: 'finance',
        priority: 'high',
        title: 'PO-2 over the approval limit',
        reason: HOSTILE,
        details: '{}',
        created_at: threeHoursAgo,
        escalated_at: new Date(),
      })
      .execute();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function signIn(key: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    await page.goto(baseUrl);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return page;
  }

  const taskRow = (page: Page) => page.locator(`[data-testid="task-row"][data-reference="${heldOrderId}"]`);
  const orderStatus = (page: Page) => page.locator(`[data-testid="order-row"][data-order-id="${heldOrderId}"] [data-testid="order-status"]`);

  it('serves a public page with a strict content security policy', async () => {
    const res = await fetch(baseUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain(`data-temporal-ui-url="${stack.config.temporalUiUrl}"`);
    expect((await fetch(`${baseUrl}/console.js`)).headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${baseUrl}/console.css`)).headers.get('content-type')).toContain('text/css');
    const me = await stack.app.inject({ method: 'GET', url: '/me', headers: authAs('finance') });
    expect(me.json()).toEqual({ role: 'finance', actor: expect.stringMatching(/^finance\//) });
  });

  it('an invalid key shows the API error and stays signed out', async () => {
    const page = await signIn('not-a-real-key');
    const message = page.getByTestId('message');
    await message.waitFor(WAIT);
    expect(await message.textContent()).toContain('unknown API key');
    expect(await page.getByTestId('api-key').isVisible()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'console-sign-in.png') });
    await page.close();
  });

  it('a viewer sees the queue but no decision buttons', async () => {
    const page = await signIn('test-viewer-key');
    await taskRow(page).waitFor(WAIT);
    expect(await page.getByTestId('role').textContent()).toBe('viewer');
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await taskRow(page).textContent()).toContain('for ops');

    const exception = page.locator('[data-testid="exception-row"]', { hasText: 'PO-1' });
    expect(await exception.textContent()).toContain(HOSTILE);
    expect(await exception.textContent()).toContain('3h');
    expect(await exception.getByRole('link', { name: 'Temporal UI' }).getAttribute('href')).toBe(
      `${stack.config.temporalUiUrl}/namespaces/${stack.config.temporalNamespace}/workflows/po-PO-1`,
    );
    const escalated = page.locator('[data-testid="task-row"][data-reference="PO-2"]');
    expect(await escalated.getAttribute('class')).toBe('escalated');
    expect(await escalated.textContent()).toContain(HOSTILE);
    expect(await page.locator('main img, main b').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await page.close();
  });

  it('ops approves a held order: the task leaves the queue and the order is released', async () => {
    const page = await signIn('test-ops-key');
    const row = taskRow(page);
    await row.waitFor(WAIT);
    expect(await page.getByTestId('role').textContent()).toBe('ops');
    expect(await row.textContent()).toContain('order value');
    expect(await orderStatus(page).textContent()).toBe('on_hold');
    const link = page.locator(`[data-testid="order-row"][data-order-id="${heldOrderId}"] a`);
    expect(await link.getAttribute('href')).toBe(`${stack.config.temporalUiUrl}/namespaces/${stack.config.temporalNamespace}/workflows/order-${heldOrderId}`);
    const inventoryRow = page.locator('[data-testid="inventory-row"]', { hasText: sku });
    expect(await inventoryRow.textContent()).toContain(warehouse);

    // The API's refusal shows: a decision needs a reason.
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByTestId('message').filter({ hasText: 'say why' }).waitFor(WAIT);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'console-queue.png'), fullPage: true });

    await row.getByLabel(/^Reason for/).fill('known customer, confirmed by phone');
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    await page.getByTestId('message').filter({ hasText: 'approved' }).waitFor(WAIT);
    await orderStatus(page).filter({ hasText: /^released$/ }).waitFor(WAIT);

    // The reservation shows in the ledger: 3 available, 2 allocated, 5 on hand, ATP 3.
    const bucket = (name: string, qty: number) =>
      inventoryRow.locator(`[data-bucket="${name}"]`).filter({ hasText: new RegExp(`^${qty}$`) }).waitFor(WAIT);
    await bucket('allocated', 2);
    await Promise.all([bucket('available', 3), bucket('onHand', 5), bucket('atp', 3)]);
    await page.getByTestId('sku-filter').fill(sku.slice(0, -2).toLowerCase());
    expect(await page.locator('[data-testid="inventory-row"]').count()).toBe(1);
    await page.getByTestId('sku-filter').fill('NO-SUCH');
    expect(await page.locator('[data-testid="inventory-row"]').count()).toBe(0);

    await page.getByTestId('sku-filter').fill('');
    await page.screenshot({ path: path.join(artifacts, 'console.png'), fullPage: true });

    const task = await stack.db.selectFrom('tasks').selectAll().where('reference', '=', heldOrderId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'done', outcome: 'approve' });

    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.getByTestId('api-key').isVisible()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.close();
  }, 120_000);

  it('finance approves a mismatched supplier invoice from the queue: the PO closes', async () => {
    const poSku = await addItem(stack.db, undefined, { average_cost_minor: 0 });
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 5 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku: poSku, unit_cost_minor: 1_000 }).execute();
    const poId = uniqueId('po-');
    const post = (url: string, payload: object, role: Parameters<typeof authAs>[0]) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
    expect((await post('/purchase-orders', { poId, supplierId, warehouse, lines: [{ sku: poSku, qty: 4 }] }, 'buyer')).json().status).toBe('issued');
    await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 4 }] }, 'system');
    const invoiced = await post(`/purchase-orders/${poId}/invoices`, { invoiceId: 'INV-7', lines: [{ lineNo: 1, qty: 4, unitCostMinor: 1_200 }] }, 'system');
    expect(invoiced.json()).toMatchObject({ status: 'receiving', invoices: [{ matched: false }] });

    const page = await signIn('test-finance-key');
    const row = page.locator(`[data-testid="task-row"][data-reference="${poId}"]`);
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('supplier_invoice_mismatch');
    expect(await row.getByRole('link', { name: 'Temporal UI' }).getAttribute('href')).toBe(
      `${stack.config.temporalUiUrl}/namespaces/${stack.config.temporalNamespace}/workflows/po-${poId}`,
    );
    await row.getByLabel(/^Reason for/).fill('new price list agreed with the supplier');
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    await page.getByTestId('message').filter({ hasText: 'approved' }).waitFor(WAIT);
    const po = (await stack.app.inject({ method: 'GET', url: `/purchase-orders/${poId}`, headers: authAs('viewer') })).json();
    expect(po.invoices).toMatchObject([{ invoiceId: 'INV-7', status: 'approved', decision: { reason: 'new price list agreed with the supplier' } }]);
    await eventually(async () => ((await stack.db.selectFrom('purchase_orders').select('status').where('id', '=', poId).executeTakeFirst())?.status === 'closed' ? true : undefined));
    await page.close();
  }, 60_000);

  it('a buyer takes in the units of a receipt beyond tolerance from the queue', async () => {
    const poSku = await addItem(stack.db, undefined, { average_cost_minor: 0 });
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 5 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku: poSku, unit_cost_minor: 500 }).execute();
    const poId = uniqueId('po-');
    const post = (url: string, payload: object, role: Parameters<typeof authAs>[0]) => stack.app.inject({ method: 'POST', url, headers: authAs(role), payload });
    expect((await post('/purchase-orders', { poId, supplierId, warehouse, lines: [{ sku: poSku, qty: 20 }] }, 'buyer')).json().status).toBe('issued');
    // 5% tolerance takes 21; the 3 beyond wait for a decision.
    const received = await post(`/purchase-orders/${poId}/receipts`, { receiptId: 'r1', lines: [{ lineNo: 1, qty: 24 }] }, 'system');
    expect(received.json()).toMatchObject({ lines: [{ received: 21 }], excess: [{ receiptId: 'r1' }] });

    const page = await signIn('test-buyer-key');
    const row = page.locator(`[data-testid="task-row"][data-reference="${poId}"]`);
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('purchase_order_receipt_excess');
    await row.getByLabel(/^Reason for/).fill('we will sell them this month');
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    const po = (await stack.app.inject({ method: 'GET', url: `/purchase-orders/${poId}`, headers: authAs('viewer') })).json();
    expect(po.process.lines[0]).toMatchObject({ received: 24 });
    await page.close();
  }, 60_000);

  it('the KPI panel shows numbers and daily trend charts from GET /kpis/series, and the audit section the decision', async () => {
    // Ship the order released above, as the WMS would.
    const view = await eventually(async () => {
      const res = await stack.app.inject({ method: 'GET', url: `/orders/${heldOrderId}`, headers: authAs('viewer') });
      const body = res.json();
      return body.process?.shipments?.length === 1 ? body : undefined;
    });
    const shipmentId = view.process.shipments[0].shipmentId as string;
    await eventually(async () => ((await stack.app.inject({ method: 'GET', url: `/shipments/${shipmentId}`, headers: authAs('viewer') })).statusCode === 200 ? true : undefined));
    for (const payload of [{ type: 'picked' }, { type: 'packed' }, { type: 'shipped', carrier: 'UPS', tracking: '1Z999', freightCostMinor: 700 }]) {
      const res = await stack.app.inject({ method: 'POST', url: `/shipments/${shipmentId}/events`, headers: authAs('system'), payload });
      expect(res.statusCode, res.body).toBe(200);
    }
    await eventually(async () => {
      const row = await stack.db.selectFrom('orders').select('status').where('id', '=', heldOrderId).executeTakeFirst();
      return row?.status === 'shipped' ? true : undefined;
    });

    // A change whose reason is markup: the audit section must show it as text.
    const repriced = await stack.app.inject({ method: 'PUT', url: `/items/${sku}/price`, headers: authAs('ops'), payload: { priceMinor: 60_100, reason: HOSTILE } });
    expect(repriced.statusCode, repriced.body).toBe(200);

    const page = await signIn('test-finance-key');
    const today = new Date().toISOString().slice(0, 10);
    const chart = (metric: string) => page.locator(`[data-testid="chart"][data-metric="${metric}"]`);
    const todayPoint = (metric: string) => chart(metric).locator(`[data-testid="chart-point"][data-date="${today}"]`);
    await todayPoint('orders_shipped').waitFor(WAIT);

    // Fourteen days, one point each; today one order shipped, the days before none.
    const shipped = chart('orders_shipped').locator('[data-testid="chart-point"]');
    expect(await shipped.count()).toBe(14);
    expect(await todayPoint('orders_shipped').getAttribute('data-value')).toBe('1');
    expect(await shipped.first().getAttribute('data-value')).toBe('0');
    // Drawn higher than the empty days (SVG y grows downwards), and joined by a line.
    const cy = async (point: ReturnType<Page['locator']>) => Number(await point.getAttribute('cy'));
    expect(await cy(todayPoint('orders_shipped'))).toBeLessThan(await cy(shipped.first()));
    expect(await chart('orders_shipped').locator('polyline.chart-line').count()).toBe(1);
    // Rates have a point only on days with something to measure: today, on time and filled.
    expect(await chart('on_time').locator('[data-testid="chart-point"]').count()).toBe(1);
    expect(await todayPoint('on_time').getAttribute('data-value')).toBe('1');
    expect(await todayPoint('fill_rate').getAttribute('data-value')).toBe('1');
    expect(await todayPoint('fill_rate').locator('title').textContent()).toBe(`${today}: 100.0% (2 of 2)`);

    const tile = (name: string) => page.locator(`[data-testid="kpi"][data-kpi="${name}"] [data-testid="kpi-value"]`);
    expect(await tile('Fill rate').textContent()).toMatch(/^100\.0%2 of 2 units$/);
    expect(await tile('On-time shipment').textContent()).toMatch(/^100\.0%1 of 1 shipments$/);
    expect(await tile('ATP accuracy').textContent()).toMatch(/^100\.0%1 of 1 lines$/);
    expect(await tile('Fill rate').getAttribute('title')).toContain('units shipped');
    expect(await page.locator('[data-testid="aged-row"]').count()).toBe(4);
    expect(await page.locator('[data-testid="aged-row"]').first().textContent()).toContain('0-30');

    // The audit section: the hold decision with who, before and after, and why.
    const decision = page.locator(`[data-testid="audit-row"][data-subject="${heldOrderId}"]`);
    await decision.first().waitFor(WAIT);
    const text = await decision.first().textContent();
    expect(text).toContain('order.hold_decision.approve');
    expect(text).toContain('known customer, confirmed by phone');
    expect(text).toContain('"status":"on_hold"');
    expect(text).toMatch(/ops\/[0-9a-f]{8}/);
    const hostile = page.locator(`[data-testid="audit-row"][data-subject="${sku}"]`);
    expect(await hostile.first().textContent()).toContain(HOSTILE);
    expect(await page.locator('main img, main b').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();

    fs.mkdirSync(artifacts, { recursive: true });
    await page.getByTestId('kpis').screenshot({ path: path.join(artifacts, 'console-kpis.png') });
    await page.screenshot({ path: path.join(artifacts, 'console-kpis-page.png'), fullPage: true });

    // A buyer sees the KPIs but not the audit log; the page asks the API, which refuses it too.
    const buyer = await signIn('test-buyer-key');
    await buyer.locator('[data-testid="chart"][data-metric="orders_shipped"] [data-testid="chart-point"]').first().waitFor(WAIT);
    expect(await buyer.getByTestId('audit').isVisible()).toBe(false);
    await buyer.close();
    await page.close();
  }, 120_000);
});
