// Orders, shipments and returns: a list spec and a record page each.
import { useState } from 'preact/hooks';
import { api, query, useApi } from './api.js';
import { allowed, useSession } from './session.js';
import { Action, AuditOf, Badge, Facts, HistoryLink, JournalOf, Loading, money, Section, Table, Timeline, when, type ListSpec } from './ui.js';

interface OrderRow {
  orderId: string;
  channel: string;
  customerId: string;
  status: string;
  totalMinor: number;
  currency: string;
  createdAt: string;
}

export const orderList: ListSpec<OrderRow> = {
  title: 'Orders',
  endpoint: '/orders',
  items: (a) => a.orders as OrderRow[],
  rowKey: (o) => o.orderId,
  testid: 'orders',
  search: 'Order or customer',
  filters: [
    { name: 'status', label: 'Status', options: ['on_hold', 'allocating', 'released', 'backordered', 'partially_shipped', 'shipped', 'cancelled', 'rejected'] },
    { name: 'channel', label: 'Channel', options: ['dtc', 'wholesale', 'marketplace', 'subscription'] },
  ],
  columns: [
    { label: 'Order', cell: (o) => <a href={`/console/orders/${encodeURIComponent(o.orderId)}`}>{o.orderId}</a> },
    { label: 'Status', cell: (o) => <Badge value={o.status} /> },
    { label: 'Channel', cell: (o) => o.channel },
    { label: 'Customer', cell: (o) => o.customerId },
    { label: 'Total', cell: (o) => money(o.totalMinor, o.currency) },
    { label: 'Placed', cell: (o) => when(o.createdAt) },
  ],
};

interface OrderLine {
  lineNo: number;
  sku: string;
  qty: number;
  unitPriceMinor: number;
  allocated: number;
  backordered: number;
  cancelled: number;
  shipped: number;
}
interface Order {
  orderId: string;
  workflowId: string;
  record: null | {
    channel: string;
    customerId: string;
    currency: string;
    status: string;
    statusReason: string | null;
    totalMinor: number;
    hold: { flags?: { rule: string; detail?: string }[] } | null;
    routing: { split?: boolean; reason?: string; scores?: { warehouse: string; distanceKm: number; coverableUnits: number; fillsAll: boolean; costMinor?: number }[] }[] | null;
    createdAt: string;
    lines: OrderLine[];
  };
  process: null | { status: string; timeline: { at: string; status: string; note?: string }[]; hold?: { flags: { rule: string; detail?: string }[]; decision?: { decision: string; actor: string; reason: string } } };
  processState: string;
  returns: null | Record<string, unknown>;
}
interface ShipmentRow {
  shipmentId: string;
  orderId: string;
  warehouse: string;
  status: string;
  carrier: string | null;
  tracking: string | null;
  shippedAt: string | null;
  deliveredAt?: string | null;
  createdAt: string;
}
interface ReturnRow {
  returnId: string;
  orderId: string;
  status: string;
  reasonCode: string;
  refundedMinor: number | null;
  creditedMinor: number | null;
  authorizedAt: string;
}

interface OrderStory {
  audience: 'customer' | 'operator';
  events: { at: string; step: string; text: string }[];
}

/** The order's plain account (GET /orders/:id/story), in the operator's words or, one click away, the customer's. */
function StoryOf({ orderId }: { orderId: string }) {
  const [audience, setAudience] = useState<'operator' | 'customer'>('operator');
  const story = useApi<OrderStory>(`/orders/${encodeURIComponent(orderId)}/story${query({ for: audience })}`);
  const other = audience === 'operator' ? 'customer' : 'operator';
  return (
    <Section title="Story" testid="order-story">
      <p>
        <button type="button" data-testid="story-audience" onClick={() => setAudience(other)}>
          Show the {other}'s wording
        </button>
      </p>
      {story.data ? (
        <ol data-audience={story.data.audience}>
          {story.data.events.map((e) => (
            <li key={`${e.step}-${e.at}-${e.text}`}>
              <span class="muted">{when(e.at)}</span> {e.text}
            </li>
          ))}
        </ol>
      ) : (
        <Loading error={story.error} />
      )}
    </Section>
  );
}

