/**
 * Queues notifications of a task or an exception for the people subscribed to its kind, in
 * the caller's transaction: the delivery exists exactly when its cause does, once per
 * subscription and event, whatever retries the caller makes.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface NotificationEvent {
  topic: 'task' | 'exception';
  kind: string;
  /** Unique per event: `task:<id>`, `exception:<id>`. */
  eventKey: string;
  reference: string;
  title: string;
  /** Who the task waits for, or who owns the exception. */
  role: string;
  /** Where a person works it, under the console. */
  consolePath: string;
  workflowId?: string | null;
}

export async function queueNotifications(db: Kysely<Database>, event: NotificationEvent): Promise<number> {
  const payload = JSON.stringify({ ...event, at: new Date().toISOString() });
  const result = await sql`
    insert into notification_deliveries (subscription_id, event_key, payload)
    select s.id, ${event.eventKey}, ${payload}::jsonb
      from notification_subscriptions s join users u on u.id = s.user_id
     where s.disabled_at is null and u.disabled_at is null and s.topic = ${event.topic} and (s.kind = '*' or s.kind = ${event.kind})
    on conflict (subscription_id, event_key) do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
