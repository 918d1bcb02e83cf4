/**
 * RAHF-Dual on the default model, beside the mean-diff vector of the same
 * pairs at the same site:
 *
 *   npx tsx bench/rahf-dual.ts [--sites=a,b] [--prompts=40] [--samples=4] [--smoke]
 *
 * For every site (default: blocks.0.hook_resid_post, where the shipped `joy`
 * vector lives, blocks.1.hook_resid_mid and blocks.1.hook_resid_post):
 *
 * - mean-diff: `extract --read mean` of the shipped joy pairs on the base
 *   model (at blocks.0.hook_resid_post this is the shipped joy vector, bit
 *   for bit);
 * - RAHF-Dual: the same pairs through the shared SFT pair
 *   (../shared/models/tinystories-656k-sft-joy preferred, -sft-sad
 *   dispreferred), first 64 response tokens of both responses, bound to the
 *   BASE model (`extract --method rahf-dual --target-model
 *   ../shared/models/tinystories-656k`).
 *
 * Both are measured on the base model with the protocol of
 * bench/steering-effect.ts (held-out prompts × samples, temperature 0.8,
 * 48 new tokens, fixed seeds; VADER compound, AFINN as a second lexicon;
 * perplexity of the samples under the unsteered model). Strengths are a grid
 * of displacements ‖s·v‖ as fractions of the site's mean residual norm
 * (0.05 … 0.7), so vectors of different norms are probed over the same range; the comparison reads each curve at matched
 * perplexity ratios (linear interpolation along the curve).
 *
 * The dual vector of the site with the largest mean |ΔVADER| at ratio 1.2
 * (both directions) is written to vectors/tinystories-656k/joy-dual.json,
 * its curve to joy-dual.effect.json, and all curves to
 * bench/results/rahf-dual.json. `--smoke` runs 2 prompts × 1 sample at two
 * strengths on one site and writes nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedCheckpointBuild } from '../src/model/checkpoint-cache.js';
import { defaultModelDir, packageRoot } from '../src/model/default-model.js';
import { HookedModel } from '../src/model/hooked-model.js';
import { extractDualVector } from '../src/vectors/dual.js';
import { evaluateSteering, loadPrompts, type EvaluationReport } from '../src/vectors/evaluate.js';
import { extractVector } from '../src/vectors/extract.js';
import { afinnJudge, vaderJudge } from '../src/vectors/judges.js';
import { loadPairs } from '../src/pairs/pairs.js';
import { HELDOUT_PROMPTS, SHIPPED, shippedDir } from '../src/vectors/shipped.js';
import type { SteeringVector } from '../src/vectors/vector.js';
import { atMatchedRatio, curveTable } from './matched.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const smoke = process.argv.includes('--smoke');
const promptCount = smoke ? 2 : Number(arg('prompts') ?? 40);
const samples = smoke ? 1 : Number(arg('samples') ?? 4);
const SHARED = resolve(process.env.ONNX_STEER_SHARED ?? join(packageRoot(), '..', 'shared'));
const SITES = arg('sites')?.split(',') ?? (smoke ? ['blocks.0.hook_resid_post'] : ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_post']);
/** Displacements ‖s·v‖ as fractions of the site's mean residual norm (the same for both vectors at a site). */
const FRACTIONS = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.7];

function strengthsFor(v: SteeringVector, site: string, residualNorm: number): number[] {
  const n = v.norm(site);
  const grid = FRACTIONS.flatMap((f) => [(f * residualNorm) / n, (-f * residualNorm) / n]).map((s) => Number(s.toFixed(3)));
  return smoke ? grid.slice(0, 2) : grid;
}

