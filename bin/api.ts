/** `npm run api`: the HTTP API alone, against the configured Temporal and database. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { localApiKeys, parseApiKeys } from '../api/auth.js';
import { createDb } from '../db/connection.js';
import { loadConfig } from '../runtime/config.js';
import { databaseUrlOf, temporalAddressOf } from '../runtime/services.js';
import { closeApi } from '../runtime/shutdown.js';
import { apiTemporalClient } from '../runtime/temporal-client.js';

const config = loadConfig();
const keys = config.apiKeys ? parseApiKeys(config.apiKeys) : localApiKeys(config.dataDir);
// The API's own bounds: pool size, connect and statement timeouts, a bounded queue.
const db = createDb(databaseUrlOf(config), config.resilience.db.poolSize, config.resilience.db);
// Lazy, with deadlines: the API starts and answers what it can while Temporal is still
// starting (or restarting), and connects on first use.
const { client: temporal, connection } = apiTemporalClient(config, temporalAddressOf(config));

// A stop drains: the server refuses new connections, answers the requests in flight
// (for API_SHUTDOWN_GRACE at most; then what is still open is closed), then the
// connections to Temporal and the database close. Installed first, so a stop while still
// starting ends the process too (as PID 1 it would otherwise ignore SIGTERM).
let app: FastifyInstance | undefined = undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    console.log(`[api] ${signal}: finishing in-flight requests, then stopping`);
    try {
      if (app) await closeApi(app, config.shutdown.apiGraceMs, (line) => console.log(`[api] ${line}`));
      await connection.close();
      await db.destroy();
      console.log('[api] stopped');
    } finally {
      process.exit(0);
    }
  });
}

app = await buildApp({ db, temporal, config, keys });
// Shown once: the database keeps only its hash.
if (app.accountSeed.generatedAdminToken) {
  console.log(`[api] first admin "${app.accountSeed.firstAdmin}" made; its token, shown this once: ${app.accountSeed.generatedAdminToken}`);
}
await app.listen({ port: config.port, host: config.host });
