/**
 * The audit log of the API: every accepted change (POST, PUT, PATCH, DELETE answered 2xx)
 * leaves one row with who made it, what it was, on which record, the record before and
 * after, the reason given, and when. `GET /audit` reads them back.
 *
 * How a row is made: a preHandler hook (after auth and validation) reads the subject's
 * record as it is before the handler runs; an onSend hook writes the row once the answer
 * is known and before it leaves. What and on which record come from the route's url
 * pattern, its params and the body; a handler may say more with `request.audit`
 * (`audited(request, result, pick)`), e.g. the price before and after a price change.
 *
 * Why a hook after the handler, not the handler's own transaction: most decisions are
 * Temporal updates, and the change they make is written by the process, not by the
 * request, so there is no transaction of the request to join. The row is written before
 * the answer is sent, so a caller who got a 2xx finds it at once; if writing it fails, the
 * decision has still been taken and is in the process history (actor and reason are in
 * the update's arguments), so the answer stays 2xx and the failure is logged at error
 * level with the whole row, for someone to put back. A refused request writes nothing,
 * except a person's refused attempt (403, 409, 422: no role for it, a form without its CSRF
 * token, approving their own request, removing the last admin), which is kept with
 * `outcome: refused` so the log shows who tried what; `GET /audit?outcome=refused` reads them.
 *
 * Who reads it: ops and finance, who answer for the decisions, and viewer, the read-only
 * key an auditor is given. Buyers and system keys do not.
 */
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listAudit, subjectSnapshots, writeAudit, type AuditEntry } from '../db/audit.js';
import type { AppDeps } from './app.js';
import type { Role } from './auth.js';
import { badRequest } from './errors.js';
import { instant, pageLimit } from './schemas.js';

/** What a handler adds to its request's audit row; each field overrides what the hooks found. */
export interface AuditNote {
  action?: string;
  subjectType?: string;
  subjectId?: string;
  before?: unknown;
  after?: unknown;
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a handler to enrich the audit row of this request (see api/audit.ts). */
    audit?: AuditNote;
  }
}

export const auditReaders: readonly Role[] = ['ops', 'finance', 'viewer'];

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Refusals of a person's attempt that the log keeps: not allowed, not now, not possible. */
const REFUSALS_KEPT = new Set([403, 409, 422]);

/**
 * Route prefixes, the kind of record they change, and the body (or answer) field that names
 * that record: a return's body also names its order, so the field must be the subject's own.
 * The longest prefix wins; other routes take their first segment and any of `ID_FIELDS`.
 */
const SUBJECT_TYPES: [prefix: string, type: string, idField: string][] = [
  ['/orders', 'order', 'orderId'],
  ['/purchase-orders', 'purchase_order', 'poId'],
  ['/inventory/adjustments', 'adjustment', 'adjustmentId'],
  ['/transfers', 'transfer', 'transferId'],
  ['/vendor-returns', 'vendor_return', 'id'],
  ['/shipments', 'shipment', 'shipmentId'],
  ['/returns', 'return', 'returnId'],
  ['/items', 'item', 'sku'],
  ['/warehouses', 'warehouse', 'code'],
  ['/suppliers', 'supplier', 'id'],
  ['/channels', 'channel', 'code'],
  ['/replenishment/uplifts', 'demand_uplift', 'sku'],
  ['/replenishment/run', 'replenishment_run', 'runId'],
  ['/users', 'user', 'id'],
  ['/exceptions/cases', 'exception_case', 'id'],
];
const ID_PARAMS = ['id', 'sku', 'code', 'channel'];
const ID_FIELDS = ['orderId', 'poId', 'adjustmentId', 'transferId', 'returnId', 'rmaId', 'runId', 'sku', 'code', 'id'];
const idFieldsOf = (type: string) => {
  const known = SUBJECT_TYPES.find(([, t]) => t === type);
  return known ? [known[2]] : ID_FIELDS;
};
const DEFAULT_VERB: Record<string, string> = { POST: 'create', PUT: 'set', PATCH: 'update', DELETE: 'delete' };

const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
const firstOf = (source: Record<string, unknown>, fields: string[]) => fields.map((f) => text(source[f])).find(Boolean);

