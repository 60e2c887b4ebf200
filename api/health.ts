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

const dependencyState = z.object({ ok: z.boolean(), since: z.string(), latencyMs: z.number().optional() });
const readiness = z.object({ status: z.enum(['ready', 'not_ready']), postgres: dependencyState, temporal: dependencyState });

export const healthRoutes =
  ({ db, temporal, monitor, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/health/live',
      {
        config: { public: true },
        schema: {
          summary: 'Liveness: the process answers (restart it only when this fails)',
          security: [],
          response: { 200: z.object({ status: z.literal('live') }) },
        },
      },
      async () => ({ status: 'live' as const }),
    );
    app.get(
      '/health/ready',
      {
        config: { public: true },
        schema: {
          summary: 'Readiness: PostgreSQL and Temporal answer, so requests can be served (route traffic elsewhere when not)',
          security: [],
          response: { 200: readiness, 503: readiness },
        },
      },
      async (_request, reply) => {
        const state = await monitor!.probe();
        const ready = state.postgres.ok && state.temporal.ok;
        if (!ready) reply.code(503).header('retry-after', String(config.resilience.api.retryAfterSeconds));
        return { status: ready ? ('ready' as const) : ('not_ready' as const), postgres: state.postgres, temporal: state.temporal };
      },
    );
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
