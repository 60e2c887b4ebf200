// Small building blocks every page uses: tables, lists with search and paging, record
// sections, values, and the decision form. Text from the API is rendered as text by Preact.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure, query, useApi } from './api.js';
import { historyUrl, useSession } from './session.js';

export const money = (minor: number | null | undefined, currency = 'USD') =>
  minor === null || minor === undefined ? '—' : `${(minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
export const when = (value: string | null | undefined) => (value ? new Date(value).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' }) : '—');
export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))}m`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
export const pct = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${Math.round(value * 1000) / 10}%`);

export function Badge({ value }: { value: string | null | undefined }) {
  return <span class={`badge badge-${(value ?? 'none').replace(/[^a-z_]/g, '')}`} data-testid="status">{value ?? '—'}</span>;
}

export function Loading({ error }: { error?: Error }) {
  if (error) return <p class="message error" role="alert">{error.message}</p>;
  return <p class="muted" aria-busy="true">Loading…</p>;
}

export function Section({ title, children, testid }: { title: string; children: ComponentChildren; testid?: string }) {
  return (
    <section class="card" data-testid={testid}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  /** Wider columns get room on a tablet; narrow ones stay on one line. */
  wide?: boolean;
}

export function Table<T>({ rows, columns, rowKey, testid, empty }: { rows: T[]; columns: Column<T>[]; rowKey: (row: T) => string; testid?: string; empty?: string }) {
  if (!rows.length) return <p class="empty">{empty ?? 'Nothing here.'}</p>;
  return (
    <div class="table-wrap">
      <table data-testid={testid}>
        <thead>
          <tr>{columns.map((c) => <th key={c.label} scope="col">{c.label}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} data-testid="row" data-key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.label} class={c.wide ? 'wide' : undefined}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function HistoryLink({ workflowId }: { workflowId: string | null | undefined }) {
  const session = useSession();
  if (!workflowId) return <span class="muted">—</span>;
  return (
    <a href={historyUrl(session, workflowId)} target="_blank" rel="noopener noreferrer" data-testid="temporal-link">
      Temporal history
    </a>
  );
}

export interface Filter {
  name: string;
  label: string;
  /** A fixed list of values; without, a text field. */
  options?: readonly string[];
}

export interface ListSpec<T> {
  title: string;
  /** The API list it reads; the page adds q, the filters, offset and limit. */
  endpoint: string;
  items: (answer: Record<string, unknown>) => T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  filters?: Filter[];
  search?: string;
  pageSize?: number;
  testid: string;
  /** Readable by these roles only (others see why not). */
  roles?: readonly string[];
}

/**
 * A list page: search, filters and paging on the server, all in the page's URL so a list
 * can be linked to. Every list of the console is one of these with its own spec.
 */
export function ListPage<T>({ spec }: { spec: ListSpec<T> }) {
  const location = useLocation();
  const session = useSession();
  const limit = spec.pageSize ?? 25;
  const offset = Number(location.query.offset ?? 0) || 0;
  const values: Record<string, string | undefined> = { q: location.query.q };
  for (const f of spec.filters ?? []) values[f.name] = location.query[f.name];
  const readable = !spec.roles || spec.roles.some((r) => session.user.roles.includes(r));
  const loaded = useApi<Record<string, unknown>>(readable ? `${spec.endpoint}${spec.endpoint.includes('?') ? '&' : ''}${query({ ...values, offset, limit }).replace(/^\?/, spec.endpoint.includes('?') ? '' : '?')}` : null);
  const go = (next: Record<string, string | number | undefined>) => location.route(`${location.path}${query(next)}`);
  const rows = loaded.data ? spec.items(loaded.data) : [];
  const total = typeof loaded.data?.total === 'number' ? (loaded.data.total as number) : undefined;
  return (
    <div data-testid={spec.testid}>
      <h1>{spec.title}</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const next: Record<string, string | undefined> = {};
          for (const [key, value] of form.entries()) next[key] = String(value) || undefined;
          go(next);
        }}
      >
        <input name="q" type="search" placeholder={spec.search ?? 'Search'} aria-label={spec.search ?? 'Search'} defaultValue={values.q ?? ''} data-testid="search" />
        {(spec.filters ?? []).map((f) =>
          f.options ? (
            <label key={f.name}>
              {f.label}{' '}
              <select name={f.name} defaultValue={values[f.name] ?? ''}>
                <option value="">any</option>
                {f.options.map((o) => (
                  <option key={o} value={o}>{o}</option>
                ))}
              </select>
            </label>
          ) : (
            <input key={f.name} name={f.name} placeholder={f.label} aria-label={f.label} defaultValue={values[f.name] ?? ''} />
          ),
        )}
        <button type="submit">Search</button>
      </form>
      {!readable ? (
        <p class="muted">Your roles ({session.user.roles.join(', ')}) do not read this list; it needs {spec.roles!.join(' or ')}.</p>
      ) : loaded.data === undefined ? (
        <Loading error={loaded.error} />
      ) : (
        <>
          <Table rows={rows} columns={spec.columns} rowKey={spec.rowKey} testid={`${spec.testid}-table`} />
          <nav class="pager" aria-label="pages">
            <button type="button" disabled={offset === 0} onClick={() => go({ ...values, offset: Math.max(0, offset - limit) || undefined })}>
              ‹ Previous
            </button>
            <span class="muted" data-testid="page-info">
              {rows.length ? `${offset + 1}–${offset + rows.length}` : '0'}
              {total !== undefined ? ` of ${total}` : ''}
            </span>
            <button type="button" disabled={total !== undefined ? offset + limit >= total : rows.length < limit} onClick={() => go({ ...values, offset: offset + limit })}>
              Next ›
            </button>
          </nav>
        </>
      )}
    </div>
  );
}

/**
 * An action the signed-in person may take, or a disabled one with the reason it is not
 * theirs to take. A reason is asked for; the API's refusal is shown as it said it.
 */
export function Action({
  label,
  verbs,
  permit,
  send,
  done,
  reasonLabel = 'Reason',
  testid,
}: {
  label: string;
  verbs: { verb: string; text: string }[];
  permit: { ok: boolean; why?: string };
  send: (verb: string, reason: string) => Promise<unknown>;
  done: () => void;
  reasonLabel?: string;
  testid: string;
}) {
  const session = useSession();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  return (
    <form class="action" data-testid={testid} onSubmit={(e) => e.preventDefault()}>
      <h3>{label}</h3>
      {!permit.ok && (
        <p class="why" data-testid="why-not">
          Not available: {permit.why}
        </p>
      )}
      <label>
        {reasonLabel}
        <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} disabled={!permit.ok || busy} maxLength={500} data-testid="reason" />
      </label>
      <div class="buttons">
        {verbs.map(({ verb, text }) => (
          <button
            key={verb}
            type="button"
            class={verb}
            disabled={!permit.ok || busy}
            title={permit.ok ? undefined : permit.why}
            data-testid={`action-${verb}`}
            onClick={async () => {
              setBusy(true);
              setRefusal(null);
              try {
                await send(verb, reason);
                session.notify(`${label}: ${text.toLowerCase()} done.`, 'ok');
                setReason('');
                done();
              } catch (error) {
                const message = error instanceof ApiFailure ? `${error.message} (${error.code})` : String(error);
                setRefusal(message);
                session.notify(`${label}: refused — ${message}`, 'error');
              } finally {
                setBusy(false);
              }
            }}
          >
            {text}
          </button>
        ))}
      </div>
      {refusal && (
        <p class="message error" role="alert" data-testid="refusal">
          {refusal}
        </p>
      )}
    </form>
  );
}

export function Timeline({ entries }: { entries: { at: string; title: string; note?: string | null }[] }) {
  if (!entries.length) return <p class="empty">No steps yet.</p>;
  return (
    <ol class="timeline" data-testid="timeline">
      {entries.map((e, i) => (
        <li key={i}>
          <time>{when(e.at)}</time> <strong>{e.title}</strong> {e.note ? <span class="muted">{e.note}</span> : null}
        </li>
      ))}
    </ol>
  );
}

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  reason: string | null;
  outcome: string;
  statusCode: number;
}

/** The audit entries of one record, for readers of the audit log. */
export function AuditOf({ subjectType, subjectId }: { subjectType: string; subjectId: string }) {
  const session = useSession();
  const readable = ['ops', 'finance', 'viewer'].some((r) => session.user.roles.includes(r));
  const loaded = useApi<{ entries: AuditEntry[] }>(readable ? `/audit${query({ subjectType, subjectId, outcome: 'any', limit: 50 })}` : null);
  return (
    <Section title="Audit" testid="audit">
      {!readable ? (
        <p class="muted">The audit log is read by ops, finance and viewer.</p>
      ) : loaded.data ? (
        <Table
          rows={loaded.data.entries}
          rowKey={(e) => String(e.id)}
          empty="No changes recorded."
          columns={[
            { label: 'When', cell: (e) => when(e.at) },
            { label: 'Who', cell: (e) => e.actor },
            { label: 'What', cell: (e) => e.action },
            { label: 'Outcome', cell: (e) => (e.outcome === 'refused' ? `refused (${e.statusCode})` : 'done') },
            { label: 'Reason', cell: (e) => e.reason ?? '', wide: true },
          ]}
        />
      ) : (
        <Loading error={loaded.error} />
      )}
    </Section>
  );
}

interface JournalEntry {
  id: number;
  eventType: string;
  reference: string;
  postedAt: string;
  lines: { account: string; debitMinor: number; creditMinor: number }[];
}

/** Journal entries posted under a reference (an order, a shipment, a return). */
export function JournalOf({ references }: { references: string[] }) {
  const [entries, setEntries] = useState<JournalEntry[] | null>(null);
  const key = references.join(',');
  useEffect(() => {
    let live = true;
    void Promise.all(references.map((ref) => api<{ entries: JournalEntry[] }>(`/journal${query({ ref, limit: 50 })}`).then((r) => r.entries).catch(() => [] as JournalEntry[]))).then(
      (all) => live && setEntries(all.flat().sort((a, b) => a.id - b.id)),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return (
    <Section title="Journal entries" testid="journal">
      {entries === null ? (
        <Loading />
      ) : (
        <Table
          rows={entries}
          rowKey={(e) => String(e.id)}
          empty="Nothing posted yet."
          columns={[
            { label: 'Entry', cell: (e) => `#${e.id}` },
            { label: 'Event', cell: (e) => e.eventType },
            { label: 'Reference', cell: (e) => e.reference },
            { label: 'Posted', cell: (e) => when(e.postedAt) },
            { label: 'Lines', wide: true, cell: (e) => e.lines.map((l) => `${l.account} ${l.debitMinor ? `Dr ${money(l.debitMinor)}` : `Cr ${money(l.creditMinor)}`}`).join(' · ') },
          ]}
        />
      )}
    </Section>
  );
}
