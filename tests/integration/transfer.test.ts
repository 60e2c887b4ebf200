import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalEntries, trialBalance } from '../../db/journal.js';
import { checkLedger } from '../../db/ledger-check.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, startTestStack, uniqueId, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  const check = await checkLedger(stack.db);
  expect(check.problems).toEqual([]);
  expect(check.ok).toBe(true);
  expect((await trialBalance(stack.db)).balanced).toBe(true);
  await stack?.stop();
});

const COST = 800;
type Role = Parameters<typeof authAs>[0];

/** A sku with `qty` units available at a fresh origin, and a fresh destination. */
async function setup(qty: number) {
  const sku = await addItem(stack.db, undefined, { average_cost_minor: COST });
  const from = await addWarehouse(stack.db);
  const to = await addWarehouse(stack.db);
  await stock(stack.db, sku, from, qty, COST);
  return { sku, from, to };
}

const submit = (body: Record<string, unknown>, role: Role = 'ops') =>
  stack.app.inject({ method: 'POST', url: '/transfers', headers: authAs(role), payload: body });
const receipt = (id: string, body: Record<string, unknown>, role: Role = 'system') =>
  stack.app.inject({ method: 'POST', url: `/transfers/${id}/receipt`, headers: authAs(role), payload: body });
const view = async (id: string) => (await stack.app.inject({ method: 'GET', url: `/transfers/${id}`, headers: authAs('viewer') })).json();

async function shipped(sku: string, from: string, to: string, qty: number) {
  const body = { transferId: uniqueId('tr-'), sku, from, to, qty, reason: 'rebalance stock' };
  const res = await submit(body);
  expect(res.statusCode, JSON.stringify(res.json())).toBe(201);
  expect(res.json()).toMatchObject({ status: 'in_transit', created: true, workflowId: `transfer-${body.transferId}` });
  return body;
}

const transferEntries = async (transferId: string) => (await journalEntries(stack.db, { reference: transferId, limit: 10 })).filter((e) => e.eventType.startsWith('transfer'));

