/**
 * The outbox feed. Events are read in (transaction id, id) order and only from
 * transactions older than every one still running, so an event that commits late
 * is never behind a cursor a reader already holds.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readFeed } from '../db/outbox.js';
import { parseCursor } from '../domain/channel-publishing.js';
import type { AppDeps } from './app.js';
import { pageLimit } from './schemas.js';

/** `<tx_id>-<id>`: opaque to readers. */
const cursor = z.string().refine((value) => parseCursor(value) !== undefined, 'a cursor from a previous page');

const event = z.object({
  cursor: z.string(),
  id: z.number(),
  topic: z.string(),
  key: z.string(),
  payload: z.unknown(),
  createdAt: z.date(),
});

export const eventRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/events',
      {
        schema: {
          summary: 'Outbox events after a cursor, in commit-safe order; pass nextCursor as `after` to read on',
          querystring: z.object({
            after: cursor.optional(),
            limit: pageLimit(100, 1_000),
          }),
          response: { 200: z.object({ events: z.array(event), nextCursor: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { after, limit } = request.query;
        const events = await readFeed(db, after ?? null, limit);
        return { events, nextCursor: events.at(-1)?.cursor ?? after ?? null };
      },
    );
  };
