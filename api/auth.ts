/**
 * Who is calling. A request carries a personal or service token (`Authorization: Bearer`),
 * or comes from the console with a session cookie (api/session.ts). Either way it resolves
 * to a user with roles: `request.user` is that user, `request.actor` its id (what decisions,
 * tasks and the audit log record), `request.role` the role the route was allowed under.
 * Tokens are looked up by their hash on every request, so a revoked or expired token, or a
 * disabled account, is refused on the next request on every replica.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/connection.js';
import { configuredCallers, hashToken as hashOf, resolveSessionUser, resolveToken, userRoles, type Caller, type ConfiguredKey, type TokenRefusal, type UserRole } from '../services/users.js';
import { dependencyTrouble, type DependencyMonitor } from './dependencies.js';
import { ApiError } from './errors.js';

export const roles = userRoles;
export type Role = UserRole;
export type ApiKey = ConfiguredKey;
export type { Caller };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on this route; `public: true` routes need no token. */
    roles?: readonly Role[];
    public?: boolean;
  }
  interface FastifyRequest {
    /** The role this request is allowed under: the first of the route's roles the user holds. */
    role?: Role;
    /** Who is calling: the user's id, recorded on decisions, tasks and the audit log. */
    actor?: string;
    /** The user behind the token or the console session. */
    user?: Caller;
    /** Signed in through the console (a session cookie), not a bearer token. */
    viaSession?: boolean;
  }
}

/** Parses `API_KEYS` (`role:key,role:key,...`). */
export function parseApiKeys(text: string): ApiKey[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf(':');
      const role = entry.slice(0, at) as Role;
      const key = entry.slice(at + 1);
      if (at < 1 || !roles.includes(role)) throw new Error(`API_KEYS: unknown role in "${entry.slice(0, Math.max(at, 0))}:…"`);
      if (key.length < 8) throw new Error(`API_KEYS: the ${role} key must be at least 8 characters`);
      return { role, key };
    });
}

/**
 * One service key per role (not admin), made on first local run and kept under the data
 * folder. The first admin's token is generated in the database and shown once instead.
 */
export function localApiKeys(dataDir: string): ApiKey[] {
  const file = path.join(dataDir, 'api-keys.json');
  if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as ApiKey[]).filter((k) => k.role !== 'admin');
  const keys = roles.filter((role) => role !== 'admin').map((role) => ({ role, key: `${role}_${randomBytes(12).toString('hex')}` }));
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

/** A route as auth sees it: who may call it (`undefined` roles: any role with a token). */
export interface RouteAccess {
  method: string;
  url: string;
  public: boolean;
  roles?: readonly Role[];
}

const routeTables = new WeakMap<FastifyInstance, RouteAccess[]>();

/** The access rules of every route registered after `registerAuth`, as registered (for tests and audits). */
export function routeAccess(app: FastifyInstance): readonly RouteAccess[] {
  return routeTables.get(app) ?? [];
}

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
const refusedToken = (refusal: TokenRefusal) =>
  new ApiError(401, refusal.refused === 'unknown' ? 'unauthorized' : `token_${refusal.refused}`, refusal.message);

export interface AuthDeps {
  db: Db;
  monitor: DependencyMonitor;
}

/** Every route needs a token or a console session unless marked public; `config.roles` narrows who may call it. */
export function registerAuth(app: FastifyInstance, keys: ApiKey[], deps: AuthDeps): void {
  const table: RouteAccess[] = [];
  routeTables.set(app, table);
  // Known without the database: while PostgreSQL is down, the configured keys still work
  // (the metrics scraper, health checks of systems); personal tokens need the database.
  const configured = configuredCallers(keys);

  async function callerOfToken(token: string): Promise<Caller> {
    const fallback = () => configured.get(hashOf(token));
    if (deps.monitor.isDown('postgres')) {
      const caller = fallback();
      if (caller) return caller;
    }
    let found: Caller | TokenRefusal;
    try {
      found = await resolveToken(deps.db, token);
    } catch (error) {
      const caller = dependencyTrouble(error) ? fallback() : undefined;
      if (caller) return caller;
      throw error;
    }
    if ('refused' in found) throw refusedToken(found);
    return found;
  }

  app.addHook('onRoute', (route) => {
    const config = route.config;
    for (const method of [route.method].flat()) {
      table.push({ method, url: route.url, public: config?.public === true, roles: config?.roles });
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const config = request.routeOptions.config;
    if (config?.public || !request.routeOptions.url) return;
    const header = request.headers.authorization;
    let caller: Caller;
    if (header !== undefined) {
      const match = /^Bearer (.+)$/.exec(header);
      if (!match) throw unauthorized('send Authorization: Bearer <api token>');
      caller = await callerOfToken(match[1]!);
    } else {
      const userId = request.session?.get('userId');
      const tokenId = request.session?.get('tokenId');
      if (!userId || !tokenId) throw unauthorized('sign in to the console, or send Authorization: Bearer <api token>');
      const found = await resolveSessionUser(deps.db, userId, tokenId);
      if ('refused' in found) {
        await request.session.destroy();
        throw refusedToken(found);
      }
      caller = found;
      request.viaSession = true;
    }
    request.user = caller;
    request.actor = caller.id;
    const allowed = config?.roles;
    request.role = allowed ? allowed.find((role) => caller.roles.includes(role)) : caller.roles[0];
    if (!request.role) {
      request.role = caller.roles[0];
      throw new ApiError(403, 'forbidden', `${caller.id} (${caller.roles.join(', ')}) may not call ${request.method} ${request.routeOptions.url}`, {
        allowed,
      });
    }
  });
}

export const anyRole = roles;
