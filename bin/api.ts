/** `npm run api`: the HTTP API alone, against the configured Temporal and database. */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { localApiKeys, parseApiKeys } from '../api/auth.js';
import { createDb } from '../db/connection.js';
import { loadConfig } from '../runtime/config.js';
import { databaseUrlOf, temporalAddressOf } from '../runtime/services.js';
import { closeApi } from '../runtime/shutdown.js';

const config = loadConfig();
const keys = config.apiKeys ? parseApiKeys(config.apiKeys) : localApiKeys(config.dataDir);
const db = createDb(databaseUrlOf(config));
const address = temporalAddressOf(config);

// A stop drains: the server refuses new connections, answers the requests in flight
// (for API_SHUTDOWN_GRACE at most; then what is still open is closed), then the
// connections to Temporal and the database close. Installed first, so a stop while still
// waiting for Temporal ends the process too (as PID 1 it would otherwise ignore SIGTERM).
let app: FastifyInstance | undefined = undefined;
let connection: Connection | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    console.log(`[api] ${signal}: finishing in-flight requests, then stopping`);
    try {
      if (app) await closeApi(app, config.shutdown.apiGraceMs, (line) => console.log(`[api] ${line}`));
      await connection?.close();
      await db.destroy();
      console.log('[api] stopped');
    } finally {
      process.exit(0);
    }
  });
}

// Temporal may still be starting (or restarting): retry the first connection
// instead of exiting and being restarted in a loop.
for (let attempt = 1; ; attempt++) {
  try {
    connection = await Connection.connect({ address, ...config.temporalConnection });
    break;
  } catch (error) {
    if (attempt >= 60) throw error;
    console.warn(`[api] waiting for Temporal at ${address}: ${(error as Error).message}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}
const temporal = new Client({ connection, namespace: config.temporalNamespace });
app = await buildApp({ db, temporal, config, keys });
await app.listen({ port: config.port, host: config.host });
