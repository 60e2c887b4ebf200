/**
 * People and service accounts, and their API tokens. A token is shown once when it is made
 * and kept only as its SHA-256: a lookup hashes what was presented and finds the row, so a
 * revoked or expired token is refused on the very next request, on every replica. The
 * tokens configured in `API_KEYS` are seeded as service accounts' tokens; when no person has
 * an account yet, the first admin is made with the configured admin key or a generated one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/connection.js';
import type { ApiTokensTable, UserKind, UsersTable } from '../db/schema-people.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export const userRoles = ['system', 'ops', 'buyer', 'finance', 'viewer', 'admin'] as const;
export type UserRole = (typeof userRoles)[number];

/** A key from `API_KEYS` (or a test's): the role it was configured for, and optionally whose it is. */
export interface ConfiguredKey {
  role: UserRole;
  key: string;
  /** Whose token it is; by default the service account `api-key-<role>`. */
  user?: { id: string; name: string; kind: UserKind; email?: string; roles?: UserRole[] };
}

/** Who a token belongs to, as the API sees the caller. */
export interface Caller {
  id: string;
  kind: UserKind;
  name: string;
  email: string | null;
  roles: UserRole[];
  poApprovalLimitMinor: number | null;
  refundApprovalLimitMinor: number | null;
  tokenId: string;
}

export interface User {
  id: string;
  kind: UserKind;
  name: string;
  email: string | null;
  roles: UserRole[];
  poApprovalLimitMinor: number | null;
  refundApprovalLimitMinor: number | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
  disabledAt: Date | null;
}

export interface TokenSummary {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  createdBy: string | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  rotatedTo: string | null;
  status: 'active' | 'expired' | 'revoked';
}

/** A token as made: the secret is in this answer and nowhere else. */
export interface IssuedToken extends TokenSummary {
  token: string;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => `obk_${randomBytes(24).toString('base64url')}`;
const prefixOf = (token: string) => (token.startsWith('obk_') ? token.slice(0, 12) : `${token.slice(0, 4)}…`);
const tokenId = () => `tok_${randomBytes(8).toString('hex')}`;

export const userView = (row: Selectable<UsersTable>): User => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  email: row.email,
  roles: row.roles as UserRole[],
  poApprovalLimitMinor: row.po_approval_limit_minor,
  refundApprovalLimitMinor: row.refund_approval_limit_minor,
  createdAt: row.created_at,
  createdBy: row.created_by,
  updatedAt: row.updated_at,
  disabledAt: row.disabled_at,
});

export function tokenView(row: Selectable<ApiTokensTable>, now = new Date()): TokenSummary {
  const status = row.revoked_at ? 'revoked' : row.expires_at && row.expires_at <= now ? 'expired' : 'active';
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
    rotatedTo: row.rotated_to,
    status,
  };
}

/** Why a presented token does not let its holder in; the message says which, for a person to act on. */
export type TokenRefusal = { refused: 'unknown' | 'revoked' | 'expired' | 'disabled'; message: string };

/** The user a token belongs to, or why it is refused. Marks the token used (at most once a minute). */
export async function resolveToken(db: Db, token: string, now = new Date()): Promise<Caller | TokenRefusal> {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select([
      't.id as token_id',
      't.expires_at',
      't.revoked_at',
      't.last_used_at',
      'u.id',
      'u.kind',
      'u.name',
      'u.email',
      'u.roles',
      'u.po_approval_limit_minor',
      'u.refund_approval_limit_minor',
      'u.disabled_at',
    ])
    .where('t.hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row) return { refused: 'unknown', message: 'unknown API token' };
  if (row.revoked_at) return { refused: 'revoked', message: `this token was revoked at ${row.revoked_at.toISOString()}` };
  if (row.expires_at && row.expires_at <= now) return { refused: 'expired', message: `this token expired at ${row.expires_at.toISOString()}` };
  if (row.disabled_at) return { refused: 'disabled', message: `the account ${row.id} is disabled` };
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
    // Not awaited: the time a token was last used is a hint, never worth delaying a request.
    void db
      .updateTable('api_tokens')
      .set({ last_used_at: now })
      .where('id', '=', row.token_id)
      .execute()
      .catch(() => undefined);
  }
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    email: row.email,
    roles: row.roles as UserRole[],
    poApprovalLimitMinor: row.po_approval_limit_minor,
    refundApprovalLimitMinor: row.refund_approval_limit_minor,
    tokenId: row.token_id,
  };
}

