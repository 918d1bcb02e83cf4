/**
 * The low-rank representation map against the constant RAHF-Dual vector:
 *
 *   npx tsx bench/lowrank.ts [--site=blocks.1.hook_resid_post] [--prompts=40] [--samples=4] [--smoke]
 *
 * 1. Extracts RAHF-Dual from the shipped joy pairs (sft-joy − sft-sad, first
 *    64 response tokens, steering the base model) at three sites with a
 *    low-rank map per site (`extract --method rahf-dual --low-rank auto`):
 *    rank and ridge λ chosen by 5-fold held-out R² over pairs. Prints the
 *    held-out R² of the map and of the constant vector per site.
 * 2. At `--site`, measures on the base model (loaded with the low-rank
 *    inputs) the constant vector (h + α·d) and the map
 *    (h + α·(d + shift + (h·V)·Uᵀ)) with the protocol of
 *    bench/steering-effect.ts, and prints the VADER shift at matched
 *    perplexity ratios. Writes bench/results/lowrank.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedCheckpointBuild } from '../src/model/checkpoint-cache.js';
import { defaultModelDir, packageRoot } from '../src/model/default-model.js';
import { HookedModel } from '../src/model/hooked-model.js';
import { extractDualVector } from '../src/vectors/dual.js';
import { evaluateSteering, loadPrompts, type EvaluationReport } from '../src/vectors/evaluate.js';
import { afinnJudge, vaderJudge } from '../src/vectors/judges.js';
import { loadPairs } from '../src/pairs/pairs.js';
import { HELDOUT_PROMPTS, SHIPPED, shippedDir } from '../src/vectors/shipped.js';
import { atMatchedRatio, curveTable } from './matched.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const smoke = process.argv.includes('--smoke');
const promptCount = smoke ? 2 : Number(arg('prompts') ?? 40);
const samples = smoke ? 1 : Number(arg('samples') ?? 4);
const site = arg('site') ?? 'blocks.1.hook_resid_post';
const SHARED = resolve(process.env.ONNX_STEER_SHARED ?? join(packageRoot(), '..', 'shared'));
const SITES = ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_post'];
const STRENGTHS = smoke ? [-6, 6] : [-12, -9, -6, -4, -2, 2, 4, 6, 9, 12];

async function main(): Promise<void> {
  const dir = shippedDir();
  const recipe = SHIPPED.joy;
  if (!recipe) throw new Error('no joy recipe');
  const prompts = loadPrompts(join(dir, HELDOUT_PROMPTS)).slice(0, promptCount);
  const threads = { intraOpNumThreads: 1 };
  const base = await HookedModel.load(await defaultModelDir(), { ...threads, lowRank: true });
  const preferred = await HookedModel.load(await cachedCheckpointBuild(join(SHARED, 'models', 'tinystories-656k-sft-joy')), threads);
  const dispreferred = await HookedModel.load(await cachedCheckpointBuild(join(SHARED, 'models', 'tinystories-656k-sft-sad')), threads);
  try {
    const t0 = performance.now();
    const { vector } = await extractDualVector({ preferred, dispreferred, target: base }, loadPairs(join(dir, recipe.pairs)), {
      sites: SITES, tokens: 64, folds: 5, recommend: false, name: 'joy-dual-lowrank', lowRank: {},
    });
    process.stdout.write(`fit in ${((performance.now() - t0) / 1000).toFixed(1)} s\n\n| site | rank | λ (× tr(XᵀX)/H) | held-out R², map | held-out R², constant vector | tokens |\n|---|---:|---:|---:|---:|---:|\n`);
    for (const s of SITES) {
      const f = vector.meta.sites[s]?.lowRankFit;
      if (f) process.stdout.write(`| ${s} | ${f.rank} | ${f.lambdaScale} | ${f.r2.toFixed(3)} | ${f.r2Constant.toFixed(3)} | ${f.samples} |\n`);
    }
    const one = vector.restrictToSites([site]);
    const reports: Record<string, EvaluationReport> = {};
    for (const [label, lowRank] of [['constant vector', false], ['low-rank map', true]] as const) {
      const report = await evaluateSteering(base, one, {
        prompts, judges: [vaderJudge(), afinnJudge()], samples, seed: 0, temperature: 0.8, maxNewTokens: 48,
        strengths: STRENGTHS, plan: { lowRank }, onStrength: (s) => process.stderr.write(`${label}: strength ${s}\n`),
      });
      reports[label] = report;
      process.stdout.write(`\n${site}, ${label}:\n\n${curveTable(report)}\n`);
    }
    process.stdout.write(`\nVADER shift at matched perplexity ratio (${site}, base model, ${prompts.length} held-out prompts × ${samples} samples; * = the curve never got that costly):\n\n| method | joy @1.1× | joy @1.2× | joy @1.5× | sad @1.1× | sad @1.2× | sad @1.5× |\n|---|---:|---:|---:|---:|---:|---:|\n`);
    for (const [label, report] of Object.entries(reports)) {
      const cells = [1, -1].flatMap((side) => [1.1, 1.2, 1.5].map((r) => {
        const m = atMatchedRatio(report, 'vader', r, side as 1 | -1);
        return m ? `${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(3)}${m.clipped ? '*' : ''}` : 'n/a';
      }));
      process.stdout.write(`| ${label} | ${cells.join(' | ')} |\n`);
    }
    if (smoke) return;
    const out = join(packageRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'lowrank.json'), `${JSON.stringify({ site, fits: Object.fromEntries(SITES.map((s) => [s, vector.meta.sites[s]?.lowRankFit])), reports }, null, 2)}\n`);
  } finally {
    await Promise.all([base.dispose(), preferred.dispose(), dispreferred.dispose()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`lowrank failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
