import type { FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

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

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'invalid_request', message, details);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: unknown) => new ApiError(409, code, message, details);

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const details = error.validation.map((issue) => ({
        in: error.validationContext,
        path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.'),
        message: issue.message ?? 'invalid',
      }));
      return reply.code(400).send({
        error: { code: 'invalid_request', message: `invalid ${error.validationContext}: ${summarize(details)}`, details },
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
    const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    if (status < 500) {
      // Fastify's own refusals: malformed JSON, body too large, unsupported media type.
      const code = (error as { code?: string }).code ?? 'invalid_request';
      return reply.code(status).send({ error: { code: code.toLowerCase(), message: (error as Error).message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
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