async function main(): Promise<void> {
  const dir = shippedDir();
  const recipe = SHIPPED.joy;
  if (!recipe) throw new Error('no joy recipe');
  const prompts = loadPrompts(join(dir, HELDOUT_PROMPTS)).slice(0, promptCount);
  const pairs = loadPairs(join(dir, recipe.pairs));
  const threads = { intraOpNumThreads: 1 };
  const base = await HookedModel.load(await defaultModelDir(), threads);
  const preferred = await HookedModel.load(await cachedCheckpointBuild(join(SHARED, 'models', 'tinystories-656k-sft-joy')), threads);
  const dispreferred = await HookedModel.load(await cachedCheckpointBuild(join(SHARED, 'models', 'tinystories-656k-sft-sad')), threads);
  const rows: string[] = [];
  const results: Record<string, { meanDiff: EvaluationReport; dual: EvaluationReport; dualNorm: number; meanDiffNorm: number }> = {};
  let best: { site: string; score: number; vector: SteeringVector; report: EvaluationReport } | undefined;
  try {
    for (const site of SITES) {
      const { vector: md } = await extractVector(base, pairs, { sites: [site], read: { kind: 'mean' }, recommend: false, name: 'joy' });
      const { vector: dual } = await extractDualVector({ preferred, dispreferred, target: base }, pairs, {
        sites: [site], tokens: 64, folds: 5, name: 'joy-dual',
        description: 'RAHF-Dual: sft-joy minus sft-sad on the joy pairs (first 64 response tokens of both responses), steering the base model',
      });
      const residualNorm = md.meta.sites[site]?.residualNorm ?? 100;
      const reports: EvaluationReport[] = [];
      for (const [label, v] of [['mean-diff', md], ['rahf-dual', dual]] as const) {
        const report = await evaluateSteering(base, v, {
          prompts, judges: [vaderJudge(), afinnJudge()], samples, seed: 0, temperature: 0.8, maxNewTokens: 48, keepTexts: !smoke,
          strengths: strengthsFor(v, site, residualNorm), onStrength: (s) => process.stderr.write(`${site} ${label}: strength ${s}\n`),
        });
        reports.push(report);
        process.stdout.write(`${site}, ${label} (norm ${v.norm(site).toFixed(2)}):\n\n${curveTable(report)}\n\n`);
        const cells = [1, -1].flatMap((side) => [1.2, 1.5].map((r) => {
          const m = atMatchedRatio(report, 'vader', r, side as 1 | -1);
          return m ? `${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(3)}${m.clipped ? '*' : ''}` : 'n/a';
        }));
        rows.push(`| ${site} | ${label} | ${v.norm(site).toFixed(2)} | ${cells.join(' | ')} |`);
      }
      const [mdReport, dualReport] = reports as [EvaluationReport, EvaluationReport];
      results[site] = { meanDiff: mdReport, dual: dualReport, dualNorm: dual.norm(site), meanDiffNorm: md.norm(site) };
      const score = [1, -1].reduce((acc, side) => acc + Math.abs(atMatchedRatio(dualReport, 'vader', 1.2, side as 1 | -1)?.delta ?? 0), 0) / 2;
      if (!best || score > best.score) best = { site, score, vector: dual, report: dualReport };
    }
    process.stdout.write(`VADER shift at matched perplexity ratio (base model, ${prompts.length} held-out prompts × ${samples} samples; * = the curve never got that costly, strongest point shown):\n\n`);
    process.stdout.write(`| site | method | ‖v‖ | joy @1.2× | joy @1.5× | sad @1.2× | sad @1.5× |\n|---|---|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n`);
    if (smoke || !best) return;
    process.stdout.write(`\nshipped joy-dual: ${best.site} (mean |ΔVADER| at 1.2× = ${best.score.toFixed(3)})\n`);
    best.vector.save(join(dir, 'joy-dual.json'));
    const slim = { ...best.report, site: best.site, points: best.report.points.map((p) => ({ ...p, texts: undefined, examples: p.texts?.slice(0, 2).map((t) => t[0]) })) };
    writeFileSync(join(dir, 'joy-dual.effect.json'), `${JSON.stringify(slim, null, 2)}\n`);
    const out = join(packageRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const strip = (r: EvaluationReport) => ({ ...r, points: r.points.map((p) => ({ ...p, texts: undefined })) });
    writeFileSync(join(out, 'rahf-dual.json'), `${JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...v, meanDiff: strip(v.meanDiff), dual: strip(v.dual) }])), null, 2)}\n`);
  } finally {
    await Promise.all([base.dispose(), preferred.dispose(), dispreferred.dispose()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`rahf-dual failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
