import { sql, type Kysely } from 'kysely';

/**
 * Finance decides a mismatched supplier invoice: approved (taken into payables as billed)
 * or rejected (disputed; the supplier sends a corrected invoice). Who decided, why and when
 * stay on the invoice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table supplier_invoices drop constraint supplier_invoices_status_check`.execute(db);
  await sql`alter table supplier_invoices add constraint supplier_invoices_status_check
    check (status in ('matched', 'mismatch', 'approved', 'rejected'))`.execute(db);
  await sql`alter table supplier_invoices
    add column decided_by text,
    add column decision_reason text,
    add column decided_at timestamptz,
    add constraint supplier_invoices_decision_check
      check ((status in ('approved', 'rejected')) = (decided_by is not null and decision_reason is not null and decided_at is not null))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table supplier_invoices drop constraint supplier_invoices_decision_check`.execute(db);
  await sql`alter table supplier_invoices drop column decided_at, drop column decision_reason, drop column decided_by`.execute(db);
  await sql`alter table supplier_invoices drop constraint supplier_invoices_status_check`.execute(db);
  await sql`alter table supplier_invoices add constraint supplier_invoices_status_check check (status in ('matched', 'mismatch'))`.execute(db);
}
