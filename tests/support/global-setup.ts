/**
 * One PostgreSQL server and one Temporal dev server for the whole test run.
 * Each test file gets its own database, copied from a migrated template, so files
 * run in parallel without sharing rows; the workflow bundle is built once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { createDb } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { projectRoot } from '../../runtime/config.js';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, withDatabase } from '../../runtime/postgres.js';
import { freePort } from '../../runtime/ports.js';
import { ensureSearchAttributes, startDevServer, temporalTestServer } from '../../runtime/temporal.js';
import { bundleWorkflows } from '../../runtime/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    templateDatabase: string;
    runId: string;
    temporalAddress: string;
    workflowBundlePath: string;
    timeSkippingServerPath: string;
  }
}

export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const log = (line: string) => console.log(`[test setup] ${line}`);
  const stops: (() => Promise<void>)[] = [];

  let serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    log(`PostgreSQL from DATABASE_URL`);
  } else {
    // A cluster of its own per run, so two test runs on one checkout never share a server.
    const port = await freePort();
    const server = await startEmbeddedPostgres({ dataDir: path.join(projectRoot, '.data'), name: `test-pg-${runId}`, port, durable: false, scratch: true, log });
    log(`started embedded PostgreSQL for tests (${server.dir}, port ${port})`);
    stops.push(server.stop);
    serverUrl = server.serverUrl;
  }
  const templateDatabase = `ops_test_${runId}_template`;
  await ensureDatabase(serverUrl, templateDatabase);
  const templateDb = createDb(withDatabase(serverUrl, templateDatabase), 1);
  await migrateToLatest(templateDb);
  await templateDb.destroy();
  stops.push(() => dropRunDatabases(serverUrl, runId));

  const temporalPort = await freePort();
  log(`starting Temporal dev server for tests (port ${temporalPort})`);
  const temporal = await startDevServer({ port: temporalPort });
  stops.push(temporal.stop);
  const connection = await Connection.connect({ address: temporal.address });
  await ensureSearchAttributes(connection, 'default');
  await connection.close();

  log('bundling workflows');
  const bundle = await bundleWorkflows();
  const workflowBundlePath = path.join(projectRoot, '.data', `workflow-bundle-${runId}.js`);
  fs.mkdirSync(path.dirname(workflowBundlePath), { recursive: true });
  fs.writeFileSync(workflowBundlePath, bundle.code);
  stops.push(async () => fs.rmSync(workflowBundlePath, { force: true }));

  project.provide('pgServerUrl', serverUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('runId', runId);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('timeSkippingServerPath', temporalTestServer());

  return async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => console.warn(`[test teardown] ${error}`));
  };
}

async function dropRunDatabases(serverUrl: string, runId: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [
    `ops_test_${runId}_%`,
  ]);
  await client.end();
  for (const { datname } of rows) await dropDatabase(serverUrl, datname);
}
