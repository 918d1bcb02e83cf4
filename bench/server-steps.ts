/**
 * Where the serving scheduler's time goes, for the analysis in BENCHMARKS.md:
 * the same requests one at a time and batched, A B A B, with decode steps,
 * mean batch occupancy, prefill passes and process CPU time per token.
 *
 *   npx tsx bench/server-steps.ts [--model dir] [--c 8] [--tokens 32] [--rounds 5] [--mode none|shared|distinct]
 */
import { loadavg } from 'node:os';
import { defaultModelDir } from '../src/model/default-model.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { Scheduler } from '../src/serving/scheduler.js';
import { summarize } from './stats.js';

const arg = (name: string, fallback: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback; };
const dir = arg('model', '') || await defaultModelDir();
const C = Number(arg('c', '8'));
const N = Number(arg('tokens', '32'));
const rounds = Number(arg('rounds', '5'));
const mode = arg('mode', 'none');
const runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
const s = new Scheduler({ runner, tokenizer: { decode: (ids: readonly number[]) => ids.join(' '), eosIds: [] } }, { maxBatch: 32, maxQueue: 1024 });
const m = runner.manifest;
const V = m.vocabSize ?? 2;
const site = `blocks.${Math.floor(m.numBlocks / 2)}.hook_resid_post`;
const vec = (seed: number) => { let x = seed; const v = new Float32Array(m.hiddenSize); for (let i = 0; i < v.length; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; v[i] = (x / 2 ** 32 - 0.5) * 0.2; } return v; };
const req = (i: number) => ({
  promptIds: Array.from({ length: 16 }, (_, t) => 3 + ((i * 31 + t * 7) % (V - 3))), maxTokens: N, ignoreEos: true, sampling: { temperature: 0 },
  ...(mode === 'distinct' ? { steering: [{ site, vector: vec(100 + i), strength: 1 }] } : mode === 'shared' ? { steering: [{ site, vector: vec(7), strength: 1 }] } : {}),
});
const serial = async () => { for (let i = 0; i < C; i++) await s.submit(req(i)).result; };
const batched = async () => { await Promise.all(Array.from({ length: C }, (_, i) => s.submit(req(i)).result)); };
interface Run { wall: number; cpu: number; steps: number; occupancy: number; prefills: number }
async function run(fn: () => Promise<void>): Promise<Run> {
  const before = s.metrics();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const after = s.metrics();
  const steps = after.decodeStepsTotal - before.decodeStepsTotal;
  return { wall, cpu: (c.user + c.system) / 1000, steps, occupancy: (after.rowStepsTotal - before.rowStepsTotal) / steps, prefills: after.prefillPassesTotal - before.prefillPassesTotal };
}
await serial(); await batched();
const a: Run[] = [];
const b: Run[] = [];
const load0 = loadavg()[0] ?? NaN;
for (let r = 0; r < rounds; r++) { a.push(await run(serial)); b.push(await run(batched)); }
const show = (name: string, xs: Run[]) => {
  const x = xs[0];
  process.stdout.write(`${name}: decode steps ${x?.steps ?? 0}, mean occupancy ${(x?.occupancy ?? NaN).toFixed(2)}, prefill passes ${x?.prefills ?? 0}, CPU ms/token ${summarize(xs.map((r) => r.cpu / (C * N))).median.toFixed(3)}, wall ms ${summarize(xs.map((r) => r.wall)).median.toFixed(0)}\n`);
};
process.stdout.write(`${dir}: c = ${C}, ${N} tokens, steering ${mode}, ${rounds} rounds A B A B, load ${load0.toFixed(1)} → ${(loadavg()[0] ?? NaN).toFixed(1)}\n`);
show('one at a time', a);
show('batched', b);
process.stdout.write(`one at a time ÷ batched: CPU ${summarize(a.map((x, i) => x.cpu / (b[i]?.cpu ?? NaN))).median.toFixed(2)}, wall ${summarize(a.map((x, i) => x.wall / (b[i]?.wall ?? NaN))).median.toFixed(2)}\n`);
await s.close();
await runner.release();
