// Stock, channels, finance, KPIs, the audit log and users.
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure, query, useApi } from './api.js';
import { allowed, useSession } from './session.js';
import { Action, age, AuditOf, Badge, Facts, ListPage, Loading, money, pct, Section, Table, when, type ListSpec } from './ui.js';

interface Place {
  sku: string;
  warehouse: string;
  available: number;
  allocated: number;
  inbound: number;
  quarantine: number;
  damaged: number;
  returnPending: number;
  inTransit: number;
  onHand: number;
  atp: number;
}

/** Stock per sku and warehouse; the API pages it by key (`after`), so Next follows nextAfter. */
export function InventoryPage() {
  const location = useLocation();
  const { sku, warehouse, after } = location.query;
  const loaded = useApi<{ inventory: Place[]; nextAfter: string | null }>(`/inventory${query({ sku, warehouse, after, limit: 50 })}`);
  const go = (next: Record<string, string | undefined>) => location.route(`/console/inventory${query(next)}`);
  return (
    <div data-testid="inventory">
      <h1>Inventory</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          go({ sku: String(form.get('sku') ?? '') || undefined, warehouse: String(form.get('warehouse') ?? '') || undefined });
        }}
      >
        <input name="sku" placeholder="SKU (exact)" aria-label="SKU" defaultValue={sku ?? ''} data-testid="search" />
        <input name="warehouse" placeholder="Warehouse" aria-label="Warehouse" defaultValue={warehouse ?? ''} />
        <button type="submit">Search</button>
      </form>
      {loaded.data ? (
        <>
          <Table
            rows={loaded.data.inventory}
            rowKey={(p) => `${p.sku}@${p.warehouse}`}
            testid="inventory-table"
            columns={[
              { label: 'SKU', cell: (p) => p.sku },
              { label: 'Warehouse', cell: (p) => p.warehouse },
              { label: 'Available', cell: (p) => p.available },
              { label: 'Allocated', cell: (p) => p.allocated },
              { label: 'Inbound', cell: (p) => p.inbound },
              { label: 'Quarantine', cell: (p) => p.quarantine },
              { label: 'Damaged', cell: (p) => p.damaged },
              { label: 'Return pending', cell: (p) => p.returnPending },
              { label: 'In transit', cell: (p) => p.inTransit },
              { label: 'On hand', cell: (p) => p.onHand },
              { label: 'ATP', cell: (p) => <strong>{p.atp}</strong> },
            ]}
          />
          <nav class="pager">
            <button type="button" disabled={!after} onClick={() => go({ sku, warehouse })}>
              ‹ First
            </button>
            <button type="button" disabled={!loaded.data.nextAfter} onClick={() => go({ sku, warehouse, after: loaded.data!.nextAfter ?? undefined })}>
              Next ›
            </button>
          </nav>
        </>
      ) : (
        <Loading error={loaded.error} />
      )}
    </div>
  );
}

interface Channel {
  channel: string;
  webhookUrl: string | null;
  paused: boolean;
  lag: { eventsBehind: number; oldestUndeliveredAgeSeconds: number | null };
  lastDelivery: { at: string | null };
  failures: { consecutive: number; lastError: string | null };
  publisher: { status: string; temporalUiUrl: string };
}

export function ChannelsPage() {
  const loaded = useApi<{ channels: Channel[] }>('/channels/publishing');
  return (
    <div data-testid="channels">
      <h1>Channels</h1>
      {loaded.data ? (
        <Table
          rows={loaded.data.channels}
          rowKey={(c) => c.channel}
          columns={[
            { label: 'Channel', cell: (c) => <a href={`/console/channels/${encodeURIComponent(c.channel)}`}>{c.channel}</a> },
            { label: 'Webhook', cell: (c) => c.webhookUrl ?? 'feed only', wide: true },
            { label: 'Publishing', cell: (c) => <Badge value={c.paused ? 'paused' : c.publisher.status.toLowerCase()} /> },
            { label: 'Behind', cell: (c) => `${c.lag.eventsBehind} events` },
            { label: 'Last delivery', cell: (c) => when(c.lastDelivery.at) },
            { label: 'Failures', cell: (c) => (c.failures.consecutive ? `${c.failures.consecutive}: ${c.failures.lastError ?? ''}` : '—') },
            {
              label: 'Process',
              cell: (c) => (
                <a href={c.publisher.temporalUiUrl} target="_blank" rel="noopener noreferrer">
                  Temporal history
                </a>
              ),
            },
          ]}
        />
      ) : (
        <Loading error={loaded.error} />
      )}
    </div>
  );
}

