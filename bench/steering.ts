/**
 * Steering overhead: decode tokens/s of a hooked model, with hooks unused and
 * with a vector on every block's `hook_resid_post`, each divided by the same
 * weights built without hooks, at batch 1 and batch 8. Measured A B A B in
 * one run, for the runtime's default sessions (`auto`: fitted sessions when
 * the weights are under 64 MiB, tiered above), for each explicit policy
 * (`fitted`, `tiered`, and the file's full graph, how every step ran
 * before), with the node counts onnxruntime runs after its own graph
 * optimisations: the experiment behind the default model's former 0.48.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readManifest } from '../src/hooks/manifest.js';
import { specializeHooks } from '../src/hooks/specialize.js';
import { readModel } from '../src/onnx/io.js';
import { ModelCodec } from '../src/onnx/proto.js';
import { packHookInputs } from '../src/runtime/packing.js';
import { ModelRunner, type HookGraphs } from '../src/runtime/runner.js';
import type { Intervention } from '../src/steering/plan.js';
import { CompiledPlan } from '../src/steering/compile.js';
import { summarize, type BenchConfig, type Summary } from './stats.js';

/** Wall-clock ratio, with the same ratio in process CPU time (one intra-op thread: CPU time is the work done, whatever the load). */
export type StepSummary = Summary & { cpu: Summary };

export interface OverheadPair {
  /** tokens/s with a plan on every block ÷ tokens/s without hooks (target ≥ 0.97). */
  active: StepSummary;
  /** tokens/s with hooks unused ÷ tokens/s without hooks (target ≥ 0.99). */
  unused: StepSummary;
}

export interface SteeringOverhead {
  model: string;
  newTokens: number;
  /** The policy `auto` chose for this model. */
  policy: 'fitted' | 'tiered' | 'full';
  /** Default sessions, batch 1. */
  activeVsPlain: StepSummary;
  unusedVsPlain: StepSummary;
  /** Default sessions, batch 8 (n = 8 rows decoded together). */
  batch8: OverheadPair;
  /** The policy `auto` did not choose, batch 1 (fitted on a large model costs a copy of the weights per session). */
  other: OverheadPair & { policy: 'fitted' | 'tiered' };
  /** The file's full graph for every step (the former runtime), batch 1. */
  fullGraph: OverheadPair;
  /** Nodes onnxruntime executes per step after its optimisations (fitted: the session steering every `hook_resid_post`). */
  nodes: { plain: number; lean: number; fitted: number; full: number; sites: number };
}

/** Node count of the session graph after onnxruntime's optimisations. */
async function optimizedNodes(dir: string, graphs: HookGraphs | 'none'): Promise<number> {
  const m = readManifest(dir);
  const { model } = readModel(join(dir, m.model));
  if (graphs === 'tiered') specializeHooks(model, m.sites, { dtype: m.dtype, kinds: new Set(['steer']) });
  const post: ReadonlySet<'steer'> = new Set(['steer']);
  if (graphs === 'fitted') specializeHooks(model, m.sites, { dtype: m.dtype, kinds: (s) => (s.name.endsWith('.hook_resid_post') ? post : new Set()), captures: false });
  packHookInputs(model, m.sites, m.hiddenSize, m.dtype);
  const tmp = mkdtempSync(join(tmpdir(), 'onnx-steer-bench-'));
  try {
    const out = join(tmp, 'optimized.onnx');
    const s = await ort.InferenceSession.create(ModelCodec.encode(model), {
      graphOptimizationLevel: 'all', optimizedModelFilePath: out, logSeverityLevel: 3,
      extra: { session: { model_external_initializers_file_folder_path: dir } },
    });
    await s.release();
    return ModelCodec.decode(readFileSync(out)).graph?.node.length ?? 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Decode-step throughput ratio A ÷ B, interleaved at the step level: each
 * round runs a block of decode steps on A and on B over a fixed 16-token
 * cache, alternating which goes first (A B, B A, …) so drift and warm-up
 * hit both alike. A block is at least `perRound` steps and at least
 * MIN_ROUND_MS of A's time (tiny models step in well under a millisecond,
 * and a 25 ms block is dominated by GC and timer noise). The figure is the
 * median over rounds of (B's time ÷ A's time), i.e. A's tokens/s ÷ B's.
 */
export async function stepRatio(a: Stepper, b: Stepper, rounds: number, perRound: number): Promise<StepSummary> {
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const block = async (f: Stepper, n: number) => {
    const t = performance.now();
    const c = cpu();
    for (let i = 0; i < n; i++) await f();
    return { wall: performance.now() - t, cpu: cpu() - c };
  };
  // Warm-up: both sides for at least WARMUP_MS each, which also sizes the blocks.
  let n = 3;
  let warm = await block(a, n);
  await block(b, n);
  while (warm.wall < WARMUP_MS) { n *= 2; warm = await block(a, n); await block(b, n); }
  const per = rounds === 1 ? perRound : Math.max(perRound, Math.ceil((MIN_ROUND_MS * n) / Math.max(warm.wall, 1e-3)));
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const aFirst = r % 2 === 0;
    const first = await block(aFirst ? a : b, per);
    const second = await block(aFirst ? b : a, per);
    const [ta, tb] = aFirst ? [first, second] : [second, first];
    ratios.push(tb.wall / ta.wall);
    cpuRatios.push(tb.cpu / Math.max(ta.cpu, 1e-3));
  }
  return { ...summarize(ratios), cpu: summarize(cpuRatios) };
}

