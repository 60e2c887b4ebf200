/**
 * Named users and personal tokens: an admin adds people and service accounts, tokens are
 * shown once and stored hashed, revoking or rotating one (or disabling its user) takes effect
 * on the next request, four-eyes compares users whatever their roles, limits are a person's,
 * and the first admin comes from API_KEYS or is generated. Refused attempts by people are
 * in the audit log.
 */
import { describe, expect, it } from 'vitest';
import { hashToken, seedAccounts } from '../../services/users.js';
import { addItem, addWarehouse, balance, stock } from '../support/fixtures.js';
import { authAs, createTestDatabase, eventually, uniqueId, useTestStack } from '../support/stack.js';

const stack = useTestStack();
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown) {
  return stack.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** A person with these roles and a token of their own (made through the API, as an admin would). */
async function person(roles: string[], extra: Record<string, unknown> = {}) {
  const id = uniqueId('p-');
  const created = await call('POST', '/users', authAs('admin'), { id, name: `Person ${id}`, email: `${id}@example.test`, roles, ...extra });
  expect(created.statusCode, created.body).toBe(201);
  const token = await call('POST', `/users/${id}/tokens`, authAs('admin'), { name: 'laptop' });
  expect(token.statusCode, token.body).toBe(201);
  return { id, token: token.json().token as string, tokenId: token.json().id as string };
}

const refusedRows = (userId: string) =>
  stack.db.selectFrom('audit_log').selectAll().where('user_id', '=', userId).where('outcome', '=', 'refused').orderBy('id').execute();

describe('users and tokens', () => {
  it('an admin adds a person; the token is shown once, kept as a hash, and lets its holder in as that person', async () => {
    const alice = await person(['ops', 'viewer']);
    expect(alice.token).toMatch(/^obk_[A-Za-z0-9_-]{32}$/);
    const row = await stack.db.selectFrom('api_tokens').selectAll().where('id', '=', alice.tokenId).executeTakeFirstOrThrow();
    expect(row.hash).toBe(hashToken(alice.token));
    expect(JSON.stringify(row)).not.toContain(alice.token);
    expect(row.prefix).toBe(alice.token.slice(0, 12));

    const me = await call('GET', '/me', bearer(alice.token));
    expect(me.json()).toMatchObject({ id: alice.id, kind: 'person', roles: ['ops', 'viewer'], actor: alice.id });
    const listed = await call('GET', `/users/${alice.id}`, authAs('admin'));
    expect(listed.json().tokens).toEqual([expect.objectContaining({ id: alice.tokenId, status: 'active', prefix: row.prefix })]);
    expect(listed.body).not.toContain(alice.token);
    await eventually(async () => ((await stack.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', alice.tokenId).executeTakeFirst())?.last_used_at ? true : undefined));

    // The creation is audited under the admin, without the secret.
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('action', '=', 'user.token.create').where('subject_id', '=', alice.id).executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor: 'test-admin', user_id: 'test-admin', outcome: 'accepted' });
    expect(JSON.stringify(audit)).not.toContain(alice.token);

    // The same user again is 200; other details under the id 409; a second person with the e-mail 409.
    const again = await call('POST', '/users', authAs('admin'), { id: alice.id, name: `Person ${alice.id}`, email: `${alice.id}@example.test`, roles: ['viewer', 'ops'] });
    expect(again.statusCode).toBe(200);
    expect((await call('POST', '/users', authAs('admin'), { id: alice.id, name: 'Someone else', email: `${alice.id}@example.test`, roles: ['ops'] })).json().error.code).toBe('duplicate_user');
    expect((await call('POST', '/users', authAs('admin'), { id: uniqueId('p-'), name: 'Copy', email: `${alice.id}@example.test`, roles: ['ops'] })).json().error.code).toBe('duplicate_email');
  });

  it('refuses roles that do not fit the kind of account, and lists with search, filters and paging', async () => {
    const bad = await call('POST', '/users', authAs('admin'), { id: uniqueId('p-'), name: 'Machine admin', kind: 'service', roles: ['admin'] });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('role_not_for_kind');
    const system = await call('POST', '/users', authAs('admin'), { id: uniqueId('p-'), name: 'Person system', email: `${uniqueId()}@example.test`, roles: ['system'] });
    expect(system.json().error.code).toBe('role_not_for_kind');
    const noEmail = await call('POST', '/users', authAs('admin'), { id: uniqueId('p-'), name: 'Nobody', roles: ['ops'] });
    expect(noEmail.json().error.code).toBe('email_required');
    const wms = uniqueId('wms-');
    expect((await call('POST', '/users', authAs('admin'), { id: wms, name: 'Warehouse system', kind: 'service', roles: ['system'] })).statusCode).toBe(201);

    const found = await call('GET', `/users?q=${wms}&kind=service`, authAs('admin'));
    expect(found.json()).toMatchObject({ total: 1, users: [{ id: wms, kind: 'service', roles: ['system'] }] });
    const page = await call('GET', '/users?limit=2&offset=1', authAs('admin'));
    expect(page.json().users).toHaveLength(2);
    expect(page.json().total).toBeGreaterThan(3);
    expect((await call('GET', '/users?limit=0', authAs('admin'))).statusCode).toBe(400);
  });

  it('revoking, expiry, rotation and disabling take effect on the next request', async () => {
    const bob = await person(['viewer']);
    expect((await call('GET', '/me', bearer(bob.token))).statusCode).toBe(200);
    const revoked = await call('DELETE', `/users/${bob.id}/tokens/${bob.tokenId}`, authAs('admin'));
    expect(revoked.json()).toMatchObject({ status: 'revoked', revokedBy: 'test-admin' });
    const refused = await call('GET', '/me', bearer(bob.token));
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error).toMatchObject({ code: 'token_revoked', message: expect.stringContaining('revoked') });

    // Their own tokens, made and rotated by themselves.
    const second = await call('POST', `/users/${bob.id}/tokens`, authAs('admin'), { name: 'second', expiresInDays: 30 });
    const own = await call('POST', '/me/tokens', bearer(second.json().token), { name: 'own', expiresInDays: 7 });
    expect(own.statusCode, own.body).toBe(201);
    const rotated = await call('POST', `/me/tokens/${own.json().id}/rotate`, bearer(own.json().token));
    expect(rotated.statusCode, rotated.body).toBe(201);
    expect(rotated.json().replaced).toMatchObject({ id: own.json().id, status: 'revoked', rotatedTo: rotated.json().id });
    expect(new Date(rotated.json().expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    expect((await call('GET', '/me', bearer(own.json().token))).json().error.code).toBe('token_revoked');
    expect((await call('GET', '/me', bearer(rotated.json().token))).statusCode).toBe(200);
    expect((await call('POST', `/me/tokens/${own.json().id}/rotate`, bearer(rotated.json().token))).json().error.code).toBe('token_revoked');

    await stack.db.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1_000) }).where('id', '=', second.json().id).execute();
    expect((await call('GET', '/me', bearer(second.json().token))).json().error.code).toBe('token_expired');
    expect((await call('POST', `/users/${bob.id}/tokens`, authAs('admin'), { name: 'past', expiresAt: '2020-01-01T00:00:00Z' })).json().error.code).toBe('expiry_in_past');

    const disabled = await call('PATCH', `/users/${bob.id}`, authAs('admin'), { disabled: true });
    expect(disabled.json().user.disabledAt).not.toBeNull();
    expect((await call('GET', '/me', bearer(rotated.json().token))).json().error.code).toBe('token_disabled');
    await call('PATCH', `/users/${bob.id}`, authAs('admin'), { disabled: false });
    expect((await call('GET', '/me', bearer(rotated.json().token))).statusCode).toBe(200);
    expect((await call('GET', '/me', bearer('obk_not-a-token-anyone-has-0000000'))).json().error).toMatchObject({ code: 'unauthorized', message: 'unknown API token' });
  });

  it('a person without the admin role is refused user management, and the attempt is in the audit log', async () => {
    const carol = await person(['ops']);
    const attempt = await call('POST', '/users', bearer(carol.token), { id: uniqueId('p-'), name: 'Sneaky', email: `${uniqueId()}@example.test`, roles: ['admin'] });
    expect(attempt.statusCode).toBe(403);
    expect(attempt.json().error).toMatchObject({ code: 'forbidden', details: { allowed: ['admin'] } });
    const rows = await refusedRows(carol.id);
    expect(rows).toMatchObject([{ action: 'user.create', role: 'ops', status_code: 403, outcome: 'refused', automated: false, route: '/users' }]);
    expect(await stack.db.selectFrom('users').select('id').where('name', '=', 'Sneaky').execute()).toEqual([]);
    const read = await call('GET', `/audit?userId=${carol.id}&outcome=refused`, authAs('viewer'));
    expect(read.json().entries).toHaveLength(1);
    expect((await call('GET', `/audit?userId=${carol.id}`, authAs('viewer'))).json().entries).toHaveLength(0);
  });

  it('the last active admin keeps the role and the account', async () => {
    const admins = await stack.db.selectFrom('users').select('id').where((eb) => eb.and([eb('disabled_at', 'is', null)])).execute();
    expect(admins.length).toBeGreaterThan(0);
    const demote = await call('PATCH', '/users/test-admin', authAs('admin'), { roles: ['viewer'] });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error).toMatchObject({ code: 'last_admin', message: expect.stringContaining('last active admin') });
    expect((await call('PATCH', '/users/test-admin', authAs('admin'), { disabled: true })).json().error.code).toBe('last_admin');
    expect((await stack.db.selectFrom('users').select('roles').where('id', '=', 'test-admin').executeTakeFirstOrThrow()).roles).toEqual(['admin']);
    expect((await refusedRows('test-admin')).filter((r) => r.route === '/users/:id').map((r) => [r.status_code, r.action])).toEqual([
      [409, 'user.update'],
      [409, 'user.update'],
    ]);

    // With a second admin, the first may step down.
    const dana = await person(['admin']);
    expect((await call('PATCH', '/users/test-admin', bearer(dana.token), { roles: ['admin', 'viewer'] })).statusCode).toBe(200);
    expect((await call('PATCH', `/users/${dana.id}`, authAs('admin'), { roles: ['viewer'] })).statusCode).toBe(200);
  });
});

