/**
 * Exception cases, worked by people: `GET /exceptions/cases` (search, filters, paging),
 * `GET /exceptions/cases/:id` (occurrences and history), assign, comment, snooze, resolve
 * with a root cause, and `GET /exceptions/summary` by kind, cause, owner and age.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { assignCase, commentOnCase, getCase, listCases, resolveCase, snoozeCase, summarizeCases, type ExceptionCase } from '../services/exceptions.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { badRequest, resultOrThrow } from './errors.js';
import { dateTime, instant, pageLimit, reason } from './schemas.js';

/** Who works exceptions: the roles that own them. */
export const exceptionWorkers = ['ops', 'buyer', 'finance'] as const;

const caseView = z.object({
  id: z.number(),
  kind: z.string(),
  reference: z.string(),
  ownerRole: z.string(),
  status: z.enum(['open', 'snoozed', 'resolved']),
  assignee: z.string().nullable(),
  snoozedUntil: z.date().nullable(),
  cause: z.string().nullable(),
  resolutionNote: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.date().nullable(),
  openedAt: z.date(),
  lastRaisedAt: z.date(),
  occurrences: z.number().describe('how often this kind of exception was raised on this record'),
  reopened: z.number().describe('how often it recurred after being resolved'),
  ageSeconds: z.number(),
  sla: z.object({ seconds: z.number(), dueAt: z.date(), breached: z.boolean() }),
  message: z.string().nullable(),
  workflowId: z.string().nullable(),
  temporalUiUrl: z.string().nullable(),
  causes: z.array(z.string()).describe('the root causes it may be resolved with'),
});
const tally = z.array(z.object({ key: z.string(), count: z.number(), breached: z.number(), oldestAgeSeconds: z.number() }));
const params = z.object({ id: z.string().regex(/^[1-9][0-9]{0,14}$/, 'a case number') });
const causeCode = z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'a cause code such as bin_error');

export const exceptionRoutes =
  ({ db, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const historyUrl = (workflowId: string | null) => (workflowId ? `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows/${workflowId}` : null);
    const withLink = (c: ExceptionCase) => ({ ...c, temporalUiUrl: historyUrl(c.workflowId) });
    const audit = (c: ExceptionCase) => ({ status: c.status, assignee: c.assignee, snoozedUntil: c.snoozedUntil, cause: c.cause });
    const worker = { roles: exceptionWorkers };

    app.get(
      '/exceptions/cases',
      {
        schema: {
          summary: 'Exception cases: one per kind of exception on one record, with owner, age and SLA; oldest first',
          querystring: z.object({
            status: z.enum(['open', 'snoozed', 'resolved', 'all']).default('open'),
            kind: z.string().max(40).optional(),
            assignee: z.string().max(40).optional().describe('a user id, or none for unassigned'),
            ownerRole: z.enum(exceptionWorkers).optional(),
            cause: causeCode.optional(),
            q: z.string().max(100).optional().describe('searches the record, the kind and the messages'),
            offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
            limit: pageLimit(50, 200),
          }),
          response: { 200: z.object({ cases: z.array(caseView), total: z.number(), offset: z.number(), limit: z.number() }) },
        },
      },
      async (request) => {
        const { cases, total } = await listCases(db, request.query);
        return { cases: cases.map(withLink), total, offset: request.query.offset, limit: request.query.limit };
      },
    );

    app.get(
      '/exceptions/summary',
      {
        schema: {
          summary: 'Open cases by kind, owner and age (with SLA breaches), and cases resolved in the window by cause',
          querystring: z.object({ from: instant.optional(), to: instant.optional() }),
          response: {
            200: z.object({
              window: z.object({ from: z.date(), to: z.date() }),
              open: z.object({ total: z.number(), snoozed: z.number(), breached: z.number(), byKind: tally, byOwner: tally, byAge: tally }),
              resolved: z.object({ total: z.number(), byCause: tally, byKindAndCause: tally, byOwner: tally, reopened: z.number() }),
            }),
          },
        },
      },
      async (request) => {
        const to = request.query.to ? new Date(request.query.to) : new Date();
        const from = request.query.from ? new Date(request.query.from) : new Date(to.getTime() - 30 * 86_400_000);
        if (from > to) throw badRequest('from must not be after to');
        return summarizeCases(db, { from, to });
      },
    );

    app.get(
      '/exceptions/cases/:id',
      {
        schema: {
          summary: 'A case: its occurrences, its history (raised, assigned, commented, snoozed, resolved, reopened) and the causes it may be resolved with',
          params,
          response: {
            200: caseView.extend({
              suggestion: z
                .object({
                  cause: z.string(),
                  confidence: z.number().describe('probability of the cause among those the kind allows, 0–1'),
                  alternatives: z.array(z.object({ cause: z.string(), probability: z.number() })),
                  restsOn: z.array(z.number()).describe('the resolved cases of this cause most like this one'),
                  owner: z.object({ user: z.string(), share: z.number().describe('share of past cases of this cause and kind they resolved') }).nullable(),
                  trainedOn: z.number().describe('resolved cases of this kind it learned from'),
                  madeAt: z.date(),
                })
                .nullable()
                .describe('cause and owner suggested when the case opened, from the cases resolved before; null when none of its kind were'),
              raised: z.array(z.object({ id: z.string(), message: z.string(), status: z.string(), raisedAt: z.date(), resolvedAt: z.date().nullable(), workflowId: z.string().nullable(), details: z.unknown() })),
              events: z.array(z.object({ at: z.date(), actor: z.string(), kind: z.string(), note: z.string().nullable(), details: z.unknown() })),
            }),
          },
        },
      },
      async (request) => {
        const found = resultOrThrow(await getCase(db, Number(request.params.id)));
        return { ...found, temporalUiUrl: historyUrl(found.workflowId) };
      },
    );

    const act = <B extends z.ZodObject>(path: string, summary: string, body: B, run: (id: number, body: z.infer<B>, actor: string) => ReturnType<typeof assignCase>) =>
      app.post(
        `/exceptions/cases/:id/${path}`,
        { config: worker, schema: { summary, params, body, response: { 200: caseView } } },
        async (request) => {
          const { before, after } = resultOrThrow(await run(Number(request.params.id), request.body as z.infer<B>, request.actor!), 'body');
          return audited(request, withLink(after), audit, { subjectType: 'exception_case', subjectId: String(after.id), before: audit(before) });
        },
      );

    act('assign', 'Assign the case to a person (null: unassign)', z.object({ assignee: z.string().regex(/^[a-z][a-z0-9._-]{1,39}$/).nullable() }), (id, body, actor) => assignCase(db, id, body.assignee, actor));
    act('comments', 'Comment on the case', z.object({ text: z.string().trim().min(1).max(2_000) }), (id, body, actor) => commentOnCase(db, id, body.text, actor));
    act('snooze', 'Snooze the case until a time (at most 30 days): it leaves the open list until then', z.object({ until: dateTime, reason }), (id, body, actor) => snoozeCase(db, id, new Date(body.until), body.reason, actor));
    act('resolve', 'Resolve the case with a root cause from its kind’s list and a note; its open occurrences resolve too', z.object({ cause: causeCode, note: reason }), (id, body, actor) => resolveCase(db, id, body.cause, body.note, actor));
  };
