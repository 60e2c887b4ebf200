/**
 * The end of a chaos run: nothing the load sent was lost or done twice. Holds the database
 * and Temporal's visibility to what the scenarios sent (`Sent`), and runs the books'
 * own checks (db/ledger-check.ts, the trial balance). The run's database is its own, so
 * every row in it comes from this run.
 */
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { trialBalance } from '../db/journal.js';
import { checkLedger } from '../db/ledger-check.js';
import type { AnsweredWrite, Sent } from './load.js';
import { returnWorkflowId } from '../contracts/return.js';
import type { AnswerClass, AnswerRecord, AnswerSummary } from './answers.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Figures {
  orders: { submitted: number; recorded: number; closed: number; asExpected: number; byStatus: Record<string, number> };
  shipments: { reportedShipped: number; shipped: number; confirmationEntries: number; cancelled: number; open: number };
  units: { shippedSent: number; movedToCustomer: number; onOrderLines: number; receivedSent: number; receivedFromSupplier: number; onPurchaseOrderLines: number; returnedSent: number; movedCustomerToReturnPending: number; inspectedOutOfReturnPending: number };
  purchaseOrders: { sent: number; closed: number; receiptRows: number };
  transfers: { sent: number; received: number; unitsSent: number; unitsArrived: number };
  returns: { driven: number; recorded: number; closed: number; approved: number; exchanges: number; replacementOrders: number; dispositions: Record<string, number>; conditions: Record<string, number> };
  refunds: { driven: number; drivenMinor: number; gatewayRefunds: number; gatewayMinor: number; gatewayAnswersLost: number; refundEntries: number; creditEntries: number };
  workflows: Record<string, Record<string, number>>;
  openTasks: number;
  openExceptions: Record<string, number>;
  ledger: { ok: boolean; problems: number; movements: number; journalEntries: number; reservations: number };
  trialBalance: { balanced: boolean; debits: number; credits: number };
}

export interface CheckResult {
  ok: boolean;
  /** Orders, shipments, POs, transfers, returns and refunds sent that did not reach the end their scenario drove them to. */
  lost: number;
  /** Records, postings, keys or processes applied more often than sent. */
  doubled: number;
  /** Units shipped or received short of, or beyond, what was sent. */
  lostUnits: number;
  doubledUnits: number;
  checks: Check[];
  figures: Figures;
}

const num = (v: unknown) => Number(v ?? 0);

async function scalar(db: Db, query: ReturnType<typeof sql<{ n: unknown }>>): Promise<number> {
  return num((await query.execute(db)).rows[0]?.n);
}

/** What a stuck purchase order looks like: its lines, receipts and invoices. */
async function describePurchaseOrders(db: Db, ids: string[]): Promise<string> {
  const parts: string[] = [];
  for (const id of ids) {
    const po = await db.selectFrom('purchase_orders').select(['status']).where('id', '=', id).executeTakeFirst();
    const lines = await db.selectFrom('purchase_order_lines').select(['line_no', 'ordered_qty', 'received_qty', 'invoiced_qty']).where('po_id', '=', id).execute();
    const receipts = await db.selectFrom('purchase_order_receipts').select(['receipt_id', 'line_no', 'qty']).where('po_id', '=', id).execute();
    const invoices = await db.selectFrom('supplier_invoices').select(['invoice_id', 'status', 'differences']).where('po_id', '=', id).execute();
    parts.push(`${id} ${po?.status ?? 'missing'} lines ${JSON.stringify(lines)} receipts ${JSON.stringify(receipts)} invoices ${JSON.stringify(invoices)}`);
  }
  return parts.join(' | ');
}

/** Workflows by type and status, from Temporal's visibility. */
async function workflowCounts(client: Client): Promise<{ counts: Record<string, Record<string, number>>; failed: string[] }> {
  const counts: Record<string, Record<string, number>> = {};
  const failed: string[] = [];
  for await (const wf of client.workflow.list({ query: '' })) {
    const byStatus = (counts[wf.type] ??= {});
    byStatus[wf.status.name] = (byStatus[wf.status.name] ?? 0) + 1;
    if (wf.status.name === 'FAILED' && failed.length < 5) {
      // Why it failed: the failure and its cause, from the result.
      const why = await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .result()
        .then(
          () => 'completed after all',
          (error: Error & { cause?: Error & { cause?: Error } }) => [error.message, error.cause?.message, error.cause?.cause?.message].filter(Boolean).join(' <- '),
        );
      failed.push(`${wf.workflowId}: ${why}`);
    }
    if (wf.status.name === 'RUNNING' && failed.length < 5) {
      // Why it still runs: its pending activities and their last failure.
      const described = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
      const pending = (described.raw.pendingActivities ?? []).map(
        (a) => `${a.activityType?.name} attempt ${a.attempt}${a.lastFailure?.message ? ` (${a.lastFailure.message})` : ''}`,
      );
      failed.push(`${wf.workflowId} running: ${pending.length ? pending.join(', ') : 'no pending activity (waiting for a message or timer)'}`);
    }
  }
  return { counts, failed };
}

