import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.js';
import type { Config } from '../runtime/config.js';
import { auditRoutes, registerAudit } from './audit.js';
import { registerAuth, type ApiKey } from './auth.js';
import { channelConnectorRoutes } from './channel-connectors.js';
import { registerSessions, requireCsrf, sessionRoutes } from './session.js';
import { userRoutes } from './users.js';
import { exceptionRoutes } from './exceptions.js';
import { notificationRoutes } from './notifications.js';
import { NotificationDispatcher } from '../services/notifications.js';
import { seedAccounts, type SeedResult } from '../services/users.js';
import { channelPublishingRoutes } from './channels.js';
import { consoleRoutes } from './console.js';
import { answerFrameworkError, ApiError, badRequest, registerErrorHandling } from './errors.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { inventoryRoutes } from './inventory.js';
import { lotRoutes } from './lots.js';
import { journalRoutes } from './journal.js';
import { fxRateRoutes } from './fx-rates.js';
import { settlementRoutes } from './settlements.js';
import { periodRoutes } from './periods.js';
import { receivableRoutes } from './receivables.js';
import { reportRoutes } from './reports.js';
import { kpiRoutes } from './kpis.js';
import { kpiSeriesRoutes } from './kpi-series.js';
import { masterDataRoutes } from './master-data.js';
import { registerMetrics } from './metrics.js';
import { inventoryAdjustmentRoutes } from './inventory-adjustment.js';
import { documentTransform, registerErrorAnswers } from './openapi.js';
import { orderImportRoutes } from './order-import.js';
import { orderRoutes } from './orders.js';
import { purchaseOrderRoutes } from './purchase-orders.js';
import { replenishmentRoutes } from './replenishment.js';
import { returnRoutes } from './returns.js';
import { storyRoutes } from './stories.js';
import { shipmentRoutes } from './shipments.js';
import { waveRoutes } from './waves.js';
import { taskRoutes } from './tasks.js';
import { transferRoutes } from './transfers.js';
import { vendorReturnRoutes } from './vendor-returns.js';
import { DependencyMonitor, registerLoadShedding } from './dependencies.js';

export interface AppDeps {
  db: Db;
  temporal: Client;
  config: Config;
  keys: ApiKey[];
  /** Watches PostgreSQL and Temporal; made by buildApp when not given. */
  monitor?: DependencyMonitor;
  /** pino options, or false for a silent app (tests). */
  logger?: boolean | { level: string };
}

export type App = FastifyInstance;

declare module 'fastify' {
  interface FastifyInstance {
    /** What seeding the configured keys did at build: the first admin, a generated token to show once. */
    accountSeed: SeedResult;
  }
}

