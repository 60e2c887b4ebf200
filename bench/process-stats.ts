/**
 * CPU time and memory of the processes a benchmark runs, read from Linux's /proc: CPU per
 * process tree (a process and every descendant, so a server's helpers count with it), and
 * RSS. Outside Linux (no /proc) every figure is `undefined` and the bench says so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Clock ticks per second of /proc/<pid>/stat's times (almost always 100). */
const ticksPerSecond = (() => {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(answer.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
})();

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: its own CPU and that of children it has reaped. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { ppid, ticks };
  } catch {
    return undefined;
  }
}

/** Every live process under `root` (itself included), with its ticks. */
function treeTicks(root: number): Map<number, number> | undefined {
  const rootStat = readStat(root);
  if (!rootStat) return undefined;
  const stats = new Map<number, ProcStat>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.set(Number(name), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  const result = new Map<number, number>([[root, rootStat.ticks]]);
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (result.has(child)) continue;
      result.set(child, stats.get(child)!.ticks);
      queue.push(child);
    }
  }
  return result;
}

/**
 * CPU of named groups of process trees between `start()` and `stop()`: milliseconds per
 * group. A process born during the window counts from zero; one that ended during it is
 * lost unless its parent reaped it (then it is in the parent's cutime). `alone`: processes
 * counted without their descendants (the bench's own process, whose children are measured apart).
 */
export function cpuWatch(groups: Record<string, (number | undefined)[]>, alone: Record<string, number> = {}) {
  const snapshot = () =>
    Object.fromEntries(
      [...Object.entries(groups), ...Object.entries(alone).map(([name, pid]) => [name, [pid]] as const)].map(([name, roots]) => {
        const merged = new Map<number, number>();
        let found = false;
        for (const root of roots) {
          const own = name in alone && root !== undefined ? readStat(root) : undefined;
          const tree = root === undefined ? undefined : own ? new Map([[root, own.ticks]]) : treeTicks(root);
          if (!tree) continue;
          found = true;
          for (const [pid, ticks] of tree) merged.set(pid, ticks);
        }
        return [name, found ? merged : undefined];
      }),
    );
  const before = snapshot();
  const began = performance.now();
  return {
    /** CPU milliseconds per group (undefined where the processes cannot be read) and the wall time. */
    stop(): { cpuMs: Record<string, number | undefined>; wallMs: number } {
      const after = snapshot();
      const wallMs = performance.now() - began;
      const cpuMs = Object.fromEntries(
        [...Object.keys(groups), ...Object.keys(alone)].map((name) => {
          const end = after[name];
          const start = before[name];
          if (!end || !start) return [name, undefined];
          let ticks = 0;
          for (const [pid, t] of end) ticks += t - (start.get(pid) ?? 0);
          return [name, round((ticks * 1_000) / ticksPerSecond, 0)];
        }),
      );
      return { cpuMs, wallMs };
    },
  };
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: round(kb('VmRSS') / 1024), peakMb: round(kb('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/** RSS in MB of each of several processes of one kind (e.g. two workers). */
export function rssOf(pids: number[]): number[] {
  return pids.map((pid) => memoryOf(pid)?.rssMb ?? 0);
}

/** Resets the kernel's peak-RSS mark of a process (Linux: `5` into clear_refs); false when not allowed. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples RSS of the given processes every 500 ms; the max sampled and the kernel's peak mark. */
export function memoryWatch(pids: Record<string, number>) {
  const peakReset = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, resetPeak(pid)]));
  const maxSampled: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const memory = memoryOf(pid);
      if (memory) maxSampled[name] = Math.max(maxSampled[name]!, memory.rssMb);
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop(): Record<string, { peakMb: number; source: string }> {
      clearInterval(timer);
      sample();
      return Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => {
          const memory = memoryOf(pid);
          // The kernel's mark is exact when it could be reset at the start; otherwise it also
          // holds start-up, so the sampled maximum is the figure.
          const peakMb = peakReset[name] && memory ? Math.max(memory.peakMb, maxSampled[name]!) : maxSampled[name]!;
          return [name, { peakMb, source: peakReset[name] ? 'VmHWM reset at start' : 'RSS sampled every 500 ms' }];
        }),
      );
    },
  };
}
