/**
 * `npm run bench:forecast`: the planner's forecasts (domain/forecast.ts, method chosen per
 * series by backtest) against the mean of the history (the planner's forecast before) and,
 * when Python has Nixtla's statsforecast, against its AutoETS (seasonal, trending) and
 * CrostonOptimized (intermittent, lumpy), on the same generated series. Scores the last two
 * weeks of each series, held out: WAPE and MASE per class (judge intermittent classes by
 * MASE: WAPE rewards forecasting zero), and the time per 1,000 series. Ends with one JSON line.
 *
 * statsforecast comes from the project's tool venv (`.tools/venv`, where the Temporal
 * binaries live); it is installed there with pip when missing, unless
 * BENCH_STATSFORECAST=off. Without it the statsforecast figures are null, and the bench says why.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { forecastDemand, maseScale } from '../domain/forecast.js';
import { demandStats } from '../domain/replenishment.js';
import { generateDemandSet, seriesClasses, type BenchSeries } from './forecast-demand.js';

const SEED = Number(process.env.BENCH_SEED ?? 20261207);
const PER_CLASS = Number(process.env.BENCH_SERIES_PER_CLASS ?? 100);
const TRAIN_DAYS = 112;
const TEST_DAYS = 14;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = path.join(path.resolve(root, process.env.TOOLS_DIR || '.tools'), 'venv', 'bin', 'python');

type Forecasts = Map<string, number[]>;

function statsforecast(series: BenchSeries[]): { forecasts: Forecasts; seconds: number } | { why: string } {
  if (process.env.BENCH_STATSFORECAST === 'off') return { why: 'BENCH_STATSFORECAST=off' };
  if (!fs.existsSync(python)) return { why: `no tool venv at ${path.relative(root, python)} (run npm run tools)` };
  const has = () => spawnSync(python, ['-c', 'import statsforecast'], { encoding: 'utf8' }).status === 0;
  if (!has()) {
    console.log('installing statsforecast into the tool venv (pip)…');
    const installed = spawnSync(python, ['-m', 'pip', 'install', '--quiet', 'statsforecast'], { encoding: 'utf8', timeout: 900_000 });
    if (installed.status !== 0 || !has()) return { why: `pip install statsforecast failed: ${(installed.stderr || String(installed.error ?? '')).trim().split('\n').slice(-1)[0]}` };
  }
  const request = JSON.stringify({ horizon: TEST_DAYS, series: series.map((s) => ({ id: s.id, class: s.class, train: s.train })) });
  const run = spawnSync(python, [path.join(root, 'bench', 'forecast_statsforecast.py')], { input: request, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 1_800_000 });
  if (run.status !== 0) return { why: `statsforecast failed: ${run.stderr.trim().split('\n').slice(-1)[0]}` };
  const answer = JSON.parse(run.stdout) as { forecasts: Record<string, number[]>; seconds: number };
  return { forecasts: new Map(Object.entries(answer.forecasts)), seconds: answer.seconds };
}

interface ClassScore {
  class: string;
  series: number;
  wapeOurs: number;
  wapeMean: number;
  wapeStatsforecast: number | null;
  maseOurs: number;
  maseMean: number;
  maseStatsforecast: number | null;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function score(series: BenchSeries[], forecasts: Forecasts): { wape: number; mase: number } {
  let abs = 0;
  let actual = 0;
  let mase = 0;
  for (const s of series) {
    const f = forecasts.get(s.id)!;
    const errors = s.test.map((a, i) => Math.abs(a - (f[i] ?? 0)));
    const sum = errors.reduce((a, b) => a + b, 0);
    abs += sum;
    actual += s.test.reduce((a, b) => a + b, 0);
    mase += sum / s.test.length / maseScale(s.train);
  }
  return { wape: actual > 0 ? abs / actual : 0, mase: mase / series.length };
}

function main() {
  const series = generateDemandSet(SEED, PER_CLASS, TRAIN_DAYS, TEST_DAYS);
  console.log(`${series.length} series (${PER_CLASS} per class: ${seriesClasses.join(', ')}), ${TRAIN_DAYS} days of history, ${TEST_DAYS} held out, seed ${SEED}`);

  const ours: Forecasts = new Map();
  const chosen = new Map<string, number>();
  const started = performance.now();
  for (const s of series) {
    const f = forecastDemand(s.train, { horizon: TEST_DAYS });
    ours.set(s.id, f.daily);
    chosen.set(`${s.class} ${f.method}`, (chosen.get(`${s.class} ${f.method}`) ?? 0) + 1);
  }
  const msPer1000Series = ((performance.now() - started) / series.length) * 1000;

  const mean: Forecasts = new Map(series.map((s) => [s.id, new Array<number>(TEST_DAYS).fill(demandStats(s.train).averageDaily)]));
  const peer = statsforecast(series);
  if ('why' in peer) console.log(`statsforecast: not compared (${peer.why})`);
  else console.log(`statsforecast: ${((peer.seconds / series.length) * 1000 * 1000).toFixed(0)} ms per 1,000 series (its own timing, one process, first call compiles)`);

  const classes: ClassScore[] = seriesClasses.map((kind) => {
    const of = series.filter((s) => s.class === kind);
    const a = score(of, ours);
    const b = score(of, mean);
    const c = 'why' in peer ? undefined : score(of, peer.forecasts);
    return {
      class: kind,
      series: of.length,
      wapeOurs: round(a.wape),
      wapeMean: round(b.wape),
      wapeStatsforecast: c ? round(c.wape) : null,
      maseOurs: round(a.mase),
      maseMean: round(b.mase),
      maseStatsforecast: c ? round(c.mase) : null,
    };
  });

  console.log('\nmethods chosen:');
  for (const [key, n] of [...chosen].sort()) console.log(`  ${key}: ${n}`);
  console.log('\n| class | series | WAPE ours | WAPE mean | WAPE statsforecast | MASE ours | MASE mean | MASE statsforecast |');
  console.log('|---|---|---|---|---|---|---|---|');
  const show = (x: number | null) => (x === null ? '—' : x.toFixed(3));
  for (const c of classes) {
    console.log(`| ${c.class} | ${c.series} | ${show(c.wapeOurs)} | ${show(c.wapeMean)} | ${show(c.wapeStatsforecast)} | ${show(c.maseOurs)} | ${show(c.maseMean)} | ${show(c.maseStatsforecast)} |`);
  }
  console.log(`\nours: ${msPer1000Series.toFixed(0)} ms per 1,000 series (backtest of every method included)`);
  console.log(JSON.stringify({ bench: 'forecast', classes, msPer1000Series: Math.round(msPer1000Series) }));
}

main();
