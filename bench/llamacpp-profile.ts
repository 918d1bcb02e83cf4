/**
 * Where onnx-steer's decode time goes, per operator type, for the fp32 and
 * int8 hooked builds that bench/llamacpp.ts compares with llama.cpp F32 and
 * Q8_0: onnxruntime's own profiler (kernel times of every node) over
 * `--tokens` single-token decode steps after a 15-token prefill, at
 * `--threads` intra-op threads (default 1: no thread pool, so kernel time is
 * work). Prints one JSON line per build: µs per decoded token by operator
 * type, the kernel total, and the wall time per step (the difference is
 * onnxruntime's per-run overhead and the JavaScript side: feeds, cache
 * copies, argmax).
 *
 *   npx tsx bench/llamacpp-profile.ts [--tokens=32] [--threads=1]
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argmax } from '../src/math/stats.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { PROMPT, prepareSameWeights, uptime } from './llamacpp.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const tokens = Number(arg('tokens') ?? 32);
const threads = Number(arg('threads') ?? 1);
const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

interface TraceEvent { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } }

async function profile(dir: string): Promise<Record<string, unknown>> {
  const tmp = mkdtempSync(join(tmpdir(), 'onnx-steer-profile-'));
  try {
    const runner = await ModelRunner.open(dir, { intraOpNumThreads: threads, profileFilePrefix: join(tmp, 'trace') });
    let cache = (await runner.forward({ ids: PROMPT.slice(0, -1), batch: 1, seqLen: PROMPT.length - 1, cache: runner.emptyCache(1), logits: false })).cache;
    let next = PROMPT[PROMPT.length - 1] as number;
    const t = performance.now();
    for (let i = 0; i < tokens; i++) {
      const r = await runner.forward({ ids: [next], batch: 1, seqLen: 1, cache });
      cache = r.cache;
      next = argmax(r.logits?.data ?? []);
    }
    const wallUs = ((performance.now() - t) * 1000) / tokens;
    runner.session.endProfiling();
    await runner.release();
    const file = readdirSync(tmp).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const events = JSON.parse(readFileSync(join(tmp, file), 'utf8')) as TraceEvent[];
    // Decode steps only: the node events inside every model_run but the first (the prefill).
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0)).slice(1);
    const inDecode = (e: TraceEvent) => runs.some((r) => (e.ts ?? 0) >= (r.ts ?? 0) && (e.ts ?? 0) <= (r.ts ?? 0) + (r.dur ?? 0));
    const byOp: Record<string, number> = {};
    let nodes = 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !inDecode(e)) continue;
      const op = e.args?.op_name ?? 'unknown';
      byOp[op] = (byOp[op] ?? 0) + (e.dur ?? 0) / runs.length;
      nodes++;
    }
    const kernelUs = Object.values(byOp).reduce((a, b) => a + b, 0);
    const modelRunUs = runs.reduce((a, r) => a + (r.dur ?? 0), 0) / runs.length;
    const sorted = Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v)]));
    return { nodesPerStep: nodes / runs.length, kernelUsPerToken: Math.round(kernelUs), modelRunUsPerToken: Math.round(modelRunUs), wallUsPerToken: Math.round(wallUs), usPerTokenByOp: sorted };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  line({ bench: 'llamacpp-profile', figure: 'uptime', when: 'before', uptime: uptime() });
  const m = await prepareSameWeights(process.argv.includes('--smoke'), false);
  for (const [build, dir] of [['fp32', m.fp32], ['int8', m.int8]] as const) {
    line({ bench: 'llamacpp-profile', model: m.label, build, threads, newTokens: tokens, ...(await profile(dir)) });
  }
  line({ bench: 'llamacpp-profile', figure: 'uptime', when: 'after', uptime: uptime() });
}

main().catch((err: unknown) => {
  process.stderr.write(`llamacpp-profile failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