interface Failures {
  consecutive: number;
  lastError: string | null;
}
interface Publishing extends Channel {
  delivered: { batches: number; events: number };
  orderUpdates: {
    connected: boolean;
    paused: boolean;
    lag: { eventsBehind: number; oldestUndeliveredAgeSeconds: number | null };
    lastSentAt: string | null;
    updates: { sent: number; skipped: number; refused: number };
    failures: Failures;
  } | null;
}
interface Connector {
  platform: string;
  shop: string;
  webhookPath: string;
  orderIdPrefix: string;
  secret: { previousAcceptedUntil: string | null };
  api: { baseUrl: string | null; tokenSet: boolean };
  updatedBy: string;
  updatedAt: string;
}
interface Delivery {
  id: number;
  deliveryId: string;
  topic: string;
  platformOrderId: string | null;
  orderId: string | null;
  receivedAt: string;
  outcome: string;
  detail: unknown;
}

const behind = (lag: { eventsBehind: number; oldestUndeliveredAgeSeconds: number | null }) =>
  `${lag.eventsBehind} events${lag.oldestUndeliveredAgeSeconds === null ? '' : `, oldest ${age(lag.oldestUndeliveredAgeSeconds)} old`}`;

/** Why a delivery was rejected or refused, from its detail. */
function reason(detail: unknown): string {
  if (detail && typeof detail === 'object') {
    const d = detail as Record<string, unknown>;
    if (Array.isArray(d.problems)) return (d.problems as { detail?: string; problem?: string }[]).map((p) => p.detail ?? p.problem).join('; ');
    for (const key of ['message', 'reason', 'code']) if (typeof d[key] === 'string') return d[key] as string;
    if (d.taskId) return `waits for a person (task ${String(d.taskId)})`;
    return JSON.stringify(detail);
  }
  return detail === null || detail === undefined ? '—' : String(detail);
}

