/**
 * Accounting periods: finance closes a month through its close process, and reopens it
 * with a reason (audited). A closed period takes no journal entry.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listPeriods, periodEnd, periodView, reopenPeriod } from '../db/periods.js';
import { todayUtc } from '../db/fx-rates.js';
import { periodCloseWorkflowId, periodCloseWorkflowType, type PeriodCloseWorkflow } from '../contracts/period-close.js';
import type { AppDeps } from './app.js';
import { audited } from './audit.js';
import { conflict, unprocessable } from './errors.js';
import { reason } from './schemas.js';

const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month like 2026-11');

export const periodRoutes =
  ({ db, temporal, config }: AppDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/periods/:period/close',
      {
        config: { roles: ['finance'] },
        schema: {
          summary: 'Close a month: its close process checks the books and locks the period, or opens a finance task saying what blocks',
          description:
            'Blocking: ledger check problems, shipments that left in the period without their posting. Open payment and settlement exceptions are listed in the answer. A period that has not ended is 422 period_not_ended; one whose close runs is 409 close_running. Closing a closed period changes nothing.',
          params: z.object({ period }),
          response: { 200: z.looseObject({ period: z.string(), status: z.enum(['closed', 'blocked']), workflowId: z.string() }) },
        },
      },
      async (request) => {
        const p = request.params.period;
        if (periodEnd(p) >= todayUtc()) throw unprocessable('period_not_ended', `period ${p} ends ${periodEnd(p)}: it can be closed once it has ended`, [{ in: 'params', path: 'period', message: 'not ended' }]);
        const workflowId = periodCloseWorkflowId(p);
        let handle;
        try {
          handle = await temporal.workflow.start<PeriodCloseWorkflow>(periodCloseWorkflowType, {
            workflowId,
            taskQueue: config.taskQueue,
            args: [{ period: p, actor: request.actor! }],
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          });
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) throw conflict('close_running', `the close of ${p} is running`);
          throw error;
        }
        const result = await handle.result();
        return audited(request, { ...result, workflowId }, (r) => ({ status: r.status }), { action: 'period.close', subjectType: 'period', subjectId: p });
      },
    );

    app.post(
      '/periods/:period/reopen',
      {
        config: { roles: ['finance'] },
        schema: {
          summary: 'Reopen a closed month, saying why (audited); 409 when it is not closed',
          params: z.object({ period }),
          body: z.object({ reason }),
        },
      },
      async (request) => {
        const before = await periodView(db, request.params.period);
        const reopened = await reopenPeriod(db, request.params.period, request.actor!, request.body.reason);
        if (!reopened) throw conflict('period_not_closed', `period ${request.params.period} is not closed`);
        request.audit = { action: 'period.reopen', subjectType: 'period', subjectId: request.params.period, before: { status: before.status, closedBy: before.closedBy }, after: { status: 'open' }, reason: request.body.reason };
        return reopened;
      },
    );

    app.get('/periods', { config: { roles: ['finance', 'viewer'] }, schema: { summary: 'Accounting periods closed or reopened, newest first (a month not listed is open)' } }, async () => ({
      periods: await listPeriods(db),
    }));
  };
