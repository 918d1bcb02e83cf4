/**
 * Serving benchmarks: the continuous-batching scheduler in process (the
 * layer under `onnx-steer serve`, without HTTP), greedy rows of a fixed
 * length (EOS ignored). Total tokens/s and per-request latency p50/p95 at
 * concurrency 1, 8 and 32 with no steering, one vector shared by every
 * request, and K = concurrency distinct vectors (one per request, at one
 * mid-depth hook_resid_post). Targets, as ratios measured alternately in one
 * run: concurrency 8 batched vs the same 8 requests one at a time (≥ 3×),
 * and K distinct vectors vs none at the same concurrency (≤ 10% cost).
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ModelRunner } from '../src/runtime/runner.js';
import { Scheduler } from '../src/serving/scheduler.js';
import type { Intervention } from '../src/steering/plan.js';
import { summarize, type BenchConfig, type Summary } from './stats.js';

type Mode = 'none' | 'shared' | 'distinct';
const CONCURRENCY = [1, 8, 32] as const;

function randomVector(h: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const v = new Float32Array(h);
  for (let i = 0; i < h; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; v[i] = (s / 2 ** 32 - 0.5) * 0.2; }
  return v;
}

function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
}

/** Wall time and process CPU time (user + system, every thread) of one run, ms. */
interface Run { wall: number; cpu: number }

async function measure(fn: () => Promise<unknown>): Promise<Run> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const wall = performance.now() - t;
  const d = process.cpuUsage(c);
  return { wall, cpu: (d.user + d.system) / 1000 };
}

/** A B A B … after one warm-up pair: both series and the per-pair ratios A/B, in wall and in CPU time. */
async function alternateRuns(a: () => Promise<unknown>, b: () => Promise<unknown>, cfg: BenchConfig): Promise<{ a: Run[]; b: Run[]; wall: number[]; cpu: number[] }> {
  for (let i = 0; i < cfg.warmup; i++) { await a(); await b(); }
  const ra: Run[] = [];
  const rb: Run[] = [];
  for (let i = 0; i < cfg.runs; i++) { ra.push(await measure(a)); rb.push(await measure(b)); }
  return { a: ra, b: rb, wall: ra.map((x, i) => x.wall / (rb[i] as Run).wall), cpu: ra.map((x, i) => x.cpu / (rb[i] as Run).cpu) };
}

export interface ServerFigure {
  concurrency: number;
  mode: Mode;
  /** Generated tokens of all requests ÷ wall time. */
  tokensPerSec: Summary;
  /** Process CPU time (every thread) per generated token, ms. */
  cpuMsPerToken: Summary;
  p50Ms: number;
  p95Ms: number;
}

/** A ratio measured pair by pair, in wall-clock time and in process CPU time. */
export interface Ratio { wall: Summary; cpu: Summary }

export interface ServerSection {
  model: string;
  newTokens: number;
  promptTokens: number;
  maxBatch: number;
  intraOpThreads: number;
  /** 1-minute load average before and after the section (the machine is shared). */
  load: { before: number; after: number };
  rows: ServerFigure[];
  /** Time of 8 requests one at a time ÷ the same 8 batched (target ≥ 3). */
  speedupC8: Ratio;
  /** Time with K = concurrency distinct vectors ÷ no steering, at 8 and 32 (target ≤ 1.10). */
  distinctCost: { concurrency: number; ratio: Ratio }[];
  /** One shared vector ÷ no steering, at 8 and 32 (reported). */
  sharedCost: { concurrency: number; ratio: Ratio }[];
}