/** The caller behind a console session: its user and the token it was opened with must both still be good. */
export async function resolveSessionUser(db: Db, userId: string, tokenIdOfSession: string, now = new Date()): Promise<Caller | TokenRefusal> {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id as token_id', 't.expires_at', 't.revoked_at', 'u.id', 'u.kind', 'u.name', 'u.email', 'u.roles', 'u.po_approval_limit_minor', 'u.refund_approval_limit_minor', 'u.disabled_at'])
    .where('t.id', '=', tokenIdOfSession)
    .where('u.id', '=', userId)
    .executeTakeFirst();
  if (!row) return { refused: 'unknown', message: 'the session is not valid; sign in again' };
  if (row.revoked_at) return { refused: 'revoked', message: 'the token this session was opened with has been revoked; sign in again' };
  if (row.expires_at && row.expires_at <= now) return { refused: 'expired', message: 'the token this session was opened with has expired; sign in again' };
  if (row.disabled_at) return { refused: 'disabled', message: `the account ${row.id} is disabled` };
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    email: row.email,
    roles: row.roles as UserRole[],
    poApprovalLimitMinor: row.po_approval_limit_minor,
    refundApprovalLimitMinor: row.refund_approval_limit_minor,
    tokenId: row.token_id,
  };
}

/** The account a configured key belongs to when the key says nothing else. */
export const serviceAccountOf = (role: UserRole) => ({ id: `api-key-${role}`, name: `API_KEYS ${role} key`, kind: 'service' as const, roles: [role] });

/** The callers of the configured keys, known without the database (used while it is down). */
export function configuredCallers(keys: ConfiguredKey[]): Map<string, Caller> {
  const callers = new Map<string, Caller>();
  for (const key of keys) {
    if (key.role === 'admin' && !key.user) continue;
    const user = key.user ?? serviceAccountOf(key.role);
    callers.set(hashToken(key.key), {
      id: user.id,
      kind: user.kind,
      name: user.name,
      email: key.user?.email ?? null,
      roles: key.user?.roles ?? [key.role],
      poApprovalLimitMinor: null,
      refundApprovalLimitMinor: null,
      tokenId: `configured:${user.id}`,
    });
  }
  return callers;
}

export interface SeedResult {
  /** The first admin's token, when one was generated now; shown once, kept nowhere. */
  generatedAdminToken?: string;
  /** The first admin was made now (with the configured admin key, or a generated token). */
  firstAdmin?: string;
  /** Configured keys that were revoked through the API: they stay revoked. */
  revokedKeys: UserRole[];
}

export const firstAdminId = 'admin';

/**
 * Seeds the accounts of the configured keys, and the first admin when no person has an
 * account yet. Safe to run on every start and from several replicas at once.
 */