/** One channel: its storefront connector, the last webhook, rejected deliveries, and the lag of what goes back. */
export function ChannelPage({ id }: { id: string }) {
  const channel = encodeURIComponent(id);
  const publishing = useApi<Publishing>(`/channels/${channel}/publishing`);
  const connector = useApi<Connector>(`/channels/${channel}/connector`);
  const last = useApi<{ deliveries: Delivery[] }>(`/channels/${channel}/deliveries?limit=1`);
  const rejected = useApi<{ deliveries: Delivery[] }>(`/channels/${channel}/deliveries?rejected=true&limit=50`);
  const noConnector = connector.error instanceof ApiFailure && connector.error.status === 404;
  const p = publishing.data;
  const newest = last.data?.deliveries[0];
  return (
    <div data-testid="channel-page">
      <h1>Channel {id}</h1>
      <Section title="Storefront" testid="connector">
        {connector.data ? (
          <Facts
            rows={[
              ['Platform', connector.data.platform],
              ['Shop', connector.data.shop],
              ['Webhooks to', <code>{connector.data.webhookPath}</code>],
              ['Order ids', `${connector.data.orderIdPrefix}…`],
              ['Secret rotation', connector.data.secret.previousAcceptedUntil ? `previous secret accepted until ${when(connector.data.secret.previousAcceptedUntil)}` : 'none'],
              ['Admin API', connector.data.api.baseUrl ? `${connector.data.api.baseUrl}${connector.data.api.tokenSet ? '' : ' (no token)'}` : 'not set: updates are not sent back'],
              ['Changed', `${when(connector.data.updatedAt)} by ${connector.data.updatedBy}`],
            ]}
          />
        ) : noConnector ? (
          <p class="muted">No storefront connected: orders come through POST /orders or the CSV import.</p>
        ) : (
          <Loading error={connector.error} />
        )}
      </Section>
      {!noConnector && (
        <Section title="Last webhook received" testid="last-webhook">
          {last.data ? (
            newest ? (
              <Facts
                rows={[
                  ['Received', when(newest.receivedAt)],
                  ['Topic', newest.topic],
                  ['Outcome', <Badge value={newest.outcome} />],
                  ['Order', newest.orderId ? <a href={`/console/orders/${encodeURIComponent(newest.orderId)}`}>{newest.orderId}</a> : '—'],
                ]}
              />
            ) : (
              <p class="empty">No webhook received yet.</p>
            )
          ) : (
            <Loading error={last.error} />
          )}
        </Section>
      )}
      <Section title="Publishing lag" testid="publishing-lag">
        {p ? (
          <Facts
            rows={[
              ['Stock and price updates', `${p.paused ? 'paused; ' : ''}${behind(p.lag)} behind; last delivered ${when(p.lastDelivery.at)}`],
              ['Stock failures', p.failures.consecutive ? `${p.failures.consecutive}: ${p.failures.lastError ?? ''}` : 'none'],
              [
                'Order updates to the storefront',
                p.orderUpdates
                  ? `${p.orderUpdates.paused ? 'paused; ' : ''}${p.orderUpdates.connected ? '' : 'no admin API; '}${behind(p.orderUpdates.lag)} behind; last sent ${when(p.orderUpdates.lastSentAt)}`
                  : 'no storefront',
              ],
              ['Order updates sent', p.orderUpdates ? `${p.orderUpdates.updates.sent} sent, ${p.orderUpdates.updates.skipped} skipped, ${p.orderUpdates.updates.refused} refused` : '—'],
              ['Order update failures', p.orderUpdates?.failures.consecutive ? `${p.orderUpdates.failures.consecutive}: ${p.orderUpdates.failures.lastError ?? ''}` : 'none'],
            ]}
          />
        ) : (
          <Loading error={publishing.error} />
        )}
      </Section>
      {!noConnector && (
        <Section title="Rejected deliveries" testid="rejected-deliveries">
          {rejected.data ? (
            <Table
              rows={rejected.data.deliveries}
              rowKey={(d) => String(d.id)}
              empty="No rejected or refused deliveries."
              columns={[
                { label: 'Received', cell: (d) => when(d.receivedAt) },
                { label: 'Topic', cell: (d) => d.topic },
                { label: 'Platform order', cell: (d) => d.platformOrderId ?? '—' },
                { label: 'Outcome', cell: (d) => <Badge value={d.outcome} /> },
                { label: 'Why', cell: (d) => reason(d.detail), wide: true },
                { label: 'Order', cell: (d) => (d.orderId ? <a href={`/console/orders/${encodeURIComponent(d.orderId)}`}>{d.orderId}</a> : '—') },
              ]}
            />
          ) : (
            <Loading error={rejected.error} />
          )}
        </Section>
      )}
    </div>
  );
}

interface Entry {
  id: number;
  eventType: string;
  reference: string;
  memo: string | null;
  actor: string;
  postedAt: string;
  lines: { account: string; debitMinor: number; creditMinor: number }[];
}
interface Balance {
  accounts: { code: string; name: string; type: string; debits: number; credits: number; balanceMinor: number }[];
  totalDebits: number;
  totalCredits: number;
  balanced: boolean;
}

