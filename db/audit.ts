/**
 * The audit log's SQL: writing one row per accepted change, reading them back by actor,
 * subject, action and time, and the snapshots of a record taken before and after a change.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';

export interface AuditEntry {
  actor: string;
  role: string;
  automated: boolean;
  action: string;
  subjectType: string;
  subjectId: string | null;
  method: string;
  route: string;
  before: unknown;
  after: unknown;
  reason: string | null;
  requestId: string;
  statusCode: number;
  /** The user who made the change or the attempt. */
  userId?: string | null;
  /** `refused`: a person's attempt that the API refused; nothing changed. */
  outcome?: 'accepted' | 'refused';
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

/** Writes one audit row; a second write for the same request id changes nothing. */
export async function writeAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor: entry.actor,
      role: entry.role,
      automated: entry.automated,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId,
      method: entry.method,
      route: entry.route,
      before: json(entry.before),
      after: json(entry.after),
      reason: entry.reason,
      request_id: entry.requestId,
      status_code: entry.statusCode,
      user_id: entry.userId ?? null,
      outcome: entry.outcome ?? 'accepted',
    })
    .onConflict((oc) => oc.column('request_id').doNothing())
    .execute();
}

export interface AuditFilter {
  actor?: string;
  role?: string;
  action?: string;
  subjectType?: string;
  subjectId?: string;
  from?: Date;
  to?: Date;
  automated?: boolean;
  userId?: string;
  outcome?: 'accepted' | 'refused';
  /** Rows with an id below this one (the previous page's `nextBefore`). */
  before?: number;
  limit: number;
}

/** Newest first; `action` matches the action or any action under it (`order.hold_decision` matches `order.hold_decision.approve`). */
export async function listAudit(db: Db, filter: AuditFilter) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(filter.limit + 1);
  if (filter.actor) query = query.where('actor', '=', filter.actor);
  if (filter.role) query = query.where('role', '=', filter.role);
  if (filter.action) {
    const action = filter.action;
    query = query.where((eb) => eb.or([eb('action', '=', action), eb('action', 'like', `${action.replace(/[\\%_]/g, '\\$&')}.%`)]));
  }
  if (filter.subjectType) query = query.where('subject_type', '=', filter.subjectType);
  if (filter.subjectId) query = query.where('subject_id', '=', filter.subjectId);
  if (filter.from) query = query.where('at', '>=', filter.from);
  if (filter.to) query = query.where('at', '<', filter.to);
  if (filter.automated !== undefined) query = query.where('automated', '=', filter.automated);
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  return { rows: page, nextBefore: rows.length > filter.limit ? Number(page.at(-1)!.id) : null };
}

/**
 * What a record of each kind looked like, in the fields a decision changes: read before a
 * request is handled and, when the handler says nothing of its own, after. Undefined when
 * there is no such record (yet).
 */
export const subjectSnapshots: Record<string, (db: Db, id: string) => Promise<Record<string, unknown> | undefined>> = {
  order: async (db, id) => {
    const row = await db.selectFrom('orders').select(['status', 'status_reason']).where('id', '=', id).executeTakeFirst();
    return row && { status: row.status, statusReason: row.status_reason };
  },
  purchase_order: async (db, id) => {
    const row = await db.selectFrom('purchase_orders').select(['status', 'value_minor', 'expected_at']).where('id', '=', id).executeTakeFirst();
    return row && { status: row.status, valueMinor: row.value_minor, expectedAt: row.expected_at };
  },
  adjustment: async (db, id) => {
    const row = await db
      .selectFrom('inventory_adjustments')
      .select(['status', 'delta', 'value_minor', 'decided_by'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { status: row.status, delta: row.delta === null ? null : Number(row.delta), valueMinor: row.value_minor === null ? null : Number(row.value_minor), decidedBy: row.decided_by };
  },
  transfer: async (db, id) => {
    const row = await db.selectFrom('transfers').select(['status', 'qty', 'received_qty']).where('id', '=', id).executeTakeFirst();
    return row && { status: row.status, qty: row.qty, received: row.received_qty };
  },
  vendor_return: async (db, id) => {
    const row = await db.selectFrom('vendor_returns').select(['status', 'carrier_reference']).where('id', '=', id).executeTakeFirst();
    return row && { status: row.status, carrierReference: row.carrier_reference };
  },
  item: async (db, sku) => {
    const row = await db.selectFrom('items').select(['price_minor', 'standard_cost_minor', 'active']).where('sku', '=', sku).executeTakeFirst();
    return row && { priceMinor: row.price_minor, standardCostMinor: row.standard_cost_minor, active: row.active };
  },
  channel: async (db, code) => {
    const row = await db.selectFrom('channels').selectAll().where('code', '=', code).executeTakeFirst();
    return (
      row && {
        reservationPriority: row.reservation_priority,
        atsBufferQty: row.ats_buffer_qty,
        atsBufferPct: row.ats_buffer_pct,
        shortagePolicy: row.shortage_policy,
        webhookUrl: row.webhook_url,
      }
    );
  },
  // Read with plain SQL: the returns process keeps its own table types.
  return: async (db, id) => {
    const { rows } = await sql<{ status: string; refund_minor: number | null }>`select status, refund_minor from returns where id = ${id}`.execute(db);
    return rows[0] && { status: rows[0].status, refundMinor: rows[0].refund_minor };
  },
  demand_uplift: async (db, sku) => {
    const rows = await sql<{ from: string; to: string; factor: number }>`
      select from_date::text as "from", to_date::text as "to", factor from demand_uplifts where sku = ${sku} order by from_date`.execute(db);
    return { uplifts: rows.rows };
  },
};
