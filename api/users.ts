/**
 * People and service accounts (`/users`, admin only) and a person's own tokens (`/me`).
 * A token's secret is in the answer that makes it and nowhere else; lists show its prefix,
 * when it was last used, when it expires, and whether it was revoked or rotated.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { endSessionsOf } from '../services/sessions.js';
import { createUser, getUser, issueToken, listUsers, revokeToken, rotateToken, updateUser, userRoles, type TokenSummary, type User } from '../services/users.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { resultOrThrow } from './errors.js';
import { dateTime, minor, pageLimit } from './schemas.js';

export const userId = z.string().regex(/^[a-z][a-z0-9._-]{1,39}$/, 'a handle: lower-case letters, digits, . _ - (2 to 40), starting with a letter');
const tokenIdParam = z.string().regex(/^tok_[0-9a-f]{16}$/, 'a token id such as tok_0123456789abcdef');
const role = z.enum(userRoles);
// One rule for the API and its document (a format would differ between them).
const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address').max(200);

const userView = z.object({
  id: z.string(),
  kind: z.enum(['person', 'service']),
  name: z.string(),
  email: z.string().nullable(),
  roles: z.array(role),
  poApprovalLimitMinor: z.number().nullable().describe("a buyer's own limit for approving purchase orders; null: the policy's buyer limit"),
  refundApprovalLimitMinor: z.number().nullable().describe("a finance person's own limit for approving refunds; null: no limit"),
  createdAt: z.date(),
  createdBy: z.string().nullable(),
  updatedAt: z.date(),
  disabledAt: z.date().nullable(),
});
const tokenView = z.object({
  id: z.string(),
  userId: z.string(),
  name: z.string(),
  prefix: z.string().describe('the first characters, to tell tokens apart'),
  createdAt: z.date(),
  createdBy: z.string().nullable(),
  expiresAt: z.date().nullable(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
  revokedBy: z.string().nullable(),
  rotatedTo: z.string().nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
});
const issuedToken = tokenView.extend({ token: z.string().describe('the token itself: shown this once, kept nowhere; send it as Authorization: Bearer <token>') });

const newUserBody = z
  .object({
    id: userId,
    kind: z.enum(['person', 'service']).default('person'),
    name: z.string().trim().min(1).max(200),
    email: email.optional(),
    roles: z.array(role).min(1).max(6),
    poApprovalLimitMinor: minor.nullable().optional(),
    refundApprovalLimitMinor: minor.nullable().optional(),
  })
  .strict();
const changeBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    email: email.optional(),
    roles: z.array(role).min(1).max(6).optional(),
    poApprovalLimitMinor: minor.nullable().optional(),
    refundApprovalLimitMinor: minor.nullable().optional(),
    disabled: z.boolean().optional().describe('true: the account and every token of it stop working at once, and its console sessions end'),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'change at least one field');
const newTokenBody = z
  .object({
    name: z.string().trim().min(1).max(100).describe('what the token is for: "laptop", "WMS production"'),
    expiresAt: dateTime.optional().describe('when it stops working; leave out for a token that works until revoked'),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict()
  .refine((body) => !(body.expiresAt && body.expiresInDays), { message: 'give expiresAt or expiresInDays, not both', path: ['expiresInDays'] });

const expiryOf = (body: z.infer<typeof newTokenBody>) =>
  body.expiresAt ? new Date(body.expiresAt) : body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null;
const tokenAudit = (t: TokenSummary) => ({ tokenId: t.id, prefix: t.prefix, name: t.name, status: t.status, expiresAt: t.expiresAt });
const userAudit = (u: User) => ({ kind: u.kind, name: u.name, email: u.email, roles: u.roles, poApprovalLimitMinor: u.poApprovalLimitMinor, refundApprovalLimitMinor: u.refundApprovalLimitMinor, disabled: u.disabledAt !== null });

export const userRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const admin = { roles: ['admin'] as const };
    const params = z.object({ id: userId });
    const tokenParams = z.object({ id: userId, tokenId: tokenIdParam });

    app.get(
      '/users',
      {
        config: admin,
        schema: {
          summary: 'People and service accounts, with search (id, name, e-mail), filters and paging',
          querystring: z.object({
            q: z.string().max(100).optional(),
            kind: z.enum(['person', 'service']).optional(),
            role: role.optional(),
            status: z.enum(['active', 'disabled']).optional(),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
            limit: pageLimit(50, 200),
          }),
          response: { 200: z.object({ users: z.array(userView), total: z.number(), offset: z.number(), limit: z.number() }) },
        },
      },
      async (request) => ({ ...(await listUsers(db, request.query)), offset: request.query.offset, limit: request.query.limit }),
    );

    app.post(
      '/users',
      {
        config: admin,
        schema: {
          summary: 'Add a person or a service account (the same again answers 200)',
          description: 'People need an e-mail address and may not hold the system role; service accounts may not be admins.',
          body: newUserBody,
          response: { 200: z.object({ user: userView, created: z.boolean() }), 201: z.object({ user: userView, created: z.boolean() }) },
        },
      },
      async (request, reply) => {
        const result = resultOrThrow(await createUser(db, request.body, request.actor!), 'body');
        audited(request, result, (r) => userAudit(r.user), { subjectType: 'user', subjectId: result.user.id });
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );

    app.get(
      '/users/:id',
      { config: admin, schema: { summary: 'A user with their tokens (never the tokens themselves)', params, response: { 200: userView.extend({ tokens: z.array(tokenView) }) } } },
      async (request) => resultOrThrow(await getUser(db, request.params.id)),
    );

    app.patch(
      '/users/:id',
      {
        config: admin,
        schema: {
          summary: 'Change a user: name, e-mail, roles, limits, or disable (409 last_admin: the last active admin keeps the role)',
          params,
          body: changeBody,
          response: { 200: z.object({ user: userView }) },
        },
      },
      async (request) => {
        const { before, after } = resultOrThrow(await updateUser(db, request.params.id, request.body), 'body');
        audited(request, after, userAudit, { subjectType: 'user', subjectId: after.id, before: userAudit(before) });
        return { user: after };
      },
    );

    app.delete(
      '/users/:id/sessions',
      { config: admin, schema: { summary: "Sign a user out of the console everywhere", params, response: { 200: z.object({ ended: z.number() }) } } },
      async (request) => {
        resultOrThrow(await getUser(db, request.params.id));
        const ended = await endSessionsOf(db, request.params.id);
        return audited(request, { ended }, (r) => r, { action: 'user.sessions.end', subjectType: 'user', subjectId: request.params.id });
      },
    );

    const tokenRoutes = (base: string, config: { roles?: typeof admin.roles }, owner: (request: FastifyRequest) => string, paramsOf: z.ZodObject, tokenParamsOf: z.ZodObject) => {
      app.get(
        `${base}/tokens`,
        { config, schema: { summary: 'Tokens (never the tokens themselves): prefix, last used, expiry, status', params: paramsOf, response: { 200: z.object({ tokens: z.array(tokenView) }) } } },
        async (request) => {
          const user = resultOrThrow(await getUser(db, owner(request)));
          return { tokens: user.tokens };
        },
      );
      app.post(
        `${base}/tokens`,
        { config, schema: { summary: 'Make a token: its secret is in this answer only', params: paramsOf, body: newTokenBody, response: { 201: issuedToken } } },
        async (request, reply) => {
          const issued = resultOrThrow(await issueToken(db, owner(request), { name: request.body.name, expiresAt: expiryOf(request.body) }, request.actor!), 'body');
          audited(request, issued, tokenAudit, { action: 'user.token.create', subjectType: 'user', subjectId: owner(request) });
          return reply.code(201).send(issued);
        },
      );
      app.post(
        `${base}/tokens/:tokenId/rotate`,
        { config, schema: { summary: 'A new token in place of this one, which stops working at once', params: tokenParamsOf, response: { 201: issuedToken.extend({ replaced: tokenView }) } } },
        async (request, reply) => {
          const { tokenId } = request.params as { tokenId: string };
          const { replaced, token } = resultOrThrow(await rotateToken(db, owner(request), tokenId, request.actor!));
          audited(request, token, tokenAudit, { action: 'user.token.rotate', subjectType: 'user', subjectId: owner(request), before: tokenAudit(replaced) });
          return reply.code(201).send({ ...token, replaced });
        },
      );
      app.delete(
        `${base}/tokens/:tokenId`,
        { config, schema: { summary: 'Revoke a token: the next request with it is refused, and console sessions opened with it end', params: tokenParamsOf, response: { 200: tokenView } } },
        async (request) => {
          const { tokenId } = request.params as { tokenId: string };
          const { before, after } = resultOrThrow(await revokeToken(db, owner(request), tokenId, request.actor!));
          return audited(request, after, tokenAudit, { action: 'user.token.revoke', subjectType: 'user', subjectId: owner(request), before: tokenAudit(before) });
        },
      );
    };
    tokenRoutes('/users/:id', admin, (request) => (request.params as { id: string }).id, params, tokenParams);
    // Anyone's own tokens, whatever their roles.
    tokenRoutes('/me', {}, (request) => request.actor!, z.object({}), z.object({ tokenId: tokenIdParam }));
  };
