/** The supervisor's rules, on stand-in services: restart with backoff, give up on a crash loop, a stop is no crash. */
import { describe, expect, it } from 'vitest';
import { StartupError } from '../../runtime/startup-error.js';
import { formatMs, Supervisor, type ServiceHandle } from '../../runtime/supervisor.js';

interface Fake extends ServiceHandle {
  process: { exitCode: number | null; signalCode: NodeJS.Signals | null };
  crash(signal?: NodeJS.Signals, lastLines?: string): void;
  stopped: boolean;
}

function fakeService(): Fake {
  let end!: (lines: string) => void;
  const fake: Fake = {
    process: { exitCode: null, signalCode: null },
    exited: new Promise<string>((resolve) => (end = resolve)),
    stopped: false,
    stop: async () => {
      fake.stopped = true;
      fake.process.exitCode = 0;
      end('');
    },
    crash: (signal = 'SIGKILL', lastLines = '') => {
      fake.process.signalCode = signal;
      end(lastLines);
    },
  };
  return fake;
}

/** A supervisor on a clock the test moves, whose pauses end at once (and are noted). */
function harness(options: { maxRestarts?: number; windowMs?: number; failStarts?: number } = {}) {
  const started: Fake[] = [];
  const pauses: number[] = [];
  const lines: string[] = [];
  let clock = 0;
  let failStarts = options.failStarts ?? 0;
  const supervisor = new Supervisor<Fake>({
    name: 'PostgreSQL',
    start: async () => {
      if (started.length > 0 && failStarts > 0) {
        failStarts--;
        throw new StartupError('port 5433 for embedded PostgreSQL is in use', 'stop what uses it');
      }
      const fake = fakeService();
      started.push(fake);
      return fake;
    },
    log: (line) => lines.push(line),
    maxRestarts: options.maxRestarts ?? 5,
    windowMs: options.windowMs ?? 120_000,
    fix: 'mend it and start again',
    now: () => clock,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  return { supervisor, started, pauses, lines, settle, advance: (ms: number) => (clock += ms) };
}

describe('Supervisor', () => {
  it('restarts a crashed service after 1 s, 2 s, 4 s …, and says so', async () => {
    const { supervisor, started, pauses, lines, settle } = harness();
    await supervisor.start();
    for (let crash = 1; crash <= 3; crash++) {
      started.at(-1)!.crash();
      await settle();
      expect(started).toHaveLength(crash + 1);
      expect(supervisor.handle).toBe(started.at(-1));
    }
    expect(pauses).toEqual([1_000, 2_000, 4_000]);
    expect(lines).toEqual([
      'PostgreSQL exited (signal SIGKILL); restarting in 1 s (crash 1 of 5 in 2 min)',
      'PostgreSQL is back',
      'PostgreSQL exited (signal SIGKILL); restarting in 2 s (crash 2 of 5 in 2 min)',
      'PostgreSQL is back',
      'PostgreSQL exited (signal SIGKILL); restarting in 4 s (crash 3 of 5 in 2 min)',
      'PostgreSQL is back',
    ]);
  });

  it('backs off up to 30 s at most', async () => {
    const { supervisor, started, pauses, settle } = harness({ maxRestarts: 10 });
    await supervisor.start();
    for (let crash = 1; crash <= 8; crash++) {
      started.at(-1)!.crash();
      await settle();
    }
    expect(pauses).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('gives up on one crash more than allowed within the window, with its last log lines and a fix', async () => {
    const { supervisor, started, lines, settle } = harness({ maxRestarts: 2 });
    await supervisor.start();
    started.at(-1)!.crash();
    await settle();
    started.at(-1)!.crash();
    await settle();
    started.at(-1)!.crash('SIGSEGV', 'LOG:  starting\nPANIC:  could not write to file "pg_wal/xlogtemp": No space left on device\n');
    const failure = await supervisor.gaveUp;
    expect(started).toHaveLength(3);
    expect(failure.message).toBe(
      'PostgreSQL keeps crashing: 3 crashes within 2 min, the last one exited (signal SIGSEGV); its last log lines: LOG:  starting | PANIC:  could not write to file "pg_wal/xlogtemp": No space left on device',
    );
    expect(failure.message.split('\n')).toHaveLength(1);
    expect(failure.fix).toBe('mend it and start again');
    expect(lines.filter((l) => l.includes('restarting'))).toHaveLength(2);
  });

  it('forgets crashes older than the window', async () => {
    const { supervisor, started, pauses, settle, advance } = harness({ maxRestarts: 2, windowMs: 60_000 });
    await supervisor.start();
    for (let crash = 1; crash <= 6; crash++) {
      started.at(-1)!.crash();
      await settle();
      advance(45_000); // two crashes at most in any minute
    }
    expect(started).toHaveLength(7);
    expect(pauses).toEqual([1_000, 2_000, 2_000, 2_000, 2_000, 2_000]);
    let gaveUp = false;
    void supervisor.gaveUp.then(() => (gaveUp = true));
    await settle();
    expect(gaveUp).toBe(false);
  });

  it('a restart that fails counts as a crash, and is tried again', async () => {
    const { supervisor, started, lines, settle } = harness({ failStarts: 1 });
    await supervisor.start();
    started.at(-1)!.crash();
    await settle();
    expect(started).toHaveLength(2);
    expect(lines).toEqual([
      'PostgreSQL exited (signal SIGKILL); restarting in 1 s (crash 1 of 5 in 2 min)',
      'PostgreSQL did not come back (port 5433 for embedded PostgreSQL is in use); restarting in 2 s (crash 2 of 5 in 2 min)',
      'PostgreSQL is back',
    ]);
  });

  it('a stop is not a crash', async () => {
    const { supervisor, started, lines, settle } = harness();
    const first = await supervisor.start();
    await supervisor.stop();
    await settle();
    expect(first.stopped).toBe(true);
    expect(started).toHaveLength(1);
    expect(lines).toEqual(['PostgreSQL stopped']);
  });

  it('a stop during the pause calls the restart off', async () => {
    const lines: string[] = [];
    const started: Fake[] = [];
    const supervisor = new Supervisor<Fake>({
      name: 'Temporal dev server',
      start: async () => {
        const fake = fakeService();
        started.push(fake);
        return fake;
      },
      log: (line) => lines.push(line),
      maxRestarts: 5,
      windowMs: 120_000,
      fix: '',
      sleep: () => new Promise(() => {}), // a pause that would never end by itself
    });
    await supervisor.start();
    started[0]!.crash();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await supervisor.stop();
    expect(started).toHaveLength(1);
    expect(lines).toEqual(['Temporal dev server exited (signal SIGKILL); restarting in 1 s (crash 1 of 5 in 2 min)']);
  });

  it('with no restarts allowed, the first crash gives up', async () => {
    const { supervisor, started } = harness({ maxRestarts: 0 });
    await supervisor.start();
    started[0]!.crash(undefined, '');
    expect((await supervisor.gaveUp).message).toBe(
      'PostgreSQL keeps crashing: 1 crash within 2 min, the last one exited (signal SIGKILL: killed from outside, by a kill -9 or the out-of-memory killer); it logged nothing',
    );
  });

  it('tells pauses and windows as people say them', () => {
    expect([500, 1_000, 1_500, 30_000, 60_000, 90_000, 120_000, 600_000, 7_200_000].map(formatMs)).toEqual(['500 ms', '1 s', '1.5 s', '30 s', '1 min', '90 s', '2 min', '10 min', '2 h']);
  });
});