describe('inter-warehouse transfer', () => {
  it('ships at once, shows the units as in transit at the destination, and receives them in full', async () => {
    const { sku, from, to } = await setup(10);
    const body = await shipped(sku, from, to, 4);
    expect(await balance(stack.db, sku, from, 'available')).toBe(6);
    expect(await balance(stack.db, sku, to, 'in_transit')).toBe(4);

    // In transit counts as inbound at the destination in ATP.
    const inventory = await stack.app.inject({ method: 'GET', url: `/inventory?sku=${sku}&warehouse=${to}&includeInbound=true`, headers: authAs('viewer') });
    expect(inventory.json().inventory).toEqual([expect.objectContaining({ warehouse: to, available: 0, inTransit: 4, atp: 4 })]);
    const withoutInbound = await stack.app.inject({ method: 'GET', url: `/inventory?sku=${sku}&warehouse=${to}`, headers: authAs('viewer') });
    expect(withoutInbound.json().inventory[0]).toMatchObject({ inTransit: 4, atp: 0 });

    // Idempotent on the transfer id: the same content starts nothing, other content is refused.
    const again = await submit(body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'in_transit', created: false });
    const other = await submit({ ...body, qty: 5 });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('duplicate_transfer_id');
    expect(await balance(stack.db, sku, from, 'available')).toBe(6);

    expect(await view(body.transferId)).toMatchObject({ status: 'in_transit', qty: 4, from, to, process: { status: 'in_transit' } });

    const res = await receipt(body.transferId, { received: 4 });
    expect(res.statusCode, JSON.stringify(res.json())).toBe(200);
    expect(res.json()).toMatchObject({ status: 'received', receipt: { received: 4, damaged: 0, lost: 0, lossValueMinor: 0, journalEntryId: null } });
    expect(await balance(stack.db, sku, to, 'available')).toBe(4);
    expect(await balance(stack.db, sku, to, 'in_transit')).toBe(0);
    expect(await view(body.transferId)).toMatchObject({ status: 'received', received: 4, damaged: 0, lost: 0, journalEntryId: null });
    expect(await transferEntries(body.transferId)).toEqual([]);

    // A second receipt is refused.
    const second = await receipt(body.transferId, { received: 4 });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.code).toBe('not_in_transit');
    expect(await balance(stack.db, sku, to, 'available')).toBe(4);
  });

  it('writes off units lost in transit at average cost', async () => {
    const { sku, from, to } = await setup(10);
    const body = await shipped(sku, from, to, 5);
    const res = await receipt(body.transferId, { received: 3 });
    expect(res.statusCode, JSON.stringify(res.json())).toBe(200);
    expect(res.json().receipt).toMatchObject({ received: 3, damaged: 0, lost: 2, lossValueMinor: 2 * COST });
    expect(await balance(stack.db, sku, to, 'available')).toBe(3);
    expect(await balance(stack.db, sku, to, 'in_transit')).toBe(0);
    expect(await balance(stack.db, sku, from, 'available')).toBe(5);

    const entries = await transferEntries(body.transferId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      key: `transfer-${body.transferId}:lost-in-transit`,
      eventType: 'transfer.lost_in_transit',
      lines: [
        { account: '5200', debitMinor: 1_600, creditMinor: 0 },
        { account: '1300', debitMinor: 0, creditMinor: 1_600 },
      ],
    });
    expect(await view(body.transferId)).toMatchObject({ status: 'received', received: 3, lost: 2, lossUnitCostMinor: COST, journalEntryId: entries[0]!.id });
  });

  it('puts units damaged on arrival into damaged, and refuses an over-receipt', async () => {
    const { sku, from, to } = await setup(5);
    const body = await shipped(sku, from, to, 5);

    const over = await receipt(body.transferId, { received: 5, damaged: 1 });
    expect(over.statusCode).toBe(422);
    expect(over.json().error).toMatchObject({ code: 'over_receipt', message: expect.stringMatching(/no over-receipt/) });
    expect(await balance(stack.db, sku, to, 'in_transit')).toBe(5);

    const res = await receipt(body.transferId, { received: 3, damaged: 2 });
    expect(res.statusCode, JSON.stringify(res.json())).toBe(200);
    expect(res.json().receipt).toMatchObject({ received: 3, damaged: 2, lost: 0, journalEntryId: null });
    expect(await balance(stack.db, sku, to, 'available')).toBe(3);
    expect(await balance(stack.db, sku, to, 'damaged')).toBe(2);
    expect(await balance(stack.db, sku, to, 'in_transit')).toBe(0);
    expect(await transferEntries(body.transferId)).toEqual([]);
  });

  it('is refused with the ledger\'s reason when the origin lacks stock, and writes nothing', async () => {
    const { sku, from, to } = await setup(2);
    const transferId = uniqueId('tr-');
    const res = await submit({ transferId, sku, from, to, qty: 5, reason: 'rebalance stock' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'insufficient_stock' });
    expect(res.json().error.message).toMatch(/available has 2, 5 needed/);

    expect(await balance(stack.db, sku, from, 'available')).toBe(2);
    expect(await balance(stack.db, sku, to, 'in_transit')).toBe(0);
    const movements = await stack.db.selectFrom('inventory_operations').select('idempotency_key').where('process', '=', `transfer-${transferId}`).execute();
    expect(movements).toEqual([]);
    expect(await stack.db.selectFrom('transfers').select('id').where('id', '=', transferId).execute()).toEqual([]);
    expect(await view(transferId)).toMatchObject({ status: 'refused', process: { status: 'refused', refusal: { code: 'insufficient_stock' } } });

    const again = await submit({ transferId, sku, from, to, qty: 5, reason: 'rebalance stock' });
    expect(again.statusCode).toBe(409);
    const late = await receipt(transferId, { received: 5 });
    expect(late.statusCode).toBe(409);
  });

  it('checks input and roles before writing anything', async () => {
    const { sku, from, to } = await setup(5);
    const body = { transferId: uniqueId('tr-'), sku, from, to, qty: 1, reason: 'rebalance stock' };

    // Malformed: 400. Well-formed but naming what is not there, or the same warehouse twice: 422.
    for (const [bad, status, code] of [
      [{ ...body, qty: 0 }, 400, 'invalid_request'],
      [{ ...body, to: from }, 422, 'same_warehouse'],
      [{ ...body, to: 'NOWHERE' }, 422, 'unknown_warehouse'],
      [{ ...body, sku: 'NO-SUCH-SKU' }, 422, 'unknown_sku'],
    ] as const) {
      const res = await submit(bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    for (const role of ['system', 'buyer', 'finance', 'viewer'] as const) expect((await submit(body, role)).statusCode).toBe(403);
    expect((await stack.app.inject({ method: 'POST', url: '/transfers', payload: body })).statusCode).toBe(401);
    expect((await stack.app.inject({ method: 'GET', url: `/transfers/${body.transferId}`, headers: authAs('viewer') })).statusCode).toBe(404);
    expect(await balance(stack.db, sku, from, 'available')).toBe(5);

    await shipped(sku, from, to, 1).then(async (sent) => {
      for (const role of ['ops', 'buyer', 'finance', 'viewer'] as const) expect((await receipt(sent.transferId, { received: 1 }, role)).statusCode).toBe(403);
      expect(await balance(stack.db, sku, to, 'in_transit')).toBe(1);
      expect((await receipt(sent.transferId, { received: 1 })).statusCode).toBe(200);
    });
    expect((await receipt(uniqueId('tr-'), { received: 1 })).statusCode).toBe(404);
  });
});
