import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { dependencyTrouble, unavailable, type DependencyTrouble } from './dependencies.js';
import { isRefusal, type Refusal } from '../services/refusal.js';

/** An error the API answers with its own status and code: `{"error": {code, message, details}}`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** 400: the request does not follow the documented format. */
export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'invalid_request', message, details);
/** 422: well-formed, but it cannot become a record (an unknown reference, a business rule it breaks); `code` says which. */
export const unprocessable = (code: string, message: string, details?: unknown) => new ApiError(422, code, message, details);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: unknown) => new ApiError(409, code, message, details);

/**
 * A service's refusal as the API's answer: not found 404, invalid 422, conflict 409.
 * `problemsIn` says where the fields a problem names were sent, for the answer's details.
 */
export function refusalError(refusal: Refusal, problemsIn?: 'body'): ApiError {
  switch (refusal.refused) {
    case 'not_found':
      return notFound(refusal.what);
    case 'invalid':
      return unprocessable(refusal.code, refusal.message, problemsIn ? refusal.problems.map((problem) => ({ in: problemsIn, ...problem })) : refusal.problems);
    case 'conflict':
      return conflict(refusal.code, refusal.message);
  }
}

/** A service's result, or its refusal thrown as the API's error (see `refusalError`). */
export function resultOrThrow<T>(result: T | Refusal, problemsIn?: 'body'): T {
  if (isRefusal(result)) throw refusalError(result, problemsIn);
  return result;
}

/**
 * Marks a zod refinement as a business rule: a body that fails only such rules is well-formed
 * and answers 422 with `code`, not 400. Use as the refinement's params, or spread its `params`
 * into `ctx.addIssue`.
 */
export const businessRule = (code: string, message: string, path?: PropertyKey[]) => ({
  message,
  ...(path ? { path } : {}),
  params: { unprocessable: code },
});

/** Fastify's own refusals, in the API's words. */
/** @fastify/csrf-protection's refusals: a console form without its token, or a stale one. */
const csrfCodes = new Set(['FST_CSRF_MISSING_SECRET', 'FST_CSRF_INVALID_TOKEN']);
const frameworkCodes: Record<number, string> = { 400: 'invalid_request', 413: 'body_too_large', 414: 'uri_too_long', 415: 'unsupported_media_type' };

interface ValidationIssue {
  path: string;
  message: string;
  rule?: string;
}

/**
 * The error handler, the answers for unknown paths (404) and for a known path asked with a
 * method it does not have (405, with `Allow`). Call before the routes; the 405 is decided
 * when the request arrives, before its body is read, so a body that would not parse does
 * not hide it.
 */
export interface ErrorHandlingOptions {
  /** A failure that means a dependency is down or saturated: answered 503 with Retry-After, and the monitor told. */
  onDependencyTrouble?: (trouble: DependencyTrouble) => void;
  retryAfterSeconds?: number;
}

export function registerErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  const allowed = methodsByPath(app);
  const methodNotAllowed = (request: FastifyRequest, reply: FastifyReply, methods: string[], path: string) =>
    reply
      .code(405)
      .header('allow', methods.join(', '))
      .send({ error: { code: 'method_not_allowed', message: `${path} answers ${methods.join(', ')}, not ${request.method}`, details: { allowed: methods } } });
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url) return;
    const path = request.url.split('?')[0]!;
    const methods = allowed(path);
    if (methods.length) return methodNotAllowed(request, reply, methods, path);
  });
  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues: ValidationIssue[] = error.validation.map((issue) => ({
        path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.'),
        message: issue.message ?? 'invalid',
        rule: ruleOf(issue.params),
      }));
      const details = issues.map(({ path, message, rule }) => ({ in: error.validationContext, path, message, ...(rule ? { code: rule } : {}) }));
      // Only business rules broken: the input is well-formed, it just cannot become a record.
      if (issues.every((issue) => issue.rule)) {
        return reply.code(422).send({ error: { code: issues[0]!.rule, message: summarize(issues), details } });
      }
      return reply.code(400).send({
        error: { code: 'invalid_request', message: `invalid ${error.validationContext}: ${summarize(issues)}`, details },
      });
    }
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send({
        error: { code: error.code, message: error.message, details: error.details },
      });
    }
    if (isUnstorableText(error)) {
      // Postgres refuses text it cannot store (a NUL character): the request's fault, not the server's.
      return reply.code(400).send({
        error: { code: 'invalid_request', message: 'text fields may not contain NUL (\\u0000) or characters the database cannot store' },
      });
    }
    const trouble = dependencyTrouble(error);
    if (trouble) {
      options.onDependencyTrouble?.(trouble);
      request.log.warn({ err: error, trouble }, 'dependency trouble');
      return unavailable(reply, trouble, options.retryAfterSeconds ?? 2);
    }
    const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    if (status < 500 && csrfCodes.has((error as { code?: string }).code ?? '')) {
      return reply.code(403).send({ error: { code: 'csrf_invalid', message: 'this console request came without its CSRF token, or with a stale one: reload the page and try again' } });
    }
    if (status < 500) {
      // Fastify's own refusals: malformed JSON, body too large, unsupported media type.
      const code = frameworkCodes[status] ?? ((error as { code?: string }).code ?? 'invalid_request').toLowerCase();
      return reply.code(status).send({ error: { code, message: (error as Error).message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const methods = allowed(path);
    if (methods.length) return methodNotAllowed(request, reply, methods, path);
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${path}` } });
  });
}

/** Refusals Fastify makes before a request reaches a route (a malformed URL, a path parameter too long), in the API's error shape. */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
  void reply.code(status).send({ error: { code: frameworkCodes[status] ?? 'internal', message: error.message } });
}

/** Every route's methods by its url pattern, from the routes registered after this call. */
function methodsByPath(app: FastifyInstance): (path: string) => string[] {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route) => {
    const entry = routes.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method);
    routes.set(route.url, entry);
  });
  return (path) => {
    const methods = new Set<string>();
    for (const { pattern, methods: of } of routes.values()) if (pattern.test(path)) of.forEach((m) => methods.add(m));
    return [...methods].sort();
  };
}

/** `/orders/:id` → /^\/orders\/[^/]+$/; a trailing `*` matches the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** The business rule a zod issue was marked with (see `businessRule`). */
function ruleOf(params: unknown): string | undefined {
  const marked = (params as { params?: { unprocessable?: unknown } } | undefined)?.params?.unprocessable;
  return typeof marked === 'string' ? marked : undefined;
}

/** Postgres `character_not_in_repertoire` (e.g. 0x00 in UTF-8 text) and `untranslatable_character`. */
const unstorableTextCodes = new Set(['22021', '22P05']);
function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && unstorableTextCodes.has(code) && typeof (error as { severity?: unknown }).severity === 'string';
}

function summarize(details: { path: string; message: string }[]): string {
  return details
    .slice(0, 5)
    .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    .join('; ');
}
