/**
 * Ports of the services `npm start` runs. A port the user set must be free, or start stops
 * with a message naming it; a default that is taken (an engineer's own Temporal dev server
 * on 7233 is the common case) gives way to a free port, and start says which.
 */
import fs from 'node:fs';
import net from 'node:net';
import { StartupError } from './startup-error.js';

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PortChoice {
  /** What listens there, for messages: `the API`, `embedded PostgreSQL`. */
  service: string;
  /** The variable a user sets to ask for a port. */
  variable: string;
  /** Its value when set. */
  requested?: number;
  /** Ports to try in order when none was asked for (the last run's, then the default). */
  preferred: number[];
  host?: string;
}

/** The port a service will listen on; `log` hears when a default gives way. */
export async function choosePort(choice: PortChoice, log: (line: string) => void): Promise<number> {
  const host = choice.host ?? '127.0.0.1';
  if (choice.requested !== undefined) {
    if (await isPortFree(choice.requested, host)) return choice.requested;
    throw new StartupError(
      `port ${choice.requested} for ${choice.service} (${choice.variable}) is in use${describeListener(choice.requested)}`,
      `stop what uses it, or set ${choice.variable} to a free port (or unset it and a free one is chosen)`,
    );
  }
  for (const port of choice.preferred) {
    if (await isPortFree(port, host)) return port;
  }
  const port = await freePort();
  const wanted = choice.preferred.at(-1);
  log(`port ${wanted} is in use${wanted ? describeListener(wanted) : ''}; ${choice.service} takes port ${port} (set ${choice.variable} to choose)`);
  return port;
}

/** ` by temporal (pid 123)` when this machine's /proc tells who listens on the port; else empty. */
export function describeListener(port: number): string {
  try {
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (!fs.existsSync(table)) continue;
      for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        // local address is hex ip:port; state 0A is LISTEN
        const [, local = '', , state, , , , , , inode = ''] = cols;
        if (state === '0A' && parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(inode);
      }
    }
    if (inodes.size === 0) return '';
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds: string[];
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        const target = safeReadLink(`/proc/${pid}/fd/${fd}`);
        const inode = target?.match(/^socket:\[(\d+)\]$/)?.[1];
        if (inode && inodes.has(inode)) {
          return ` by \`${commandLine(pid)}\` (pid ${pid})`;
        }
      }
    }
  } catch {
    // /proc unreadable (another OS, or not allowed): the port alone must do
  }
  return '';
}

/** The program and its first arguments, without node's loader flags (`--import tsx`). */
function commandLine(pid: string): string {
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const kept: string[] = [];
  for (let i = 0; i < args.length && kept.length < 4; i++) {
    if (/^(--require|--import|-r|--loader)$/.test(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) kept.push(args[i]!);
  }
  return kept.join(' ');
}

function safeReadLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}
