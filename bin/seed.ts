/** `npm run seed`: the demo catalog and opening stock into the configured database. */
import { createDb } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadConfig } from '../runtime/config.js';
import { seedDemo } from '../runtime/seed.js';
import { embeddedDatabaseUrl } from '../runtime/services.js';

const db = createDb(loadConfig().databaseUrl ?? embeddedDatabaseUrl(), 2);
try {
  await migrateToLatest(db);
  await seedDemo(db, console.log);
} finally {
  await db.destroy();
}
