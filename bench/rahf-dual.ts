/**
 * RAHF-Dual on the default model, beside the shipped mean-diff `joy` vector:
 *
 *   npx tsx bench/rahf-dual.ts [--prompts=40] [--samples=4] [--smoke]
 *
 * 1. Extracts the RAHF-Dual vector from the shipped joy pairs with the shared
 *    SFT pair (../shared/models/tinystories-656k-sft-joy as preferred, -sft-sad
 *    as dispreferred), the first 64 response tokens of both responses through
 *    both models, at the joy vector's site, bound to the BASE default model
 *    (the same as `onnx-steer extract --method rahf-dual --target-model
 *    ../shared/models/tinystories-656k`). Writes
 *    vectors/tinystories-656k/joy-dual.json.
 * 2. Measures both vectors on the base model with the protocol of
 *    bench/steering-effect.ts (held-out prompts × samples, temperature 0.8,
 *    48 new tokens, fixed seeds; VADER compound, AFINN as a second lexicon;
 *    perplexity under the unsteered model), and prints the curves and the
 *    VADER shift of each at matched perplexity ratios (linear interpolation
 *    along each curve). Writes vectors/tinystories-656k/joy-dual.effect.json.
 *
 * `--smoke` runs 2 prompts × 1 sample at two strengths and writes nothing.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedCheckpointBuild } from '../src/runtime/checkpoint-cache.js';
import { defaultModelDir, packageRoot } from '../src/runtime/default-model.js';
import { HookedModel } from '../src/runtime/model.js';
import { extractDualVector } from '../src/vectors/dual.js';
import { evaluateSteering, formatEvaluation, loadPrompts, type EvaluationReport } from '../src/vectors/evaluate.js';
import { afinnJudge, vaderJudge } from '../src/vectors/judges.js';
import { loadPairs } from '../src/vectors/pairs.js';
import { HELDOUT_PROMPTS, SHIPPED, shippedDir } from '../src/vectors/shipped.js';
import { SteeringVector } from '../src/vectors/vector.js';
import { atMatchedRatio } from './matched.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const smoke = process.argv.includes('--smoke');
const promptCount = smoke ? 2 : Number(arg('prompts') ?? 40);
const samples = smoke ? 1 : Number(arg('samples') ?? 4);
const SHARED = resolve(process.env.ONNX_STEER_SHARED ?? join(packageRoot(), '..', 'shared'));
const DUAL_STRENGTHS = [-12, -10, -8, -6, -4, -2, 2, 4, 6, 8, 10, 12];
const RATIOS = [1.1, 1.2, 1.3, 1.5];

function curveTable(report: EvaluationReport): string {
  const base = report.points.find((p) => p.strength === 0)?.judges.vader?.mean ?? 0;
  const lines = ['| strength | VADER mean | Δ vs unsteered | AFINN mean | perplexity | ratio |', '|---:|---:|---:|---:|---:|---:|'];
  for (const p of report.points) {
    const v = p.judges.vader?.mean ?? 0;
    lines.push(`| ${p.strength} | ${v.toFixed(3)} | ${v - base >= 0 ? '+' : ''}${(v - base).toFixed(3)} | ${(p.judges.afinn?.mean ?? 0).toFixed(3)} | ${p.perplexity.toFixed(2)} | ${p.perplexityRatio.toFixed(2)} |`);
  }
  return lines.join('\n');
}

function matchedTable(reports: Record<string, EvaluationReport>): string {
  const lines = ['| perplexity ratio | direction | ' + Object.keys(reports).map((k) => `${k}: strength, ΔVADER`).join(' | ') + ' |', `|---:|---|${Object.keys(reports).map(() => '---:').join('|')}|`];
  for (const side of [1, -1] as const) {
    for (const r of RATIOS) {
      const cells = Object.values(reports).map((rep) => {
        const m = atMatchedRatio(rep, 'vader', r, side);
        return m ? `${m.strength.toFixed(2)}, ${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(3)}${m.clipped ? ' (max)' : ''}` : 'n/a';
      });
      lines.push(`| ${r} | ${side > 0 ? 'joy (+)' : 'sad (−)'} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = shippedDir();
  const recipe = SHIPPED.joy;
  if (!recipe) throw new Error('no joy recipe');
  const prompts = loadPrompts(join(dir, HELDOUT_PROMPTS)).slice(0, promptCount);
  const threads = { intraOpNumThreads: 1 };
  const base = await HookedModel.load(await defaultModelDir(), threads);
  const preferred = await HookedModel.load(await cachedCheckpointBuild(join(SHARED, 'models', 'tinystories-656k-sft-joy')), threads);
  const dispreferred = await HookedModel.load(await cachedCheckpointBuild(join(SHARED, 'models', 'tinystories-656k-sft-sad')), threads);
  try {
    const t0 = performance.now();
    const { vector: dual } = await extractDualVector({ preferred, dispreferred, target: base }, loadPairs(join(dir, recipe.pairs)), {
      sites: recipe.sites, tokens: 64, folds: 5, name: 'joy-dual',
      description: 'RAHF-Dual: sft-joy minus sft-sad on the joy pairs, first 64 response tokens, steering the base model',
    });
    process.stderr.write(`extracted in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    if (!smoke) dual.save(join(dir, 'joy-dual.json'));
    const joy = SteeringVector.load(join(dir, `${recipe.name}.json`), { model: base });
    const reports: Record<string, EvaluationReport> = {};
    for (const [name, vector, strengths] of [['joy (mean-diff)', joy, recipe.strengths], ['joy-dual (RAHF-Dual)', dual, DUAL_STRENGTHS]] as const) {
      const report = await evaluateSteering(base, vector, {
        prompts, judges: [vaderJudge(), afinnJudge()], samples, seed: 0, temperature: 0.8, maxNewTokens: 48, keepTexts: !smoke,
        strengths: smoke ? strengths.slice(0, 2) : strengths,
        onStrength: (s) => process.stderr.write(`${name}: strength ${s}\n`),
      });
      reports[name] = report;
      process.stdout.write(`${formatEvaluation(report)}\n\n${curveTable(report)}\n\n`);
    }
    const norms = `direction norms at ${recipe.sites.join(', ')}: joy ${joy.norm(recipe.sites[0] as string).toFixed(2)}, joy-dual ${dual.norm(recipe.sites[0] as string).toFixed(2)}`;
    process.stdout.write(`${norms}\n\nVADER shift at matched perplexity ratio (base model, held-out prompts):\n\n${matchedTable(reports)}\n`);
    if (smoke) return;
    const dualReport = reports['joy-dual (RAHF-Dual)'] as EvaluationReport;
    const slim = { ...dualReport, points: dualReport.points.map((p) => ({ ...p, texts: undefined, examples: p.texts?.slice(0, 2).map((t) => t[0]) })) };
    writeFileSync(join(dir, 'joy-dual.effect.json'), `${JSON.stringify(slim, null, 2)}\n`);
  } finally {
    await Promise.all([base.dispose(), preferred.dispose(), dispreferred.dispose()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`rahf-dual failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
