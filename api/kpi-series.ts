/** `GET /kpis/series`: a KPI per day over the last days, for the console's trend charts. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { kpiSeries, seriesMetrics, type SeriesMetric } from '../db/kpi-series.js';
import type { AppDeps } from './app.js';

const metricNames = Object.keys(seriesMetrics) as [SeriesMetric, ...SeriesMetric[]];

export const kpiSeriesRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/kpis/series',
      {
        // People read trends; system keys have no use for them.
        config: { roles: ['ops', 'buyer', 'finance', 'viewer'] },
        schema: {
          summary: 'One KPI per UTC day over the last `days` days (today included), oldest first',
          description: Object.entries(seriesMetrics)
            .map(([name, definition]) => `\`${name}\`: ${definition}.`)
            .join(' '),
          querystring: z.object({
            metric: z.enum(metricNames),
            days: z.coerce.number().int().min(1).max(90).default(14),
          }),
          response: {
            200: z.object({
              metric: z.enum(metricNames),
              days: z.number(),
              definition: z.string(),
              points: z.array(z.object({ date: z.string(), value: z.number().nullable(), numerator: z.number(), denominator: z.number() })),
            }),
          },
        },
      },
      async (request) => {
        const { metric, days } = request.query;
        return { metric, days, definition: seriesMetrics[metric], points: await kpiSeries(db, metric, days) };
      },
    );
  };