/**
 * Every write the API answered 2xx, held to the records: per route, what a 2xx promised
 * must be there (the order, the receipt, the decision taken). A write the rules do not know
 * fails too, so that a new route in the load gets its rule. Returns the ids answered 2xx per
 * kind of write, and the ones the records do not show.
 */
export async function answeredWrites(db: Db, answered: AnsweredWrite[]): Promise<{ byKind: Record<string, { answered: number; missing: string[] }>; unknown: string[] }> {
  const orders = new Map((await db.selectFrom('orders').select(['id', 'status']).execute()).map((o) => [o.id, o.status]));
  const shipments = new Map((await db.selectFrom('shipments').select(['id', 'status', 'picked_at', 'packed_at', 'shipped_at', 'journal_entry_id']).execute()).map((r) => [r.id, r]));
  const pos = new Map((await db.selectFrom('purchase_orders').select(['id', 'issued_at', 'acknowledged_at']).execute()).map((r) => [r.id, r]));
  const poReceipts = new Set((await db.selectFrom('purchase_order_receipts').select(['po_id', 'receipt_id']).distinct().execute()).map((r) => `${r.po_id}/${r.receipt_id}`));
  const invoices = new Set((await db.selectFrom('supplier_invoices').select(['po_id', 'invoice_id']).execute()).map((r) => `${r.po_id}/${r.invoice_id}`));
  const transfers = new Map((await db.selectFrom('transfers').select(['id', 'status']).execute()).map((r) => [r.id, r.status]));
  const returns = new Map((await db.selectFrom('returns').select(['id', 'approval']).execute()).map((r) => [r.id, r]));
  const parcels = new Set((await db.selectFrom('return_receipts').select(['return_id', 'parcel_id']).distinct().execute()).map((r) => `${r.return_id}/${r.parcel_id}`));
  const inspections = new Set((await db.selectFrom('return_inspections').select(['return_id', 'inspection_id']).distinct().execute()).map((r) => `${r.return_id}/${r.inspection_id}`));

  const field = (body: unknown, name: string) => String((body as Record<string, unknown> | undefined)?.[name] ?? '');
  type Rule = [kind: string, pattern: RegExp, reflected: (id: string, body: unknown) => [key: string, ok: boolean]];
  const rules: Rule[] = [
    ['order submitted', /^\/orders$/, (_, b) => [field(b, 'orderId'), orders.has(field(b, 'orderId'))]],
    ['hold decision', /^\/orders\/([^/]+)\/hold-decision$/, (id) => [id, !['received', 'on_hold', undefined].includes(orders.get(id))]],
    ['order cancel', /^\/orders\/([^/]+)\/cancel$/, (id) => [id, orders.get(id) === 'cancelled']],
    [
      'shipment event',
      /^\/shipments\/([^/]+)\/events$/,
      (id, b) => {
        const s = shipments.get(id);
        const type = field(b, 'type');
        const ok = type === 'picked' ? !!s?.picked_at : type === 'packed' ? !!s?.packed_at : type === 'shipped' ? !!s?.shipped_at && s.status === 'shipped' && s.journal_entry_id !== null : false;
        return [`${id} ${type}`, ok];
      },
    ],
    ['purchase order', /^\/purchase-orders$/, (_, b) => [field(b, 'poId'), pos.has(field(b, 'poId'))]],
    ['PO approval', /^\/purchase-orders\/([^/]+)\/approval$/, (id) => [id, !!pos.get(id)?.issued_at]],
    ['PO acknowledgement', /^\/purchase-orders\/([^/]+)\/acknowledgement$/, (id) => [id, !!pos.get(id)?.acknowledged_at]],
    ['PO receipt', /^\/purchase-orders\/([^/]+)\/receipts$/, (id, b) => [`${id}/${field(b, 'receiptId')}`, poReceipts.has(`${id}/${field(b, 'receiptId')}`)]],
    ['supplier invoice', /^\/purchase-orders\/([^/]+)\/invoices$/, (id, b) => [`${id}/${field(b, 'invoiceId')}`, invoices.has(`${id}/${field(b, 'invoiceId')}`)]],
    ['transfer', /^\/transfers$/, (_, b) => [field(b, 'transferId'), transfers.has(field(b, 'transferId'))]],
    ['transfer receipt', /^\/transfers\/([^/]+)\/receipt$/, (id) => [id, transfers.get(id) === 'received']],
    ['return', /^\/returns$/, (_, b) => [field(b, 'returnId'), returns.has(field(b, 'returnId'))]],
    ['return parcel', /^\/returns\/([^/]+)\/receipt$/, (id, b) => [`${id}/${field(b, 'parcelId')}`, parcels.has(`${id}/${field(b, 'parcelId')}`)]],
    ['return inspection', /^\/returns\/([^/]+)\/inspection$/, (id, b) => [`${id}/${field(b, 'inspectionId')}`, inspections.has(`${id}/${field(b, 'inspectionId')}`)]],
    ['refund approval', /^\/returns\/([^/]+)\/refund-approval$/, (id) => [id, !!(returns.get(id)?.approval as { decision?: unknown } | null | undefined)?.decision]],
  ];
  const byKind: Record<string, { answered: number; missing: string[]; ids: Set<string> }> = {};
  const unknown: string[] = [];
  for (const write of answered) {
    const path = write.path.split('?')[0]!;
    const rule = rules.find(([, pattern]) => pattern.test(path));
    if (!rule) {
      if (unknown.length < 5) unknown.push(`${write.method} ${path} (${write.status})`);
      continue;
    }
    const [kind, pattern, reflected] = rule;
    const [key, ok] = reflected(decodeURIComponent(pattern.exec(path)![1] ?? ''), write.body);
    const entry = (byKind[kind] ??= { answered: 0, missing: [], ids: new Set() });
    if (entry.ids.has(key)) continue;
    entry.ids.add(key);
    entry.answered += 1;
    if (!ok) entry.missing.push(`${key} (answered ${write.status})`);
  }
  return { byKind: Object.fromEntries(Object.entries(byKind).map(([k, { answered: n, missing }]) => [k, { answered: n, missing }])), unknown };
}

