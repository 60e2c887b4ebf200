import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { checkLedger } from '../db/ledger-check.js';
import { lockPeriod, periodEnd } from '../db/periods.js';
import type { PeriodCloseActivities } from '../contracts/period-close.js';

export function createPeriodCloseActivities({ db }: { db: Db }): PeriodCloseActivities {
  return {
    async checkPeriod({ period }) {
      const ledger = await checkLedger(db);
      const start = `${period}-01`;
      const end = periodEnd(period);
      const unposted = await db
        .selectFrom('shipments')
        .select('id')
        .where('status', '=', 'shipped')
        .where('journal_entry_id', 'is', null)
        .where(sql<boolean>`shipped_at::date between ${start}::date and ${end}::date`)
        .execute();
      const exceptions = await db
        .selectFrom('exceptions')
        .select(['id', 'kind', 'message'])
        .where('status', '=', 'open')
        .where((eb) => eb.or([eb('kind', 'like', 'settlement_%'), eb('kind', 'like', 'payment_%')]))
        .orderBy('raised_at')
        .limit(500)
        .execute();
      return { ledgerProblems: ledger.problems, unpostedShipments: unposted.map((s) => s.id), openReconciliationExceptions: exceptions };
    },
    async lockPeriod({ period, actor, checks }) {
      await lockPeriod(db, period, actor, checks);
    },
  };
}
