import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { StartupError } from './startup-error.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

import type { ReturnPolicy } from '../domain/refund.js';
import { returnReasons, type ReturnReason } from '../domain/return-rules.js';
import { channels, type ChannelName } from '../domain/order.js';
import { durationMs } from '../domain/duration.js';
import { minorUnits } from '../domain/currency.js';
import type { OrderPolicy } from '../contracts/order.js';
import type { PurchaseOrderPolicy } from '../contracts/purchase-order.js';
import type { ChannelPublishingPolicy } from '../contracts/channel-publishing.js';
import type { NotificationSettings } from '../services/notifications.js';

export interface Policies {
  order: OrderPolicy;
  /** A stock adjustment worth more than this (units × average cost) needs approval. */
  adjustmentApprovalValueMinor: number;
  /** A counted variance above this percentage of the books needs approval. */
  adjustmentApprovalPct: number;
  /** How long an adjustment waits for approval before it lapses. */
  adjustmentApprovalTimeout: string;
  purchaseOrder: PurchaseOrderPolicy;
  /** A transfer in transit longer than this raises an exception for ops. */
  transferTransitDeadline: string;
  /** Return windows, receipt expiry, refund approval limit, restocking fee and freight refund by reason, SLA. */
  returns: ReturnPolicy;
  payments: {
    /** An authorization expiring within this before its order has shipped is an exception (PAYMENT_AUTH_EXPIRY_LEAD). */
    authExpiryLead: string;
    /** A capture no payout has matched after this many days is an exception (SETTLEMENT_PAYOUT_DAYS). */
    settlementPayoutDays: number;
  };
}

export interface Config {
  port: number;
  host: string;
  /** Unset means: start embedded Postgres under dataDir. */
  databaseUrl?: string;
  /** Unset means: start the Temporal CLI dev server under dataDir. */
  temporalAddress?: string;
  temporalNamespace: string;
  /** TLS, API key and gRPC metadata for the Temporal connection (`TEMPORAL_*` variables and `temporal.toml` profiles). */
  temporalConnection: TemporalConnectionExtras;
  taskQueue: string;
  temporalUiUrl: string;
  apiKeys?: string;
  dataDir: string;
  logLevel: string;
  /** Requests per minute per API key (or per IP without a key); 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Console sessions: how long one lasts, the cookie's Secure flag, the signing secret (else one kept in the database). */
  session: { ttlMs: number; secureCookie: boolean | 'auto'; secret?: string };
  /** Believe X-Forwarded-* from a proxy in front (TLS termination): Fastify's trustProxy. */
  trustProxy: boolean;
  /** Notifications of tasks and exceptions: SMTP server, sender, links, how often and how long to try. */
  notifications: NotificationSettings;
  /** Channel publishers: feed reads, webhook timeout, retry backoff, when failing becomes an exception. */
  channelPublishing: ChannelPublishingPolicy;
  /** Storefront connectors: webhook size and deadline, how long a rotated secret still counts, intake idle time. */
  channelConnectors: ChannelConnectorSettings;
  /** How often the exception sweep raises the conditions found in the records (EXCEPTION_SWEEP_EVERY: an interval or a cron). */
  exceptionSweepSchedule: string;
  /** Deadlines and bounds on every outbound call, and how the API sheds load. */
  resilience: Resilience;
  /** How `npm start` bears crashes of the servers it runs: restarts allowed within a window. */
  supervisor: { maxRestarts: number; windowMs: number };
  /** A stop drains: how long the API finishes requests in flight, and the worker its tasks. */
  shutdown: { apiGraceMs: number; workerGraceMs: number };
  /** The currency the books are kept in (ISO 4217), fixed when the database is first migrated. */
  functionalCurrency: string;
  /** How much the worker holds and runs at once (`WORKER_MAX_*`): bounds its memory. */
  worker: WorkerLimits;
  policies: Policies;
}

/** The worker's cache and concurrency, from `WORKER_MAX_*` (see docs/configuration.md). */
export interface WorkerLimits {
  /** Workflow runs kept in memory between their tasks; one evicted is replayed from history on its next task. */
  maxCachedWorkflows: number;
  /** Workflow tasks worked on at once. */
  maxConcurrentWorkflowTasks: number;
  /** Activities (remote) running at once. */
  maxConcurrentActivities: number;
  /** Local activities running at once. */
  maxConcurrentLocalActivities: number;
}

