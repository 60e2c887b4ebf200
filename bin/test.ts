/**
 * `npm test`: installs what the suites need, runs every suite with vitest, and ends
 * with one plain line `N passed, N failed[, N skipped]`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../runtime/config.js';
import { runEntryPoint } from '../runtime/startup-error.js';
import { temporalCli, temporalTestServer } from '../runtime/temporal.js';

await runEntryPoint('test', async () => {
  temporalCli();
  temporalTestServer();
});

const report = path.join(projectRoot, '.data', 'vitest-report.json');
fs.mkdirSync(path.dirname(report), { recursive: true });
fs.rmSync(report, { force: true });
const vitest = spawnSync(
  process.execPath,
  [
    path.join(projectRoot, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: projectRoot },
);

// The exit code comes from the report too: a library's exit hook in the test process (embedded
// Postgres registers one) can end vitest with 0 after failures.
let failed = true;
if (fs.existsSync(report)) {
  const result = JSON.parse(fs.readFileSync(report, 'utf8')) as {
    success: boolean;
    numPassedTests: number;
    numFailedTests: number;
    numFailedTestSuites: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  const skipped = result.numPendingTests + result.numTodoTests;
  console.log(`${result.numPassedTests} passed, ${result.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
  failed = !result.success || result.numFailedTests > 0 || result.numFailedTestSuites > 0;
} else {
  console.log('0 passed, 1 failed (vitest wrote no report)');
}
process.exit(vitest.status || (failed ? 1 : 0));