export async function seedAccounts(db: Db, keys: ConfiguredKey[]): Promise<SeedResult> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('seed_accounts'))`.execute(trx);
    const result: SeedResult = { revokedKeys: [] };
    const noPeople = !(await trx.selectFrom('users').select('id').where('kind', '=', 'person').limit(1).executeTakeFirst());
    const seeded: { key: ConfiguredKey; userId: string }[] = [];
    for (const key of keys) {
      if (key.role === 'admin' && !key.user) continue;
      const user = key.user ?? serviceAccountOf(key.role);
      await trx
        .insertInto('users')
        .values({ id: user.id, kind: user.kind, name: user.name, email: key.user?.email ?? null, roles: key.user?.roles ?? [key.role], created_by: 'API_KEYS' })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      seeded.push({ key, userId: user.id });
    }
    const adminKey = keys.find((k) => k.role === 'admin' && !k.user);
    if (noPeople && !keys.some((k) => k.user?.kind === 'person')) {
      const token = adminKey?.key ?? newToken();
      await trx
        .insertInto('users')
        .values({ id: firstAdminId, kind: 'person', name: 'Administrator', email: 'admin@localhost', roles: ['admin', 'ops', 'buyer', 'finance', 'viewer'], created_by: 'first start' })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      seeded.push({ key: { role: 'admin', key: token }, userId: firstAdminId });
      result.firstAdmin = firstAdminId;
      if (!adminKey) result.generatedAdminToken = token;
    }
    for (const { key, userId } of seeded) {
      const hash = hashToken(key.key);
      const existing = await trx.selectFrom('api_tokens').select(['revoked_at', 'user_id']).where('hash', '=', hash).executeTakeFirst();
      if (existing?.revoked_at) result.revokedKeys.push(key.role);
      if (existing) continue;
      await trx
        .insertInto('api_tokens')
        .values({ id: tokenId(), user_id: userId, name: key.role === 'admin' ? 'first admin token' : `API_KEYS ${key.role}`, prefix: prefixOf(key.key), hash, seeded_role: key.role, created_by: 'API_KEYS' })
        .execute();
    }
    return result;
  });
}

export interface UserQuery {
  q?: string;
  kind?: UserKind;
  role?: UserRole;
  status?: 'active' | 'disabled';
  offset: number;
  limit: number;
}

export async function listUsers(db: Db, query: UserQuery): Promise<{ users: User[]; total: number }> {
  let base = db.selectFrom('users');
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base = base.where((eb) => eb.or([eb('id', 'ilike', like), eb('name', 'ilike', like), eb('email', 'ilike', like)]));
  }
  if (query.kind) base = base.where('kind', '=', query.kind);
  if (query.role) base = base.where(sql<boolean>`${query.role} = any(roles)`);
  if (query.status) base = base.where('disabled_at', query.status === 'active' ? 'is' : 'is not', null);
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('kind').orderBy('id').offset(query.offset).limit(query.limit).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { users: rows.map(userView), total: Number(count.n) };
}

export async function getUser(db: Db, id: string): Promise<(User & { tokens: TokenSummary[] }) | Refusal> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return refuse.notFound(`user ${id}`);
  const tokens = await db.selectFrom('api_tokens').selectAll().where('user_id', '=', id).orderBy('created_at', 'desc').execute();
  return { ...userView(row), tokens: tokens.map((t) => tokenView(t)) };
}

export interface NewUser {
  id: string;
  kind: UserKind;
  name: string;
  email?: string | null;
  roles: UserRole[];
  poApprovalLimitMinor?: number | null;
  refundApprovalLimitMinor?: number | null;
}

/** Roles a kind of account may hold: machines are not admins, people do not act as the system. */
function roleProblems(kind: UserKind, roles: UserRole[]): refuse.Problem[] {
  const problems: refuse.Problem[] = [];
  if (kind === 'person' && roles.includes('system')) problems.push({ path: 'roles', message: 'the system role is for service accounts, not people', code: 'role_not_for_kind' });
  if (kind === 'service' && roles.includes('admin')) problems.push({ path: 'roles', message: 'a service account cannot be an admin', code: 'role_not_for_kind' });
  return problems;
}

export async function createUser(db: Db, input: NewUser, by: string): Promise<{ user: User; created: boolean } | Refusal> {
  const problems = roleProblems(input.kind, input.roles);
  if (input.kind === 'person' && !input.email) problems.push({ path: 'email', message: 'a person needs an e-mail address', code: 'email_required' });
  if (problems.length) return refuse.invalid(problems[0]!.code!, problems.map((p) => p.message).join('; '), problems);
  const existing = await db.selectFrom('users').selectAll().where('id', '=', input.id).executeTakeFirst();
  const email = input.email?.toLowerCase() ?? null;
  if (existing) {
    const same =
      existing.kind === input.kind &&
      existing.name === input.name &&
      existing.email === email &&
      [...existing.roles].sort().join() === [...input.roles].sort().join() &&
      existing.po_approval_limit_minor === (input.poApprovalLimitMinor ?? null) &&
      existing.refund_approval_limit_minor === (input.refundApprovalLimitMinor ?? null);
    return same ? { user: userView(existing), created: false } : refuse.conflict('duplicate_user', `user ${input.id} exists with other details`);
  }
  if (email && (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst())) {
    return refuse.conflict('duplicate_email', `another user has the e-mail address ${email}`);
  }
  const row = await db
    .insertInto('users')
    .values({
      id: input.id,
      kind: input.kind,
      name: input.name,
      email,
      roles: [...new Set(input.roles)],
      po_approval_limit_minor: input.poApprovalLimitMinor ?? null,
      refund_approval_limit_minor: input.refundApprovalLimitMinor ?? null,
      created_by: by,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) return refuse.conflict('duplicate_user', `user ${input.id} was created at the same time with other details`);
  return { user: userView(row), created: true };
}

export interface UserChange {
  name?: string;
  email?: string;
  roles?: UserRole[];
  poApprovalLimitMinor?: number | null;
  refundApprovalLimitMinor?: number | null;
  disabled?: boolean;
}

/**
 * Changes a user. Taking the admin role from (or disabling) the last active admin is
 * refused: nobody could manage users any more. Disabling a user ends their console sessions.
 */
export async function updateUser(db: Db, id: string, change: UserChange): Promise<{ before: User; after: User } | Refusal> {
  return db.transaction().execute(async (trx) => {
    // One change to admins at a time, so two admins cannot remove each other at once.
    await sql`select pg_advisory_xact_lock(hashtext('user_admins'))`.execute(trx);
    const row = await trx.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) return refuse.notFound(`user ${id}`);
    const roles = change.roles ? [...new Set(change.roles)] : (row.roles as UserRole[]);
    const problems = roleProblems(row.kind, roles);
    if (problems.length) return refuse.invalid(problems[0]!.code!, problems.map((p) => p.message).join('; '), problems);
    const disabled = change.disabled === undefined ? row.disabled_at !== null : change.disabled;
    const wasAdmin = row.roles.includes('admin') && row.disabled_at === null;
    const staysAdmin = roles.includes('admin') && !disabled;
    if (wasAdmin && !staysAdmin) {
      const others = await trx
        .selectFrom('users')
        .select('id')
        .where('id', '!=', id)
        .where('disabled_at', 'is', null)
        .where(sql<boolean>`'admin' = any(roles)`)
        .limit(1)
        .executeTakeFirst();
      if (!others) return refuse.conflict('last_admin', `${id} is the last active admin: make someone else an admin first`);
    }
    const email = change.email?.toLowerCase();
    if (email && email !== row.email && (await trx.selectFrom('users').select('id').where('email', '=', email).where('id', '!=', id).executeTakeFirst())) {
      return refuse.conflict('duplicate_email', `another user has the e-mail address ${email}`);
    }
    const updated = await trx
      .updateTable('users')
      .set({
        name: change.name ?? row.name,
        email: email ?? row.email,
        roles,
        po_approval_limit_minor: change.poApprovalLimitMinor === undefined ? row.po_approval_limit_minor : change.poApprovalLimitMinor,
        refund_approval_limit_minor: change.refundApprovalLimitMinor === undefined ? row.refund_approval_limit_minor : change.refundApprovalLimitMinor,
        disabled_at: disabled ? (row.disabled_at ?? new Date()) : null,
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (disabled) await trx.deleteFrom('console_sessions').where('user_id', '=', id).execute();
    return { before: userView(row), after: userView(updated) };
  });
}

export interface NewToken {
  name: string;
  /** When it stops working; none: until revoked. */
  expiresAt?: Date | null;
}

export async function issueToken(db: Db, userId: string, input: NewToken, by: string): Promise<IssuedToken | Refusal> {
  const user = await db.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
  if (!user) return refuse.notFound(`user ${userId}`);
  if (user.disabled_at) return refuse.conflict('user_disabled', `${userId} is disabled: enable the account before giving it a token`);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    return refuse.invalid('expiry_in_past', 'a token must expire in the future', [{ path: 'expiresAt', message: 'must be in the future', code: 'expiry_in_past' }]);
  }
  const token = newToken();
  const row = await db
    .insertInto('api_tokens')
    .values({ id: tokenId(), user_id: userId, name: input.name, prefix: prefixOf(token), hash: hashToken(token), expires_at: input.expiresAt ?? null, created_by: by })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...tokenView(row), token };
}

/** Ends a token now: the next request with it is refused, and so are the console sessions opened with it. */
export async function revokeToken(db: Db, userId: string, id: string, by: string): Promise<{ before: TokenSummary; after: TokenSummary } | Refusal> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('api_tokens').selectAll().where('id', '=', id).where('user_id', '=', userId).forUpdate().executeTakeFirst();
    if (!row) return refuse.notFound(`token ${id} of ${userId}`);
    if (row.revoked_at) return { before: tokenView(row), after: tokenView(row) };
    const after = await trx.updateTable('api_tokens').set({ revoked_at: new Date(), revoked_by: by }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await trx.deleteFrom('console_sessions').where('token_id', '=', id).execute();
    return { before: tokenView(row), after: tokenView(after) };
  });
}

/** A new token in place of an old one (same name, same remaining lifetime); the old one is revoked at once. */
export async function rotateToken(db: Db, userId: string, id: string, by: string): Promise<{ replaced: TokenSummary; token: IssuedToken } | Refusal> {
  const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  if (!row) return refuse.notFound(`token ${id} of ${userId}`);
  const status = tokenView(row).status;
  if (status !== 'active') return refuse.conflict(`token_${status}`, `token ${id} is ${status}; make a new one instead`);
  const lifetime = row.expires_at ? row.expires_at.getTime() - row.created_at.getTime() : null;
  const issued = await issueToken(db, userId, { name: row.name, expiresAt: lifetime ? new Date(Date.now() + lifetime) : null }, by);
  if (refuse.isRefusal(issued)) return issued;
  const revoked = await db.transaction().execute(async (trx) => {
    const after = await trx
      .updateTable('api_tokens')
      .set({ revoked_at: new Date(), revoked_by: by, rotated_to: issued.id })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    await trx.deleteFrom('console_sessions').where('token_id', '=', id).execute();
    return after;
  });
  if (!revoked) {
    // Revoked by someone else meanwhile: the new token must not outlive the decision.
    await db.updateTable('api_tokens').set({ revoked_at: new Date(), revoked_by: by }).where('id', '=', issued.id).execute();
    return refuse.conflict('token_revoked', `token ${id} was revoked while it was being rotated`);
  }
  return { replaced: tokenView(revoked), token: issued };
}
