/** The ops console: one public page plus its script and stylesheet; the data comes from the API with the user's key. */
import fs from 'node:fs';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';
import { roles } from './auth.js';

const asset = (name: string) => fs.readFileSync(new URL(`./console/${name}`, import.meta.url), 'utf8');

const escapeAttribute = (value: string) =>
  value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

// The page loads only its own script and stylesheet and talks only to this API.
const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export const consoleRoutes =
  ({ config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const page = asset('console.html')
      .replace('{{temporalUiUrl}}', escapeAttribute(config.temporalUiUrl.replace(/\/+$/, '')))
      .replace('{{temporalNamespace}}', escapeAttribute(config.temporalNamespace));
    const files = [
      { url: '/', type: 'text/html; charset=utf-8', body: page },
      { url: '/console.js', type: 'text/javascript; charset=utf-8', body: asset('console.js') },
      { url: '/console.css', type: 'text/css; charset=utf-8', body: asset('console.css') },
    ];
    for (const file of files) {
      app.get(file.url, { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
        reply.headers(pageHeaders).type(file.type).send(file.body),
      );
    }

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
