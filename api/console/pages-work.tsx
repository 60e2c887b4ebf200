// What people work: the task queue, exception cases, stock adjustments and purchase orders.
import { useState } from 'preact/hooks';
import { api, useApi } from './api.js';
import { allowed, useSession } from './session.js';
import { Action, age, AuditOf, Badge, Facts, HistoryLink, JournalOf, Loading, money, Section, Table, Timeline, when, type ListSpec } from './ui.js';

interface Task {
  id: string;
  kind: string;
  reference: string;
  role: string;
  priority: string;
  title: string;
  reason: string;
  ageSeconds: number;
  workflowId: string | null;
}

/** Where a task's record lives in the console. */
export function recordPath(kind: string, reference: string): string {
  const ref = encodeURIComponent(reference);
  if (kind === 'order_hold') return `/console/orders/${ref}`;
  if (kind === 'adjustment_approval') return `/console/adjustments/${ref}`;
  if (kind.startsWith('purchase_order') || kind === 'supplier_invoice_mismatch') return `/console/purchase-orders/${ref}`;
  if (kind.startsWith('refund')) return `/console/returns/${ref}`;
  return `/console/tasks?q=${ref}`;
}

export const taskList: ListSpec<Task> = {
  title: 'Tasks',
  endpoint: '/tasks',
  items: (a) => a.tasks as Task[],
  rowKey: (t) => t.id,
  testid: 'tasks',
  search: 'Reference, title or reason',
  filters: [
    { name: 'kind', label: 'Kind', options: ['order_hold', 'adjustment_approval', 'purchase_order_approval', 'refund_approval', 'purchase_order_receipt_excess', 'supplier_invoice_mismatch'] },
    { name: 'role', label: 'For', options: ['ops', 'buyer', 'finance'] },
  ],
  columns: [
    { label: 'Kind', cell: (t) => t.kind },
    {
      label: 'Reference',
      cell: (t) => (
        <a href={recordPath(t.kind, t.reference)} data-testid="task-link" data-reference={t.reference}>
          {t.reference}
        </a>
      ),
    },
    { label: 'Title', cell: (t) => t.title, wide: true },
    { label: 'Reason', cell: (t) => t.reason, wide: true },
    { label: 'For', cell: (t) => t.role },
    { label: 'Age', cell: (t) => age(t.ageSeconds) },
    { label: 'Priority', cell: (t) => <Badge value={t.priority} /> },
  ],
};

interface Case {
  id: number;
  kind: string;
  reference: string;
  ownerRole: string;
  status: string;
  assignee: string | null;
  snoozedUntil: string | null;
  cause: string | null;
  resolutionNote: string | null;
  resolvedBy: string | null;
  openedAt: string;
  occurrences: number;
  reopened: number;
  ageSeconds: number;
  sla: { seconds: number; dueAt: string; breached: boolean };
  message: string | null;
  workflowId: string | null;
  causes: string[];
}

export const exceptionList: ListSpec<Case> = {
  title: 'Exceptions',
  endpoint: '/exceptions/cases',
  items: (a) => a.cases as Case[],
  rowKey: (c) => String(c.id),
  testid: 'exceptions',
  search: 'Record, kind or message',
  filters: [
    { name: 'status', label: 'Status', options: ['open', 'snoozed', 'resolved', 'all'] },
    { name: 'kind', label: 'Kind', options: ['short_pick', 'late_shipment', 'po_late', 'po_ack_missing', 'transfer_late', 'hold_escalated', 'channel_delivery_failing', 'refund_refused'] },
    { name: 'assignee', label: 'Assignee (id, or none)' },
  ],
  columns: [
    {
      label: 'Case',
      cell: (c) => (
        <a href={`/console/exceptions/${c.id}`} data-testid="case-link" data-reference={c.reference}>
          #{c.id} {c.kind}
        </a>
      ),
    },
    { label: 'Record', cell: (c) => c.reference },
    { label: 'What', cell: (c) => c.message ?? '', wide: true },
    { label: 'Seen', cell: (c) => `${c.occurrences}×${c.reopened ? `, reopened ${c.reopened}×` : ''}` },
    { label: 'Owner', cell: (c) => c.assignee ?? `(${c.ownerRole})` },
    { label: 'Age', cell: (c) => <span class={c.sla.breached ? 'breached' : undefined}>{age(c.ageSeconds)}{c.sla.breached ? ' · past SLA' : ''}</span> },
    { label: 'Status', cell: (c) => <Badge value={c.status} /> },
  ],
};

