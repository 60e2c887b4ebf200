/**
 * Stopping the API without cutting anyone off: it stops listening (new connections are
 * refused), answers every request already in flight, and closes each kept-alive connection
 * as soon as it falls idle. Past the grace period, whatever is still open is closed.
 */
import type { FastifyInstance } from 'fastify';
import { formatMs } from './supervisor.js';

export async function closeApi(app: FastifyInstance, graceMs: number, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  const server = app.server;
  // A kept-alive connection falls idle when its answer is sent; without this it would hold
  // the close open until the client or the keep-alive timeout ended it.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let cut = 0;
  const grace = setTimeout(() => {
    server.getConnections((_error, open) => {
      cut = open;
      if (open) log(`${open} connection(s) still busy after API_SHUTDOWN_GRACE (${formatMs(graceMs)}): closing them`);
      server.closeAllConnections();
    });
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(grace);
  }
  log(`API closed in ${formatMs(Date.now() - started)}${cut ? ` (${cut} connection(s) cut at the grace period)` : ', every request in flight answered'}`);
}
