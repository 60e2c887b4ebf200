import { describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { authAs, eventually, useTestStack, uniqueId } from '../support/stack.js';
import { orderWorkflowId } from '../../contracts/order.js';

const stack = useTestStack();

const anOrder = (orderId: string, overrides: Record<string, unknown> = {}) => ({
  orderId,
  channel: 'dtc',
  customerId: uniqueId('cust-'),
  shipTo: { country: 'US', region: 'NY', lat: 40.7, lon: -74 },
  lines: [{ sku: 'TEE-BLK-M', qty: 2, unitPriceMinor: 1_999, taxMinor: 320 }],
  freightMinor: 499,
  ...overrides,
});

async function orderCount(): Promise<number> {
  const row = await stack.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('API auth and errors', () => {
  it('answers /health without a key and reports both services', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', postgres: { ok: true }, temporal: { ok: true } });
  });

  it('refuses a request without a key (401) or with an unknown key (401)', async () => {
    const none = await stack.app.inject({ method: 'POST', url: '/orders', payload: anOrder(uniqueId()) });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthorized');
    const wrong = await stack.app.inject({
      method: 'GET',
      url: '/orders/x1',
      headers: { authorization: 'Bearer not-a-key' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('refuses a role that may not start processes (403) and starts nothing', async () => {
    const orderId = uniqueId('ord-');
    const res = await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('viewer'), payload: anOrder(orderId) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'forbidden' });
    await expect(stack.client.workflow.getHandle(orderWorkflowId(orderId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('answers bad input with 400 naming each bad field, and writes nothing', async () => {
    const before = await orderCount();
    const orderId = uniqueId('ord-');
    const res = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: anOrder(orderId, {
        channel: 'telepathy',
        lines: [
          { sku: 'TEE-BLK-M', qty: -1, unitPriceMinor: 10 },
          { sku: 'TEE-BLK-M', qty: 1, unitPriceMinor: 1.5 },
        ],
      }),
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('invalid_request');
    const paths = body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['channel', 'lines.0.qty', 'lines.1.unitPriceMinor']));
    expect(await orderCount()).toBe(before);
    await expect(stack.client.workflow.getHandle(orderWorkflowId(orderId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('refuses duplicate line numbers with 422 and malformed JSON with 400', async () => {
    const dup = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: anOrder(uniqueId(), {
        lines: [
          { lineNo: 1, sku: 'TEE-BLK-M', qty: 1, unitPriceMinor: 10 },
          { lineNo: 1, sku: 'TEE-BLK-L', qty: 1, unitPriceMinor: 10 },
        ],
      }),
    });
    expect(dup.statusCode).toBe(422);
    expect(dup.json().error).toMatchObject({ code: 'repeated_line_number', message: expect.stringContaining('duplicate line number 1') });
    const broken = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...authAs('system'), 'content-type': 'application/json' },
      payload: '{"orderId": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.message).toBeTruthy();
  });

  it('serves the OpenAPI document', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().paths)).toEqual(expect.arrayContaining(['/orders', '/orders/{id}', '/health']));
  });
});

describe('an order, end to end through the worker', () => {
  it('starts order-<id>, records the order in Postgres, and answers GET from both', async () => {
    const orderId = uniqueId('ord-');
    const body = anOrder(orderId);
    const res = await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: body });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ orderId, workflowId: `order-${orderId}`, created: true });

    const view = await eventually(async () => {
      const got = await stack.app.inject({ method: 'GET', url: `/orders/${orderId}`, headers: authAs('viewer') });
      return got.json().record ? got.json() : undefined;
    });
    expect(view.record).toMatchObject({
      channel: 'dtc',
      customerId: body.customerId,
      totalMinor: 2 * 1_999 + 320 + 499,
      lines: [{ lineNo: 1, sku: 'TEE-BLK-M', qty: 2, unitPriceMinor: 1_999, taxMinor: 320, discountMinor: 0 }],
    });
    expect(view.process.orderId).toBe(orderId);
    expect(view.temporalUiUrl).toContain(`/workflows/order-${orderId}`);
  });

  it('starts nothing new for a repeated order id, and refuses the id with different content (409)', async () => {
    const orderId = uniqueId('ord-');
    const body = anOrder(orderId);
    const first = await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: body });
    expect(first.statusCode).toBe(201);
    const firstRun = (await stack.client.workflow.getHandle(`order-${orderId}`).describe()).runId;

    const again = await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: body });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, orderId });
    expect((await stack.client.workflow.getHandle(`order-${orderId}`).describe()).runId).toBe(firstRun);

    const changed = await stack.app.inject({
      method: 'POST',
      url: '/orders',
      headers: authAs('system'),
      payload: { ...body, freightMinor: 0 },
    });
    expect(changed.statusCode).toBe(409);
    expect(changed.json().error.code).toBe('duplicate_order_id');
    const rows = await stack.db.selectFrom('orders').selectAll().where('id', '=', orderId).execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses an order id whose earlier process Temporal has forgotten (409), starting nothing', async () => {
    const orderId = uniqueId('ord-');
    // An order placed long ago: its record stays, its process has aged out of Temporal's retention.
    await stack.db
      .insertInto('orders')
      .values({
        id: orderId,
        workflow_id: `order-${orderId}`,
        channel: 'dtc',
        customer_id: 'cust-1',
        currency: 'USD',
        status: 'shipped',
        ship_to: JSON.stringify({ country: 'US', region: 'NY', lat: 40.7, lon: -74 }),
        freight_minor: 0,
        total_minor: 1_000,
      })
      .execute();
    const handle = stack.client.workflow.getHandle(`order-${orderId}`);
    await expect(handle.describe()).rejects.toThrow(WorkflowNotFoundError);

    const reused = await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: anOrder(orderId) });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error).toMatchObject({ code: 'order_id_used' });
    expect(reused.json().error.message).toContain('(now shipped); send a new order id');
    await expect(handle.describe()).rejects.toThrow(WorkflowNotFoundError);
  });

  it('is findable in Temporal by its search attributes', async () => {
    const orderId = uniqueId('ord-');
    const body = anOrder(orderId, { channel: 'wholesale' });
    await stack.app.inject({ method: 'POST', url: '/orders', headers: authAs('system'), payload: body });
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of stack.client.workflow.list({
        query: `CustomerId = "${body.customerId}" AND Channel = "wholesale"`,
      })) {
        ids.push(wf.workflowId);
      }
      return ids.length ? ids : undefined;
    });
    expect(found).toEqual([`order-${orderId}`]);
  });

  it('answers 404 for an order nobody submitted', async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/orders/${uniqueId('none-')}`, headers: authAs('viewer') });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});