interface CaseDetail extends Case {
  suggestion: { cause: string; confidence: number; alternatives: { cause: string; probability: number }[]; restsOn: number[]; owner: { user: string; share: number } | null; trainedOn: number } | null;
  raised: { id: string; message: string; status: string; raisedAt: string }[];
  events: { at: string; actor: string; kind: string; note: string | null }[];
}

export function ExceptionPage({ id }: { id: string }) {
  const session = useSession();
  const loaded = useApi<CaseDetail>(`/exceptions/cases/${encodeURIComponent(id)}`);
  const [cause, setCause] = useState('');
  if (!loaded.data) return <Loading error={loaded.error} />;
  const c = loaded.data;
  const path = `/exceptions/cases/${c.id}`;
  const works = allowed(session.user, ['ops', 'buyer', 'finance']);
  const open = c.status !== 'resolved';
  const permit = !open ? { ok: false, why: `resolved (${c.cause}) by ${c.resolvedBy}` } : works;
  // The suggested cause is preselected: resolving accepts it, choosing another changes it.
  const suggested = c.suggestion && c.causes.includes(c.suggestion.cause) ? c.suggestion.cause : undefined;
  const chosen = cause || suggested || c.causes[0] || '';
  const pct = (p: number) => `${Math.round(p * 100)}%`;
  return (
    <div data-testid="exception-page">
      <h1>
        Exception #{c.id}: {c.kind} <Badge value={c.status} />
      </h1>
      <p class="lead">{c.message}</p>
      <Facts
        rows={[
          ['Record', c.reference],
          ['Owner', c.assignee ?? `unassigned (${c.ownerRole})`],
          ['Opened', `${when(c.openedAt)} (${age(c.ageSeconds)} ago)`],
          ['SLA', `${age(c.sla.seconds)} — due ${when(c.sla.dueAt)}${c.sla.breached ? ' (breached)' : ''}`],
          ['Occurrences', `${c.occurrences}${c.reopened ? `, reopened ${c.reopened}×` : ''}`],
          ['Cause', c.cause ? `${c.cause}: ${c.resolutionNote ?? ''}` : '—'],
          ['Process', <HistoryLink workflowId={c.workflowId} />],
        ]}
      />
      <div class="actions">
        <Action label="Assign to me" testid="assign" reasonLabel="Note (optional)" verbs={[{ verb: 'assign', text: `Assign to ${session.user.id}` }]} permit={permit} send={() => api(`${path}/assign`, { method: 'POST', body: { assignee: session.user.id } })} done={loaded.reload} />
        <Action label="Comment" testid="comment" reasonLabel="Comment" verbs={[{ verb: 'comment', text: 'Add comment' }]} permit={works} send={(_v, text) => api(`${path}/comments`, { method: 'POST', body: { text } })} done={loaded.reload} />
        <Action
          label="Snooze 4 hours"
          testid="snooze"
          verbs={[{ verb: 'snooze', text: 'Snooze' }]}
          permit={permit}
          send={(_v, reason) => api(`${path}/snooze`, { method: 'POST', body: { until: new Date(Date.now() + 4 * 3_600_000).toISOString(), reason } })}
          done={loaded.reload}
        />
        <div class="action">
          <label>
            Root cause
            <select value={chosen} onChange={(e) => setCause(e.currentTarget.value)} disabled={!permit.ok} data-testid="cause">
              {c.causes.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <Action label="Resolve" testid="resolve" reasonLabel="What was found" verbs={[{ verb: 'resolve', text: 'Resolve' }]} permit={permit} send={(_v, note) => api(`${path}/resolve`, { method: 'POST', body: { cause: chosen, note } })} done={loaded.reload} />
        </div>
      </div>
      {c.suggestion && (
        <Section title="Suggested cause and owner" testid="case-suggestion">
          <p>
            <strong>{c.suggestion.cause}</strong> ({pct(c.suggestion.confidence)} sure, from {c.suggestion.trainedOn} resolved cases of this kind)
            {c.suggestion.owner ? `; usually resolved by ${c.suggestion.owner.user} (${pct(c.suggestion.owner.share)} of them)` : ''}.
          </p>
          <p>
            Also weighed: {c.suggestion.alternatives.slice(1, 4).map((a) => `${a.cause} ${pct(a.probability)}`).join(', ') || 'nothing else'}. Rests on{' '}
            {c.suggestion.restsOn.map((caseId, i) => (
              <span key={caseId}>
                {i > 0 ? ', ' : ''}
                <a href={`/console/exceptions/${caseId}`}>#{caseId}</a>
              </span>
            ))}
            .
          </p>
        </Section>
      )}
      <Section title="History" testid="case-history">
        <Timeline entries={c.events.map((e) => ({ at: e.at, title: `${e.kind} by ${e.actor}`, note: e.note }))} />
      </Section>
      <Section title="Occurrences">
        <Table
          rows={c.raised}
          rowKey={(r) => r.id}
          columns={[
            { label: 'Raised', cell: (r) => when(r.raisedAt) },
            { label: 'What', cell: (r) => r.message, wide: true },
            { label: 'Status', cell: (r) => <Badge value={r.status} /> },
          ]}
        />
      </Section>
      <AuditOf key={c.events.length} subjectType="exception_case" subjectId={String(c.id)} />
    </div>
  );
}

interface Adjustment {
  adjustmentId: string;
  sku: string;
  warehouse: string;
  kind: string;
  reasonCode: string;
  countedQty: number | null;
  expected: number | null;
  delta: number | null;
  valueMinor: number | null;
  status: string;
  requestedBy: string;
  decidedBy: string | null;
  decisionReason: string | null;
  process: null | { status: string; approvalReasons: string[] };
}

export function AdjustmentPage({ id }: { id: string }) {
  const session = useSession();
  const loaded = useApi<Adjustment>(`/inventory/adjustments/${encodeURIComponent(id)}`);
  if (!loaded.data) return <Loading error={loaded.error} />;
  const a = loaded.data;
  const status = a.process?.status ?? a.status;
  const permit =
    status !== 'awaiting_approval'
      ? { ok: false, why: `the adjustment is ${status}` }
      : !allowed(session.user, ['ops', 'finance']).ok
        ? allowed(session.user, ['ops', 'finance'])
        : // Shown here, and refused by the process all the same: the requester does not approve.
          a.requestedBy === session.user.id
          ? { ok: false, why: 'you asked for this adjustment: someone else must approve it' }
          : { ok: true };
  return (
    <div data-testid="adjustment-page">
      <h1>
        Adjustment {a.adjustmentId} <Badge value={status} />
      </h1>
      <Facts
        rows={[
          ['SKU at warehouse', `${a.sku} @ ${a.warehouse}`],
          ['Change', a.kind === 'count' ? `counted ${a.countedQty}, books ${a.expected ?? '—'} (${a.delta ?? '—'})` : String(a.delta)],
          ['Value', money(a.valueMinor)],
          ['Reason', a.reasonCode],
          ['Asked by', a.requestedBy],
          ['Decided by', a.decidedBy ? `${a.decidedBy}: ${a.decisionReason ?? ''}` : '—'],
          ['Why it waits', a.process?.approvalReasons.join('; ') || '—'],
          ['Process', <HistoryLink workflowId={`adjustment-${a.adjustmentId}`} />],
        ]}
      />
      <div class="actions">
        <Action
          label="Approval"
          testid="adjustment-decision"
          verbs={[
            { verb: 'approve', text: 'Approve' },
            { verb: 'reject', text: 'Reject' },
          ]}
          permit={permit}
          send={(decision, reason) => api(`/inventory/adjustments/${encodeURIComponent(a.adjustmentId)}/decision`, { method: 'POST', body: { decision, reason } })}
          done={loaded.reload}
        />
      </div>
      <AuditOf key={status} subjectType="adjustment" subjectId={a.adjustmentId} />
    </div>
  );
}

interface PurchaseOrderRow {
  poId: string;
  supplierId: string;
  warehouse: string;
  currency: string;
  status: string;
  valueMinor: number;
  expectedAt: string;
  createdBy: string;
}

export const purchaseOrderList: ListSpec<PurchaseOrderRow> = {
  title: 'Purchase orders',
  endpoint: '/purchase-orders',
  items: (a) => a.purchaseOrders as PurchaseOrderRow[],
  rowKey: (p) => p.poId,
  testid: 'purchase-orders',
  search: 'PO or supplier',
  filters: [
    { name: 'status', label: 'Status', options: ['awaiting_approval', 'issued', 'acknowledged', 'partially_received', 'received', 'closed', 'cancelled', 'rejected'] },
    { name: 'warehouse', label: 'Warehouse' },
  ],
  columns: [
    { label: 'PO', cell: (p) => <a href={`/console/purchase-orders/${encodeURIComponent(p.poId)}`}>{p.poId}</a> },
    { label: 'Supplier', cell: (p) => p.supplierId },
    { label: 'Warehouse', cell: (p) => p.warehouse },
    { label: 'Status', cell: (p) => <Badge value={p.status} /> },
    { label: 'Value', cell: (p) => money(p.valueMinor, p.currency) },
    { label: 'Expected', cell: (p) => when(p.expectedAt) },
    { label: 'Drafted by', cell: (p) => p.createdBy },
  ],
};

interface PurchaseOrder {
  poId: string;
  status: string;
  supplierId: string;
  warehouse: string;
  valueMinor: number;
  expectedAt: string;
  lines: { lineNo: number; sku: string; ordered: number; received: number; accepted: number; rejected: number; cancelled: number; invoiced: number; unitCostMinor: number }[];
  receipts: { receiptId: string; lineNo: number; sku: string; qty: number; into: string; receivedAt: string }[];
  process: null | { status: string; approval: { needed: boolean; approverRole: string; buyerLimitMinor: number }; timeline: { at: string; status: string; note?: string }[] };
}

export function PurchaseOrderPage({ id }: { id: string }) {
  const session = useSession();
  const loaded = useApi<PurchaseOrder>(`/purchase-orders/${encodeURIComponent(id)}`);
  const draft = useApi<{ purchaseOrders: PurchaseOrderRow[] }>(`/purchase-orders?q=${encodeURIComponent(id)}&limit=1`);
  if (!loaded.data) return <Loading error={loaded.error} />;
  const p = loaded.data;
  const createdBy = draft.data?.purchaseOrders.find((x) => x.poId === p.poId)?.createdBy;
  const limit = session.user.roles.includes('finance') ? null : (session.user.poApprovalLimitMinor ?? p.process?.approval.buyerLimitMinor ?? null);
  const permit =
    p.status !== 'awaiting_approval'
      ? { ok: false, why: `the purchase order is ${p.status}` }
      : !allowed(session.user, ['finance', 'buyer']).ok
        ? allowed(session.user, ['finance', 'buyer'])
        : createdBy === session.user.id
          ? { ok: false, why: 'you drafted this purchase order: someone else must decide it' }
          : limit !== null && p.valueMinor > limit
            ? { ok: false, why: `its value ${money(p.valueMinor)} is above your limit of ${money(limit)}` }
            : { ok: true };
  return (
    <div data-testid="purchase-order-page">
      <h1>
        Purchase order {p.poId} <Badge value={p.status} />
      </h1>
      <Facts
        rows={[
          ['Supplier', p.supplierId],
          ['Warehouse', p.warehouse],
          ['Value', money(p.valueMinor)],
          ['Expected', when(p.expectedAt)],
          ['Drafted by', createdBy ?? '—'],
          ['Process', <HistoryLink workflowId={`po-${p.poId}`} />],
        ]}
      />
      <div class="actions">
        <Action
          label="Approval"
          testid="po-approval"
          verbs={[
            { verb: 'approve', text: 'Approve' },
            { verb: 'reject', text: 'Reject' },
          ]}
          permit={permit}
          send={(decision, reason) => api(`/purchase-orders/${encodeURIComponent(p.poId)}/approval`, { method: 'POST', body: { decision, reason } })}
          done={loaded.reload}
        />
      </div>
      <Section title="Lines">
        <Table
          rows={p.lines}
          rowKey={(l) => String(l.lineNo)}
          columns={[
            { label: '#', cell: (l) => l.lineNo },
            { label: 'SKU', cell: (l) => l.sku },
            { label: 'Ordered', cell: (l) => l.ordered },
            { label: 'Received', cell: (l) => l.received },
            { label: 'Accepted', cell: (l) => l.accepted },
            { label: 'Rejected', cell: (l) => l.rejected },
            { label: 'Cancelled', cell: (l) => l.cancelled },
            { label: 'Invoiced', cell: (l) => l.invoiced },
            { label: 'Unit cost', cell: (l) => money(l.unitCostMinor) },
          ]}
        />
      </Section>
      <Section title="Receipts">
        <Table
          rows={p.receipts}
          rowKey={(r) => `${r.receiptId}-${r.lineNo}`}
          empty="Nothing received yet."
          columns={[
            { label: 'Receipt', cell: (r) => r.receiptId },
            { label: 'Line', cell: (r) => `${r.lineNo} ${r.sku}` },
            { label: 'Quantity', cell: (r) => r.qty },
            { label: 'Into', cell: (r) => r.into },
            { label: 'When', cell: (r) => when(r.receivedAt) },
          ]}
        />
      </Section>
      <Section title="Timeline">
        <Timeline entries={(p.process?.timeline ?? []).map((t) => ({ at: t.at, title: t.status, note: t.note }))} />
      </Section>
      <JournalOf references={[p.poId]} />
      <AuditOf key={p.status} subjectType="purchase_order" subjectId={p.poId} />
    </div>
  );
}
