import type { ExceptionSweepActivities } from '../contracts/exception-sweep.js';
import { clearedWhenGone, derivedExceptions } from '../db/derived-exceptions.js';
import type { ActivityDeps } from './index.js';
import { insertException, resolveExceptionRow } from './tasks.js';

export function createExceptionSweepActivities({ db }: ActivityDeps): ExceptionSweepActivities {
  return {
    /**
     * Raises every derived condition once (an exception's id is its condition's, so a repeat
     * raises nothing and a case a person resolved stays resolved), then resolves the open
     * ones whose condition has gone. A retry after a crash does the same again.
     */
    async sweepDerivedExceptions(input) {
      const found = await derivedExceptions(db, {
        now: new Date(input.now),
        returnSlaMs: input.returnSlaMs,
        returnSla: input.returnSla,
        authExpiryLeadMs: input.authExpiryLeadMs,
        settlementPayoutDays: input.settlementPayoutDays,
      });
      const ids = found.map((e) => e.id);
      const known = new Set(ids.length ? (await db.selectFrom('exceptions').select('id').where('id', 'in', ids).execute()).map((r) => r.id) : []);
      for (const exception of found) {
        if (known.has(exception.id)) continue;
        await insertException(db, { id: exception.id, kind: exception.kind, reference: exception.reference, workflowId: exception.workflowId, ownerRole: exception.ownerRole, message: exception.message, details: exception.details });
      }
      const holding = new Set(ids);
      const open = await db
        .selectFrom('exceptions')
        .select('id')
        .where('status', '=', 'open')
        .where((eb) => eb.or(clearedWhenGone.map((prefix) => eb('id', 'like', `${prefix}%`))))
        .execute();
      const gone = open.filter((e) => !holding.has(e.id));
      for (const e of gone) await resolveExceptionRow(db, e.id);
      const byKind: Record<string, number> = {};
      for (const e of found) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
      return { found: byKind, raised: found.filter((e) => !known.has(e.id)).length, cleared: gone.length };
    },
  };
}
