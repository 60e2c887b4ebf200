/**
 * `GET /kpis/series`: a KPI per day over the last days, for the console's trend charts,
 * optionally one series per channel, warehouse or sku class (`by`); and
 * `GET /kpis/working-capital`: inventory + receivables − payables at the end of each day.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { kpiSeries, seriesMetrics, type SeriesMetric } from '../db/kpi-series.js';
import { dimensions, dimensionSeries, seriesBy, workingCapitalSeries } from '../db/kpi-dimensions.js';
import type { AppDeps } from './app.js';
import { badRequest } from './errors.js';

const metricNames = [...new Set([...Object.keys(seriesMetrics), ...Object.keys(dimensionSeries)])] as [string, ...string[]];
const point = z.object({ date: z.string(), value: z.number().nullable(), numerator: z.number(), denominator: z.number() });
const readers = ['ops', 'buyer', 'finance', 'viewer'] as const;

export const kpiSeriesRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/kpis/series',
      {
        // People read trends; system keys have no use for them.
        config: { roles: readers },
        schema: {
          summary: 'One KPI per UTC day over the last `days` days (today included), oldest first; with `by`, one series per channel, warehouse or sku class',
          description:
            Object.entries(dimensionSeries)
              .map(([name, spec]) => `\`${name}\`: ${spec.definition} (by ${Object.keys(spec.daily({ from: new Date(0), to: new Date(0) })).filter((d) => d !== 'all').join(', ') || 'nothing'}).`)
              .join(' '),
          querystring: z.object({
            metric: z.enum(metricNames),
            days: z.coerce.number().int().min(1).max(90).default(14),
            by: z.enum(dimensions).optional(),
          }),
          response: {
            200: z.object({
              metric: z.enum(metricNames),
              days: z.number(),
              definition: z.string(),
              points: z.array(point).describe('the whole series (without `by`), or empty'),
              by: z.enum(dimensions).optional(),
              groups: z.array(z.object({ key: z.string(), points: z.array(point) })).optional(),
            }),
          },
        },
      },
      async (request) => {
        const { metric, days, by } = request.query;
        const definition = dimensionSeries[metric]?.definition ?? seriesMetrics[metric as SeriesMetric];
        if (!by && metric in seriesMetrics) return { metric, days, definition, points: await kpiSeries(db, metric as SeriesMetric, days) };
        const groups = await seriesBy(db, metric, by ?? 'all', days);
        if (!groups) throw badRequest(`${metric} has no breakdown by ${by}`, { metric, by });
        return by ? { metric, days, definition, points: [], by, groups } : { metric, days, definition, points: groups[0]?.points ?? [] };
      },
    );

    app.get(
      '/kpis/working-capital',
      {
        config: { roles: ['finance', 'ops', 'viewer'] },
        schema: {
          summary: 'Working capital at the end of each UTC day: inventory (1300) + receivables (1100) − payables (2000, 2100), from the journal',
          querystring: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }),
          response: {
            200: z.object({
              days: z.number(),
              points: z.array(z.object({ date: z.string(), valueMinor: z.number(), inventoryMinor: z.number(), receivablesMinor: z.number(), payablesMinor: z.number() })),
            }),
          },
        },
      },
      async (request) => ({ days: request.query.days, points: await workingCapitalSeries(db, request.query.days) }),
    );
  };