export function FinancePage() {
  const location = useLocation();
  const ref = location.query.ref;
  const journal = useApi<{ entries: Entry[] }>(`/journal${query({ ref, limit: 50 })}`);
  const balance = useApi<Balance>('/trial-balance');
  return (
    <div data-testid="finance">
      <h1>Finance</h1>
      <Section title="Trial balance" testid="trial-balance">
        {balance.data ? (
          <>
            <p>
              <Badge value={balance.data.balanced ? 'balanced' : 'unbalanced'} /> debits {money(balance.data.totalDebits)}, credits {money(balance.data.totalCredits)}
            </p>
            <Table
              rows={balance.data.accounts}
              rowKey={(a) => a.code}
              columns={[
                { label: 'Account', cell: (a) => `${a.code} ${a.name}` },
                { label: 'Type', cell: (a) => a.type },
                { label: 'Debits', cell: (a) => money(a.debits) },
                { label: 'Credits', cell: (a) => money(a.credits) },
                { label: 'Balance', cell: (a) => money(a.balanceMinor) },
              ]}
            />
          </>
        ) : (
          <Loading error={balance.error} />
        )}
      </Section>
      <Section title="Journal" testid="journal-list">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            const value = String(new FormData(e.currentTarget).get('ref') ?? '');
            location.route(`/console/finance${query({ ref: value || undefined })}`);
          }}
        >
          <input name="ref" placeholder="Reference (order, shipment, PO, SKU@WAREHOUSE)" aria-label="Reference" defaultValue={ref ?? ''} data-testid="search" />
          <button type="submit">Search</button>
        </form>
        {journal.data ? (
          <Table
            rows={journal.data.entries}
            rowKey={(e) => String(e.id)}
            columns={[
              { label: 'Entry', cell: (e) => `#${e.id}` },
              { label: 'Posted', cell: (e) => when(e.postedAt) },
              { label: 'Event', cell: (e) => e.eventType },
              { label: 'Reference', cell: (e) => e.reference },
              { label: 'By', cell: (e) => e.actor },
              { label: 'Lines', wide: true, cell: (e) => e.lines.map((l) => `${l.account} ${l.debitMinor ? `Dr ${money(l.debitMinor)}` : `Cr ${money(l.creditMinor)}`}`).join(' · ') },
            ]}
          />
        ) : (
          <Loading error={journal.error} />
        )}
      </Section>
    </div>
  );
}

interface Ratio {
  value: number | null;
  numerator: number;
  denominator: number;
  definition: string;
}
interface Point {
  date: string;
  value: number | null;
}

const palette = ['#1f5fbf', '#b45309', '#15803d', '#9333ea', '#be123c', '#0e7490'];

