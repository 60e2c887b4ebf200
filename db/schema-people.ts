/** Tables of people, their tokens and console sessions (migration 0050). */
import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Moment = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type UserKind = 'person' | 'service';

export interface UsersTable {
  /** A short, permanent handle (`alice`, `wms`): what decisions and the audit log record. */
  id: string;
  kind: UserKind;
  name: string;
  email: string | null;
  roles: ColumnType<string[], string[], string[]>;
  /** A buyer's own limit for approving purchase orders; null: the policy's buyer limit. */
  po_approval_limit_minor: number | null;
  /** A finance person's own limit for approving refunds; null: no limit. */
  refund_approval_limit_minor: number | null;
  created_at: CreatedAt;
  created_by: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  disabled_at: Moment;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  /** The first characters of the token, to tell tokens apart; never enough to use one. */
  prefix: string;
  /** SHA-256 of the token, hex. The token itself is shown once and kept nowhere. */
  hash: string;
  created_at: CreatedAt;
  created_by: string | null;
  expires_at: Moment;
  last_used_at: Moment;
  revoked_at: Moment;
  revoked_by: string | null;
  rotated_to: string | null;
  seeded_role: string | null;
}

export interface ConsoleSessionsTable {
  sid: string;
  user_id: string;
  token_id: string;
  data: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

export interface AppSecretsTable {
  name: string;
  value: string;
  created_at: Generated<Date>;
}

/** One case per kind of exception on one record (migration 0051). */
export interface ExceptionCasesTable {
  id: Generated<number>;
  kind: string;
  reference: string;
  owner_role: string;
  status: Generated<'open' | 'resolved'>;
  assignee: string | null;
  snoozed_until: Moment;
  cause: string | null;
  resolution_note: string | null;
  resolved_by: string | null;
  resolved_at: Moment;
  opened_at: CreatedAt;
  last_raised_at: Generated<Date>;
  occurrences: Generated<number>;
  reopened: Generated<number>;
}

export interface ExceptionEventsTable {
  id: Generated<number>;
  case_id: number;
  at: CreatedAt;
  actor: string;
  kind: 'raised' | 'assigned' | 'commented' | 'snoozed' | 'resolved' | 'reopened' | 'cleared';
  note: string | null;
  details: ColumnType<unknown, string | undefined, never>;
}

/** Subscriptions to kinds of tasks and exceptions, and their deliveries (migration 0053). */
export interface NotificationSubscriptionsTable {
  id: Generated<number>;
  user_id: string;
  topic: 'task' | 'exception';
  kind: string;
  channel: 'webhook' | 'email';
  target: string;
  secret: string | null;
  created_at: CreatedAt;
  disabled_at: Moment;
}

export interface NotificationDeliveriesTable {
  id: Generated<number>;
  subscription_id: number;
  event_key: string;
  payload: ColumnType<unknown, string, never>;
  status: Generated<'pending' | 'sent' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_error: string | null;
  created_at: CreatedAt;
  sent_at: Moment;
}

export interface PeopleTables {
  notification_subscriptions: NotificationSubscriptionsTable;
  notification_deliveries: NotificationDeliveriesTable;
  exception_cases: ExceptionCasesTable;
  exception_events: ExceptionEventsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  console_sessions: ConsoleSessionsTable;
  app_secrets: AppSecretsTable;
}
