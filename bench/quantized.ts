/**
 * Quantized hooked builds (`onnx-steer build --quantize int8|int4`) against
 * the fp32 build of the same weights:
 * - speed: batch-1 decode tokens/s ÷ fp32, interleaved per decode step (see
 *   steering.ts), one intra-op thread, on a random-init shape;
 * - quality on the default model: greedy ids from BOS against fp32 (60
 *   tokens, as in the numpy reference), the perplexity ratio on held-out
 *   text (the `chosen` continuations of the shared preference pairs, samples
 *   of the base model), and the shipped joy vector's VADER shift at the same
 *   strength on int8 and fp32.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../src/builder/index.js';
import { generate } from '../src/generation/generate.js';
import { manifestPath } from '../src/hooks/manifest.js';
import { formatTag, type Quantization } from '../src/quantize/weights.js';
import { HookedModel } from '../src/model/hooked-model.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { perplexityOf } from '../src/math/stats.js';
import { evaluateSteering } from '../src/vectors/evaluate.js';
import { loadPrompts } from '../src/pairs/prompts.js';
import { judgeByName } from '../src/vectors/judges.js';
import { HELDOUT_PROMPTS, shippedDir } from '../src/vectors/shipped.js';
import { SteeringVector } from '../src/vectors/vector.js';
import { resolveDefaultCheckpoint } from '../src/model/default-model.js';
import { benchDir, idsOnly } from './models.js';
import { stepRatio, stepper, type StepSummary } from './steering.js';

/** A quantized build of `source` in the bench cache (random init when `config` is a config-only dir), keyed by its weight format. */
export async function quantizedModel(name: string, source: string, scheme: Quantization, random: boolean): Promise<string> {
  const dir = join(benchDir(), `${name}-${formatTag(scheme)}`);
  if (!existsSync(manifestPath(dir))) await buildModel(source, dir, { quantize: scheme, force: true, ...(random ? { randomInit: { seed: 0 } } : {}) });
  return dir;
}

export interface QuantizedSpeed { model: string; scheme: Quantization; newTokens: number; intraOpThreads: number; vsFp32: StepSummary }

/** Both builds at `threads` intra-op threads (1 by default: the CPU-time ratio is then the work per token). */
export async function quantizedSpeed(label: string, fp32Dir: string, quantDir: string, scheme: Quantization, newTokens: number, runs: number, threads = 1): Promise<QuantizedSpeed> {
  const one = { intraOpNumThreads: threads };
  const q = await ModelRunner.open(quantDir, one);
  const f = await ModelRunner.open(fp32Dir, one);
  const rounds = runs === 1 ? 1 : Math.max(5, 2 * runs + 1);
  const vsFp32 = await stepRatio(await stepper(q, 1), await stepper(f, 1), rounds, runs === 1 ? 2 : newTokens);
  await q.release();
  await f.release();
  return { model: label, scheme, newTokens, intraOpThreads: threads, vsFp32 };
}

export interface QuantizedQuality {
  scheme: Quantization;
  /** Greedy ids from BOS identical to fp32 up to this many tokens (of 60). */
  greedyPrefix: number;
  greedyIdentical: boolean;
  perplexity: number;
  fp32Perplexity: number;
  perplexityRatio: number;
  texts: number;
  /** VADER mean at the joy strength minus unsteered, on this build and on fp32. */
  joyShift?: { strength: number; quantized: number; fp32: number; ratio: number };
}

async function perplexity(model: HookedModel, pairs: { prompt: string; chosen: string }[]): Promise<number> {
  let lp = 0;
  let n = 0;
  for (const p of pairs) {
    const [s] = await model.score(p.prompt, [p.chosen]);
    if (!s) continue;
    lp += s.logprob;
    n += s.tokenLogprobs.length;
  }
  return perplexityOf(lp, n);
}

export async function quantizedQuality(fp32Dir: string, quantDir: string, scheme: Quantization, opts: { texts: number; prompts: number; samples: number; joy: boolean }): Promise<QuantizedQuality> {
  const lines = readFileSync(join(process.env.ONNX_STEER_SHARED ?? join(import.meta.dirname, '..', '..', 'shared'), 'data', 'tinystories-prefs', 'pairs.train.jsonl'), 'utf8').split('\n').filter(Boolean);
  const pairs = lines.slice(0, opts.texts).map((l) => JSON.parse(l) as { prompt: string; chosen: string });
  const q = await HookedModel.load(quantDir, { intraOpNumThreads: 1 });
  const f = await HookedModel.load(fp32Dir, { intraOpNumThreads: 1 });
  try {
    const greedy = async (m: HookedModel) => (await generate(m.runner, idsOnly, [1], { temperature: 0, maxNewTokens: 60, stopOnEos: false })).rows[0]?.ids ?? [];
    const gq = await greedy(q);
    const gf = await greedy(f);
    let prefix = 0;
    while (prefix < gf.length && gq[prefix] === gf[prefix]) prefix++;
    const pq = await perplexity(q, pairs);
    const pf = await perplexity(f, pairs);
    const out: QuantizedQuality = { scheme, greedyPrefix: prefix, greedyIdentical: prefix === gf.length, perplexity: pq, fp32Perplexity: pf, perplexityRatio: pq / pf, texts: pairs.length };
    if (opts.joy) {
      const dir = shippedDir();
      const prompts = loadPrompts(join(dir, HELDOUT_PROMPTS)).slice(0, opts.prompts);
      const strength = 2;
      const shift = async (m: HookedModel) => {
        const vector = SteeringVector.load(join(dir, 'joy.json'), { model: m });
        const r = await evaluateSteering(m, vector, { prompts, judges: [judgeByName('vader')], samples: opts.samples, seed: 0, temperature: 0.8, maxNewTokens: 48, strengths: [strength] });
        const at = (s: number) => r.points.find((p) => p.strength === s)?.judges.vader?.mean ?? Number.NaN;
        return at(strength) - at(0);
      };
      const sq = await shift(q);
      const sf = await shift(f);
      out.joyShift = { strength, quantized: sq, fp32: sf, ratio: sq / sf };
    }
    return out;
  } finally {
    await q.dispose();
    await f.dispose();
  }
}

export async function defaultQuantized(scheme: Quantization): Promise<string> {
  return quantizedModel('tinystories-656k', await resolveDefaultCheckpoint(), scheme, false);
}