interface Subject {
  type: string;
  id: string | undefined;
  verb: string;
}

/** The record a request changes and what it does to it, from its url pattern, params and body. */
export function subjectOf(method: string, url: string, params: unknown, body: unknown): Subject {
  const known = SUBJECT_TYPES.filter(([prefix]) => url === prefix || url.startsWith(`${prefix}/`)).sort((a, b) => b[0].length - a[0].length)[0];
  const prefix = known?.[0] ?? `/${url.split('/')[1] ?? ''}`;
  const type = known?.[1] ?? (url.split('/')[1] ?? 'api').replace(/-/g, '_').replace(/s$/, '');
  const rest = url
    .slice(prefix.length)
    .split('/')
    .filter((segment) => segment && !segment.startsWith(':'))
    .map((segment) => segment.replace(/-/g, '_'));
  const verb = rest.length ? rest.join('.') : (DEFAULT_VERB[method] ?? method.toLowerCase());
  const id = firstOf(record(params), ID_PARAMS) ?? firstOf(record(body), idFieldsOf(type));
  return { type, id, verb };
}

/**
 * Passes a handler's result through, recording in its audit row the state the change led
 * to (`after`, picked from the result) and anything else the handler knows better:
 * `return sendDecision(...).then((view) => audited(request, view, (v) => ({ status: v.status })))`.
 */
export function audited<T>(request: FastifyRequest, result: T, after: (result: T) => unknown, note: Omit<AuditNote, 'after'> = {}): T {
  request.audit = { ...request.audit, ...note, after: after(result) };
  return result;
}

interface Pending {
  subject: Subject;
  before: unknown;
}

/** Adds the audit hooks to the whole app; call after auth, before the routes. */
export function registerAudit(app: FastifyInstance, { db }: Pick<AppDeps, 'db'>): void {
  const pending = new WeakMap<FastifyRequest, Pending>();

  app.addHook('preHandler', async (request) => {
    if (!MUTATING.has(request.method) || !request.role || !request.routeOptions.url) return;
    const subject = subjectOf(request.method, request.routeOptions.url, request.params, request.body);
    let before: unknown = null;
    const snapshot = subjectSnapshots[subject.type];
    // A system key creating a record (an order, a receipt) has nothing to look up before.
    const worthReading = request.role !== 'system' || ID_PARAMS.some((p) => record(request.params)[p] !== undefined);
    if (snapshot && subject.id && worthReading) {
      try {
        before = (await snapshot(db, subject.id)) ?? null;
      } catch (error) {
        request.log.warn({ err: error, subject }, 'audit: could not read the record before the change');
      }
    }
    pending.set(request, { subject, before });
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!MUTATING.has(request.method)) return payload;
    const status = reply.statusCode;
    const accepted = status >= 200 && status <= 299;
    // A person's refused attempt (no role for it, no CSRF token, their own request to
    // approve, the last admin): kept too, so the log shows who tried what.
    const refused = REFUSALS_KEPT.has(status) && request.user?.kind === 'person';
    if (!accepted && !refused) return payload;
    // Routes without a role (sign-in) and requests refused before their handler still name who and what.
    const found = pending.get(request) ?? (request.user && request.routeOptions.url ? { subject: subjectOf(request.method, request.routeOptions.url, request.params, request.body), before: null } : undefined);
    if (!found) return payload;
    const note = request.audit ?? {};
    const body = record(request.body);
    const answer = accepted ? parseAnswer(payload) : {};
    const subjectType = note.subjectType ?? found.subject.type;
    const subjectId = note.subjectId ?? found.subject.id ?? firstOf(answer, idFieldsOf(subjectType)) ?? null;
    let after = accepted ? note.after : { error: record(parseAnswer(payload).error) };
    if (after === undefined && typeof answer.status === 'string') after = { status: answer.status };
    if (after === undefined && subjectId && subjectSnapshots[subjectType]) {
      after = await subjectSnapshots[subjectType]!(db, subjectId).catch(() => undefined);
    }
    const decision = text(body.decision);
    const entry: AuditEntry = {
      actor: request.actor ?? request.role ?? 'unknown',
      role: request.role ?? 'unknown',
      automated: request.user ? request.user.kind === 'service' : request.role === 'system',
      action: note.action ?? `${subjectType}.${found.subject.verb}${decision && /^[a-z_]{1,30}$/.test(decision) ? `.${decision}` : ''}`,
      subjectType,
      subjectId,
      method: request.method,
      route: request.routeOptions.url!,
      before: note.before !== undefined ? note.before : found.before,
      after: after ?? null,
      reason: note.reason ?? text(body.reason) ?? text(body.reasonCode) ?? null,
      requestId: request.id,
      statusCode: status,
      userId: request.user?.id ?? null,
      outcome: accepted ? 'accepted' : 'refused',
    };
    try {
      await writeAudit(db, entry);
    } catch (error) {
      // Loud on purpose: the change was made and answered, its audit row is missing.
      request.log.error({ err: error, audit: entry }, 'AUDIT WRITE FAILED: a change was made without its audit row');
    }
    return payload;
  });
}

