/**
 * The error answers in the OpenAPI document. Each route declares, in the one error shape,
 * every error status it can answer, added here when the route is registered rather than by
 * each route: what follows from the route's shape (its inputs, its path parameters, who may
 * call it, whether it takes a body), the refusals its handler gives (`handlerRefusals`), and
 * what any route may answer (429, 500, 503). A route without a success schema gets a plain
 * 200, as the document had before. docs/api.md says what each status means to a client.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { roles } from './auth.js';

/** The body of every error answer's `error` field. */
export const apiError = z
  .object({
    code: z.string().describe('what went wrong, in snake_case; stable for clients to branch on'),
    message: z.string().describe('the same for a person'),
    details: z.unknown().optional().describe('per field or per record, where there is more to say'),
  })
  .meta({ id: 'ApiError' });

const answer = (description: string) => z.object({ error: apiError }).describe(description);

export const errorAnswers = {
  400: answer('Malformed input: not JSON, a wrong type, a missing field, a value outside its documented range or pattern. Nothing was written.'),
  401: answer('No token or console session, or one that is unknown, expired or revoked, or whose user is disabled.'),
  403: answer("The user's roles do not allow this route (or, for an approval, not at this value, or not by the person who asked); or a console request without its CSRF token."),
  404: answer('The record the path names does not exist.'),
  409: answer('A conflicting duplicate (the same id with other content), or a decision or event the process is not waiting for. Nothing was written.'),
  413: answer('The body is larger than 1 MiB.'),
  414: answer('A path parameter is longer than any id the API knows.'),
  415: answer('The body is not application/json.'),
  422: answer('Well-formed, but it cannot become a record: a reference to a record that does not exist, or a business rule it breaks. `code` says which. Nothing was written.'),
  429: answer('More requests a minute than this key may make; retry after the time in the Retry-After header.'),
  500: answer('The server failed; the answer says nothing more. Retrying is safe on the idempotent write routes.'),
  503: answer('A service the API depends on is unavailable; retry later.'),
} as const;
type ErrorStatus = keyof typeof errorAnswers;

/**
 * Refusals that a handler gives beyond what its route's shape tells: 409 and 422 on the
 * writes that answer them, and 404 for a record named outside the path. Every write route
 * is listed, with nothing when it has none of these (tests/integration/contract.test.ts
 * checks that the table and the routes agree).
 */
export const handlerRefusals: Record<string, readonly (401 | 403 | 404 | 409 | 422)[]> = {
  'POST /orders': [409, 422],
  'PUT /fx-rates': [422],
  'POST /payments/received': [409, 422],
  'POST /settlements': [409, 422],
  'POST /periods/:period/close': [409, 422],
  'POST /periods/:period/reopen': [409, 422],
  'POST /orders/:id/hold-decision': [409],
  'POST /orders/:id/cancel': [409],
  'POST /orders/import': [409],
  'POST /shipments/:id/events': [409, 422],
  'PUT /warehouses/:code/locations': [422],
  'POST /transfers': [409, 422],
  'POST /transfers/:id/receipt': [409, 422],
  'POST /vendor-returns/:id/ship': [409],
  'POST /returns': [409, 422],
  'POST /returns/:id/receipt': [409, 422],
  'POST /returns/:id/inspection': [409],
  'POST /returns/:id/refund-approval': [409],
  'POST /returns/:id/refurbishment': [409, 422],
  'POST /items': [409, 422],
  'PUT /items/:sku/price': [],
  'PATCH /items/:sku': [422],
  'PATCH /suppliers/:id': [422],
  'POST /warehouses': [409, 422],
  'POST /suppliers': [409, 422],
  'POST /channels': [],
  'PUT /channels/:channel/webhook': [],
  'DELETE /channels/:channel/webhook': [],
  'POST /channels/:channel/publishing/pause': [],
  'POST /channels/:channel/publishing/resume': [],
  'PUT /channels/:channel/connector': [],
  'POST /channels/:channel/webhooks/:platform': [],
  'POST /channels/:channel/reconcile': [422],
  'POST /inventory/adjustments': [409, 422],
  'POST /lots/:sku/:lot/hold': [],
  'POST /inventory/adjustments/:id/decision': [409],
  'POST /purchase-orders': [409, 422],
  'POST /purchase-orders/from-suggestions': [409, 422],
  'POST /purchase-orders/:id/approval': [409],
  'POST /purchase-orders/:id/acknowledgement': [409, 422],
  'POST /purchase-orders/:id/receipts': [409, 422],
  'POST /purchase-orders/:id/receipt-decision': [409],
  'POST /purchase-orders/:id/inspections': [409, 422],
  'POST /purchase-orders/:id/cancel': [409],
  'POST /purchase-orders/:id/extend': [409, 422],
  'POST /purchase-orders/:id/invoices': [409, 422],
  'POST /purchase-orders/:id/invoices/:invoiceId/decision': [409],
  'PUT /replenishment/uplifts': [422],
  'POST /replenishment/run': [],
  'GET /replenishment/suggestions': [404],
  // Sign-in takes its token in the body: a bad one is 401; a service account's, or no CSRF token, 403.
  'POST /console/session': [401, 403],
  'DELETE /console/session': [],
  'POST /users': [409, 422],
  'PATCH /users/:id': [409, 422],
  'DELETE /users/:id/sessions': [],
  'POST /users/:id/tokens': [409, 422],
  'POST /users/:id/tokens/:tokenId/rotate': [409],
  'DELETE /users/:id/tokens/:tokenId': [],
  'POST /me/tokens': [422],
  'POST /me/tokens/:tokenId/rotate': [409],
  'DELETE /me/tokens/:tokenId': [],
  'POST /exceptions/cases/:id/assign': [409, 422],
  'POST /exceptions/cases/:id/comments': [],
  'POST /exceptions/cases/:id/snooze': [409, 422],
  'POST /exceptions/cases/:id/resolve': [409, 422],
  'POST /me/subscriptions': [422],
  'DELETE /me/subscriptions/:id': [],
};

