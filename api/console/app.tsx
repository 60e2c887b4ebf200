// The ops console: sign-in, navigation, and a route per list and per record. A new area of
// the product is one entry in `areas`: a list spec (ui.tsx ListPage) or a page, and a record page.
import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { api, ApiFailure, setCsrfToken } from './api.js';
import { AuditPage, ChannelPage, ChannelsPage, FinancePage, InventoryPage, KpisPage, UserPage, UsersPage } from './pages-more.js';
import { MePage } from './pages-me.js';
import { OrderPage, orderList, ReturnPage, returnList, ShipmentPage, shipmentList } from './pages-orders.js';
import { AdjustmentPage, ExceptionPage, exceptionList, PurchaseOrderPage, purchaseOrderList, taskList } from './pages-work.js';
import { SessionContext, type Session, type SessionUser } from './session.js';
import { ListPage, type ListSpec } from './ui.js';

interface Area {
  /** The path under /console, and the label in the navigation. */
  path: string;
  label: string;
  /** The list: a spec the generic list page renders (`listOf`), or a page of its own. */
  list: ComponentType;
  /** A record's page at `${path}/:id`. */
  record?: ComponentType<{ id: string }>;
}

/** A list page from its spec: search, filters and paging on the server, in the URL. */
function listOf<T>(spec: ListSpec<T>): ComponentType {
  return () => <ListPage spec={spec} />;
}

const areas: Area[] = [
  { path: 'tasks', label: 'Tasks', list: listOf(taskList) },
  { path: 'exceptions', label: 'Exceptions', list: listOf(exceptionList), record: ExceptionPage },
  { path: 'orders', label: 'Orders', list: listOf(orderList), record: OrderPage },
  { path: 'shipments', label: 'Shipments', list: listOf(shipmentList), record: ShipmentPage },
  { path: 'purchase-orders', label: 'Purchase orders', list: listOf(purchaseOrderList), record: PurchaseOrderPage },
  { path: 'returns', label: 'Returns', list: listOf(returnList), record: ReturnPage },
  { path: 'inventory', label: 'Inventory', list: InventoryPage },
  { path: 'adjustments', label: '', list: () => <p>Adjustments are opened from their task.</p>, record: AdjustmentPage },
  { path: 'channels', label: 'Channels', list: ChannelsPage, record: ChannelPage },
  { path: 'finance', label: 'Finance', list: FinancePage },
  { path: 'kpis', label: 'KPIs', list: KpisPage },
  { path: 'audit', label: 'Audit', list: AuditPage },
  { path: 'users', label: 'Users', list: UsersPage, record: UserPage },
  { path: 'me', label: 'Notifications', list: MePage },
];

function Nav() {
  const { path } = useLocation();
  return (
    <nav class="nav" aria-label="areas" data-testid="nav">
      {areas
        .filter((a) => a.label)
        .map((a) => (
          <a key={a.path} href={`/console/${a.path}`} aria-current={path === `/console/${a.path}` || path.startsWith(`/console/${a.path}/`) ? 'page' : undefined}>
            {a.label}
          </a>
        ))}
    </nav>
  );
}

function NotFound() {
  return <p>No such page. Choose an area above.</p>;
}

function Workspace({ session }: { session: Session }) {
  const [message, setMessage] = useState<{ text: string; tone: string } | null>(null);
  const value = { ...session, notify: (text: string, tone: 'ok' | 'error' = 'ok') => setMessage({ text, tone }) };
  const { path } = useLocation();
  useEffect(() => setMessage(null), [path]);
  return (
    <SessionContext.Provider value={value}>
      <header class="bar">
        <a class="brand" href="/console/tasks">
          Ops console
        </a>
        <Nav />
        <span class="who" data-testid="who">
          {session.user.name} <span class="muted">({session.user.id}: {session.user.roles.join(', ')})</span>
        </span>
        <button type="button" data-testid="sign-out" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </header>
      {message && (
        <p class={`message ${message.tone}`} role="status" data-testid="message">
          {message.text}
        </p>
      )}
      <main>
        <Router>
          <Route path="/console" component={areas[0]!.list} />
          {areas.flatMap((a) => [
            <Route key={a.path} path={`/console/${a.path}`} component={a.list} />,
            ...(a.record ? [<Route key={`${a.path}-record`} path={`/console/${a.path}/:id`} component={a.record} />] : []),
          ])}
          <Route default component={NotFound} />
        </Router>
      </main>
    </SessionContext.Provider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (user: SessionUser) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in">
      <h1>Ops console</h1>
      <form
        data-testid="sign-in"
        autocomplete="off"
        onSubmit={async (e) => {
          e.preventDefault();
          const token = String(new FormData(e.currentTarget).get('token') ?? '');
          setBusy(true);
          setError(null);
          try {
            const state = await api<{ user: SessionUser; csrfToken: string }>('/console/session', { method: 'POST', body: { token } });
            setCsrfToken(state.csrfToken);
            onSignedIn(state.user);
          } catch (failure) {
            setError(failure instanceof ApiFailure ? failure.message : String(failure));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="token">Your personal token</label>
        <input id="token" name="token" type="password" required spellcheck={false} data-testid="token" />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="muted">The token is exchanged for a session; this browser keeps neither the token nor anything else in its storage.</p>
      {error && (
        <p class="message error" role="alert" data-testid="message">
          {error}
        </p>
      )}
    </main>
  );
}

function Console({ temporalUiUrl, temporalNamespace }: { temporalUiUrl: string; temporalNamespace: string }) {
  const [user, setUser] = useState<SessionUser | null | undefined>(undefined);
  useEffect(() => {
    api<{ signedIn: boolean; user: SessionUser | null; csrfToken: string }>('/console/session').then(
      (state) => {
        setCsrfToken(state.csrfToken);
        setUser(state.user);
      },
      () => setUser(null),
    );
  }, []);
  if (user === undefined) return <p class="muted">Loading…</p>;
  if (user === null) return <SignIn onSignedIn={setUser} />;
  const session: Session = {
    user,
    temporalUiUrl,
    temporalNamespace,
    notify: () => undefined,
    signOut: async () => {
      await api('/console/session', { method: 'DELETE' }).catch(() => undefined);
      const state = await api<{ csrfToken: string }>('/console/session');
      setCsrfToken(state.csrfToken);
      setUser(null);
    },
  };
  return (
    <LocationProvider scope="/console">
      <Workspace session={session} />
    </LocationProvider>
  );
}

const root = document.getElementById('console')!;
render(<Console temporalUiUrl={root.dataset.temporalUiUrl ?? ''} temporalNamespace={root.dataset.temporalNamespace ?? 'default'} />, root);
