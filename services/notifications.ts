/**
 * Notifications of tasks and exceptions to the people subscribed to their kinds: a signed
 * webhook with a Slack- and Teams-compatible body (`text`), or an e-mail through the
 * configured SMTP server (nodemailer). Deliveries are queued with their cause
 * (db/notification-queue.ts); the dispatcher sends what is due, a few at a time, each row
 * locked while it is sent (`FOR UPDATE SKIP LOCKED`, so API replicas share the work), and
 * retries a failure with a growing wait until it gives up.
 */
import { createHmac, randomBytes } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Db } from '../db/connection.js';
import * as refuse from './refusal.js';
import type { Refusal } from './refusal.js';

export interface NotificationSettings {
  /** SMTP server for e-mail (`smtp://user:pass@host:port`); e-mail subscriptions need it. */
  smtpUrl?: string;
  mailFrom: string;
  /** Where links in notifications point (the console's origin). */
  publicUrl: string;
  intervalMs: number;
  timeoutMs: number;
  maxAttempts: number;
}

export interface Subscription {
  id: number;
  topic: 'task' | 'exception';
  kind: string;
  channel: 'webhook' | 'email';
  target: string;
  createdAt: Date;
}

const view = (row: { id: number; topic: 'task' | 'exception'; kind: string; channel: 'webhook' | 'email'; target: string; created_at: Date }): Subscription => ({
  id: Number(row.id),
  topic: row.topic,
  kind: row.kind,
  channel: row.channel,
  target: row.target,
  createdAt: row.created_at,
});

export async function listSubscriptions(db: Db, userId: string): Promise<Subscription[]> {
  const rows = await db.selectFrom('notification_subscriptions').selectAll().where('user_id', '=', userId).where('disabled_at', 'is', null).orderBy('id').execute();
  return rows.map(view);
}

