/**
 * Steering overhead: decode tokens/s of a hooked model, with hooks unused and
 * with a vector on every block's `hook_resid_post`, each divided by the same
 * weights built without hooks, at batch 1 and batch 8. Measured A B A B in
 * one run, for the runtime's tiered sessions (the default) and for the
 * file's full graph (`hookGraphs: 'full'`, how every step ran before), with
 * the node counts onnxruntime runs after its own graph optimisations: the
 * experiment behind the default model's former 0.48.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { generate } from '../src/generation/generate.js';
import { readManifest } from '../src/hooks/manifest.js';
import { specializeHooks } from '../src/hooks/specialize.js';
import { readModel } from '../src/onnx/io.js';
import { ModelCodec } from '../src/onnx/proto.js';
import { packHookInputs } from '../src/runtime/packing.js';
import { ModelRunner, type HookGraphs } from '../src/runtime/runner.js';
import type { Intervention } from '../src/steering/plan.js';
import { alternate, summarize, type BenchConfig, type Summary } from './stats.js';
import { idsOnly } from './models.js';

export interface OverheadPair {
  /** tokens/s with a plan on every block ÷ tokens/s without hooks (target ≥ 0.97). */
  active: Summary;
  /** tokens/s with hooks unused ÷ tokens/s without hooks (target ≥ 0.99). */
  unused: Summary;
}

export interface SteeringOverhead {
  model: string;
  newTokens: number;
  /** Tiered sessions (the default), batch 1. */
  activeVsPlain: Summary;
  unusedVsPlain: Summary;
  /** Tiered sessions, batch 8 (n = 8 rows decoded together). */
  batch8: OverheadPair;
  /** The file's full graph for every step (the former runtime), batch 1. */
  fullGraph: OverheadPair;
  /** Nodes onnxruntime executes per step after its optimisations. */
  nodes: { plain: number; lean: number; full: number; sites: number };
}

/** Node count of the session graph after onnxruntime's optimisations. */
async function optimizedNodes(dir: string, graphs: HookGraphs | 'none'): Promise<number> {
  const m = readManifest(dir);
  const { model } = readModel(join(dir, m.model));
  if (graphs === 'tiered') specializeHooks(model, m.sites, { dtype: m.dtype, kinds: new Set(['steer']) });
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

export async function steeringOverhead(label: string, hookedDir: string, plainDir: string, newTokens: number, cfg: BenchConfig): Promise<SteeringOverhead> {
  const tiered = await ModelRunner.open(hookedDir);
  const full = await ModelRunner.open(hookedDir, { hookGraphs: 'full' });
  const plain = await ModelRunner.open(plainDir);
  const H = tiered.manifest.hiddenSize;
  const plan: Intervention[] = [];
  for (let b = 0; b < tiered.manifest.numBlocks; b++) {
    const vector = Float32Array.from({ length: H }, (_, i) => Math.sin(i + b) * 0.01);
    plan.push({ site: `blocks.${b}.hook_resid_post`, vector, strength: 1 });
  }
  const prompt = Array.from({ length: 16 }, (_, i) => 10 + i);
  const run = (r: ModelRunner, n: number, steering?: Intervention[]) => {
    const opts = { maxNewTokens: newTokens, temperature: 0, stopOnEos: false, n };
    return () => generate(r, idsOnly, prompt, steering ? { ...opts, steering } : opts);
  };
  // Time ratios are B/A so the figure reads as a throughput ratio (A's tokens/s ÷ B's).
  const ratio = async (a: () => Promise<unknown>, b: () => Promise<unknown>) => summarize((await alternate(a, b, cfg)).ratio.map((x) => 1 / x));
  const result: SteeringOverhead = {
    model: label,
    newTokens,
    unusedVsPlain: await ratio(run(tiered, 1), run(plain, 1)),
    activeVsPlain: await ratio(run(tiered, 1, plan), run(plain, 1)),
    batch8: { unused: await ratio(run(tiered, 8), run(plain, 8)), active: await ratio(run(tiered, 8, plan), run(plain, 8)) },
    fullGraph: { unused: await ratio(run(full, 1), run(plain, 1)), active: await ratio(run(full, 1, plan), run(plain, 1)) },
    nodes: {
      plain: await optimizedNodes(plainDir, 'none'),
      lean: await optimizedNodes(hookedDir, 'tiered'),
      full: await optimizedNodes(hookedDir, 'full'),
      sites: tiered.manifest.sites.length,
    },
  };
  await tiered.release();
  await full.release();
  await plain.release();
  return result;
}