/** Day-by-day lines as an SVG drawn by Preact, one per group of the breakdown (or one for all). */
function Trend({ metric, title, ratio, by }: { metric: string; title: string; ratio: boolean; by?: string }) {
  const loaded = useApi<{ points: Point[]; definition: string; groups?: { key: string; points: Point[] }[] }>(`/kpis/series${query({ metric, days: 14, by })}`);
  const refused = loaded.error?.message.includes('no breakdown');
  const series = loaded.data ? (loaded.data.groups ?? [{ key: 'all', points: loaded.data.points }]) : [];
  const max = Math.max(ratio ? 1 : 1, ...series.flatMap((s) => s.points.map((p) => p.value ?? 0)));
  const w = 280;
  const h = 80;
  const line = (points: Point[]) =>
    points.map((p, i) => `${i === 0 ? 'M' : 'L'}${((i / Math.max(1, points.length - 1)) * w).toFixed(1)},${(h - ((p.value ?? 0) / max) * h).toFixed(1)}`).join(' ');
  return (
    <figure class="chart" data-testid="chart" data-metric={metric}>
      <figcaption>{title}</figcaption>
      {refused ? (
        <p class="muted small">No breakdown by {by} for this one.</p>
      ) : loaded.data && !series.length ? (
        <p class="muted small">Nothing in these 14 days.</p>
      ) : loaded.data ? (
        <>
          <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${title}, last 14 days`}>
            {series.map((s, i) => (
              <path key={s.key} d={line(s.points)} fill="none" stroke={palette[i % palette.length]} stroke-width="2" data-testid="chart-line" data-key={s.key} />
            ))}
          </svg>
          <p class="legend small">
            {series.map((s, i) => {
              const latest = s.points.at(-1)?.value;
              return (
                <span key={s.key} style={{ color: palette[i % palette.length] }}>
                  ● {s.key} {latest === null || latest === undefined ? '—' : ratio ? pct(latest) : latest}{' '}
                </span>
              );
            })}
          </p>
        </>
      ) : (
        <Loading error={loaded.error} />
      )}
      <p class="muted small">{loaded.data?.definition}</p>
    </figure>
  );
}

function WorkingCapital() {
  const session = useSession();
  const readable = allowed(session.user, ['finance', 'ops', 'viewer']);
  const loaded = useApi<{ points: { date: string; valueMinor: number; inventoryMinor: number; receivablesMinor: number; payablesMinor: number }[] }>(readable.ok ? '/kpis/working-capital?days=30' : null);
  if (!readable.ok) return null;
  const points = loaded.data?.points ?? [];
  const values = points.map((p) => p.valueMinor);
  const min = Math.min(0, ...values);
  const max = Math.max(1, ...values);
  const w = 280;
  const h = 80;
  const path = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${((i / Math.max(1, values.length - 1)) * w).toFixed(1)},${(h - ((v - min) / (max - min || 1)) * h).toFixed(1)}`).join(' ');
  const last = points.at(-1);
  return (
    <figure class="chart" data-testid="chart" data-metric="working_capital">
      <figcaption>Working capital, 30 days</figcaption>
      {loaded.data ? (
        <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label="working capital, last 30 days">
          <path d={path} fill="none" stroke="currentColor" stroke-width="2" />
        </svg>
      ) : (
        <Loading error={loaded.error} />
      )}
      {last && (
        <p class="muted small">
          {money(last.valueMinor)} = inventory {money(last.inventoryMinor)} + receivables {money(last.receivablesMinor)} − payables {money(last.payablesMinor)}
        </p>
      )}
    </figure>
  );
}

interface Breakdown {
  groups: { key: string; kpis: Record<string, { value: number | null; numerator: number; denominator: number }> }[];
  definitions: Record<string, string>;
  units: Record<string, 'ratio' | 'hours' | 'minor' | 'times'>;
  notBrokenDown: string[];
}

/** A breakdown's value as its unit reads. */
function kpiValue(value: number | null, unit: Breakdown['units'][string] | undefined): string {
  if (value === null) return '—';
  if (unit === 'hours') return `${Math.round(value * 10) / 10} h`;
  if (unit === 'minor') return money(Math.round(value));
  if (unit === 'times') return `${Math.round(value * 100) / 100}×`;
  return pct(value);
}

const kpiLabel = (name: string) => name.replace(/([A-Z])/g, ' $1').toLowerCase();

export function KpisPage() {
  const session = useSession();
  const location = useLocation();
  const by = location.query.by;
  const readable = allowed(session.user, ['ops', 'buyer', 'finance', 'viewer', 'admin']);
  const loaded = useApi<{ from: string; to: string; kpis: Record<string, Ratio>; breakdown?: Breakdown }>(readable.ok ? `/kpis${query({ by })}` : null);
  const ratios = loaded.data ? Object.entries(loaded.data.kpis).filter(([, k]) => typeof k.numerator === 'number' && 'value' in k) : [];
  const breakdown = loaded.data?.breakdown;
  const names = breakdown ? Object.keys(breakdown.definitions).sort() : [];
  return (
    <div data-testid="kpis">
      <h1>KPIs</h1>
      <form class="filters">
        <label>
          Break down by{' '}
          <select value={by ?? ''} data-testid="breakdown" onChange={(e) => location.route(`/console/kpis${query({ by: e.currentTarget.value || undefined })}`)}>
            <option value="">nothing (whole business)</option>
            <option value="channel">channel</option>
            <option value="warehouse">warehouse</option>
            <option value="sku_class">sku class</option>
          </select>
        </label>
      </form>
      {loaded.data ? (
        <>
          <p class="muted">
            {when(loaded.data.from)} – {when(loaded.data.to)}
          </p>
          {breakdown ? (
            <Section title={`By ${by}`} testid="kpi-breakdown">
              <Table
                rows={breakdown.groups}
                rowKey={(g) => g.key}
                columns={[
                  { label: by ?? '', cell: (g) => <strong>{g.key}</strong> },
                  ...names.map((name) => ({
                    label: kpiLabel(name),
                    cell: (g: Breakdown['groups'][number]) => {
                      const k = g.kpis[name];
                      return k ? <span title={`${k.numerator} / ${k.denominator}`}>{kpiValue(k.value, breakdown.units[name])}</span> : '—';
                    },
                  })),
                ]}
              />
              {breakdown.notBrokenDown.length > 0 && <p class="muted small">Not by {by}: {breakdown.notBrokenDown.map(kpiLabel).join(', ')}.</p>}
            </Section>
          ) : (
            <dl class="kpi-grid">
              {ratios.map(([name, k]) => (
                <div key={name} title={k.definition}>
                  <dt>{kpiLabel(name)}</dt>
                  <dd>{pct(k.value)}</dd>
                  <dd class="muted small">
                    {k.numerator} / {k.denominator}
                  </dd>
                </div>
              ))}
            </dl>
          )}
        </>
      ) : (
        <Loading error={loaded.error} />
      )}
      <div class="chart-grid">
        <Trend key={`s-${by}`} metric="orders_shipped" title="Orders shipped per day" ratio={false} by={by} />
        <Trend key={`o-${by}`} metric="on_time" title="On-time shipment" ratio by={by} />
        <Trend key={`d-${by}`} metric="on_time_delivery" title="On-time delivery" ratio by={by} />
        <Trend key={`f-${by}`} metric="fill_rate" title="Fill rate" ratio by={by} />
        <Trend key={`p-${by}`} metric="pick_accuracy" title="Pick accuracy" ratio by={by} />
        <Trend key={`k-${by}`} metric="stockout_rate" title="Stockout rate" ratio by={by} />
        <WorkingCapital />
      </div>
    </div>
  );
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  subjectType: string;
  subjectId: string | null;
  reason: string | null;
  outcome: string;
  statusCode: number;
}

/** The audit log pages by id (`before`), newest first. */
export function AuditPage() {
  const location = useLocation();
  const q = location.query;
  const session = useSession();
  const readable = allowed(session.user, ['ops', 'finance', 'viewer']);
  const loaded = useApi<{ entries: AuditRow[]; nextBefore: number | null }>(
    readable.ok ? `/audit${query({ actor: q.actor, action: q.action, subjectType: q.subjectType, subjectId: q.subjectId, outcome: q.outcome ?? 'any', before: q.before, limit: 50 })}` : null,
  );
  const go = (next: Record<string, string | undefined>) => location.route(`/console/audit${query(next)}`);
  return (
    <div data-testid="audit-log">
      <h1>Audit log</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const next: Record<string, string | undefined> = {};
          for (const [k, v] of form.entries()) next[k] = String(v) || undefined;
          go(next);
        }}
      >
        <input name="actor" placeholder="Who (user id)" aria-label="Who" defaultValue={q.actor ?? ''} data-testid="search" />
        <input name="action" placeholder="Action (order.hold_decision)" aria-label="Action" defaultValue={q.action ?? ''} />
        <input name="subjectId" placeholder="Record" aria-label="Record" defaultValue={q.subjectId ?? ''} />
        <label>
          Outcome{' '}
          <select name="outcome" defaultValue={q.outcome ?? 'any'}>
            <option value="any">any</option>
            <option value="accepted">accepted</option>
            <option value="refused">refused</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {!readable.ok ? (
        <p class="muted">The audit log is read by ops, finance and viewer.</p>
      ) : loaded.data ? (
        <>
          <Table
            rows={loaded.data.entries}
            rowKey={(e) => String(e.id)}
            columns={[
              { label: 'When', cell: (e) => when(e.at) },
              { label: 'Who', cell: (e) => `${e.actor} (${e.role})` },
              { label: 'What', cell: (e) => e.action },
              { label: 'Record', cell: (e) => (e.subjectId ? `${e.subjectType} ${e.subjectId}` : e.subjectType) },
              { label: 'Outcome', cell: (e) => (e.outcome === 'refused' ? <span class="breached">refused ({e.statusCode})</span> : 'done') },
              { label: 'Reason', cell: (e) => e.reason ?? '', wide: true },
            ]}
          />
          <nav class="pager">
            <button type="button" disabled={!q.before} onClick={() => go({ ...q, before: undefined })}>
              ‹ Newest
            </button>
            <button type="button" disabled={!loaded.data.nextBefore} onClick={() => go({ ...q, before: String(loaded.data!.nextBefore) })}>
              Older ›
            </button>
          </nav>
        </>
      ) : (
        <Loading error={loaded.error} />
      )}
    </div>
  );
}