export function OrderPage({ id }: { id: string }) {
  const session = useSession();
  const order = useApi<Order>(`/orders/${encodeURIComponent(id)}`);
  const shipments = useApi<{ shipments: ShipmentRow[] }>(`/shipments${query({ orderId: id, limit: 50 })}`);
  const returns = useApi<{ returns: ReturnRow[] }>(`/returns${query({ orderId: id, limit: 50 })}`);
  if (!order.data) return <Loading error={order.error} />;
  const o = order.data;
  const r = o.record;
  const status = r?.status ?? o.process?.status ?? 'unknown';
  const reload = () => {
    order.reload();
    shipments.reload();
  };
  const onHold = status === 'on_hold';
  const holdPermit = !onHold ? { ok: false, why: `the order is ${status}, not on hold` } : allowed(session.user, ['ops']);
  const finished = ['shipped', 'cancelled', 'rejected'].includes(status);
  const cancelPermit = finished ? { ok: false, why: `the order is ${status}` } : allowed(session.user, ['ops']);
  const flags = o.process?.hold?.flags ?? r?.hold?.flags ?? [];
  return (
    <div data-testid="order-page" data-order-id={o.orderId}>
      <h1>
        Order {o.orderId} <Badge value={status} />
      </h1>
      <Facts
        rows={[
          ['Channel', r?.channel],
          ['Customer', r?.customerId],
          ['Total', r ? money(r.totalMinor, r.currency) : '—'],
          ['Placed', when(r?.createdAt)],
          ['Why', r?.statusReason ?? '—'],
          ['Process', <HistoryLink workflowId={o.workflowId} />],
        ]}
      />
      <div class="actions">
        <Action
          label="Hold decision"
          testid="hold-decision"
          verbs={[
            { verb: 'approve', text: 'Approve' },
            { verb: 'reject', text: 'Reject' },
          ]}
          permit={holdPermit}
          send={(decision, reason) => api(`/orders/${encodeURIComponent(o.orderId)}/hold-decision`, { method: 'POST', body: { decision, reason } })}
          done={reload}
        />
        <Action label="Cancel the order" testid="cancel" verbs={[{ verb: 'cancel', text: 'Cancel order' }]} permit={cancelPermit} send={(_v, reason) => api(`/orders/${encodeURIComponent(o.orderId)}/cancel`, { method: 'POST', body: { reason } })} done={reload} />
      </div>
      {flags.length > 0 && (
        <Section title="Why it was held" testid="hold-flags">
          <ul>
            {flags.map((f, i) => (
              <li key={i}>
                <strong>{f.rule}</strong> {f.detail ?? ''}
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title="Lines and quantities by state" testid="lines">
        <Table
          rows={r?.lines ?? []}
          rowKey={(l) => String(l.lineNo)}
          columns={[
            { label: '#', cell: (l) => l.lineNo },
            { label: 'SKU', cell: (l) => l.sku },
            { label: 'Ordered', cell: (l) => l.qty },
            { label: 'Allocated', cell: (l) => l.allocated },
            { label: 'Backordered', cell: (l) => l.backordered },
            { label: 'Cancelled', cell: (l) => l.cancelled },
            { label: 'Shipped', cell: (l) => l.shipped },
            { label: 'Price', cell: (l) => money(l.unitPriceMinor, r?.currency) },
          ]}
        />
      </Section>
      <Section title="Routing" testid="routing">
        {r?.routing?.length ? (
          <ol>
            {r.routing.map((route, i) => (
              <li key={i}>
                <strong>{route.reason ?? 'routed'}</strong>
                {route.split ? ' (split)' : ''}
                <ul>
                  {(route.scores ?? []).map((score) => (
                    <li key={score.warehouse}>
                      {score.warehouse}: {Math.round(score.distanceKm)} km, covers {score.coverableUnits} units{score.fillsAll ? ' (all)' : ''}
                      {score.costMinor !== undefined ? `, cost ${money(score.costMinor)}` : ''}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        ) : (
          <p class="empty">Not routed yet.</p>
        )}
      </Section>
      {r && <StoryOf orderId={o.orderId} />}
      <Section title="Timeline" testid="order-timeline">
        <Timeline entries={(o.process?.timeline ?? []).map((t) => ({ at: t.at, title: t.status, note: t.note }))} />
        {o.processState !== 'live' && <p class="muted">The process is {o.processState}: the record shows the last known state.</p>}
      </Section>
      <Section title="Shipments" testid="shipments">
        {shipments.data ? (
          <Table
            rows={shipments.data.shipments}
            rowKey={(s) => s.shipmentId}
            empty="No shipments yet."
            columns={[
              { label: 'Shipment', cell: (s) => <a href={`/console/shipments/${encodeURIComponent(s.shipmentId)}`}>{s.shipmentId}</a> },
              { label: 'Warehouse', cell: (s) => s.warehouse },
              { label: 'Status', cell: (s) => <Badge value={s.status} /> },
              { label: 'Carrier', cell: (s) => s.carrier ?? '—' },
              { label: 'Tracking', cell: (s) => s.tracking ?? '—' },
              { label: 'Shipped', cell: (s) => when(s.shippedAt) },
              { label: 'Delivered', cell: (s) => when(s.deliveredAt) },
            ]}
          />
        ) : (
          <Loading error={shipments.error} />
        )}
      </Section>
      <Section title="Returns and refunds" testid="returns">
        {returns.data ? (
          <Table
            rows={returns.data.returns}
            rowKey={(x) => x.returnId}
            empty="No returns."
            columns={[
              { label: 'Return', cell: (x) => <a href={`/console/returns/${encodeURIComponent(x.returnId)}`}>{x.returnId}</a> },
              { label: 'Status', cell: (x) => <Badge value={x.status} /> },
              { label: 'Reason', cell: (x) => x.reasonCode },
              { label: 'Refunded', cell: (x) => money(x.refundedMinor, r?.currency) },
              { label: 'Credited', cell: (x) => money(x.creditedMinor, r?.currency) },
            ]}
          />
        ) : (
          <Loading error={returns.error} />
        )}
      </Section>
      {shipments.data && <JournalOf references={[o.orderId, ...shipments.data.shipments.map((s) => s.shipmentId)]} />}
      <AuditOf key={status} subjectType="order" subjectId={o.orderId} />
    </div>
  );
}

export const shipmentList: ListSpec<ShipmentRow> = {
  title: 'Shipments',
  endpoint: '/shipments',
  items: (a) => a.shipments as ShipmentRow[],
  rowKey: (s) => s.shipmentId,
  testid: 'shipments',
  search: 'Shipment, order or tracking',
  filters: [
    { name: 'status', label: 'Status', options: ['open', 'picked', 'packed', 'shipped', 'cancelled'] },
    { name: 'warehouse', label: 'Warehouse' },
  ],
  columns: [
    { label: 'Shipment', cell: (s) => <a href={`/console/shipments/${encodeURIComponent(s.shipmentId)}`}>{s.shipmentId}</a> },
    { label: 'Order', cell: (s) => <a href={`/console/orders/${encodeURIComponent(s.orderId)}`}>{s.orderId}</a> },
    { label: 'Warehouse', cell: (s) => s.warehouse },
    { label: 'Status', cell: (s) => <Badge value={s.status} /> },
    { label: 'Tracking', cell: (s) => (s.carrier ? `${s.carrier} ${s.tracking ?? ''}` : '—') },
    { label: 'Created', cell: (s) => when(s.createdAt) },
  ],
};

interface Shipment extends ShipmentRow {
  workflowId: string;
  shipBy: string | null;
  pickedAt: string | null;
  packedAt: string | null;
  lines: { lineNo: number; sku: string; qty: number; picked: number | null; shipped: number | null }[];
  process: null | { timeline: { at: string; status: string; note?: string }[] };
}

export function ShipmentPage({ id }: { id: string }) {
  const shipment = useApi<Shipment>(`/shipments/${encodeURIComponent(id)}`);
  if (!shipment.data) return <Loading error={shipment.error} />;
  const s = shipment.data;
  return (
    <div data-testid="shipment-page">
      <h1>
        Shipment {s.shipmentId} <Badge value={s.status} />
      </h1>
      <Facts
        rows={[
          ['Order', <a href={`/console/orders/${encodeURIComponent(s.orderId)}`}>{s.orderId}</a>],
          ['Warehouse', s.warehouse],
          ['Ship by', when(s.shipBy)],
          ['Carrier', s.carrier ?? '—'],
          ['Tracking', s.tracking ?? '—'],
          ['Picked / packed / shipped', `${when(s.pickedAt)} / ${when(s.packedAt)} / ${when(s.shippedAt)}`],
          ['Delivered', when(s.deliveredAt)],
          ['Process', <HistoryLink workflowId={s.workflowId} />],
        ]}
      />
      <Section title="Lines" testid="lines">
        <Table
          rows={s.lines}
          rowKey={(l) => `${l.lineNo}-${l.sku}`}
          columns={[
            { label: '#', cell: (l) => l.lineNo },
            { label: 'SKU', cell: (l) => l.sku },
            { label: 'Quantity', cell: (l) => l.qty },
            { label: 'Picked', cell: (l) => l.picked ?? '—' },
            { label: 'Shipped', cell: (l) => l.shipped ?? '—' },
          ]}
        />
      </Section>
      <Section title="Timeline">
        <Timeline entries={(s.process?.timeline ?? []).map((t) => ({ at: t.at, title: t.status, note: t.note }))} />
      </Section>
      <JournalOf references={[s.shipmentId]} />
      <AuditOf subjectType="shipment" subjectId={s.shipmentId} />
    </div>
  );
}

export const returnList: ListSpec<ReturnRow> = {
  title: 'Returns',
  endpoint: '/returns',
  items: (a) => a.returns as ReturnRow[],
  rowKey: (x) => x.returnId,
  testid: 'returns',
  search: 'Return, order or customer',
  filters: [{ name: 'status', label: 'Status', options: ['authorized', 'received', 'inspected', 'awaiting_refund_approval', 'refunded', 'closed', 'expired', 'rejected'] }],
  columns: [
    { label: 'Return', cell: (x) => <a href={`/console/returns/${encodeURIComponent(x.returnId)}`}>{x.returnId}</a> },
    { label: 'Order', cell: (x) => <a href={`/console/orders/${encodeURIComponent(x.orderId)}`}>{x.orderId}</a> },
    { label: 'Status', cell: (x) => <Badge value={x.status} /> },
    { label: 'Reason', cell: (x) => x.reasonCode },
    { label: 'Refunded', cell: (x) => money(x.refundedMinor) },
    { label: 'Authorized', cell: (x) => when(x.authorizedAt) },
  ],
};

interface Return extends ReturnRow {
  currency: string;
  resolution: string;
  refund: null | { totalMinor?: number };
  approval: null | { limitMinor?: number };
  lines: { lineNo: number; sku: string; authorized: number; received: number; inspected: number; restocked: number; damaged: number; refunded: number }[];
  process: null | { status: string; timeline: { at: string; status: string; note?: string }[] };
}

export function ReturnPage({ id }: { id: string }) {
  const session = useSession();
  const loaded = useApi<Return & { statusReason: string | null }>(`/returns/${encodeURIComponent(id)}`);
  if (!loaded.data) return <Loading error={loaded.error} />;
  const x = loaded.data;
  const status = x.process?.status ?? x.status;
  const refund = x.refund?.totalMinor;
  const limit = session.user.refundApprovalLimitMinor;
  const permit =
    status !== 'awaiting_refund_approval'
      ? { ok: false, why: `the return is ${status}, not waiting for a refund approval` }
      : !allowed(session.user, ['finance']).ok
        ? allowed(session.user, ['finance'])
        : limit !== null && refund !== undefined && refund > limit
          ? { ok: false, why: `the refund (${money(refund, x.currency)}) is above your limit of ${money(limit, x.currency)}` }
          : { ok: true };
  return (
    <div data-testid="return-page">
      <h1>
        Return {x.returnId} <Badge value={status} />
      </h1>
      <Facts
        rows={[
          ['Order', <a href={`/console/orders/${encodeURIComponent(x.orderId)}`}>{x.orderId}</a>],
          ['Reason', x.reasonCode],
          ['Resolution', x.resolution],
          ['Refund', money(refund, x.currency)],
          ['Refunded', money(x.refundedMinor, x.currency)],
          ['Why', x.statusReason ?? '—'],
        ]}
      />
      <div class="actions">
        <Action
          label="Refund approval"
          testid="refund-approval"
          verbs={[
            { verb: 'approve', text: 'Approve' },
            { verb: 'reject', text: 'Reject' },
          ]}
          permit={permit}
          send={(decision, reason) => api(`/returns/${encodeURIComponent(x.returnId)}/refund-approval`, { method: 'POST', body: { decision, reason } })}
          done={loaded.reload}
        />
      </div>
      <Section title="Lines" testid="lines">
        <Table
          rows={x.lines}
          rowKey={(l) => String(l.lineNo)}
          columns={[
            { label: '#', cell: (l) => l.lineNo },
            { label: 'SKU', cell: (l) => l.sku },
            { label: 'Authorized', cell: (l) => l.authorized },
            { label: 'Received', cell: (l) => l.received },
            { label: 'Inspected', cell: (l) => l.inspected },
            { label: 'Restocked', cell: (l) => l.restocked },
            { label: 'Damaged', cell: (l) => l.damaged },
            { label: 'Refunded', cell: (l) => l.refunded },
          ]}
        />
      </Section>
      <Section title="Timeline">
        <Timeline entries={(x.process?.timeline ?? []).map((t) => ({ at: t.at, title: t.status, note: t.note }))} />
      </Section>
      <JournalOf references={[x.returnId]} />
      <AuditOf key={status} subjectType="return" subjectId={x.returnId} />
    </div>
  );
}
