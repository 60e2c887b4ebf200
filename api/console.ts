/**
 * The ops console: a Preact app (api/console/*.tsx) bundled by esbuild when the API starts,
 * served under /console with a shell page for every path below it, so that a record's page
 * (`/console/orders/A-1001`) is a link anyone can open. The data comes from this API with the
 * person's session cookie (api/session.ts); the page keeps no token.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';
import { roles } from './auth.js';

const escapeAttribute = (value: string) => value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

// The page loads only its own script and stylesheet and talks only to this API.
const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

let bundled: Promise<{ js: string; css: string }> | undefined;

/** The console's script and stylesheet, built once per process (about 100 ms) and kept in memory. */
export function consoleBundle(): Promise<{ js: string; css: string }> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL('./console/app.tsx', import.meta.url)), fileURLToPath(new URL('./console/console.css', import.meta.url))],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: 'console-out',
    logLevel: 'silent',
  }).then((result) => ({
    js: result.outputFiles.find((f) => f.path.endsWith('.js'))!.text,
    css: result.outputFiles.find((f) => f.path.endsWith('.css'))!.text,
  }));
  return bundled;
}

export const consoleRoutes =
  ({ config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { js, css } = await consoleBundle();
    // Named by content, so a browser may keep them for good and a new build is fetched at once.
    const version = Buffer.from(js.length.toString(36) + css.length.toString(36)).toString('hex').slice(0, 12);
    const shell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Ops console</title>
<link rel="stylesheet" href="/console/app.css?v=${version}">
<script type="module" src="/console/app.js?v=${version}"></script>
</head>
<body>
<div id="console" data-temporal-ui-url="${escapeAttribute(config.temporalUiUrl.replace(/\/+$/, ''))}" data-temporal-namespace="${escapeAttribute(config.temporalNamespace)}"></div>
</body>
</html>`;
    const page = { config: { public: true }, schema: { hide: true } } as const;
    app.get('/', page, async (_request, reply) => reply.redirect('/console'));
    app.get('/console', page, async (_request, reply) => reply.headers({ ...pageHeaders, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(shell));
    app.get('/console/*', page, async (_request, reply) => reply.headers({ ...pageHeaders, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(shell));
    app.get('/console/app.js', page, async (_request, reply) => reply.headers({ ...pageHeaders, 'cache-control': 'public, max-age=31536000, immutable' }).type('text/javascript; charset=utf-8').send(js));
    app.get('/console/app.css', page, async (_request, reply) => reply.headers({ ...pageHeaders, 'cache-control': 'public, max-age=31536000, immutable' }).type('text/css; charset=utf-8').send(css));

    app.get(
      '/me',
      {
        schema: {
          summary: 'Who is calling: the user, their roles and limits, and the actor recorded on their decisions',
          response: {
            200: z.object({
              id: z.string(),
              kind: z.enum(['person', 'service']),
              name: z.string(),
              email: z.string().nullable(),
              roles: z.array(z.enum(roles)),
              role: z.enum(roles),
              actor: z.string(),
              poApprovalLimitMinor: z.number().nullable(),
              refundApprovalLimitMinor: z.number().nullable(),
            }),
          },
        },
      },
      async (request) => {
        const user = request.user!;
        return {
          id: user.id,
          kind: user.kind,
          name: user.name,
          email: user.email,
          roles: user.roles,
          role: request.role!,
          actor: request.actor!,
          poApprovalLimitMinor: user.poApprovalLimitMinor,
          refundApprovalLimitMinor: user.refundApprovalLimitMinor,
        };
      },
    );
  };