interface UserRow {
  id: string;
  kind: string;
  name: string;
  email: string | null;
  roles: string[];
  poApprovalLimitMinor: number | null;
  refundApprovalLimitMinor: number | null;
  disabledAt: string | null;
}

export const userList: ListSpec<UserRow> = {
  title: 'Users',
  endpoint: '/users',
  items: (a) => a.users as UserRow[],
  rowKey: (u) => u.id,
  testid: 'users',
  roles: ['admin'],
  search: 'Id, name or e-mail',
  filters: [
    { name: 'kind', label: 'Kind', options: ['person', 'service'] },
    { name: 'role', label: 'Role', options: ['ops', 'buyer', 'finance', 'viewer', 'admin', 'system'] },
    { name: 'status', label: 'Status', options: ['active', 'disabled'] },
  ],
  columns: [
    { label: 'User', cell: (u) => <a href={`/console/users/${encodeURIComponent(u.id)}`}>{u.id}</a> },
    { label: 'Name', cell: (u) => u.name },
    { label: 'Kind', cell: (u) => u.kind },
    { label: 'Roles', cell: (u) => u.roles.join(', ') },
    { label: 'Limits', cell: (u) => [u.poApprovalLimitMinor !== null && `PO ${money(u.poApprovalLimitMinor)}`, u.refundApprovalLimitMinor !== null && `refund ${money(u.refundApprovalLimitMinor)}`].filter(Boolean).join(', ') || '—' },
    { label: 'Status', cell: (u) => <Badge value={u.disabledAt ? 'disabled' : 'active'} /> },
  ],
};