export interface Resilience {
  db: {
    poolSize: number;
    /** Waiting for a connection from the pool (or for the server to accept one). */
    connectTimeoutMs: number;
    /** A statement running longer is cancelled by the server. */
    queryTimeoutMs: number;
    /** Requests waiting for a pool connection; past this a request is refused at once. */
    maxQueue: number;
  };
  temporal: { callTimeoutMs: number; unavailableRetryMs: number; maxInFlight: number; queryTimeoutMs: number };
  temporalConnectTimeoutMs: number;
  api: {
    /** Requests the API works on at once; past this it answers 503 at once. */
    maxInFlight: number;
    /** Retry-After on a 503. */
    retryAfterSeconds: number;
    /** How often the API looks at PostgreSQL and Temporal for /health/ready and fast refusals. */
    probeIntervalMs: number;
  };
  paymentGatewayTimeoutMs: number;
}

export interface ChannelConnectorSettings {
  /** Largest webhook body taken, in bytes (413 past it). */
  webhookBodyLimitBytes: number;
  /** A webhook hands its delivery to Temporal within this, or answers 503 for the platform to retry (Shopify waits 5 s). */
  webhookDeadlineMs: number;
  /** After a secret is replaced, deliveries signed with the previous one are still taken this long. */
  secretGraceMs: number;
  /** An order's intake process ends after this long without a delivery (the next one starts it again). */
  intakeIdleMs: number;
  /** When the daily reconciliation with every connected platform runs, and how far back it looks. */
  reconcileSchedule: string;
  reconcileWindowMs: number;
}

