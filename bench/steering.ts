/**
 * Steering overhead: decode tokens/s of the hooked graph with a plan active
 * on every block, and with hooks present but unused, each divided by the
 * same model built without hooks. Measured A B A B in one run.
 */
import { generate } from '../src/generation/generate.js';
import { ModelRunner } from '../src/runtime/runner.js';
import type { Intervention } from '../src/steering/plan.js';
import { alternate, summarize, type BenchConfig, type Summary } from './stats.js';
import { idsOnly } from './models.js';

export interface SteeringOverhead {
  model: string;
  newTokens: number;
  /** tokens/s with a plan on every block ÷ tokens/s without hooks (higher is better; target ≥ 0.97). */
  activeVsPlain: Summary;
  /** tokens/s with hooks unused ÷ tokens/s without hooks (target ≥ 0.99). */
  unusedVsPlain: Summary;
}

export async function steeringOverhead(label: string, hookedDir: string, plainDir: string, newTokens: number, cfg: BenchConfig): Promise<SteeringOverhead> {
  const hooked = await ModelRunner.open(hookedDir);
  const plain = await ModelRunner.open(plainDir);
  const H = hooked.manifest.hiddenSize;
  const plan: Intervention[] = [];
  for (let b = 0; b < hooked.manifest.numBlocks; b++) {
    const vector = Float32Array.from({ length: H }, (_, i) => Math.sin(i + b) * 0.01);
    plan.push({ site: `blocks.${b}.hook_resid_post`, vector, strength: 1 });
  }
  const prompt = Array.from({ length: 16 }, (_, i) => 10 + i);
  const opts = { maxNewTokens: newTokens, temperature: 0, stopOnEos: false };
  const run = (r: ModelRunner, steering?: Intervention[]) => () => generate(r, idsOnly, prompt, steering ? { ...opts, steering } : opts);
  // Time ratios are B/A so the figure reads as a throughput ratio (A's tokens/s ÷ B's).
  const active = await alternate(run(hooked, plan), run(plain), cfg);
  const unused = await alternate(run(hooked), run(plain), cfg);
  await hooked.release();
  await plain.release();
  return {
    model: label,
    newTokens,
    activeVsPlain: summarize(active.ratio.map((r) => 1 / r)),
    unusedVsPlain: summarize(unused.ratio.map((r) => 1 / r)),
  };
}
