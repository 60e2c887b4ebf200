/** `npm run seed`: the demo catalog and opening stock into the configured database. */
import { createDb } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadConfig } from '../runtime/config.js';
import { seedDemo } from '../runtime/seed.js';
import { databaseUrlOf } from '../runtime/services.js';
import { runEntryPoint } from '../runtime/startup-error.js';

await runEntryPoint('seed', async () => {
  const db = createDb(databaseUrlOf(loadConfig()), 2);
  try {
    await migrateToLatest(db);
    await seedDemo(db, console.log);
  } finally {
    await db.destroy();
  }
});