export interface TemporalConnectionExtras {
  tls?: boolean | object;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** A setting that cannot be used: the variable, what is wrong, and that unsetting it restores the default. */
const invalid = (name: string, message: string) => new StartupError(message, `correct ${name}, or unset it for its default`);

/**
 * The Temporal connection the way Temporal's own CLI finds it: `TEMPORAL_ADDRESS`,
 * `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, `TEMPORAL_GRPC_META_*`, and the
 * profile `TEMPORAL_PROFILE` (default `default`) of `temporal.toml` (`TEMPORAL_CONFIG_FILE`, else
 * the user's config folder), the variables winning.
 */
function temporalSettings(env: NodeJS.ProcessEnv) {
  try {
    const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
    const { address, tls, apiKey, metadata } = connectionOptions as { address?: string; tls?: boolean | object; apiKey?: string; metadata?: Record<string, string> };
    const extras: TemporalConnectionExtras = {};
    if (tls !== undefined) extras.tls = tls;
    if (apiKey) extras.apiKey = apiKey;
    if (metadata && Object.keys(metadata).length) extras.metadata = metadata;
    return { address: address || undefined, namespace: namespace || 'default', extras };
  } catch (error) {
    throw new StartupError(`the Temporal connection settings cannot be read: ${(error as Error).message}`, 'correct the TEMPORAL_* variables or the temporal.toml profile they name');
  }
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(name, `${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name] || fallback;
  if (!/^\d+(ms|s|m|h|d)$/.test(value)) throw invalid(name, `${name} must be a duration like 90s, 15m, 4h or 14d, got "${value}"`);
  return value;
}

/** A duration that must not be zero (a window of no length would count no crashes). */
function positive(env: NodeJS.ProcessEnv, name: string, ms: number): number {
  if (ms <= 0) throw invalid(name, `${name} must be longer than zero, got "${env[name]}"`);
  return ms;
}

/** `auto`: Secure when the request came over TLS (behind a proxy, with TRUST_PROXY=true). */
function secureCookieFrom(env: NodeJS.ProcessEnv): boolean | 'auto' {
  const value = env.SESSION_COOKIE_SECURE ?? 'auto';
  if (value === 'auto') return 'auto';
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid('SESSION_COOKIE_SECURE', `SESSION_COOKIE_SECURE must be auto, true or false, got "${value}"`);
}

function sessionSecretFrom(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.SESSION_SECRET || undefined;
  if (value !== undefined && value.length < 32) throw invalid('SESSION_SECRET', 'SESSION_SECRET must be at least 32 characters (or unset: a secret kept in the database is used)');
  return value;
}

/**
 * Defaults for a small box (2 cores, a few GB): 500 cached runs keep the worker's memory
 * bounded (about half a megabyte per cached run, estimated from 1.36 GB at 2,000 cached) while
 * an order and its shipment stay cached from its start to its release at the rates the box carries; 20 workflow tasks at
 * once keep two cores busy without queueing long behind the single workflow thread; 50
 * activities and 50 local activities at once are more than the database pool (10) serves,
 * so a slow outbound call (a webhook, the gateway) does not hold up the database steps.
 */
export function workerLimitsFrom(env: NodeJS.ProcessEnv = process.env): WorkerLimits {
  const atLeastOne = (name: string, fallback: number) => {
    const value = intFrom(env, name, fallback);
    if (value < 1) throw invalid(name, `${name} must be at least 1, got "${env[name]}"`);
    return value;
  };
  const limits = {
    maxCachedWorkflows: intFrom(env, 'WORKER_MAX_CACHED_WORKFLOWS', 500),
    maxConcurrentWorkflowTasks: atLeastOne('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 20),
    maxConcurrentActivities: atLeastOne('WORKER_MAX_CONCURRENT_ACTIVITIES', 50),
    maxConcurrentLocalActivities: atLeastOne('WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES', 50),
  };
  // The SDK refuses more concurrent workflow tasks than cached runs (with a cache at all).
  if (limits.maxCachedWorkflows > 0 && limits.maxConcurrentWorkflowTasks > limits.maxCachedWorkflows) {
    throw invalid(
      'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS',
      `WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (${limits.maxConcurrentWorkflowTasks}) must not exceed WORKER_MAX_CACHED_WORKFLOWS (${limits.maxCachedWorkflows})`,
    );
  }
  return limits;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(projectRoot, env.DATA_DIR ?? '.data');
  const temporal = temporalSettings(env);
  return {
    port: intFrom(env, 'PORT', 3000),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    temporalConnection: temporal.extras,
    taskQueue: env.TEMPORAL_TASK_QUEUE ?? 'ops',
    temporalUiUrl: env.TEMPORAL_UI_URL ?? 'http://localhost:8233',
    apiKeys: env.API_KEYS || undefined,
    dataDir,
    logLevel: env.LOG_LEVEL ?? 'info',
    rateLimitPerMinute: intFrom(env, 'RATE_LIMIT_PER_MINUTE', 6000),
    session: {
      ttlMs: positive(env, 'SESSION_TTL', durationMs(duration(env, 'SESSION_TTL', '12h'))),
      secureCookie: secureCookieFrom(env),
      secret: sessionSecretFrom(env),
    },
    trustProxy: env.TRUST_PROXY === 'true',
    notifications: {
      smtpUrl: env.SMTP_URL || undefined,
      mailFrom: env.MAIL_FROM ?? 'ops-backbone@localhost',
      publicUrl: env.PUBLIC_URL ?? `http://localhost:${intFrom(env, 'PORT', 3000)}`,
      intervalMs: positive(env, 'NOTIFY_INTERVAL', durationMs(duration(env, 'NOTIFY_INTERVAL', '2s'))),
      timeoutMs: durationMs(duration(env, 'NOTIFY_TIMEOUT', '10s')),
      maxAttempts: Math.max(1, intFrom(env, 'NOTIFY_MAX_ATTEMPTS', 8)),
    },
    resilience: {
      db: {
        poolSize: Math.max(1, intFrom(env, 'DB_POOL_SIZE', 10)),
        connectTimeoutMs: durationMs(duration(env, 'DB_CONNECT_TIMEOUT', '2s')),
        queryTimeoutMs: durationMs(duration(env, 'DB_QUERY_TIMEOUT', '30s')),
        maxQueue: intFrom(env, 'DB_MAX_QUEUE', 200),
      },
      temporal: {
        callTimeoutMs: durationMs(duration(env, 'TEMPORAL_CALL_TIMEOUT', '30s')),
        unavailableRetryMs: durationMs(duration(env, 'TEMPORAL_UNAVAILABLE_RETRY', '1500ms')),
        maxInFlight: Math.max(1, intFrom(env, 'TEMPORAL_MAX_IN_FLIGHT', 200)),
        queryTimeoutMs: durationMs(duration(env, 'TEMPORAL_QUERY_TIMEOUT', '3s')),
      },
      temporalConnectTimeoutMs: durationMs(duration(env, 'TEMPORAL_CONNECT_TIMEOUT', '2s')),
      api: {
        maxInFlight: Math.max(1, intFrom(env, 'API_MAX_IN_FLIGHT', 256)),
        retryAfterSeconds: Math.max(1, intFrom(env, 'RETRY_AFTER_SECONDS', 2)),
        probeIntervalMs: durationMs(duration(env, 'HEALTH_PROBE_INTERVAL', '1s')),
      },
      paymentGatewayTimeoutMs: durationMs(duration(env, 'PAYMENT_GATEWAY_TIMEOUT', '10s')),
    },
    channelPublishing: {
      // A wait under a second would make an idle publisher read its feed in a hot loop.
      pollWaitMs: Math.max(1_000, durationMs(duration(env, 'CHANNEL_POLL_WAIT', '30s'))),
      pollIntervalMs: durationMs(duration(env, 'CHANNEL_POLL_INTERVAL', '500ms')),
      requestTimeoutMs: durationMs(duration(env, 'CHANNEL_REQUEST_TIMEOUT', '10s')),
      failureThreshold: Math.max(1, intFrom(env, 'CHANNEL_FAILURE_THRESHOLD', 5)),
      retryInitialMs: durationMs(duration(env, 'CHANNEL_RETRY_INITIAL', '1s')),
      retryMaxMs: durationMs(duration(env, 'CHANNEL_RETRY_MAX', '1m')),
      idleRecheckMs: durationMs(duration(env, 'CHANNEL_IDLE_RECHECK', '1m')),
      readsPerRun: Math.max(1, intFrom(env, 'CHANNEL_READS_PER_RUN', 500)),
    },
    channelConnectors: {
      webhookBodyLimitBytes: Math.max(1_024, intFrom(env, 'CHANNEL_WEBHOOK_BODY_LIMIT', 1024 * 1024)),
      webhookDeadlineMs: positive(env, 'CHANNEL_WEBHOOK_DEADLINE', durationMs(duration(env, 'CHANNEL_WEBHOOK_DEADLINE', '4s'))),
      secretGraceMs: durationMs(duration(env, 'CHANNEL_SECRET_GRACE', '24h')),
      intakeIdleMs: positive(env, 'CHANNEL_ORDER_IDLE', durationMs(duration(env, 'CHANNEL_ORDER_IDLE', '1h'))),
      reconcileSchedule: env.CHANNEL_RECONCILE_SCHEDULE_CRON || '30 4 * * *',
      reconcileWindowMs: positive(env, 'CHANNEL_RECONCILE_WINDOW', durationMs(duration(env, 'CHANNEL_RECONCILE_WINDOW', '48h'))),
    },
    exceptionSweepSchedule: env.EXCEPTION_SWEEP_EVERY || '15m',
    supervisor: {
      maxRestarts: intFrom(env, 'SUPERVISOR_MAX_RESTARTS', 5),
      windowMs: positive(env, 'SUPERVISOR_WINDOW', durationMs(duration(env, 'SUPERVISOR_WINDOW', '2m'))),
    },
    shutdown: {
      apiGraceMs: durationMs(duration(env, 'API_SHUTDOWN_GRACE', '10s')),
      workerGraceMs: durationMs(duration(env, 'WORKER_SHUTDOWN_GRACE', '10s')),
    },
    functionalCurrency: functionalCurrencyFrom(env),
    worker: workerLimitsFrom(env),
    policies: {
      order: {
        risk: {
          holdValueMinor: intFrom(env, 'RISK_HOLD_THRESHOLD_MINOR', 100_000),
          newCustomerValueMinor: intFrom(env, 'RISK_NEW_CUSTOMER_THRESHOLD_MINOR', 30_000),
          velocityMaxOrders: intFrom(env, 'RISK_VELOCITY_MAX_ORDERS', 5),
          velocityWindowHours: intFrom(env, 'RISK_VELOCITY_WINDOW_HOURS', 24),
          holdCountryMismatch: env.RISK_HOLD_COUNTRY_MISMATCH !== 'false',
          blockedCustomers: (env.RISK_BLOCKED_CUSTOMERS ?? '').split(',').map((c) => c.trim()).filter(Boolean),
        },
        priceTolerancePct: intFrom(env, 'PRICE_TOLERANCE_PCT', 2),
        holdEscalateAfter: duration(env, 'HOLD_ESCALATE_AFTER', '4h'),
        holdAutoCancelAfter: duration(env, 'HOLD_AUTO_CANCEL_AFTER', '48h'),
        reservationExpiry: duration(env, 'RESERVATION_EXPIRY', '72h'),
        backorderDeadline: duration(env, 'BACKORDER_DEADLINE', '14d'),
        backorderRecheck: duration(env, 'BACKORDER_RECHECK', '6h'),
        shipWithin: duration(env, 'SHIP_WITHIN', '2d'),
      },
      adjustmentApprovalValueMinor: intFrom(env, 'ADJUSTMENT_APPROVAL_VALUE_MINOR', 50_000),
      adjustmentApprovalPct: intFrom(env, 'ADJUSTMENT_APPROVAL_PCT', 10),
      adjustmentApprovalTimeout: duration(env, 'ADJUSTMENT_APPROVAL_TIMEOUT', '7d'),
      purchaseOrder: {
        buyerApprovalLimitMinor: intFrom(env, 'PO_BUYER_APPROVAL_LIMIT_MINOR', 500_000),
        receiptTolerancePct: intFrom(env, 'PO_RECEIPT_TOLERANCE_PCT', 5),
        ackDeadline: duration(env, 'PO_ACK_DEADLINE', '2d'),
        invoicePriceTolerancePct: intFrom(env, 'PO_INVOICE_PRICE_TOLERANCE_PCT', 1),
        approvalEscalateAfter: duration(env, 'PO_APPROVAL_ESCALATE_AFTER', '2d'),
      },
      transferTransitDeadline: duration(env, 'TRANSFER_TRANSIT_DEADLINE', '5d'),
      returns: {
        windowDays: returnWindows(env, 'RETURN_WINDOW_DAYS', 'dtc:30,subscription:30,wholesale:14,marketplace:30'),
        receiptExpiry: duration(env, 'RETURN_RECEIPT_EXPIRY', '30d'),
        refundApprovalLimitMinor: intFrom(env, 'REFUND_APPROVAL_LIMIT_MINOR', 50_000),
        restockingFeePct: Math.min(100, intFrom(env, 'RESTOCKING_FEE_PCT', 10)),
        restockingFeeReasons: reasonList(env, 'RESTOCKING_FEE_REASONS', 'changed_mind,wrong_size'),
        freightRefundReasons: reasonList(env, 'FREIGHT_REFUND_REASONS', 'damaged_in_transit,defective,wrong_item,not_as_described'),
        sla: duration(env, 'RETURN_SLA', '5d'),
      },
      payments: {
        authExpiryLead: duration(env, 'PAYMENT_AUTH_EXPIRY_LEAD', '48h'),
        settlementPayoutDays: Math.max(1, intFrom(env, 'SETTLEMENT_PAYOUT_DAYS', 7)),
      },
    },
  };
}