describe('four eyes and limits are a person’s', () => {
  it('one person holding the ops and finance roles may not approve the adjustment they asked for; another person may', async () => {
    const sku = await addItem(stack.db, undefined, { average_cost_minor: 5_000 });
    const wh = await addWarehouse(stack.db);
    await stock(stack.db, sku, wh, 100, 5_000);
    const both = await person(['ops', 'finance']);
    const adjustmentId = uniqueId('adj-');
    const submitted = await call('POST', '/inventory/adjustments', bearer(both.token), { adjustmentId, sku, warehouse: wh, reasonCode: 'cycle_count', countedQty: 70 });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const url = `/inventory/adjustments/${adjustmentId}/decision`;
    const self = await call('POST', url, bearer(both.token), { decision: 'approve', reason: 'recount confirms' });
    expect(self.statusCode).toBe(409);
    expect(self.json().error).toMatchObject({ code: 'same_person', message: expect.stringContaining(both.id) });
    expect(await balance(stack.db, sku, wh, 'available')).toBe(100);
    expect(await refusedRows(both.id)).toMatchObject([{ action: 'adjustment.decision.approve', status_code: 409, outcome: 'refused', subject_id: adjustmentId }]);

    // Two people who once shared a key are two users now: the other one's approval is taken.
    const other = await person(['finance']);
    const approved = await call('POST', url, bearer(other.token), { decision: 'approve', reason: 'recount confirms' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'posted', decision: { actor: other.id, userId: other.id } });
    const record = await eventually(async () => {
      const row = await stack.db.selectFrom('inventory_adjustments').select(['requested_by', 'decided_by', 'status']).where('id', '=', adjustmentId).executeTakeFirstOrThrow();
      return row.status === 'posted' ? row : undefined;
    });
    expect(record).toMatchObject({ requested_by: both.id, decided_by: other.id });
  });

  it("a buyer approves purchase orders up to their own limit; the drafter does not approve their own", async () => {
    const sku = await addItem(stack.db);
    const wh = await addWarehouse(stack.db);
    const supplierId = uniqueId('sup-');
    await stack.db.insertInto('suppliers').values({ id: supplierId, name: 'Supplier', default_lead_time_days: 10 }).execute();
    await stack.db.insertInto('supplier_items').values({ supplier_id: supplierId, sku, unit_cost_minor: 1_000 }).execute();
    const drafter = await person(['ops', 'buyer']);
    const small = await person(['buyer'], { poApprovalLimitMinor: 100_000 });
    const large = await person(['buyer'], { poApprovalLimitMinor: 1_000_000 });
    const poId = uniqueId('po-');
    // 300 × 10.00 = 3 000.00: under the policy's buyer limit (5 000.00), over the small buyer's own 1 000.00.
    const created = await call('POST', '/purchase-orders', bearer(drafter.token), { poId, supplierId, warehouse: wh, lines: [{ sku, qty: 300 }] });
    expect(created.statusCode, created.body).toBe(200);
    // The drafter holds buyer first in the route's roles: their PO under the limit is issued at once.
    expect(created.json().status).not.toBe('awaiting_approval');

    const poId2 = uniqueId('po-');
    const opsOnly = await person(['ops']);
    const waiting = await call('POST', '/purchase-orders', bearer(opsOnly.token), { poId: poId2, supplierId, warehouse: wh, lines: [{ sku, qty: 300 }] });
    expect(waiting.statusCode, waiting.body).toBe(202);
    await eventually(async () => ((await stack.db.selectFrom('purchase_orders').select('status').where('id', '=', poId2).executeTakeFirst())?.status === 'awaiting_approval' ? true : undefined));
    const url = `/purchase-orders/${poId2}/approval`;
    const over = await call('POST', url, bearer(small.token), { decision: 'approve', reason: 'season stock' });
    expect(over.statusCode).toBe(403);
    expect(over.json().error).toMatchObject({ code: 'over_approval_limit', details: { valueMinor: 300_000, limitMinor: 100_000 } });
    expect(await refusedRows(small.id)).toMatchObject([{ status_code: 403, subject_id: poId2 }]);
    const ok = await call('POST', url, bearer(large.token), { decision: 'approve', reason: 'season stock' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().approval.decision).toMatchObject({ actor: large.id });

    // A buyer's own limit decides whether their draft waits, and bounds what they may decide.
    const limited = await person(['buyer'], { poApprovalLimitMinor: 100_000 });
    const poId3 = uniqueId('po-');
    expect((await call('POST', '/purchase-orders', bearer(limited.token), { poId: poId3, supplierId, warehouse: wh, lines: [{ sku, qty: 300 }] })).statusCode).toBe(202);
    await eventually(async () => ((await stack.db.selectFrom('purchase_orders').select('status').where('id', '=', poId3).executeTakeFirst())?.status === 'awaiting_approval' ? true : undefined));
    const own = await call('POST', `/purchase-orders/${poId3}/approval`, bearer(limited.token), { decision: 'reject', reason: 'changed my mind' });
    expect(own.statusCode).toBe(403); // over their own limit, before four eyes is even asked
    const ownFinance = await person(['finance']);
    await stack.db.updateTable('purchase_orders').set({ created_by: ownFinance.id }).where('id', '=', poId3).execute();
    const sameDrafter = await call('POST', `/purchase-orders/${poId3}/approval`, bearer(ownFinance.token), { decision: 'approve', reason: 'my own draft' });
    expect(sameDrafter.json().error.code).toBe('same_person');
    expect((await call('POST', `/purchase-orders/${poId3}/approval`, authAs('finance'), { decision: 'reject', reason: 'not this season' })).statusCode).toBe(200);
  });
});

describe('seeding accounts from API_KEYS', () => {
  it('seeds service accounts, makes the first admin with the admin key, and changes nothing on the next start', async () => {
    const { db } = await createTestDatabase();
    try {
      const keys = [
        { role: 'system' as const, key: 'wms-key-0123456789' },
        { role: 'viewer' as const, key: 'scraper-key-0123456789' },
        { role: 'admin' as const, key: 'first-admin-key-0123456789' },
      ];
      const first = await seedAccounts(db, keys);
      expect(first).toEqual({ firstAdmin: 'admin', revokedKeys: [] });
      const users = await db.selectFrom('users').select(['id', 'kind', 'roles']).orderBy('id').execute();
      expect(users).toEqual([
        { id: 'admin', kind: 'person', roles: ['admin', 'ops', 'buyer', 'finance', 'viewer'] },
        { id: 'api-key-system', kind: 'service', roles: ['system'] },
        { id: 'api-key-viewer', kind: 'service', roles: ['viewer'] },
      ]);
      const adminToken = await db.selectFrom('api_tokens').selectAll().where('user_id', '=', 'admin').executeTakeFirstOrThrow();
      expect(adminToken.hash).toBe(hashToken('first-admin-key-0123456789'));

      await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('hash', '=', hashToken('wms-key-0123456789')).execute();
      const second = await seedAccounts(db, keys);
      expect(second).toEqual({ revokedKeys: ['system'] });
      expect(await db.selectFrom('api_tokens').select('id').execute()).toHaveLength(3);
      expect((await db.selectFrom('api_tokens').select('revoked_at').where('hash', '=', hashToken('wms-key-0123456789')).executeTakeFirstOrThrow()).revoked_at).not.toBeNull();
    } finally {
      await db.destroy();
    }
  });

  it('without an admin key, generates the first admin token once', async () => {
    const { db } = await createTestDatabase();
    try {
      const [a, b] = await Promise.all([seedAccounts(db, [{ role: 'system', key: 'wms-key-0123456789' }]), seedAccounts(db, [{ role: 'system', key: 'wms-key-0123456789' }])]);
      const generated = [a, b].filter((r) => r.generatedAdminToken);
      expect(generated).toHaveLength(1);
      expect(generated[0]!.generatedAdminToken).toMatch(/^obk_/);
      const token = await db.selectFrom('api_tokens').selectAll().where('user_id', '=', 'admin').executeTakeFirstOrThrow();
      expect(token.hash).toBe(hashToken(generated[0]!.generatedAdminToken!));
      expect((await seedAccounts(db, [])).generatedAdminToken).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });
});
