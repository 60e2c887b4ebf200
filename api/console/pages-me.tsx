// The signed-in person's own page: their subscriptions to kinds of tasks and exceptions,
// and what was delivered to them.
import { useState } from 'preact/hooks';
import { api, ApiFailure, useApi } from './api.js';
import { useSession } from './session.js';
import { Badge, Loading, Section, Table, when } from './ui.js';

interface Subscription {
  id: number;
  topic: 'task' | 'exception';
  kind: string;
  channel: 'webhook' | 'email';
  target: string;
  createdAt: string;
}
interface Delivery {
  id: number;
  event: string;
  status: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  channel: string;
  target: string;
}

function Subscribe({ done }: { done: () => void }) {
  const session = useSession();
  const [channel, setChannel] = useState<'email' | 'webhook'>('email');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <form
      class="action"
      data-testid="subscribe"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const body = { topic: String(form.get('topic')), kind: String(form.get('kind') ?? '').trim() || '*', channel, target: String(form.get('target') ?? '').trim() };
        setBusy(true);
        setRefusal(null);
        setSecret(null);
        try {
          const made = await api<{ created: boolean; secret?: string }>('/me/subscriptions', { method: 'POST', body });
          if (made.secret) setSecret(made.secret);
          session.notify(made.created ? 'Subscribed.' : 'You had that subscription already.', 'ok');
          done();
        } catch (error) {
          setRefusal(error instanceof ApiFailure ? error.message : String(error));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3>Subscribe</h3>
      <label>
        To
        <select name="topic" data-testid="topic">
          <option value="task">tasks</option>
          <option value="exception">exceptions</option>
        </select>
      </label>
      <label>
        Of kind (* for every kind)
        <input name="kind" placeholder="order_hold, short_pick, …" maxLength={60} data-testid="kind" />
      </label>
      <label>
        By
        <select name="channel" value={channel} onChange={(e) => setChannel(e.currentTarget.value as 'email' | 'webhook')} data-testid="channel">
          <option value="email">e-mail</option>
          <option value="webhook">webhook (Slack, Teams)</option>
        </select>
      </label>
      <label>
        {channel === 'email' ? 'E-mail address' : 'Webhook URL'}
        {channel === 'email' ? (
          <input name="target" required maxLength={200} type="email" data-testid="target" />
        ) : (
          <input name="target" required maxLength={2000} type="url" data-testid="target" />
        )}
      </label>
      <div class="buttons">
        <button type="submit" disabled={busy} data-testid="action-subscribe">
          Subscribe
        </button>
      </div>
      {refusal && (
        <p class="message error" role="alert" data-testid="refusal">
          {refusal}
        </p>
      )}
      {secret && (
        <p class="message ok" data-testid="webhook-secret">
          The webhook's signing secret, shown this once: <code>{secret}</code>
        </p>
      )}
    </form>
  );
}

export function MePage() {
  const session = useSession();
  const subscriptions = useApi<{ subscriptions: Subscription[] }>('/me/subscriptions');
  const deliveries = useApi<{ deliveries: Delivery[] }>('/me/notifications?limit=50');
  const end = async (id: number) => {
    try {
      await api(`/me/subscriptions/${id}`, { method: 'DELETE' });
      session.notify('Subscription ended.', 'ok');
      subscriptions.reload();
    } catch (error) {
      session.notify(error instanceof ApiFailure ? error.message : String(error), 'error');
    }
  };
  return (
    <div data-testid="me">
      <h1>My notifications</h1>
      <Section title="Subscriptions" testid="subscriptions">
        {subscriptions.data ? (
          <Table
            rows={subscriptions.data.subscriptions}
            rowKey={(s) => String(s.id)}
            empty="No subscriptions: you hear of nothing but what you look at."
            columns={[
              { label: 'To', cell: (s) => `${s.topic}s` },
              { label: 'Kind', cell: (s) => (s.kind === '*' ? 'every kind' : s.kind) },
              { label: 'By', cell: (s) => s.channel },
              { label: 'Where', cell: (s) => s.target, wide: true },
              { label: 'Since', cell: (s) => when(s.createdAt) },
              {
                label: '',
                cell: (s) => (
                  <button type="button" data-testid="end-subscription" onClick={() => void end(s.id)}>
                    End
                  </button>
                ),
              },
            ]}
          />
        ) : (
          <Loading error={subscriptions.error} />
        )}
        <Subscribe done={subscriptions.reload} />
      </Section>
      <Section title="Delivered to you" testid="my-deliveries">
        {deliveries.data ? (
          <Table
            rows={deliveries.data.deliveries}
            rowKey={(d) => String(d.id)}
            empty="Nothing sent yet."
            columns={[
              { label: 'Queued', cell: (d) => when(d.createdAt) },
              { label: 'What', cell: (d) => d.event, wide: true },
              { label: 'By', cell: (d) => `${d.channel} to ${d.target}` },
              { label: 'Status', cell: (d) => <Badge value={d.status} /> },
              { label: 'Tries', cell: (d) => d.attempts },
              { label: 'Sent', cell: (d) => when(d.sentAt) },
              { label: 'Last error', cell: (d) => d.lastError ?? '—' },
            ]}
          />
        ) : (
          <Loading error={deliveries.error} />
        )}
      </Section>
    </div>
  );
}
