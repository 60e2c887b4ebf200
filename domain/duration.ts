/** Durations of policies and settings ('500ms', '90s', '15m', '4h', '14d') in milliseconds. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new RangeError(`not a duration: "${text}" (use e.g. 500ms, 30s, 5m, 4h, 14d)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
