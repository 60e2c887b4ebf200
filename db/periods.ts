/**
 * Monthly accounting periods. A period is open until finance closes it; a closed period
 * takes no entry (the database refuses one). An entry whose document date falls in a
 * closed period is posted on the first day of the first open period after it.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { AccountingPeriodsTable } from './schema-cash.js';
import type { Database } from './schema.js';

export const periodOf = (date: string): string => date.slice(0, 7);
const nextPeriod = (period: string): string => {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
};
/** The last day of a period, YYYY-MM-DD. */
export const periodEnd = (period: string): string => {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
};

/** Whether the period of `date` is closed. */
export async function isClosed(db: Kysely<Database>, date: string): Promise<boolean> {
  const row = await db.selectFrom('accounting_periods').select('status').where('period', '=', periodOf(date)).executeTakeFirst();
  return row?.status === 'closed';
}

/** The posting date of an entry with this document date: itself, or the first day of the first open period after it. */
export async function postingDateFor(db: Kysely<Database>, documentDate: string): Promise<string> {
  const closed = new Set(
    (await db.selectFrom('accounting_periods').select('period').where('status', '=', 'closed').where('period', '>=', periodOf(documentDate)).execute()).map((r) => r.period),
  );
  let period = periodOf(documentDate);
  if (!closed.has(period)) return documentDate;
  while (closed.has(period)) period = nextPeriod(period);
  return `${period}-01`;
}

export interface PeriodView {
  period: string;
  status: 'open' | 'closed';
  closedAt: Date | null;
  closedBy: string | null;
  reopenedAt: Date | null;
  reopenedBy: string | null;
  reopenReason: string | null;
  checks: unknown;
}

const view = (r: Selectable<AccountingPeriodsTable>): PeriodView => ({
  period: r.period,
  status: r.status,
  closedAt: r.closed_at,
  closedBy: r.closed_by,
  reopenedAt: r.reopened_at,
  reopenedBy: r.reopened_by,
  reopenReason: r.reopen_reason,
  checks: r.checks,
});

export async function periodView(db: Kysely<Database>, period: string): Promise<PeriodView> {
  const row = await db.selectFrom('accounting_periods').selectAll().where('period', '=', period).executeTakeFirst();
  return row ? view(row) : { period, status: 'open', closedAt: null, closedBy: null, reopenedAt: null, reopenedBy: null, reopenReason: null, checks: null };
}

export async function listPeriods(db: Kysely<Database>): Promise<PeriodView[]> {
  return (await db.selectFrom('accounting_periods').selectAll().orderBy('period', 'desc').execute()).map(view);
}

/** Locks the period, once: a second close of a closed period changes nothing. */
export async function lockPeriod(db: Kysely<Database>, period: string, actor: string, checks: unknown): Promise<PeriodView> {
  await db
    .insertInto('accounting_periods')
    .values({ period, status: 'closed', closed_at: new Date(), closed_by: actor, checks: JSON.stringify(checks) })
    .onConflict((oc) =>
      oc.column('period').doUpdateSet({ status: 'closed', closed_at: sql`coalesce(accounting_periods.closed_at, now())`, closed_by: sql`coalesce(accounting_periods.closed_by, ${actor})`, checks: JSON.stringify(checks), updated_at: new Date() }).where('accounting_periods.status', '=', 'open'),
    )
    .execute();
  return periodView(db, period);
}

/** Opens a closed period again, with who and why; undefined when it was not closed. */
export async function reopenPeriod(db: Kysely<Database>, period: string, actor: string, reason: string): Promise<PeriodView | undefined> {
  const updated = await db
    .updateTable('accounting_periods')
    .set({ status: 'open', closed_at: null, closed_by: null, reopened_at: new Date(), reopened_by: actor, reopen_reason: reason, updated_at: new Date() })
    .where('period', '=', period)
    .where('status', '=', 'closed')
    .returning('period')
    .executeTakeFirst();
  return updated ? periodView(db, period) : undefined;
}
