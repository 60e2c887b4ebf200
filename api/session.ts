/**
 * Console sign-in: a person exchanges a personal token for a session kept in PostgreSQL
 * (services/sessions.ts), named by an httpOnly, SameSite=Strict cookie that is Secure behind
 * TLS and expires after SESSION_TTL. The browser never keeps the token. Every state-changing
 * request made with the cookie carries a CSRF token (header `x-csrf-token`, or `_csrf` in a
 * form), checked after the person is known so a refusal is audited under their name.
 *
 * Plugins: @fastify/cookie (signed cookies), @fastify/session (the session, with our
 * PostgreSQL store), @fastify/csrf-protection (tokens from a secret in a signed cookie).
 */
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import cookie from '@fastify/cookie';
import session from '@fastify/session';
import csrf from '@fastify/csrf-protection';
import { PostgresSessionStore, sharedSecret, sweepExpiredSessions, type SessionData } from '../services/sessions.js';
import { resolveToken } from '../services/users.js';
import type { AppDeps } from './app.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
    tokenId?: string;
  }
}

export const sessionCookie = 'ops_session';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Registers cookies, sessions and CSRF tokens; call before the auth hook. */
export async function registerSessions(app: FastifyInstance, { db, config }: Pick<AppDeps, 'db' | 'config'>): Promise<void> {
  const secret = config.session.secret ?? (await sharedSecret(db, 'session'));
  const secure = config.session.secureCookie;
  await app.register(cookie, { secret });
  await app.register(session, {
    secret,
    cookieName: sessionCookie,
    store: new PostgresSessionStore(db, config.session.ttlMs) as never,
    saveUninitialized: false,
    // A session lasts SESSION_TTL from sign-in (a working shift), however busy.
    rolling: false,
    cookie: { path: '/', httpOnly: true, sameSite: 'strict', secure, maxAge: config.session.ttlMs },
  });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'ops_csrf',
    cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true, secure, signed: true },
  });
}

/**
 * A console request that changes something must carry its CSRF token. Checked once the body
 * is read (a form sends it as `_csrf`) and before it is validated, so a forged request with
 * a bad body is still refused as forged.
 */
export function requireCsrf(app: FastifyInstance): void {
  app.addHook('preValidation', (request, reply, done) => {
    if (request.viaSession && MUTATING.has(request.method)) return app.csrfProtection(request, reply, done);
    done();
  });
}

const sessionUser = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  roles: z.array(z.string()),
  poApprovalLimitMinor: z.number().nullable(),
  refundApprovalLimitMinor: z.number().nullable(),
});
const sessionState = z.object({
  signedIn: z.boolean(),
  user: sessionUser.nullable(),
  csrfToken: z.string().describe('send as x-csrf-token with every state-changing request'),
  expiresAt: z.string().nullable(),
});

function stateOf(request: FastifyRequest, reply: FastifyReply, user: z.infer<typeof sessionUser> | null) {
  const expires = (request.session as unknown as SessionData | undefined)?.cookie?.expires;
  return { signedIn: user !== null, user, csrfToken: reply.generateCsrf(), expiresAt: user && expires ? new Date(expires).toISOString() : null };
}

export const sessionRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/console/session',
      {
        config: { public: true },
        schema: { summary: 'The console session: who is signed in, and the CSRF token for the next form', response: { 200: sessionState } },
      },
      async (request, reply) => {
        const userId = request.session.get('userId');
        if (!userId) return stateOf(request, reply, null);
        const user = await db.selectFrom('users').selectAll().where('id', '=', userId).where('disabled_at', 'is', null).executeTakeFirst();
        if (!user) {
          await request.session.destroy();
          return stateOf(request, reply, null);
        }
        return stateOf(request, reply, {
          id: user.id,
          name: user.name,
          email: user.email,
          roles: user.roles,
          poApprovalLimitMinor: user.po_approval_limit_minor,
          refundApprovalLimitMinor: user.refund_approval_limit_minor,
        });
      },
    );

    app.post(
      '/console/session',
      {
        config: { public: true },
        preValidation: app.csrfProtection,
        schema: {
          summary: 'Sign in to the console with a personal token: it is exchanged for a session cookie and not kept by the browser',
          body: z.object({ token: z.string().min(8).max(200), _csrf: z.string().max(200).optional() }),
          response: { 200: sessionState },
        },
      },
      async (request, reply) => {
        const found = await resolveToken(db, request.body.token);
        if ('refused' in found) throw new ApiError(401, found.refused === 'unknown' ? 'unauthorized' : `token_${found.refused}`, found.message);
        if (found.kind !== 'person') throw new ApiError(403, 'service_account', `${found.id} is a service account: it calls the API with its token and cannot sign in to the console`);
        // A new session id at sign-in: an id planted before cannot be ridden after.
        await request.session.regenerate();
        // Strict, always: with `secure: 'auto'` over plain HTTP the session plugin would
        // lower SameSite to Lax; the cookie is sent only now, at sign-in.
        request.session.cookie.sameSite = 'strict';
        request.session.set('userId', found.id);
        request.session.set('tokenId', found.tokenId);
        await sweepExpiredSessions(db);
        request.user = found;
        request.actor = found.id;
        request.role = found.roles[0];
        request.audit = { action: 'session.sign_in', subjectType: 'user', subjectId: found.id, after: { tokenId: found.tokenId } };
        return stateOf(request, reply, {
          id: found.id,
          name: found.name,
          email: found.email,
          roles: found.roles,
          poApprovalLimitMinor: found.poApprovalLimitMinor,
          refundApprovalLimitMinor: found.refundApprovalLimitMinor,
        });
      },
    );

    app.delete(
      '/console/session',
      {
        schema: { summary: 'Sign out: the session ends on every replica; its cookie is worth nothing after', response: { 200: z.object({ signedIn: z.literal(false) }) } },
      },
      async (request, reply) => {
        const subjectId = request.actor;
        await request.session.destroy();
        reply.clearCookie(sessionCookie, { path: '/' });
        request.audit = { action: 'session.sign_out', subjectType: 'user', subjectId };
        return { signedIn: false as const };
      },
    );
  };