/** Methods whose requests Fastify reads a body for (so they may meet 413 and 415). */
const bodyMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The error statuses a route can answer, from its shape and its handler's refusals. */
export function errorStatusesOf(route: Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>, options: { rateLimited: boolean }): ErrorStatus[] {
  const method = [route.method].flat()[0]!;
  const schema = route.schema ?? {};
  const config = (route.config ?? {}) as { public?: boolean; roles?: readonly string[] };
  const takesBody = bodyMethods.has(method);
  const hasPathParams = route.url.includes(':');
  const statuses = new Set<ErrorStatus>([500, 503]);
  if (takesBody || schema.body || schema.params || schema.querystring) statuses.add(400);
  if (!config.public) statuses.add(401);
  if (config.roles && roles.some((role) => !config.roles!.includes(role))) statuses.add(403);
  // A console request (session cookie) that changes something without its CSRF token.
  if (!config.public && takesBody) statuses.add(403);
  if (hasPathParams) statuses.add(404).add(414);
  if (takesBody) statuses.add(413).add(415);
  if (options.rateLimited) statuses.add(429);
  for (const status of handlerRefusals[`${method} ${route.url}`] ?? []) statuses.add(status);
  return [...statuses].sort((a, b) => a - b);
}

/** Adds the error answers (and a plain 200 where a route declares no success) to every route registered after it. */
export function registerErrorAnswers(app: FastifyInstance, options: { rateLimited: boolean }): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide || route.url.startsWith('/docs')) return;
    const declared = (route.schema?.response ?? {}) as Record<string, unknown>;
    const response: Record<string, unknown> = Object.keys(declared).some((status) => status.startsWith('2')) ? { ...declared } : { 200: z.unknown().describe('OK'), ...declared };
    for (const status of errorStatusesOf(route, options)) response[status] ??= errorAnswers[status];
    route.schema = { ...route.schema, response };
  });
}

/**
 * The document's shared schemas as components (`ApiError`), without the copies no operation
 * refers to: every registered schema comes as an input and an output component, and the
 * error shape is only ever an answer.
 */
export const documentTransform: typeof jsonSchemaTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input);
  const { components, paths } = document as { components?: { schemas?: Record<string, unknown> }; paths?: unknown };
  const schemas = components?.schemas ?? {};
  const used = JSON.stringify(paths ?? {});
  for (const name of Object.keys(schemas)) if (!used.includes(`"#/components/schemas/${name}"`)) delete schemas[name];
  return document;
};