export function UsersPage() {
  const session = useSession();
  const [shown, setShown] = useState(0);
  const admin = allowed(session.user, ['admin']);
  return (
    <div>
      <ListPage spec={userList} key={shown} />
      {admin.ok && (
        <Section title="Add a person or a service account" testid="add-user">
          <form
            class="grid-form"
            onSubmit={async (e) => {
              e.preventDefault();
              const form = e.currentTarget;
              const data = new FormData(form);
              const kind = String(data.get('kind'));
              try {
                await api('/users', {
                  method: 'POST',
                  body: {
                    id: String(data.get('id')),
                    name: String(data.get('name')),
                    kind,
                    ...(data.get('email') ? { email: String(data.get('email')) } : {}),
                    roles: String(data.get('roles')).split(',').map((r) => r.trim()).filter(Boolean),
                  },
                });
                session.notify(`User ${String(data.get('id'))} added; give them a token on their page.`, 'ok');
                form.reset();
                setShown((n) => n + 1);
              } catch (error) {
                session.notify(`Not added: ${(error as Error).message}`, 'error');
              }
            }}
          >
            <input name="id" placeholder="id (alice)" required aria-label="id" />
            <input name="name" placeholder="Name" required aria-label="Name" />
            <input name="email" placeholder="E-mail (people)" aria-label="E-mail" />
            <input name="roles" placeholder="Roles: ops, finance" required aria-label="Roles" />
            <select name="kind" aria-label="Kind">
              <option value="person">person</option>
              <option value="service">service</option>
            </select>
            <button type="submit">Add</button>
          </form>
        </Section>
      )}
    </div>
  );
}

