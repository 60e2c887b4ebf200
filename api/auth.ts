import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** `admin`: connector settings (and, to come, users and tokens). */
export const roles = ['system', 'ops', 'buyer', 'finance', 'viewer', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface ApiKey {
  role: Role;
  key: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed on this route; `public: true` routes need no key. */
    roles?: readonly Role[];
    public?: boolean;
  }
  interface FastifyRequest {
    role?: Role;
    /** Who is calling, for audit: the role and a short fingerprint of the key. */
    actor?: string;
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

/** One key per role, made on first local run and kept under the data folder. */
export function localApiKeys(dataDir: string): ApiKey[] {
  const file = path.join(dataDir, 'api-keys.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as ApiKey[];
  const keys = roles.map((role) => ({ role, key: `${role}_${randomBytes(12).toString('hex')}` }));
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

function roleOf(keys: ApiKey[], presented: string): Role | undefined {
  const given = Buffer.from(presented);
  for (const { role, key } of keys) {
    const expected = Buffer.from(key);
    if (expected.length === given.length && timingSafeEqual(expected, given)) return role;
  }
  return undefined;
}

/** A route as auth sees it: who may call it (`undefined` roles: any role with a key). */
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

/** Every route needs a key unless marked public; `config.roles` narrows who may call it. */
export function registerAuth(app: FastifyInstance, keys: ApiKey[]): void {
  const table: RouteAccess[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route) => {
    const config = route.config;
    for (const method of [route.method].flat()) {
      table.push({ method, url: route.url, public: config?.public === true, roles: config?.roles });
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const config = request.routeOptions.config;
    if (config?.public || !request.routeOptions.url) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <api key>');
    const role = roleOf(keys, match[1]!);
    if (!role) throw new ApiError(401, 'unauthorized', 'unknown API key');
    request.role = role;
    request.actor = `${role}/${createHash('sha256').update(match[1]!).digest('hex').slice(0, 8)}`;
    if (config?.roles && !config.roles.includes(role)) {
      throw new ApiError(403, 'forbidden', `role ${role} may not call ${request.method} ${request.routeOptions.url}`, {
        allowed: config.roles,
      });
    }
  });
}

export const anyRole = roles;
