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
import { ModelRunner } from '../src/runtime/runner.js';
import { Scheduler } from '../src/serving/scheduler.js';
import type { Intervention } from '../src/steering/plan.js';
import { alternate, summarize, timeRuns, type BenchConfig, type Summary } from './stats.js';

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

export interface ServerFigure { concurrency: number; mode: Mode; tokensPerSec: Summary; p50Ms: number; p95Ms: number }

export interface ServerSection {
  model: string;
  newTokens: number;
  promptTokens: number;
  maxBatch: number;
  rows: ServerFigure[];
  /** Wall time of 8 requests one at a time ÷ the same 8 batched (target ≥ 3). */
  speedupC8: Summary;
  /** Wall time with K = concurrency distinct vectors ÷ no steering, at 8 and 32 (target ≤ 1.10). */
  distinctCost: { concurrency: number; ratio: Summary }[];
}

export async function serverFigures(label: string, dir: string, newTokens: number, cfg: BenchConfig): Promise<ServerSection> {
  // Random-init builds have no tokenizer: rows are decoded to ids only (EOS is ignored anyway).
  const runner = await ModelRunner.open(dir);
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

  const times = new Map<string, number[]>();
  const speed = await alternate(oneAtATime(8), batched(8, 'none'), cfg);
  times.set('8|none', speed.b);
  const distinctCost: ServerSection['distinctCost'] = [];
  for (const c of CONCURRENCY) {
    const pair = await alternate(batched(c, 'distinct'), batched(c, 'none'), cfg);
    times.set(`${c}|distinct`, pair.a);
    times.set(`${c}|none`, [...(times.get(`${c}|none`) ?? []), ...pair.b]);
    if (c > 1) distinctCost.push({ concurrency: c, ratio: summarize(pair.ratio) });
    times.set(`${c}|shared`, await timeRuns(batched(c, 'shared'), { warmup: 0, runs: cfg.runs }));
  }
  const rows: ServerFigure[] = [];
  for (const c of CONCURRENCY) {
    for (const mode of ['none', 'shared', 'distinct'] as const) {
      const key = `${c}|${mode}`;
      const lat = latencies.get(key) ?? [];
      rows.push({ concurrency: c, mode, tokensPerSec: summarize((times.get(key) ?? []).map((ms) => (c * newTokens) / (ms / 1000))), p50Ms: percentile(lat, 0.5), p95Ms: percentile(lat, 0.95) });
    }
  }
  await scheduler.close();
  await runner.release();
  return { model: label, newTokens, promptTokens: 16, maxBatch, rows, speedupC8: summarize(speed.ratio), distinctCost };
}

const fmt = (s: Summary | undefined, d = 1) => (s ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : 'n/a');

/** The server section of BENCHMARKS.md. */
export function renderServer(sections: readonly ServerSection[] | undefined): string[] {
  if (!sections?.length) return [];
  const L = ['', '## Serving (continuous batching)', '',
    'The scheduler under `onnx-steer serve`, in process: greedy rows of a fixed length from 16-token prompts, all requests submitted at once, max batch 32. "shared": one vector for every request; "distinct": K = concurrency vectors, one per request (at one mid-depth `hook_resid_post`). Latency is per request, submit to last token, pooled over runs. Command: `npm run bench -- --only=server`.', ''];
  L.push('| model | new tokens | concurrency | steering | tokens/s (all requests) | p50 latency ms | p95 latency ms |', '|---|---|---|---|---|---|---|');
  for (const s of sections) for (const r of s.rows) L.push(`| ${s.model} | ${s.newTokens} | ${r.concurrency} | ${r.mode} | ${fmt(r.tokensPerSec)} | ${r.p50Ms.toFixed(0)} | ${r.p95Ms.toFixed(0)} |`);
  L.push('', '| model | figure | measured (median, min–max) | target | status |', '|---|---|---|---|---|');
  for (const s of sections) {
    L.push(`| ${s.model} | concurrency 8: one-at-a-time wall time ÷ batched | ${fmt(s.speedupC8, 2)} | ≥ 3 | ${s.speedupC8.median >= 3 ? 'met' : 'missed'} |`);
    for (const d of s.distinctCost) L.push(`| ${s.model} | concurrency ${d.concurrency}: K distinct vectors ÷ no steering (wall time) | ${fmt(d.ratio, 3)} | ≤ 1.10 | ${d.ratio.median <= 1.1 ? 'met' : 'missed'} |`);
  }
  return L;
}
