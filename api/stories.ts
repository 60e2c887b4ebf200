/** `GET /orders/:id/story` and `GET /returns/:id/story`: plain accounts for a help desk, in the customer's or the operator's words. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from './app.js';
import { notFound } from './errors.js';
import { recordId, returnId } from './schemas.js';
import { orderStory, returnStory } from '../domain/story.js';
import { orderStoryFacts, returnStoryFacts } from '../db/stories.js';

const query = z.object({
  for: z.enum(['customer', 'operator']).default('operator').describe('customer: no warehouses, rules or people named; operator: all of them'),
});

const story = z
  .object({
    audience: z.enum(['customer', 'operator']),
    text: z.string().describe("the events' sentences in time order, one paragraph"),
    events: z.array(z.object({ at: z.string(), step: z.string(), text: z.string() })),
  })
  .describe('What happened, when, and in the operator wording who decided and why');

export const storyRoutes =
  ({ db }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/orders/:id/story',
      {
        schema: {
          summary: "An order's story: placed, held and by whom, split and why, shipped with tracking, returned, refunded",
          params: z.object({ id: recordId }),
          querystring: query,
          response: { 200: story.extend({ orderId: z.string() }) },
        },
      },
      async (request) => {
        const facts = await orderStoryFacts(db, request.params.id);
        if (!facts) throw notFound(`order ${request.params.id}`);
        return { orderId: facts.orderId, ...orderStory(facts, request.query.for) };
      },
    );

    app.get(
      '/returns/:id/story',
      {
        schema: {
          summary: "A return's story: authorized, received, inspected, refunded and how much",
          params: z.object({ id: returnId }),
          querystring: query,
          response: { 200: story.extend({ returnId: z.string(), orderId: z.string() }) },
        },
      },
      async (request) => {
        const facts = await returnStoryFacts(db, request.params.id);
        if (!facts) throw notFound(`return ${request.params.id}`);
        return { returnId: facts.returnId, orderId: facts.orderId, ...returnStory(facts, request.query.for) };
      },
    );
  };
