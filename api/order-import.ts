/**
 * CSV order import for systems without webhooks (wholesale, marketplaces): the file is read
 * as it streams, each row checked, and one process per file starts the good orders; every
 * row's result is on the import.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { orderImportWorkflowId, orderImportWorkflowType, type OrderImportWorkflow } from '../contracts/order-import.js';
import { channels } from '../domain/order.js';
import { findOrderImport, readOrderCsv, recordOrderImport } from '../services/order-import.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { anyRole } from './auth.js';
import { badRequest, notFound, resultOrThrow } from './errors.js';
import { recordId } from './schemas.js';

const rowResult = z.object({ row: z.number(), orderId: z.string().nullable(), lineNo: z.number().nullable(), accepted: z.boolean(), problems: z.array(z.string()) });

export const orderImportRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/orders/imports/:id',
      {
        config: { roles: anyRole },
        schema: {
          summary: 'A CSV order import: every row with its result and what became of its order',
          params: z.object({ id: recordId }),
        },
      },
      async (request) => (await findOrderImport(db, request.params.id)) ?? Promise.reject(notFound(`import ${request.params.id}`)),
    );

    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      for (const type of ['text/csv', 'application/csv']) {
        scope.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: 5 * 1024 * 1024 }, (_request, body, done) => done(null, body));
      }
      scope.withTypeProvider<ZodTypeProvider>().post(
        '/orders/import',
        {
          config: { roles: ['system', 'ops'] },
          bodyLimit: 5 * 1024 * 1024,
          schema: {
            summary: 'Imports orders from a CSV file (Content-Type: text/csv), one row per order line; one process per file',
            description:
              'Columns: order_id, customer_id, sku, qty, unit_price, ship_country (required); currency (USD), discount, tax, freight (decimals in the currency), ship_name, ship_line1, ship_city, ship_region, ship_postal_code, ship_lat, ship_lon, billing_country, promised_by. ' +
              'Rows of one order_id form one order, imported when all its rows are good; other orders are imported all the same. 202 with the rejected rows and their reasons; the same file again under the same importId answers the same import (200); another file under it is 409. ' +
              'A file that is not CSV, lacks a required column or has more than 10,000 rows is 400.',
            querystring: z.object({ importId: recordId, channel: z.enum(channels) }),
            response: {
              202: z.object({ importId: z.string(), workflowId: z.string(), created: z.boolean(), rows: z.number(), orders: z.number(), rejectedRows: z.array(rowResult) }),
              200: z.object({ importId: z.string(), workflowId: z.string(), created: z.boolean(), rows: z.number(), orders: z.number(), rejectedRows: z.array(rowResult) }),
            },
          },
        },
        async (request, reply) => {
          const { importId, channel } = request.query;
          if (!Buffer.isBuffer(request.body) || request.body.length === 0) throw badRequest('send the CSV file as the body, Content-Type: text/csv');
          const read = await readOrderCsv(request.body);
          if ('malformed' in read) throw badRequest(read.malformed);
          const recorded = resultOrThrow(await recordOrderImport(db, importId, channel, request.body, read.rows, request.actor ?? 'unknown'));
          const workflowId = orderImportWorkflowId(importId);
          try {
            await temporal.workflow.start<OrderImportWorkflow>(orderImportWorkflowType, {
              workflowId,
              taskQueue: config.taskQueue,
              args: [{ importId, policy: config.policies.order }],
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
            });
          } catch (error) {
            // Started by the first request for this file: the same import.
            if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
          }
          const answer = { ...recorded, workflowId };
          audited(request, answer, (a) => ({ rows: a.rows, orders: a.orders, rejectedRows: a.rejectedRows.length }), { action: 'order.import', subjectType: 'order_import', subjectId: importId });
          return reply.code(recorded.created ? 202 : 200).send(answer);
        },
      );
    });
  };
