import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';

const check = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });

async function timed(probe: () => Promise<unknown>): Promise<z.infer<typeof check>> {
  const started = performance.now();
  try {
    await probe();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch {
    // /health is public: say that a service is down, not how (hosts and users stay in the server log).
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: 'unreachable' };
  }
}

export const healthRoutes =
  ({ db, temporal }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/health',
      {
        config: { public: true },
        schema: {
          summary: 'Reachability of PostgreSQL and Temporal',
          security: [],
          response: { 200: z.object({ status: z.literal('ok'), postgres: check, temporal: check }), 503: z.object({ status: z.literal('degraded'), postgres: check, temporal: check }) },
        },
      },
      async (_request, reply) => {
        const [postgres, temporalCheck] = await Promise.all([
          timed(() => sql`select 1`.execute(db)),
          timed(() => temporal.withDeadline(Date.now() + 2_000, () => temporal.connection.workflowService.getSystemInfo({}))),
        ]);
        if (postgres.ok && temporalCheck.ok) return reply.code(200).send({ status: 'ok', postgres, temporal: temporalCheck });
        return reply.code(503).send({ status: 'degraded', postgres, temporal: temporalCheck });
      },
    );
  };