function parseAnswer(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'string' || payload.length > 256 * 1024 || !payload.startsWith('{')) return {};
  try {
    return record(JSON.parse(payload));
  } catch {
    return {};
  }
}

const entryView = z.object({
  id: z.number(),
  at: z.date(),
  actor: z.string(),
  role: z.string(),
  automated: z.boolean(),
  action: z.string(),
  subjectType: z.string(),
  subjectId: z.string().nullable(),
  method: z.string(),
  route: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  reason: z.string().nullable(),
  requestId: z.string(),
  statusCode: z.number(),
  userId: z.string().nullable(),
  outcome: z.enum(['accepted', 'refused']),
});

export const auditRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/audit',
      {
        config: { roles: auditReaders },
        schema: {
          summary: 'The audit log: accepted changes, newest first, with who, what, before and after, why and when',
          description:
            'Filters combine. `action` matches the action and the actions under it (`order.hold_decision` finds `order.hold_decision.approve`). ' +
            'The date range is half-open (from ≤ at < to). Page with `before=<nextBefore>`. Readable by ops, finance and viewer.',
          querystring: z.object({
            actor: z.string().max(100).optional(),
            role: z.string().max(20).optional(),
            action: z.string().max(100).optional(),
            subjectType: z.string().max(40).optional(),
            subjectId: z.string().max(100).optional().describe('the record: an order id, a PO id, a sku…'),
            from: instant.optional(),
            to: instant.optional(),
            automated: z.enum(['true', 'false']).optional().describe('false: only people’s changes; true: only service accounts’'),
            userId: z.string().max(40).optional().describe('one user’s changes and attempts'),
            outcome: z.enum(['accepted', 'refused', 'any']).default('accepted').describe('accepted changes (the default), people’s refused attempts, or both'),
            before: z.coerce.number().int().min(1).optional().describe('the nextBefore of the previous page'),
            limit: pageLimit(50, 500),
          }),
          response: { 200: z.object({ entries: z.array(entryView), nextBefore: z.number().nullable() }) },
        },
      },
      async (request) => {
        const q = request.query;
        const from = q.from ? new Date(q.from) : undefined;
        const to = q.to ? new Date(q.to) : undefined;
        if (from && to && from.getTime() > to.getTime()) throw badRequest('from must not be after to');
        const { rows, nextBefore } = await listAudit(db, {
          actor: q.actor,
          role: q.role,
          action: q.action,
          subjectType: q.subjectType,
          subjectId: q.subjectId,
          from,
          to,
          automated: q.automated === undefined ? undefined : q.automated === 'true',
          userId: q.userId,
          outcome: q.outcome === 'any' ? undefined : q.outcome,
          before: q.before,
          limit: q.limit,
        });
        return {
          entries: rows.map((r) => ({
            id: Number(r.id),
            at: r.at,
            actor: r.actor,
            role: r.role,
            automated: r.automated,
            action: r.action,
            subjectType: r.subject_type,
            subjectId: r.subject_id,
            method: r.method,
            route: r.route,
            before: r.before ?? null,
            after: r.after ?? null,
            reason: r.reason,
            requestId: r.request_id,
            statusCode: r.status_code,
            userId: r.user_id,
            outcome: r.outcome,
          })),
          nextBefore,
        };
      },
    );
  };
