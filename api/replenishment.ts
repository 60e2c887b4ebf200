/** Replenishment suggestions per sku and warehouse: from the planner's latest run, or computed on demand. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { computeReplenishment, defaultReplenishmentParams, findReplenishmentRun, needsAction, storedReplenishment } from '../db/replenishment.js';
import { demandUplifts, setDemandUplifts } from '../services/replenishment.js';
import type { AppDeps } from './app.js';
import { notFound, resultOrThrow } from './errors.js';
import { runId, sku, skuByPattern, warehouseText } from './schemas.js';
import { type ReplenishmentParams, replenishmentWorkflowId, replenishmentWorkflowType, type ReplenishmentWorkflow } from '../contracts/replenishment.js';

const historyDays = z.coerce.number().int().min(7).max(365);
const reviewPeriodDays = z.coerce.number().int().min(1).max(90);
const uplift = z.coerce.number().min(0).max(10).describe('demand multiplier for a promotion or season ahead');

const query = z.object({
  sku: skuByPattern.optional(),
  warehouse: warehouseText.optional(),
  historyDays: historyDays.optional().describe('default 90; another value than the latest run used computes on demand'),
  reviewPeriodDays: reviewPeriodDays.optional().describe('default 7'),
  uplift: uplift.optional().describe('default 1'),
  run: runId.optional().describe('answer from this run instead of the latest'),
  fresh: z.enum(['true', 'false']).default('false').describe('compute now instead of reading the latest run'),
  all: z.enum(['true', 'false']).default('false').describe('list every sku and warehouse, not only those to reorder or transfer from'),
});

// A JSON object, `{}` for the defaults: a request without a body does not follow the document.
// JSON numbers, not coerced as in the query string, where null would have become 0.
const runBody = z
  .object({
    historyDays: z.number().int().min(7).max(365).optional(),
    reviewPeriodDays: z.number().int().min(1).max(90).optional(),
    uplift: z.number().min(0).max(10).optional().describe('demand multiplier for a promotion or season ahead'),
  })
  .strict();
const runStarted = z
  .object({
    runId: z.string(),
    workflowId: z.string(),
    status: z.literal('running'),
    links: z.object({ run: z.string(), suggestions: z.string() }),
  })
  .describe('The planner run has started; follow links.run for its progress');

const upliftsBody = z.object({
  sku,
  uplifts: z
    .array(
      z
        .object({
          from: z.iso.date().describe('first day, inclusive'),
          to: z.iso.date().describe('last day, inclusive'),
          factor: z.number().min(0).max(10).describe('demand multiplier on these days (1 = none)'),
        })
        .refine((u) => u.to >= u.from, { message: 'to must not be before from', path: ['to'] }),
    )
    .max(366)
    .describe("the sku's uplifts from now on; an empty list removes them all"),
});

const sameParams = (a: ReplenishmentParams, b: ReplenishmentParams) =>
  a.historyDays === b.historyDays && a.reviewPeriodDays === b.reviewPeriodDays && a.uplift === b.uplift;

export const replenishmentRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/replenishment/suggestions',
      { schema: { summary: 'What to transfer or buy per sku and warehouse, with the numbers behind it', querystring: query } },
      async (request) => {
        const q = request.query;
        const run = q.run ? await findReplenishmentRun(db, { runId: q.run }) : q.fresh === 'true' ? undefined : await findReplenishmentRun(db, 'latest');
        if (q.run && run?.status !== 'finished') throw notFound(`finished replenishment run ${q.run}`);
        const asked = {
          historyDays: q.historyDays ?? run?.params.historyDays ?? defaultReplenishmentParams.historyDays,
          reviewPeriodDays: q.reviewPeriodDays ?? run?.params.reviewPeriodDays ?? defaultReplenishmentParams.reviewPeriodDays,
          uplift: q.uplift ?? run?.params.uplift ?? defaultReplenishmentParams.uplift,
        };
        const fromRun = run && (q.run || sameParams(run.params, asked)) ? run : undefined;
        const lines = fromRun
          ? await storedReplenishment(db, fromRun.runId, { sku: q.sku, warehouse: q.warehouse })
          : (await computeReplenishment(db, asked, { sku: q.sku })).filter((l) => !q.warehouse || l.warehouse === q.warehouse);
        return {
          source: fromRun ? ('run' as const) : ('on_demand' as const),
          run: fromRun ?? null,
          ...(fromRun?.params ?? asked),
          suggestions: lines.filter((l) => q.all === 'true' || needsAction(l)),
        };
      },
    );

    app.get(
      '/replenishment/uplifts',
      { schema: { summary: 'Promotion and seasonality demand uplifts per sku and date range', querystring: z.object({ sku: sku.optional() }) } },
      async (request) => ({ uplifts: await demandUplifts(db, request.query.sku) }),
    );

    app.put(
      '/replenishment/uplifts',
      {
        config: { roles: ['buyer', 'ops'] },
        schema: {
          summary: "Set a sku's demand uplifts (replacing its earlier ones); the planner weights them by the days they overlap each horizon",
          body: upliftsBody,
        },
      },
      async (request) => resultOrThrow(await setDemandUplifts(db, request.body.sku, request.body.uplifts, request.actor ?? request.role ?? 'unknown')),
    );

    app.post(
      '/replenishment/run',
      {
        config: { roles: ['buyer', 'ops'] },
        schema: { summary: 'Run the replenishment planner now (body `{}` for the default inputs); answers 202 with the run id', body: runBody, response: { 202: runStarted } },
      },
      async (request, reply) => {
        const id = `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
        const workflowId = replenishmentWorkflowId(id);
        await temporal.workflow.start<ReplenishmentWorkflow>(replenishmentWorkflowType, {
          workflowId,
          taskQueue: config.taskQueue,
          args: [{ runId: id, requestedBy: request.actor ?? request.role ?? 'unknown', ...request.body }],
          workflowExecutionTimeout: '1h',
        });
        return reply.code(202).send({ runId: id, workflowId, status: 'running', links: { run: `/replenishment/runs/${id}`, suggestions: `/replenishment/suggestions?run=${id}` } });
      },
    );

    app.get(
      '/replenishment/runs/:id',
      { schema: { summary: 'A planner run: when it started and finished, its inputs and counts', params: z.object({ id: runId }) } },
      async (request) => {
        const { id } = request.params;
        const run = await findReplenishmentRun(db, { runId: id });
        if (run) return run;
        // Started but its first step has not written the run yet, or it failed before it could.
        const workflowId = replenishmentWorkflowId(id);
        const described = await temporal.workflow
          .getHandle(workflowId)
          .describe()
          .catch((error: unknown) => {
            if (error instanceof WorkflowNotFoundError) return undefined;
            throw error;
          });
        if (!described) throw notFound(`replenishment run ${id}`);
        return {
          runId: id,
          workflowId,
          status: described.status.name === 'RUNNING' ? 'running' : described.status.name.toLowerCase(),
          startedAt: described.startTime.toISOString(),
          finishedAt: null,
          counts: null,
        };
      },
    );
  };