interface Token {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  status: string;
}

export function UserPage({ id }: { id: string }) {
  const session = useSession();
  const admin = allowed(session.user, ['admin']);
  const loaded = useApi<UserRow & { tokens: Token[] }>(admin.ok ? `/users/${encodeURIComponent(id)}` : null);
  const [secret, setSecret] = useState<string | null>(null);
  if (!admin.ok) return <p class="muted">Users are managed by admins ({admin.why}).</p>;
  if (!loaded.data) return <Loading error={loaded.error} />;
  const u = loaded.data;
  const base = `/users/${encodeURIComponent(u.id)}`;
  return (
    <div data-testid="user-page">
      <h1>
        {u.name} ({u.id}) <Badge value={u.disabledAt ? 'disabled' : 'active'} />
      </h1>
      <Facts
        rows={[
          ['Kind', u.kind],
          ['E-mail', u.email],
          ['Roles', u.roles.join(', ')],
          ['PO approval limit', u.poApprovalLimitMinor === null ? 'the policy’s buyer limit' : money(u.poApprovalLimitMinor)],
          ['Refund limit', u.refundApprovalLimitMinor === null ? 'none' : money(u.refundApprovalLimitMinor)],
        ]}
      />
      <div class="actions">
        <Action
          label="New token"
          testid="new-token"
          reasonLabel="What it is for"
          verbs={[{ verb: 'token', text: 'Make token' }]}
          permit={u.disabledAt ? { ok: false, why: 'the account is disabled' } : admin}
          send={async (_v, name) => {
            const made = await api<{ token: string }>(`${base}/tokens`, { method: 'POST', body: { name, expiresInDays: 90 } });
            setSecret(made.token);
          }}
          done={loaded.reload}
        />
        <Action
          label={u.disabledAt ? 'Enable the account' : 'Disable the account'}
          testid="disable"
          reasonLabel="Why"
          verbs={[{ verb: 'toggle', text: u.disabledAt ? 'Enable' : 'Disable' }]}
          permit={admin}
          send={() => api(base, { method: 'PATCH', body: { disabled: !u.disabledAt } })}
          done={loaded.reload}
        />
      </div>
      {secret && (
        <p class="message ok" data-testid="token-secret">
          The token, shown this once: <code>{secret}</code>
        </p>
      )}
      <Section title="Tokens" testid="tokens">
        <Table
          rows={u.tokens}
          rowKey={(t) => t.id}
          empty="No tokens."
          columns={[
            { label: 'Name', cell: (t) => t.name },
            { label: 'Prefix', cell: (t) => <code>{t.prefix}</code> },
            { label: 'Made', cell: (t) => when(t.createdAt) },
            { label: 'Last used', cell: (t) => when(t.lastUsedAt) },
            { label: 'Expires', cell: (t) => when(t.expiresAt) },
            { label: 'Status', cell: (t) => <Badge value={t.status} /> },
            {
              label: '',
              cell: (t) =>
                t.status === 'active' ? (
                  <button
                    type="button"
                    onClick={async () => {
                      await api(`${base}/tokens/${t.id}`, { method: 'DELETE' }).catch((error: Error) => session.notify(error.message, 'error'));
                      loaded.reload();
                    }}
                  >
                    Revoke
                  </button>
                ) : null,
            },
          ]}
        />
      </Section>
      <AuditOf subjectType="user" subjectId={u.id} />
    </div>
  );
}
