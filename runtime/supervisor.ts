/**
 * Keeps a child service that `npm start` runs (embedded PostgreSQL, the Temporal dev server)
 * running. When it ends without having been asked to, it is started again — same port,
 * same data, since its start function is the same — after a pause that doubles with each
 * crash (1 s, 2 s, 4 s … up to 30 s). Too many crashes in a short window mean something is
 * wrong that restarting will not mend: then it gives up and says so, in two lines, and the
 * caller stops the stack.
 */
import { StartupError } from './startup-error.js';

/** What a start function hands back: the running service. */
export interface ServiceHandle {
  /** A child process: how it ended, once it has (`exitCode` or `signalCode` set). */
  process?: { exitCode: number | null; signalCode: NodeJS.Signals | null };
  /** Settles when the process ends, for whatever reason, with its last log lines. */
  exited: Promise<string>;
  /** Stops it on purpose; resolves once it has ended. */
  stop(): Promise<void>;
}

export interface SupervisorOptions<H extends ServiceHandle> {
  /** How log lines name the service: `PostgreSQL`, `Temporal dev server`. */
  name: string;
  /** Starts the service and resolves once it answers; called again for every restart. */
  start: () => Promise<H>;
  log: (line: string) => void;
  /** Restarts allowed within `windowMs`; one crash more gives up (0: the first crash gives up). */
  maxRestarts: number;
  windowMs: number;
  /** What the user should do when it gives up (the second line of the message). */
  fix: string;
  /** Called with each new handle after a restart, once the service answers again. */
  onRestart?: (handle: H) => void;
  /** How it ended, for the log (default: `exited (signal SIGKILL)` from its process). */
  describeExit?: (handle: H, lastLines: string) => string;
  /** Pause before restart number `crash` within the window; default 1 s doubling up to 30 s. */
  backoffMs?: (crash: number) => number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const defaultBackoffMs = (crash: number): number => Math.min(30_000, 1_000 * 2 ** Math.max(0, crash - 1));

export class Supervisor<H extends ServiceHandle> {
  private current?: H;
  /** When each crash within the window happened. */
  private crashes: number[] = [];
  private stopping = false;
  private recovering?: Promise<void>;
  private wake?: () => void;
  private reportGiveUp!: (error: StartupError) => void;
  /** Settles (never rejects) when restarting stopped helping: the two lines to show. */
  readonly gaveUp: Promise<StartupError> = new Promise((resolve) => (this.reportGiveUp = resolve));
  /** Restarts done so far, for tests and logs. */
  restarts = 0;

  constructor(private readonly options: SupervisorOptions<H>) {}

  /** The first start: its failure is the caller's (a StartupError stops start as before). */
  async start(): Promise<H> {
    const handle = await this.options.start();
    this.watch(handle);
    return handle;
  }

  /** The service as it runs now; undefined while it is down or being restarted. */
  get handle(): H | undefined {
    return this.current;
  }

  /**
   * Stops the service and the supervision: an exit from now on is not a crash. A restart
   * waiting for its pause is called off; one under way is let finish, then stopped.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.recovering;
    const handle = this.current;
    this.current = undefined;
    if (!handle) return;
    await handle.stop();
    this.options.log(`${this.options.name} stopped`);
  }

  private watch(handle: H): void {
    this.current = handle;
    void handle.exited.then((lastLines) => {
      if (this.stopping || this.current !== handle) return;
      this.current = undefined;
      const reason = this.options.describeExit?.(handle, lastLines) ?? `exited (${howItEnded(handle.process)})`;
      this.recovering = this.recover(reason, lastLines).finally(() => (this.recovering = undefined));
    });
  }

  private async recover(reason: string, lastLines: string): Promise<void> {
    const { name, log, maxRestarts, windowMs } = this.options;
    const now = this.options.now ?? Date.now;
    const backoff = this.options.backoffMs ?? defaultBackoffMs;
    while (!this.stopping) {
      const at = now();
      this.crashes = this.crashes.filter((t) => at - t < windowMs);
      this.crashes.push(at);
      const crash = this.crashes.length;
      if (crash > maxRestarts) {
        this.reportGiveUp(this.giveUpMessage(reason, lastLines, crash));
        return;
      }
      const pause = backoff(crash);
      log(`${name} ${reason}; restarting in ${formatMs(pause)} (crash ${crash} of ${maxRestarts} in ${formatMs(windowMs)})`);
      await this.pause(pause);
      if (this.stopping) return;
      try {
        const handle = await this.options.start();
        if (this.stopping) {
          await handle.stop();
          return;
        }
        this.restarts++;
        log(`${name} is back`);
        this.watch(handle);
        this.options.onRestart?.(handle);
        return;
      } catch (error) {
        const detail = error instanceof StartupError ? error.message : (error as Error).message;
        reason = `did not come back (${oneLine(detail)})`;
        lastLines = '';
      }
    }
  }

  private pause(ms: number): Promise<void> {
    const sleep = this.options.sleep ?? ((t: number) => new Promise<void>((resolve) => setTimeout(resolve, t)));
    return Promise.race([sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]).finally(() => (this.wake = undefined));
  }

  private giveUpMessage(reason: string, lastLines: string, crashes: number): StartupError {
    const { name, windowMs, fix } = this.options;
    const tail = lastLines
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .slice(-3)
      .map((line) => (line.length > 200 ? `${line.slice(0, 200)}…` : line))
      .join(' | ');
    // A SIGKILL comes from outside: someone's kill -9, or the kernel short of memory.
    const how = reason.replace('(signal SIGKILL)', '(signal SIGKILL: killed from outside, by a kill -9 or the out-of-memory killer)');
    return new StartupError(
      `${name} keeps crashing: ${crashes} ${crashes === 1 ? 'crash' : 'crashes'} within ${formatMs(windowMs)}, the last one ${how}; ${tail ? `its last log lines: ${oneLine(tail)}` : 'it logged nothing'}`,
      fix,
    );
  }
}

function howItEnded(process: ServiceHandle['process']): string {
  if (process?.signalCode) return `signal ${process.signalCode}`;
  return `code ${process?.exitCode ?? 'unknown'}`;
}

const oneLine = (text: string) => {
  const flat = text.replace(/\s*\n\s*/g, ' | ').trim();
  return flat.length > 600 ? `${flat.slice(0, 600)}…` : flat;
};

/** `500 ms`, `1 s`, `90 s`, `2 min`, `1 h`: a pause or a window as people say it. */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