export async function serverFigures(label: string, dir: string, newTokens: number, cfg: BenchConfig): Promise<ServerSection> {
  // Random-init builds have no tokenizer: rows are decoded to ids only (EOS is ignored anyway).
  // One intra-op thread: on a shared 2-core machine a second spinning thread makes CPU time meaningless.
  const intraOpThreads = 1;
  const runner = await ModelRunner.open(dir, { intraOpNumThreads: intraOpThreads });
  const maxBatch = 32;
  const scheduler = new Scheduler({ runner, tokenizer: { decode: (ids: readonly number[]) => ids.join(' '), eosIds: [] } }, { maxBatch, maxQueue: 1024 });
  const m = runner.manifest;
  const site = `blocks.${Math.floor(m.numBlocks / 2)}.hook_resid_post`;
  const shared: Intervention[] = [{ site, vector: randomVector(m.hiddenSize, 7), strength: 1 }];
  const distinct: Intervention[][] = Array.from({ length: 32 }, (_, i) => [{ site, vector: randomVector(m.hiddenSize, 100 + i), strength: 1 }]);
  const vocab = m.vocabSize ?? 2;
  const prompt = (i: number) => Array.from({ length: 16 }, (_, t) => 3 + ((i * 31 + t * 7) % (vocab - 3)));
  const request = (i: number, mode: Mode) => ({
    promptIds: prompt(i), maxTokens: newTokens, ignoreEos: true, sampling: { temperature: 0 },
    ...(mode === 'shared' ? { steering: shared } : mode === 'distinct' ? { steering: distinct[i] as Intervention[] } : {}),
  });
  const latencies = new Map<string, number[]>();
  const batched = (c: number, mode: Mode) => async () => {
    const res = await Promise.all(Array.from({ length: c }, (_, i) => scheduler.submit(request(i, mode)).result));
    const key = `${c}|${mode}`;
    latencies.set(key, [...(latencies.get(key) ?? []), ...res.map((r) => r.timing.totalMs)]);
  };
  const oneAtATime = (c: number) => async () => { for (let i = 0; i < c; i++) await scheduler.submit(request(i, 'none')).result; };

  const loadBefore = loadavg()[0] ?? NaN;
  const runs = new Map<string, Run[]>();
  const add = (key: string, r: Run[]) => runs.set(key, [...(runs.get(key) ?? []), ...r]);
  const speed = await alternateRuns(oneAtATime(8), batched(8, 'none'), cfg);
  add('8|none', speed.b);
  const ratio = (x: { wall: number[]; cpu: number[] }): Ratio => ({ wall: summarize(x.wall), cpu: summarize(x.cpu) });
  const distinctCost: ServerSection['distinctCost'] = [];
  const sharedCost: ServerSection['sharedCost'] = [];
  for (const c of CONCURRENCY) {
    const pair = await alternateRuns(batched(c, 'distinct'), batched(c, 'none'), cfg);
    add(`${c}|distinct`, pair.a);
    add(`${c}|none`, pair.b);
    const sh = await alternateRuns(batched(c, 'shared'), batched(c, 'none'), cfg);
    add(`${c}|shared`, sh.a);
    add(`${c}|none`, sh.b);
    if (c > 1) { distinctCost.push({ concurrency: c, ratio: ratio(pair) }); sharedCost.push({ concurrency: c, ratio: ratio(sh) }); }
  }
  const rows: ServerFigure[] = [];
  for (const c of CONCURRENCY) {
    for (const mode of ['none', 'shared', 'distinct'] as const) {
      const key = `${c}|${mode}`;
      const lat = latencies.get(key) ?? [];
      const rs = runs.get(key) ?? [];
      const tokens = c * newTokens;
      rows.push({ concurrency: c, mode, tokensPerSec: summarize(rs.map((r) => tokens / (r.wall / 1000))), cpuMsPerToken: summarize(rs.map((r) => r.cpu / tokens)), p50Ms: percentile(lat, 0.5), p95Ms: percentile(lat, 0.95) });
    }
  }
  await scheduler.close();
  await runner.release();
  return { model: label, newTokens, promptTokens: 16, maxBatch, intraOpThreads, load: { before: loadBefore, after: loadavg()[0] ?? NaN }, rows, speedupC8: ratio(speed), distinctCost, sharedCost };
}

const fmt = (s: Summary | undefined, d = 1) => (s ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : 'n/a');

/** The server section of BENCHMARKS.md. */
export function renderServer(sections: readonly ServerSection[] | undefined): string[] {
  if (!sections?.length) return [];
  const L = ['', '## Serving (continuous batching)', '',
    'The scheduler under `onnx-steer serve`, in process: greedy rows of a fixed length (EOS ignored) from 16-token prompts, all requests submitted at once, max batch 32, one intra-op thread. "shared": one vector for every request; "distinct": K = concurrency vectors, one per request (at one mid-depth `hook_resid_post`). Latency is per request, submit to last token, pooled over runs. CPU ms/token is process CPU time (every thread) per generated token. Every ratio is measured pair by pair, A B A B, in the same run; it is given in CPU time (what we report: the machine is shared by about eight engineers, and CPU time does not count the time other processes hold the cores) and in wall-clock time. Command: `npm run bench -- --only=server`.', ''];
  for (const s of sections) if (s.load) L.push(`- ${s.model}: 1-minute load average ${s.load.before.toFixed(1)} before, ${s.load.after.toFixed(1)} after (2 cores).`);
  L.push('', '| model | new tokens | concurrency | steering | tokens/s (all requests, wall) | CPU ms / token | p50 latency ms | p95 latency ms |', '|---|---|---|---|---|---|---|---|');
  for (const s of sections) for (const r of s.rows) L.push(`| ${s.model} | ${s.newTokens} | ${r.concurrency} | ${r.mode} | ${fmt(r.tokensPerSec)} | ${r.cpuMsPerToken ? fmt(r.cpuMsPerToken, 3) : 'n/a'} | ${r.p50Ms.toFixed(0)} | ${r.p95Ms.toFixed(0)} |`);
  L.push('', '| model | figure | CPU time (median, min–max) | wall clock | target | status (CPU time) |', '|---|---|---|---|---|---|');
  for (const s of sections) {
    L.push(`| ${s.model} | concurrency 8: one at a time ÷ batched | ${fmt(s.speedupC8.cpu, 2)} | ${fmt(s.speedupC8.wall, 2)} | ≥ 3 | ${s.speedupC8.cpu.median >= 3 ? 'met' : '**missed**'} |`);
    for (const d of s.distinctCost) L.push(`| ${s.model} | concurrency ${d.concurrency}: K distinct vectors ÷ no steering | ${fmt(d.ratio.cpu, 3)} | ${fmt(d.ratio.wall, 3)} | ≤ 1.10 | ${d.ratio.cpu.median <= 1.1 ? 'met' : '**missed**'} |`);
    for (const d of s.sharedCost ?? []) L.push(`| ${s.model} | concurrency ${d.concurrency}: one shared vector ÷ no steering | ${fmt(d.ratio.cpu, 3)} | ${fmt(d.ratio.wall, 3)} | (report) | — |`);
  }
  const analysis = join(import.meta.dirname, 'server-analysis.md');
  if (existsSync(analysis)) L.push('', readFileSync(analysis, 'utf8').trim());
  return L;
}