function functionalCurrencyFrom(env: NodeJS.ProcessEnv): string {
  const value = env.FUNCTIONAL_CURRENCY || 'USD';
  if (minorUnits(value) === undefined) throw invalid('FUNCTIONAL_CURRENCY', `FUNCTIONAL_CURRENCY must be an ISO 4217 currency code like USD, got "${value}"`);
  return value;
}

/** `dtc:30,wholesale:14,...`: days per channel; a channel left out keeps its default. */
function returnWindows(env: NodeJS.ProcessEnv, name: string, fallback: string): Record<ChannelName, number> {
  const parse = (text: string) =>
    Object.fromEntries(
      text
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
        .map((part) => {
          const [channel, days] = part.split(':');
          if (!channels.includes(channel as ChannelName) || !/^\d+$/.test(days ?? '')) {
            throw invalid(name, `${name} must look like dtc:30,wholesale:14 (channels ${channels.join(', ')}), got "${text}"`);
          }
          return [channel, Number(days)];
        }),
    );
  return { ...parse(fallback), ...parse(env[name] ?? '') } as Record<ChannelName, number>;
}

function reasonList(env: NodeJS.ProcessEnv, name: string, fallback: string): ReturnReason[] {
  const text = env[name] ?? fallback;
  const reasons = text.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = reasons.filter((r) => !returnReasons.includes(r as ReturnReason));
  if (unknown.length) throw invalid(name, `${name}: unknown return reasons ${unknown.join(', ')} (known: ${returnReasons.join(', ')})`);
  return reasons as ReturnReason[];
}
