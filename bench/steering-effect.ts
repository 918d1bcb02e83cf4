/**
 * Measured effect of the shipped vectors on the default model:
 *
 *   npx tsx bench/steering-effect.ts [--only=joy,dialogue] [--prompts=40] [--samples=4] [--smoke]
 *
 * For each shipped vector (vectors/tinystories-656k/<name>.json, made by
 * `onnx-steer extract`), samples `samples` continuations of each held-out
 * prompt (none appears in any pairs file) at temperature 0.8 with fixed
 * seeds, at every strength of the recipe, judges them with the recipe's judge
 * (VADER compound for joy, with AFINN as a second lexicon; quoted utterances
 * for dialogue), and measures their perplexity under the unsteered model.
 * Writes vectors/tinystories-656k/<name>.effect.json and prints the table used
 * in vectors/README.md. `--smoke` runs 2 prompts × 1 sample at two strengths
 * and writes nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HookedModel } from '../src/model/hooked-model.js';
import { defaultModelDir } from '../src/model/default-model.js';
import { evaluateSteering, formatEvaluation, loadPrompts, type EvaluationReport } from '../src/vectors/evaluate.js';
import { afinnJudge, judgeByName } from '../src/vectors/judges.js';
import { HELDOUT_PROMPTS, SHIPPED, shippedDir } from '../src/vectors/shipped.js';
import { SteeringVector } from '../src/vectors/vector.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const smoke = process.argv.includes('--smoke');
const only = arg('only')?.split(',');
const promptCount = smoke ? 2 : Number(arg('prompts') ?? 40);
const samples = smoke ? 1 : Number(arg('samples') ?? 4);

function markdown(report: EvaluationReport, judge: string): string {
  const extra = report.judges.map((j) => j.name).filter((n) => n !== judge);
  const lines = [
    `| strength | ${judge} mean | Δ vs unsteered | ${extra.map((e) => `${e} mean | `).join('')}perplexity | ratio |`,
    `|---:|---:|---:|${extra.map(() => '---:|').join('')}---:|---:|`,
  ];
  const base = report.points.find((p) => p.strength === 0)?.judges[judge]?.mean ?? 0;
  for (const p of report.points) {
    const j = p.judges[judge]?.mean ?? 0;
    lines.push(`| ${p.strength} | ${j.toFixed(3)} | ${(j - base >= 0 ? '+' : '')}${(j - base).toFixed(3)} | ${extra.map((e) => `${(p.judges[e]?.mean ?? 0).toFixed(3)} | `).join('')}${p.perplexity.toFixed(2)} | ${p.perplexityRatio.toFixed(2)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = shippedDir();
  const prompts = loadPrompts(join(dir, HELDOUT_PROMPTS)).slice(0, promptCount);
  const model = await HookedModel.load(await defaultModelDir(), { intraOpNumThreads: 1 });
  try {
    for (const recipe of Object.values(SHIPPED)) {
      if (only && !only.includes(recipe.name)) continue;
      const vector = SteeringVector.load(join(dir, `${recipe.name}.json`), { model });
      const judges = [judgeByName(recipe.judge), ...(recipe.judge === 'vader' ? [afinnJudge()] : [])];
      const t0 = performance.now();
      const report = await evaluateSteering(model, vector, {
        prompts, judges, samples, seed: 0, temperature: 0.8, maxNewTokens: 48, keepTexts: true,
        strengths: smoke ? recipe.strengths.slice(0, 2) : recipe.strengths,
        onStrength: (s) => process.stderr.write(`${recipe.name}: strength ${s}\n`),
      });
      process.stdout.write(`${formatEvaluation(report)}\n(${((performance.now() - t0) / 1000).toFixed(0)} s)\n\n${markdown(report, recipe.judge)}\n\n`);
      if (smoke) continue;
      // Keep two example texts per strength (first sample of the first two prompts).
      const slim = { ...report, points: report.points.map((p) => ({ ...p, texts: undefined, examples: p.texts?.slice(0, 2).map((t) => t[0]) })) };
      writeFileSync(join(dir, `${recipe.name}.effect.json`), `${JSON.stringify(slim, null, 2)}\n`);
    }
  } finally {
    await model.dispose();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`steering-effect failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
