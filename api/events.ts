/**
 * The outbox feed. Events are read in (transaction id, id) order and only from
 * transactions older than every one still running, so an event that commits late
 * is never behind a cursor a reader already holds.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';

const maxXid8 = 2n ** 64n - 1n;

/** `<tx_id>-<id>`: opaque to readers. */
const cursor = z
  .string()
  .regex(/^\d{1,20}-\d{1,16}$/, { error: 'a cursor from a previous page', abort: true })
  .refine((value) => {
    const [txId, id] = value.split('-') as [string, string];
    return BigInt(txId) <= maxXid8 && Number.isSafeInteger(Number(id));
  }, 'a cursor from a previous page');

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
            limit: z.coerce.number().int().min(1).max(1_000).default(100),
          }),
          response: { 200: z.object({ events: z.array(event), nextCursor: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { after, limit } = request.query;
        const [afterTx, afterId] = after?.split('-') ?? [];
        // The statement's own snapshot: every transaction below its xmin has finished, and
        // those that committed are visible to this same statement.
        // The transaction id's text has its own name, so ORDER BY sorts by the xid8 column.
        const { rows } = await sql<{ id: number; tx_text: string; topic: string; key: string; payload: unknown; created_at: Date }>`
          select id, tx_id::text as tx_text, topic, key, payload, created_at from outbox_events
          where tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ${after ? sql`and (tx_id, id) > (${afterTx}::xid8, ${Number(afterId)}::bigint)` : sql``}
          order by tx_id, id
          limit ${limit}`.execute(db);
        const events = rows.map((r) => ({
          cursor: `${r.tx_text}-${r.id}`,
          id: r.id,
          topic: r.topic,
          key: r.key,
          payload: r.payload,
          createdAt: r.created_at,
        }));
        return { events, nextCursor: events.at(-1)?.cursor ?? after ?? null };
      },
    );
  };
