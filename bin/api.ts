/** `npm run api`: the HTTP API alone, against the configured Temporal and database. */
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app.js';
import { localApiKeys, parseApiKeys } from '../api/auth.js';
import { createDb } from '../db/connection.js';
import { loadConfig } from '../runtime/config.js';
import { databaseUrlOf, temporalAddressOf } from '../runtime/services.js';

const config = loadConfig();
const keys = config.apiKeys ? parseApiKeys(config.apiKeys) : localApiKeys(config.dataDir);
const db = createDb(databaseUrlOf(config));
const connection = await Connection.connect({ address: temporalAddressOf(config), ...config.temporalConnection });
const temporal = new Client({ connection, namespace: config.temporalNamespace });
const app = await buildApp({ db, temporal, config, keys });
await app.listen({ port: config.port, host: config.host });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await app.close();
    await connection.close();
    await db.destroy();
    process.exit(0);
  });
}