/** What the client saw, for the `answers` check: the summary over the run and a way to say what one answer was. */
export interface ClientView {
  summary: AnswerSummary;
  describe: (answer: AnswerRecord) => string;
  deadlineMs: number;
}

export async function checkRun(db: Db, client: Client, sent: Sent, crashes: { worker: string[]; api: string[] }, view: ClientView): Promise<CheckResult> {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // The client's view: every answer a success, a 4xx, or a 503 with Retry-After; none late.
  const { summary } = view;
  const byClass = (k: AnswerClass) => Object.values(summary.counts).reduce((n, c) => n + (c ? c[k] : 0), 0);
  check(
    'answers',
    summary.badCount === 0,
    `${summary.total} answers: ${byClass('2xx')} 2xx, ${byClass('4xx')} 4xx, ${byClass('503')} 503 with Retry-After, ${byClass('5xx')} other 5xx, ${byClass('no_answer')} without an answer, ${byClass('hang')} past the ${view.deadlineMs / 1_000}-s deadline` +
      (summary.bad.length ? `; ${summary.bad.map(view.describe).join('; ')}` : ''),
  );

  // Faults kill processes on purpose; a process that dies of a fault elsewhere is a defect.
  check(
    'processes: none crashed of another fault',
    crashes.worker.length + crashes.api.length === 0,
    crashes.worker.length + crashes.api.length
      ? `worker exited on its own ${crashes.worker.length} times (${crashes.worker.slice(0, 3).join(', ')}); API process uncaught errors ${crashes.api.length} (${crashes.api.slice(0, 3).join(', ')})`
      : 'the worker only died when killed, the API never',
  );
  let lost = 0;
  let doubled = 0;
  let lostUnits = 0;
  let doubledUnits = 0;

  // Every write answered 2xx shows in the records: a success the client was told of is never lost.
  const written = await answeredWrites(db, sent.answered);
  const missing = Object.entries(written.byKind).flatMap(([kind, w]) => w.missing.map((m) => `${kind} ${m}`));
  check(
    'answered 2xx: every write shows in the records',
    missing.length === 0 && written.unknown.length === 0,
    `${Object.entries(written.byKind).map(([kind, w]) => `${kind} ${w.answered - w.missing.length}/${w.answered}`).join(', ')}` +
      (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : '') +
      (written.unknown.length ? `; no rule for: ${written.unknown.join(', ')}` : ''),
  );

  // Orders: submitted == recorded == closed in the status their scenario drove them to.
  const orders = await db.selectFrom('orders').select(['id', 'status', 'closed_at']).execute();
  const byStatus: Record<string, number> = {};
  for (const o of orders) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  const unexpected = [...sent.orders].filter(([id, status]) => orders.find((o) => o.id === id)?.status !== status);
  const closed = orders.filter((o) => o.closed_at !== null).length;
  lost += unexpected.length;
  doubled += Math.max(0, orders.length - sent.orders.size);
  check(
    'orders: submitted = recorded = closed as driven',
    unexpected.length === 0 && orders.length === sent.orders.size && closed === orders.length,
    `${sent.orders.size} submitted, ${orders.length} recorded, ${closed} closed${unexpected.length ? `; not as expected: ${unexpected.slice(0, 5).map(([id, s]) => `${id} (want ${s}, is ${orders.find((o) => o.id === id)?.status ?? 'missing'})`).join(', ')}` : ''}`,
  );

  // Shipments: each one the WMS shipped is shipped once, with one confirmation entry.
  const shipments = await db.selectFrom('shipments').select(['id', 'status', 'journal_entry_id']).execute();
  const shipped = shipments.filter((s) => s.status === 'shipped');
  const notShipped = [...sent.shipmentsShipped.keys()].filter((id) => shipments.find((s) => s.id === id)?.status !== 'shipped');
  const confirmationEntries = await scalar(db, sql<{ n: unknown }>`select count(*) as n from journal_entries where event_type = 'shipment.confirmed'`);
  lost += notShipped.length;
  doubled += Math.max(0, shipped.length - sent.shipmentsShipped.size) + Math.max(0, confirmationEntries - shipped.length);
  check(
    'shipments: confirmed = reported shipped, one posting each',
    notShipped.length === 0 && shipped.length === sent.shipmentsShipped.size && confirmationEntries === shipped.length && shipped.every((s) => s.journal_entry_id !== null),
    `${sent.shipmentsShipped.size} reported shipped, ${shipped.length} shipped, ${confirmationEntries} confirmation entries${notShipped.length ? `; not shipped: ${notShipped.slice(0, 5).join(', ')}` : ''}`,
  );
  const openShipments = shipments.filter((s) => s.status !== 'shipped' && s.status !== 'cancelled');
  check('shipments: none left open', openShipments.length === 0, openShipments.length ? openShipments.slice(0, 5).map((s) => `${s.id} ${s.status}`).join(', ') : 'all shipped or cancelled');

  // Units: what left for customers is what the WMS shipped, per shipment and in total.
  const shippedSent = [...sent.shipmentsShipped.values()].reduce((a, b) => a + b, 0);
  const movedToCustomer = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(qty), 0) as n from inventory_movements where from_bucket = 'allocated' and to_bucket = 'customer'`);
  const onOrderLines = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(shipped_qty), 0) as n from order_lines`);
  const shipmentUnitMismatch = (
    await sql<{ id: string; lines: number; moved: number }>`
      select s.id, coalesce(sum(l.shipped_qty), 0)::bigint as lines,
        (select coalesce(sum(m.qty), 0)::bigint from inventory_movements m
          where starts_with(m.operation_key, 'shipment-' || s.id || ':ship:') and m.to_bucket = 'customer') as moved
      from shipments s join shipment_lines l on l.shipment_id = s.id
      group by s.id`.execute(db)
  ).rows.filter((r) => num(r.lines) !== num(r.moved) || (sent.shipmentsShipped.has(r.id) && sent.shipmentsShipped.get(r.id) !== num(r.moved)));
  doubledUnits += Math.max(0, movedToCustomer - shippedSent);
  lostUnits += Math.max(0, shippedSent - movedToCustomer);
  check(
    'units shipped: sent = moved to customer = on order lines, per shipment',
    movedToCustomer === shippedSent && onOrderLines === shippedSent && shipmentUnitMismatch.length === 0,
    `${shippedSent} sent, ${movedToCustomer} moved to customer, ${onOrderLines} on order lines${shipmentUnitMismatch.length ? `; mismatched shipments: ${JSON.stringify(shipmentUnitMismatch.slice(0, 3))}` : ''}`,
  );

  // No reservation left holding stock for a closed order.
  const activeForClosed = await scalar(
    db,
    sql<{ n: unknown }>`select count(*) as n from reservations r join orders o on o.id = r.order_id where r.status = 'active' and o.closed_at is not null`,
  );
  check('reservations: none active for a closed order', activeForClosed === 0, `${activeForClosed} active reservations of closed orders`);

  // Purchase orders: closed, each receipt posted once, units received = units sent.
  const pos = await db.selectFrom('purchase_orders').select(['id', 'status']).execute();
  const poClosed = pos.filter((p) => p.status === 'closed').length;
  const notClosed = [...sent.purchaseOrders.keys()].filter((id) => pos.find((p) => p.id === id)?.status !== 'closed');
  const receivedSent = [...sent.purchaseOrders.values()].reduce((a, b) => a + b, 0);
  // Receipt movements put units into stock (from inbound, or from the supplier beyond it).
  const receivedFromSupplier = await scalar(
    db,
    sql<{ n: unknown }>`select coalesce(sum(qty), 0) as n from inventory_movements
      where starts_with(operation_key, 'po-') and strpos(operation_key, ':receipt:') > 0 and to_bucket in ('available', 'quarantine')`,
  );
  const onPurchaseOrderLines = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(received_qty), 0) as n from purchase_order_lines`);
  const receiptRows = await scalar(db, sql<{ n: unknown }>`select count(*) as n from purchase_order_receipts`);
  lost += notClosed.length;
  lostUnits += Math.max(0, receivedSent - receivedFromSupplier);
  doubled += Math.max(0, pos.length - sent.purchaseOrders.size);
  doubledUnits += Math.max(0, receivedFromSupplier - receivedSent) + Math.max(0, onPurchaseOrderLines - receivedSent);
  check(
    'purchase orders: closed, units received = units sent',
    notClosed.length === 0 && pos.length === sent.purchaseOrders.size && receivedFromSupplier === receivedSent && onPurchaseOrderLines === receivedSent,
    `${sent.purchaseOrders.size} sent, ${poClosed} closed; ${receivedSent} units sent, ${receivedFromSupplier} received into stock, ${onPurchaseOrderLines} on PO lines${notClosed.length ? `; not closed: ${await describePurchaseOrders(db, notClosed.slice(0, 3))}` : ''}`,
  );

  // Transfers: received once, with what arrived.
  const transfers = await db.selectFrom('transfers').select(['id', 'status', 'received_qty', 'damaged_qty', 'qty']).execute();
  const transferProblems = [...sent.transfers].filter(([id, t]) => {
    const row = transfers.find((r) => r.id === id);
    return row?.status !== 'received' || row.received_qty !== t.received || row.damaged_qty !== t.damaged || row.qty !== t.qty;
  });
  const inTransit = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(qty), 0) as n from inventory_balances where bucket = 'in_transit'`);
  lost += transferProblems.length;
  doubled += Math.max(0, transfers.length - sent.transfers.size);
  check(
    'transfers: received as sent, nothing left in transit',
    transferProblems.length === 0 && transfers.length === sent.transfers.size && inTransit === 0,
    `${sent.transfers.size} sent, ${transfers.filter((t) => t.status === 'received').length} received, ${inTransit} units in transit${transferProblems.length ? `; wrong: ${transferProblems.slice(0, 5).map(([id]) => id).join(', ')}` : ''}`,
  );

  // Returns: each driven to its end once; units back = units received; money paid once and posted once.
  const returnRows = await db.selectFrom('returns').select(['id', 'status', 'resolution', 'closed_at', 'refund_minor', 'credit_minor', 'journal_entry_id']).execute();
  const returnProblems: string[] = [];
  for (const [id, r] of sent.returns) {
    const row = returnRows.find((x) => x.id === id);
    const want = r.resolution === 'exchange' ? 'exchanged' : 'refunded';
    if (!row) returnProblems.push(`${id} missing`);
    else if (row.status !== want || r.status !== want || row.closed_at === null) returnProblems.push(`${id} is ${row.status}${row.closed_at ? '' : ' (open)'}, its process said ${r.status || 'nothing'}, want ${want}`);
    else if ((row.refund_minor ?? 0) !== r.cashMinor || (row.credit_minor ?? 0) !== r.appliedMinor)
      returnProblems.push(`${id} record says ${row.refund_minor} paid / ${row.credit_minor} applied, its process ${r.cashMinor} / ${r.appliedMinor}`);
    else if (r.resolution === 'refund' && r.cashMinor <= 0) returnProblems.push(`${id} refunded nothing`);
  }
  const openReturns = returnRows.filter((r) => r.closed_at === null);
  lost += returnProblems.length;
  doubled += Math.max(0, returnRows.length - sent.returns.size);
  check(
    'returns: each driven to its end, none left open',
    returnProblems.length === 0 && openReturns.length === 0 && returnRows.length === sent.returns.size,
    `${sent.returns.size} driven, ${returnRows.length} recorded, ${returnRows.length - openReturns.length} closed${returnProblems.length ? `; wrong: ${returnProblems.slice(0, 5).join('; ')}` : ''}${openReturns.length ? `; open: ${openReturns.slice(0, 5).map((r) => `${r.id} ${r.status}`).join(', ')}` : ''}`,
  );

  // Refunds: every return that paid money back has one gateway refund under its key (never a
  // second, under any key), and one journal entry whose payment clearing credit is that amount.
  const refundsDriven = [...sent.returns].filter(([, r]) => r.cashMinor > 0);
  const gatewayRows = await db.selectFrom('payment_gateway_refunds').select(['idempotency_key', 'reference', 'amount_minor']).execute();
  const refundEntries = (
    await sql<{ key: string; event_type: string; clearing: number }>`
      select e.idempotency_key as key, e.event_type,
        coalesce(sum(l.credit_minor - l.debit_minor) filter (where l.account_code = '1000'), 0)::bigint as clearing
      from journal_entries e join journal_lines l on l.entry_id = e.id
      where e.event_type in ('return.refunded', 'return.credited')
      group by e.id, e.idempotency_key, e.event_type`.execute(db)
  ).rows.map((r) => ({ ...r, clearing: num(r.clearing) }));
  const refundProblems: string[] = [];
  for (const [id, r] of sent.returns) {
    const key = `${returnWorkflowId(id)}:refund`;
    const payments = gatewayRows.filter((g) => g.reference === id);
    const entries = refundEntries.filter((e) => e.key === key);
    const entryType = r.resolution === 'exchange' ? 'return.credited' : 'return.refunded';
    if (payments.length !== (r.cashMinor > 0 ? 1 : 0)) refundProblems.push(`${id}: ${payments.length} gateway refunds for ${r.cashMinor} paid back`);
    else if (payments[0] && (payments[0].idempotency_key !== key || payments[0].amount_minor !== r.cashMinor)) refundProblems.push(`${id}: gateway refund ${payments[0].amount_minor} under ${payments[0].idempotency_key}, want ${r.cashMinor} under ${key}`);
    if (entries.length !== 1 || entries[0]!.event_type !== entryType || entries[0]!.clearing !== r.cashMinor)
      refundProblems.push(`${id}: entries ${JSON.stringify(entries)}, want one ${entryType} crediting ${r.cashMinor} to clearing`);
  }
  // Answers the gateway lost after paying (planned by the load): the retry must have paid nothing more.
  const gatewayAnswersLost = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(hits), 0) as n from payment_gateway_faults where kind = 'lost_response'`);
  const strayPayments = gatewayRows.filter((g) => !sent.returns.has(g.reference));
  const paidTwice = [...new Set(gatewayRows.map((g) => g.reference))].filter((ref) => gatewayRows.filter((g) => g.reference === ref).length > 1);
  const refundJournalEntries = refundEntries.filter((e) => e.event_type === 'return.refunded' || e.clearing > 0).length;
  lost += refundProblems.length;
  doubled += strayPayments.length + paidTwice.length + Math.max(0, refundEntries.length - sent.returns.size);
  check(
    'refunds: driven = gateway refunds (one per return key) = refund entries posted, same amounts',
    refundProblems.length === 0 && strayPayments.length === 0 && paidTwice.length === 0 && gatewayRows.length === refundsDriven.length && refundJournalEntries === refundsDriven.length,
    `${refundsDriven.length} refunds driven (${refundsDriven.reduce((n, [, r]) => n + r.cashMinor, 0)} minor units), ${gatewayRows.length} gateway refunds (${gatewayRows.reduce((n, g) => n + g.amount_minor, 0)}), ${refundJournalEntries} refund entries paying money, ${refundEntries.length} refund and credit entries in all${[...refundProblems, ...strayPayments.map((g) => `stray gateway refund ${g.idempotency_key}`), ...paidTwice.map((ref) => `${ref} paid twice`)].slice(0, 5).map((p) => `; ${p}`).join('')}`,
  );

  // Units back: what the parcels carried moved customer → return_pending once, and every unit left it again by its inspection.
  const unitsReceivedSent = [...sent.returns.values()].reduce((n, r) => n + r.unitsReceived, 0);
  const unitsInspectedSent = [...sent.returns.values()].reduce((n, r) => n + Object.values(r.conditions).reduce((a, b) => a + b, 0), 0);
  const movedBack = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(qty), 0) as n from inventory_movements where from_bucket = 'customer' and to_bucket = 'return_pending'`);
  const movedOutOfPending = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(qty), 0) as n from inventory_movements where from_bucket = 'return_pending'`);
  const onReturnLines = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(received_qty), 0) as n from return_lines`);
  const stillPending = await scalar(db, sql<{ n: unknown }>`select coalesce(sum(qty), 0) as n from inventory_balances where bucket = 'return_pending'`);
  const dispositions: Record<string, number> = {};
  for (const r of (await sql<{ disposition: string; n: unknown }>`select disposition, sum(qty) as n from return_inspections group by disposition`.execute(db)).rows) dispositions[r.disposition] = num(r.n);
  lostUnits += Math.max(0, unitsReceivedSent - movedBack);
  doubledUnits += Math.max(0, movedBack - unitsReceivedSent) + Math.max(0, movedOutOfPending - unitsInspectedSent);
  check(
    'units returned: received = moved customer → return_pending = on return lines, all inspected out of it',
    movedBack === unitsReceivedSent && onReturnLines === unitsReceivedSent && movedOutOfPending === unitsInspectedSent && unitsInspectedSent === unitsReceivedSent && stillPending === 0,
    `${unitsReceivedSent} received, ${movedBack} moved customer → return_pending, ${onReturnLines} on return lines; ${unitsInspectedSent} inspected, ${movedOutOfPending} moved out, ${stillPending} still pending; dispositions ${JSON.stringify(dispositions)}`,
  );

  // No idempotency key applied twice: a movement leg, a journal entry, a receipt line, a reservation.
  const twice = (
    await sql<{ what: string; key: string; times: number }>`
      select 'movement' as what, operation_key || ' leg ' || leg as key, count(*)::int as times from inventory_movements group by operation_key, leg having count(*) > 1
      union all
      select 'journal entry', idempotency_key, count(*)::int from journal_entries group by idempotency_key having count(*) > 1
      union all
      select 'receipt line', po_id || '/' || receipt_id || '/' || line_no, count(*)::int from purchase_order_receipts group by po_id, receipt_id, line_no having count(*) > 1
      union all
      select 'reservation', operation_key || ' line ' || line_no || ' ' || sku || '@' || warehouse_code, count(*)::int
        from reservations group by operation_key, line_no, sku, warehouse_code having count(*) > 1
      union all
      select 'return parcel line', return_id || '/' || parcel_id || '/' || line_no, count(*)::int from return_receipts group by return_id, parcel_id, line_no having count(*) > 1
      union all
      select 'return inspection unit', return_id || '/' || inspection_id || '/' || seq, count(*)::int from return_inspections group by return_id, inspection_id, seq having count(*) > 1`.execute(db)
  ).rows;
  doubled += twice.length;
  check('idempotency: no key applied twice', twice.length === 0, twice.length ? JSON.stringify(twice.slice(0, 5)) : 'movements, journal entries, receipt lines, reservations, return parcels and inspections: each key once');

  // The books agree with themselves.
  const ledger = await checkLedger(db);
  check('ledger check (db/ledger-check.ts)', ledger.ok, ledger.ok ? 'clean' : JSON.stringify(ledger.problems.slice(0, 5)));
  const balance = await trialBalance(db);
  check('trial balance: every entry balances, debits = credits', balance.balanced && ledger.problems.every((p) => p.check !== 'journal_entry_balances'), `${balance.totalDebits} debits, ${balance.totalCredits} credits`);

  // Humans: no task left open, no exception left unresolved.
  const openTasks = await db.selectFrom('tasks').select(['id', 'kind']).where('status', '=', 'open').execute();
  check('tasks: none left open', openTasks.length === 0, openTasks.length ? openTasks.slice(0, 5).map((t) => `${t.kind} ${t.id}`).join(', ') : 'every task closed');
  const exceptions = await db.selectFrom('exceptions').select(['kind']).where('status', '=', 'open').execute();
  const openExceptions: Record<string, number> = {};
  for (const e of exceptions) openExceptions[e.kind] = (openExceptions[e.kind] ?? 0) + 1;

  // Temporal: every process ended, completed (a cancelled order completes too), and one per business id.
  const { counts: workflows, failed } = await workflowCounts(client);
  // A shipment's last act is its final report; the order may complete on it first, and its
  // close policy then ends the child: terminated is an end for a shipment whose record is final.
  const notCompleted = Object.entries(workflows).flatMap(([type, statuses]) =>
    Object.entries(statuses)
      .filter(([status]) => status !== 'COMPLETED' && !(type === 'shipment' && status === 'TERMINATED' && openShipments.length === 0))
      .map(([status, n]) => `${n} ${type} ${status.toLowerCase()}`),
  );
  check(
    'workflows: every one completed',
    notCompleted.length === 0,
    notCompleted.length ? `${notCompleted.join(', ')}${failed.length ? `; ${failed.join('; ')}` : ''}` : `${Object.values(workflows).reduce((n, s) => n + (s.COMPLETED ?? 0), 0)} completed`,
  );
  const total = (type: string) => Object.values(workflows[type] ?? {}).reduce((a, b) => a + b, 0);
  const perId = [
    ['orderRelease', sent.orders.size],
    ['shipment', shipments.length],
    ['purchaseOrder', sent.purchaseOrders.size],
    ['transfer', sent.transfers.size],
    ['returnProcess', sent.returns.size],
  ] as const;
  const countMismatch = perId.filter(([type, n]) => total(type) !== n);
  doubled += countMismatch.reduce((n, [type, want]) => n + Math.max(0, total(type) - want), 0);
  check(
    'workflows: one per business id',
    countMismatch.length === 0,
    perId.map(([type, n]) => `${type} ${total(type)}/${n}`).join(', '),
  );

  return {
    ok: checks.every((c) => c.ok) && lost + doubled + lostUnits + doubledUnits === 0,
    lost,
    doubled,
    lostUnits,
    doubledUnits,
    checks,
    figures: {
      orders: { submitted: sent.orders.size, recorded: orders.length, closed, asExpected: sent.orders.size - unexpected.length, byStatus },
      shipments: {
        reportedShipped: sent.shipmentsShipped.size,
        shipped: shipped.length,
        confirmationEntries,
        cancelled: shipments.filter((s) => s.status === 'cancelled').length,
        open: openShipments.length,
      },
      units: { shippedSent, movedToCustomer, onOrderLines, receivedSent, receivedFromSupplier, onPurchaseOrderLines, returnedSent: unitsReceivedSent, movedCustomerToReturnPending: movedBack, inspectedOutOfReturnPending: movedOutOfPending },
      purchaseOrders: { sent: sent.purchaseOrders.size, closed: poClosed, receiptRows },
      transfers: {
        sent: sent.transfers.size,
        received: transfers.filter((t) => t.status === 'received').length,
        unitsSent: [...sent.transfers.values()].reduce((n, t) => n + t.qty, 0),
        unitsArrived: transfers.reduce((n, t) => n + (t.received_qty ?? 0) + (t.damaged_qty ?? 0), 0),
      },
      returns: {
        driven: sent.returns.size,
        recorded: returnRows.length,
        closed: returnRows.length - openReturns.length,
        approved: [...sent.returns.values()].filter((r) => r.approved).length,
        exchanges: [...sent.returns.values()].filter((r) => r.resolution === 'exchange').length,
        replacementOrders: [...sent.returns.values()].filter((r) => r.replacementOrderId && sent.orders.has(r.replacementOrderId)).length,
        dispositions,
        conditions: [...sent.returns.values()].reduce<Record<string, number>>((all, r) => {
          for (const [c, n] of Object.entries(r.conditions)) all[c] = (all[c] ?? 0) + n;
          return all;
        }, {}),
      },
      refunds: {
        driven: refundsDriven.length,
        drivenMinor: refundsDriven.reduce((n, [, r]) => n + r.cashMinor, 0),
        gatewayRefunds: gatewayRows.length,
        gatewayMinor: gatewayRows.reduce((n, g) => n + g.amount_minor, 0),
        gatewayAnswersLost,
        refundEntries: refundEntries.filter((e) => e.event_type === 'return.refunded').length,
        creditEntries: refundEntries.filter((e) => e.event_type === 'return.credited').length,
      },
      workflows,
      openTasks: openTasks.length,
      openExceptions,
      ledger: { ok: ledger.ok, problems: ledger.problems.length, ...ledger.counted },
      trialBalance: { balanced: balance.balanced, debits: balance.totalDebits, credits: balance.totalCredits },
    },
  };
}