/** A webhook subscription answers its signing secret, this once. */
export async function subscribe(
  db: Db,
  settings: Pick<NotificationSettings, 'smtpUrl'>,
  userId: string,
  input: { topic: 'task' | 'exception'; kind: string; channel: 'webhook' | 'email'; target: string },
): Promise<{ subscription: Subscription; secret?: string; created: boolean } | Refusal> {
  if (input.channel === 'email' && !settings.smtpUrl) {
    return refuse.invalid('smtp_not_configured', 'e-mail is not set up on this deployment (SMTP_URL); subscribe a webhook instead', [{ path: 'channel', message: 'no SMTP server configured', code: 'smtp_not_configured' }]);
  }
  const existing = await db
    .selectFrom('notification_subscriptions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('topic', '=', input.topic)
    .where('kind', '=', input.kind)
    .where('channel', '=', input.channel)
    .where('target', '=', input.target)
    .executeTakeFirst();
  if (existing && !existing.disabled_at) return { subscription: view(existing), created: false };
  const secret = input.channel === 'webhook' ? randomBytes(24).toString('base64url') : null;
  const row = existing
    ? await db.updateTable('notification_subscriptions').set({ disabled_at: null, secret }).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow()
    : await db.insertInto('notification_subscriptions').values({ user_id: userId, ...input, secret }).returningAll().executeTakeFirstOrThrow();
  return { subscription: view(row), ...(secret ? { secret } : {}), created: true };
}

export async function unsubscribe(db: Db, userId: string, id: number): Promise<{ ended: true } | Refusal> {
  const row = await db.updateTable('notification_subscriptions').set({ disabled_at: new Date() }).where('id', '=', id).where('user_id', '=', userId).where('disabled_at', 'is', null).returning('id').executeTakeFirst();
  return row ? { ended: true } : refuse.notFound(`subscription ${id}`);
}

export async function listDeliveries(db: Db, userId: string, limit: number) {
  const rows = await db
    .selectFrom('notification_deliveries as d')
    .innerJoin('notification_subscriptions as s', 's.id', 'd.subscription_id')
    .select(['d.id', 'd.event_key', 'd.status', 'd.attempts', 'd.last_error', 'd.created_at', 'd.sent_at', 's.channel', 's.target'])
    .where('s.user_id', '=', userId)
    .orderBy('d.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), event: r.event_key, status: r.status, attempts: r.attempts, lastError: r.last_error, createdAt: r.created_at, sentAt: r.sent_at, channel: r.channel, target: r.target }));
}

interface Payload {
  topic: string;
  kind: string;
  reference: string;
  title: string;
  role: string;
  consolePath: string;
  at: string;
}

/** `X-Ops-Signature: sha256=<HMAC of "<timestamp>.<body>">`: a receiver checks it and the time, so a body cannot be replayed later. */
export const signDelivery = (secret: string, timestamp: string, body: string) => `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/** One line a person reads in a chat channel or a mail subject. */
const headline = (p: Payload) => `${p.topic === 'task' ? 'Task' : 'Exception'} ${p.kind} on ${p.reference}: ${p.title}`;

export class NotificationDispatcher {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private mailer?: Transporter;

  constructor(
    private readonly db: Db,
    private readonly settings: NotificationSettings,
    private readonly log: { warn: (object: unknown, message: string) => void },
  ) {
    if (settings.smtpUrl) this.mailer = nodemailer.createTransport(settings.smtpUrl, { from: settings.mailFrom });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.sendDue()
        .then(() => undefined)
        .catch((error: unknown) => this.log.warn({ err: error }, 'notifications: a round failed; the next one tries again'))
        .finally(() => (this.running = undefined));
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    this.mailer?.close();
  }

  /** Sends what is due now; answers how many were sent. */
  async sendDue(batch = 20): Promise<number> {
    let sent = 0;
    await this.db.transaction().execute(async (tx) => {
      const due = await tx
        .selectFrom('notification_deliveries as d')
        .innerJoin('notification_subscriptions as s', 's.id', 'd.subscription_id')
        .select(['d.id', 'd.payload', 'd.attempts', 's.channel', 's.target', 's.secret'])
        .where('d.status', '=', 'pending')
        .where('d.next_attempt_at', '<=', new Date())
        .orderBy('d.id')
        .limit(batch)
        .forUpdate('d')
        .skipLocked()
        .execute();
      for (const delivery of due) {
        const attempts = delivery.attempts + 1;
        try {
          await this.deliver(Number(delivery.id), delivery.payload as Payload, delivery.channel, delivery.target, delivery.secret);
          await tx.updateTable('notification_deliveries').set({ status: 'sent', attempts, sent_at: new Date(), last_error: null }).where('id', '=', delivery.id).execute();
          sent += 1;
        } catch (error) {
          const giveUp = attempts >= this.settings.maxAttempts;
          // 2 s, 4 s, 8 s … up to 10 minutes between tries.
          const wait = Math.min(600_000, 2_000 * 2 ** (attempts - 1));
          await tx
            .updateTable('notification_deliveries')
            .set({ status: giveUp ? 'failed' : 'pending', attempts, last_error: String((error as Error).message ?? error).slice(0, 500), next_attempt_at: new Date(Date.now() + wait) })
            .where('id', '=', delivery.id)
            .execute();
        }
      }
    });
    return sent;
  }

  private async deliver(id: number, payload: Payload, channel: 'webhook' | 'email', target: string, secret: string | null): Promise<void> {
    const link = `${this.settings.publicUrl.replace(/\/+$/, '')}${payload.consolePath}`;
    if (channel === 'email') {
      if (!this.mailer) throw new Error('no SMTP server configured (SMTP_URL)');
      await this.mailer.sendMail({
        to: target,
        subject: headline(payload),
        text: `${headline(payload)}\n\nFor: ${payload.role}\nOpen it: ${link}\n\n(You get this because you subscribed to ${payload.topic}s of kind ${payload.kind}.)`,
        headers: { 'X-Ops-Delivery': String(id) },
      });
      return;
    }
    // `text` is what Slack and Teams incoming webhooks show; the rest is for programs.
    const body = JSON.stringify({ text: `${headline(payload)} — <${link}|open>`, summary: headline(payload), deliveryId: id, event: { ...payload, url: link } });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ops-delivery': String(id), 'x-ops-timestamp': timestamp, 'x-ops-signature': signDelivery(secret ?? '', timestamp, body) },
      body,
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  }
}