/** The shortest block of steps a round times on one side (ms). */
const MIN_ROUND_MS = 250;
/** The warm-up per side before the rounds (ms). */
const WARMUP_MS = 100;

export type Stepper = () => Promise<unknown>;

/** A decode step at `batch` rows over a fixed cache, steered by `plan` when given. */
export async function stepper(runner: ModelRunner, batch: number, plan?: Intervention[]): Promise<Stepper> {
  const prompt = Array.from({ length: 16 * batch }, (_, i) => 10 + (i % 16));
  const compiled = new CompiledPlan(plan, runner.manifest.sites, runner.manifest.hiddenSize, runner.manifest.dtype);
  const first = await runner.forward({ ids: prompt, batch, seqLen: 16, cache: runner.emptyCache(batch), logits: false });
  const cache = first.cache;
  const ids = new Array<number>(batch).fill(42);
  const step = { starts: new Array<number>(batch).fill(16), promptLengths: new Array<number>(batch).fill(16), seqLen: 1 };
  return () => runner.forward({ ids, batch, seqLen: 1, cache, hookFeeds: compiled.feeds(step) });
}

export async function steeringOverhead(label: string, hookedDir: string, plainDir: string, newTokens: number, cfg: BenchConfig): Promise<SteeringOverhead> {
  // One intra-op thread: the CPU-time ratio is then the work per token, unaffected by other load.
  const one = { intraOpNumThreads: 1 };
  const tiered = await ModelRunner.open(hookedDir, one);
  const policy = tiered.policy;
  const otherPolicy = policy === 'fitted' ? 'tiered' : 'fitted';
  const other = await ModelRunner.open(hookedDir, { ...one, hookGraphs: otherPolicy });
  const full = await ModelRunner.open(hookedDir, { ...one, hookGraphs: 'full' });
  const plain = await ModelRunner.open(plainDir, one);
  const H = tiered.manifest.hiddenSize;
  const plan: Intervention[] = [];
  for (let b = 0; b < tiered.manifest.numBlocks; b++) {
    const vector = Float32Array.from({ length: H }, (_, i) => Math.sin(i + b) * 0.01);
    plan.push({ site: `blocks.${b}.hook_resid_post`, vector, strength: 1 });
  }
  // Rounds ≥ 5 (medians); steps per round sized to newTokens so a round is a decode of that length.
  const rounds = cfg.runs === 1 ? 1 : Math.max(5, 2 * cfg.runs + 1);
  const per = cfg.runs === 1 ? 2 : newTokens;
  const ratio = async (a: Promise<Stepper>, b: Promise<Stepper>) => stepRatio(await a, await b, rounds, per);
  const result: SteeringOverhead = {
    model: label,
    newTokens,
    policy,
    unusedVsPlain: await ratio(stepper(tiered, 1), stepper(plain, 1)),
    activeVsPlain: await ratio(stepper(tiered, 1, plan), stepper(plain, 1)),
    batch8: { unused: await ratio(stepper(tiered, 8), stepper(plain, 8)), active: await ratio(stepper(tiered, 8, plan), stepper(plain, 8)) },
    other: { policy: otherPolicy, unused: await ratio(stepper(other, 1), stepper(plain, 1)), active: await ratio(stepper(other, 1, plan), stepper(plain, 1)) },
    fullGraph: { unused: await ratio(stepper(full, 1), stepper(plain, 1)), active: await ratio(stepper(full, 1, plan), stepper(plain, 1)) },
    nodes: {
      plain: await optimizedNodes(plainDir, 'none'),
      lean: await optimizedNodes(hookedDir, 'tiered'),
      fitted: await optimizedNodes(hookedDir, 'fitted'),
      full: await optimizedNodes(hookedDir, 'full'),
      sites: tiered.manifest.sites.length,
    },
  };
  await tiered.release();
  await other.release();
  await full.release();
  await plain.release();
  return result;
}
