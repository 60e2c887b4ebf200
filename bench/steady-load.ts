/**
 * Orders at a fixed arrival rate (open loop: each POST leaves at its scheduled time whether
 * or not earlier ones have been answered, as customers arrive), and the API's own latency
 * histogram from /metrics read before and after, to compare with what the client saw.
 */
import { performance } from 'node:perf_hooks';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Cumulative bucket counts (upper bound in seconds → count) of POST /orders in the API's histogram. */
export type Buckets = Map<number, number>;

/** Reads `http_request_duration_seconds` for POST /orders (every status) from one API's /metrics. */
export async function postOrdersHistogram(apiUrl: string, apiKey: string): Promise<Buckets> {
  const response = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text.slice(0, 200)}`);
  const buckets: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_request_duration_seconds_bucket{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (!/(^|,)method="POST"/.test(labels) || !/(^|,)route="\/orders"/.test(labels)) continue;
    const le = /(?:^|,)le="([^"]+)"/.exec(labels)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!le) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

/** Sum of several APIs' histograms. */
export async function postOrdersHistograms(apiUrls: string[], apiKey: string): Promise<Buckets> {
  const sum: Buckets = new Map();
  for (const url of apiUrls) for (const [bound, n] of await postOrdersHistogram(url, apiKey)) sum.set(bound, (sum.get(bound) ?? 0) + n);
  return sum;
}

/**
 * Percentiles (ms) of the requests counted between two readings, interpolated within the
 * bucket the way Prometheus's histogram_quantile does: only as fine as the buckets.
 */
export function histogramPercentiles(before: Buckets, after: Buckets) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  const quantile = (q: number) => {
    if (total === 0) return 0;
    const rank = q * total;
    for (let i = 0; i < bounds.length; i++) {
      if (counts[i]! >= rank) {
        const upper = bounds[i]!;
        const lower = i === 0 ? 0 : bounds[i - 1]!;
        if (upper === Infinity) return Math.round(lower * 1_000);
        const below = i === 0 ? 0 : counts[i - 1]!;
        const inBucket = counts[i]! - below;
        return Math.round((lower + (upper - lower) * (inBucket ? (rank - below) / inBucket : 1)) * 1_000);
      }
    }
    return Math.round(bounds.at(-2)! * 1_000);
  };
  return { count: total, p50Ms: quantile(0.5), p95Ms: quantile(0.95), p99Ms: quantile(0.99) };
}

export interface SteadyResult {
  loadPct: number;
  targetPerSec: number;
  seconds: number;
  posted: number;
  released: number;
  postErrors: number;
  /** How late the last POST left against its schedule (the driver keeping up). */
  maxSendLagMs: number;
  post: { p50Ms: number; p95Ms: number; p99Ms: number };
  releaseLatency: { p50Ms: number; p95Ms: number; p99Ms: number };
  apiHistogram: { count: number; p50Ms: number; p95Ms: number; p99Ms: number };
}

/**
 * Drives `rate` orders per second for `seconds`, then waits (up to `drainMs`) for them to be
 * released; `releasedAt` reads the release times of the posted orders.
 */
export async function runSteady(options: {
  loadPct: number;
  rate: number;
  seconds: number;
  apiUrls: string[];
  apiKey: string;
  body: (i: number) => { orderId: string; json: string };
  releasedAt: (orderIds: string[]) => Promise<Map<string, number>>;
  drainMs?: number;
  log: (line: string) => void;
}): Promise<SteadyResult> {
  const { rate, seconds, apiUrls, apiKey } = options;
  const total = Math.max(1, Math.round(rate * seconds));
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const before = await postOrdersHistograms(apiUrls, apiKey);
  const postMs: number[] = [];
  const postedAt = new Map<string, number>();
  let postErrors = 0;
  let firstError: string | undefined;
  let maxSendLagMs = 0;
  const inFlight = new Set<Promise<void>>();
  const began = performance.now();
  const beganWall = Date.now();
  for (let i = 0; i < total; i++) {
    const due = (i * 1_000) / rate;
    const wait = due - (performance.now() - began);
    if (wait > 0) await sleep(wait);
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - began - due);
    const { orderId, json } = options.body(i);
    const url = apiUrls[i % apiUrls.length]!;
    const at = Date.now();
    const t0 = performance.now();
    const request = (async () => {
      try {
        const response = await fetch(`${url}/orders`, { method: 'POST', headers, body: json });
        const text = await response.text();
        if (response.status !== 201) throw new Error(`${response.status} ${text.slice(0, 300)}`);
        postMs.push(performance.now() - t0);
        postedAt.set(orderId, at);
      } catch (error) {
        postErrors++;
        firstError ??= String(error);
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  const after = await postOrdersHistograms(apiUrls, apiKey);
  if (firstError) options.log(`${options.loadPct}% load: first POST error: ${firstError}`);

  const ids = [...postedAt.keys()];
  const deadline = Date.now() + (options.drainMs ?? 60_000);
  let released: Map<string, number>;
  for (;;) {
    released = await options.releasedAt(ids);
    if (released.size >= ids.length || Date.now() > deadline) break;
    await sleep(500);
  }
  const releaseMs = [...released].map(([id, t]) => t - postedAt.get(id)!).sort((a, b) => a - b);
  postMs.sort((a, b) => a - b);
  const pcts = (sorted: number[]) => ({ p50Ms: Math.round(percentile(sorted, 0.5)), p95Ms: Math.round(percentile(sorted, 0.95)), p99Ms: Math.round(percentile(sorted, 0.99)) });
  return {
    loadPct: options.loadPct,
    targetPerSec: round(rate),
    seconds: round((Date.now() - beganWall) / 1_000),
    posted: postedAt.size,
    released: released.size,
    postErrors,
    maxSendLagMs: Math.round(maxSendLagMs),
    post: pcts(postMs),
    releaseLatency: pcts(releaseMs),
    apiHistogram: histogramPercentiles(before, after),
  };
}
