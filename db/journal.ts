/**
 * The financial journal: double-entry, idempotent per business event, append-only.
 * The database checks at commit that every entry balances (see the 0002 migration).
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { JournalLineInput } from '../domain/postings.js';
import type { Database } from './schema.js';

export type { JournalLineInput };

export interface EntryInput {
  /** One key per business event, e.g. `shipment-S1:confirmed`. */
  key: string;
  eventType: string;
  reference: string;
  memo?: string;
  actor: string;
  lines: JournalLineInput[];
  reversesEntryId?: number;
}

export class JournalError extends Error {
  constructor(
    readonly code: 'unbalanced_entry' | 'idempotency_conflict' | 'unknown_account',
    message: string,
  ) {
    super(message);
    this.name = 'JournalError';
  }
}

/**
 * Posts an entry once per key. The same key with the same content returns the first
 * entry; with other content it is refused. Pass a transaction to post together with
 * the movement that caused it.
 */
export async function postEntry(db: Kysely<Database>, entry: EntryInput): Promise<{ entryId: number; replayed: boolean }> {
  let debits = 0;
  let credits = 0;
  for (const line of entry.lines) {
    const debit = line.debitMinor ?? 0;
    const credit = line.creditMinor ?? 0;
    if (!Number.isSafeInteger(debit) || !Number.isSafeInteger(credit) || debit < 0 || credit < 0 || (debit > 0) === (credit > 0)) {
      throw new JournalError('unbalanced_entry', `line on ${line.account}: exactly one of debit or credit, a positive integer`);
    }
    debits += debit;
    credits += credit;
  }
  if (entry.lines.length < 2 || debits !== credits) {
    throw new JournalError('unbalanced_entry', `entry ${entry.key} does not balance: debits ${debits}, credits ${credits}`);
  }
  const hash = createHash('sha256')
    .update(JSON.stringify([entry.eventType, entry.reference, entry.lines, entry.reversesEntryId ?? null]))
    .digest('hex');

  const post = async (tx: Kysely<Database>) => {
    const inserted = await tx
      .insertInto('journal_entries')
      .values({
        idempotency_key: entry.key,
        event_type: entry.eventType,
        reference: entry.reference,
        memo: entry.memo ?? null,
        payload_hash: hash,
        reverses_entry_id: entry.reversesEntryId ?? null,
        actor: entry.actor,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const first = await tx
        .selectFrom('journal_entries')
        .select(['id', 'payload_hash'])
        .where('idempotency_key', '=', entry.key)
        .executeTakeFirstOrThrow();
      if (first.payload_hash !== hash) {
        throw new JournalError('idempotency_conflict', `key ${entry.key} was already posted with different lines`);
      }
      return { entryId: first.id, replayed: true };
    }
    await tx
      .insertInto('journal_lines')
      .values(
        entry.lines.map((line, index) => ({
          entry_id: inserted.id,
          line_no: index + 1,
          account_code: line.account,
          debit_minor: line.debitMinor ?? 0,
          credit_minor: line.creditMinor ?? 0,
        })),
      )
      .execute();
    return { entryId: inserted.id, replayed: false };
  };

  try {
    return db.isTransaction ? await post(db) : await db.transaction().execute(post);
  } catch (error) {
    if ((error as { code?: string }).code === '23503') {
      throw new JournalError('unknown_account', `unknown account in entry ${entry.key}`);
    }
    throw error;
  }
}

/** A correction is a new entry with every line's sides swapped, never an edit. */
export async function reverseEntry(db: Kysely<Database>, entryId: number, key: string, actor: string, memo?: string) {
  const original = await db.selectFrom('journal_entries').selectAll().where('id', '=', entryId).executeTakeFirst();
  if (!original) throw new JournalError('unbalanced_entry', `no journal entry ${entryId}`);
  const lines = await db.selectFrom('journal_lines').selectAll().where('entry_id', '=', entryId).orderBy('line_no').execute();
  return postEntry(db, {
    key,
    eventType: `${original.event_type}.reversed`,
    reference: original.reference,
    memo: memo ?? `reverses entry ${entryId}`,
    actor,
    reversesEntryId: entryId,
    lines: lines.map((l) =>
      l.debit_minor > 0 ? { account: l.account_code, creditMinor: l.debit_minor } : { account: l.account_code, debitMinor: l.credit_minor },
    ),
  });
}

export async function trialBalance(db: Kysely<Database>) {
  const rows = await sql<{ code: string; name: string; type: string; debits: number; credits: number }>`
    select a.code, a.name, a.type,
      coalesce(sum(l.debit_minor), 0)::bigint as debits, coalesce(sum(l.credit_minor), 0)::bigint as credits
    from accounts a left join journal_lines l on l.account_code = a.code
    group by a.code, a.name, a.type order by a.code`.execute(db);
  const accounts = rows.rows.map((r) => ({ ...r, balanceMinor: r.debits - r.credits }));
  const totalDebits = accounts.reduce((sum, a) => sum + a.debits, 0);
  const totalCredits = accounts.reduce((sum, a) => sum + a.credits, 0);
  return { accounts, totalDebits, totalCredits, balanced: totalDebits === totalCredits };
}

export async function journalEntries(db: Kysely<Database>, filter: { reference?: string; limit: number }) {
  let query = db.selectFrom('journal_entries').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.reference) query = query.where('reference', '=', filter.reference);
  const entries = await query.execute();
  const lines = entries.length
    ? await db.selectFrom('journal_lines').selectAll().where('entry_id', 'in', entries.map((e) => e.id)).orderBy('line_no').execute()
    : [];
  return entries.map((e) => ({
    id: e.id,
    key: e.idempotency_key,
    eventType: e.event_type,
    reference: e.reference,
    memo: e.memo,
    actor: e.actor,
    postedAt: e.posted_at,
    reversesEntryId: e.reverses_entry_id,
    lines: lines
      .filter((l) => l.entry_id === e.id)
      .map((l) => ({ account: l.account_code, debitMinor: l.debit_minor, creditMinor: l.credit_minor })),
  }));
}