export async function buildApp(given: AppDeps): Promise<App> {
  const monitor = given.monitor ?? new DependencyMonitor(given.db, given.temporal, given.config.resilience.api.probeIntervalMs);
  const deps = { ...given, monitor };
  const app = Fastify({
    logger: deps.logger ?? { level: deps.config.logLevel },
    bodyLimit: 1024 * 1024,
    // Unique across restarts and replicas: the audit log keys its rows by request id.
    genReqId: () => randomUUID(),
    // The longest id a path names (a vendor return's) is 151 characters; past this, 414.
    routerOptions: { maxParamLength: 256 },
    // A malformed URL or an overlong path parameter, refused before routing, in the error shape.
    frameworkErrors: answerFrameworkError,
    // Behind a TLS-terminating proxy: the request's protocol (and so the Secure cookie) from X-Forwarded-Proto.
    trustProxy: deps.config.trustProxy,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Security headers on every answer. No global CSP: the API answers JSON, and the console
  // sends its own stricter policy on its pages (the docs UI needs inline scripts).
  await app.register(helmet, { contentSecurityPolicy: false });
  // Overload and a database known to be down are refused first, before any other work.
  registerLoadShedding(app, monitor, deps.config.resilience.api);
  app.addHook('onReady', async () => monitor.start());
  app.addHook('onClose', async () => monitor.stop());
  // Requests per minute per API token or console session, or per address when neither is sent. An app-wide hook,
  // added before the auth hook, so that refused and unknown requests count too.
  if (deps.config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      global: false,
      max: deps.config.rateLimitPerMinute,
      timeWindow: 60_000,
      // A console session counts as its own caller, not as everyone behind the same address.
      keyGenerator: (request) => request.headers.authorization ?? /(?:^|;\s*)ops_session=([^;]+)/.exec(request.headers.cookie ?? '')?.[1] ?? request.ip,
      errorResponseBuilder: (_request, context) =>
        new ApiError(429, 'rate_limited', `more than ${context.max} requests a minute; retry in ${context.after}`),
    });
    app.addHook('onRequest', app.rateLimit());
  }
  // After the rate limit, so that refused methods and unknown paths count too.
  registerErrorHandling(app, { onDependencyTrouble: (trouble) => trouble.reason === 'unavailable' && monitor.markDown(trouble.dependency), retryAfterSeconds: deps.config.resilience.api.retryAfterSeconds });

  // The API's documentation is readable without a key.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
  });
  // Every route declares its error answers in the document; added here, before any route.
  registerErrorAnswers(app, { rateLimited: deps.config.rateLimitPerMinute > 0 });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Ecommerce operations backbone', version: '0.1.0' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    // Shared schemas (the error shape) as components, referenced from each answer.
    transformObject: documentTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  // The configured keys' accounts, and the first admin when nobody has an account yet.
  app.decorate('accountSeed', await seedAccounts(deps.db, deps.keys));
  await registerSessions(app, deps);
  registerAuth(app, deps.keys, { db: deps.db, monitor });
  requireCsrf(app);
  // No field of this API carries a NUL character, and Postgres cannot store one: refuse it
  // at the edge, before it can reach a process whose activities would retry on it.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined) return;
    let text: string;
    try {
      text = JSON.stringify(request.body);
    } catch {
      throw badRequest('the body is nested too deeply');
    }
    if (text.includes('\\u0000')) throw badRequest('text may not contain the NUL character (\\u0000)');
  });
  registerMetrics(app, deps);
  registerAudit(app, deps);
  await app.register(healthRoutes(deps));
  await app.register(orderRoutes(deps));
  await app.register(orderImportRoutes(deps));
  await app.register(shipmentRoutes(deps));
  await app.register(waveRoutes(deps));
  await app.register(transferRoutes(deps));
  await app.register(vendorReturnRoutes(deps));
  await app.register(returnRoutes(deps));
  await app.register(storyRoutes(deps));
  await app.register(masterDataRoutes(deps));
  await app.register(inventoryRoutes(deps));
  await app.register(lotRoutes(deps));
  await app.register(channelPublishingRoutes(deps));
  await app.register(channelConnectorRoutes(deps));
  await app.register(eventRoutes(deps));
  await app.register(journalRoutes(deps));
  await app.register(fxRateRoutes(deps));
  await app.register(settlementRoutes(deps));
  await app.register(periodRoutes(deps));
  await app.register(receivableRoutes(deps));
  await app.register(reportRoutes(deps));
  await app.register(inventoryAdjustmentRoutes(deps));
  await app.register(purchaseOrderRoutes(deps));
  await app.register(replenishmentRoutes(deps));
  await app.register(taskRoutes(deps));
  await app.register(consoleRoutes(deps));
  await app.register(kpiRoutes(deps));
  await app.register(kpiSeriesRoutes(deps));
  await app.register(auditRoutes(deps));
  await app.register(sessionRoutes(deps));
  await app.register(userRoutes(deps));
  await app.register(exceptionRoutes(deps));
  await app.register(notificationRoutes(deps));
  // Sends the notifications processes queue with their tasks and exceptions (every replica shares the work).
  const dispatcher = new NotificationDispatcher(deps.db, deps.config.notifications, app.log);
  app.addHook('onReady', async () => dispatcher.start());
  app.addHook('onClose', async () => dispatcher.stop());
  return app;
}
