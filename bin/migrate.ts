/** `npm run migrate`: brings the database of DATABASE_URL to the latest schema. */
import { createDb } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadConfig } from '../runtime/config.js';
import { databaseUrlOf, redact } from '../runtime/services.js';
import { runEntryPoint } from '../runtime/startup-error.js';

await runEntryPoint('migrate', async () => {
  const url = databaseUrlOf(loadConfig());
  const db = createDb(url, 1);
  try {
    const applied = await migrateToLatest(db);
    console.log(applied.length ? `applied to ${redact(url)}: ${applied.join(', ')}` : `${redact(url)} is up to date`);
  } finally {
    await db.destroy();
  }
});
