/**
 * The RPO guard in the sweep, measured on the default model: the joy-style
 * direction (mean-diff at blocks.0.hook_resid_post, mean over the response)
 * fitted on the DPO training pairs, its strength chosen by DPO alone and by
 * RPO on those pairs (5-fold held out, as `sweep --criterion` does), then each
 * pick judged on the separate held-out pairs (never tuned on).
 *
 *   npx tsx bench/prefs/guard.ts [--pairs ../shared/data/tinystories-prefs/pairs.train.jsonl] [--heldout bench/prefs/heldout.pairs.jsonl]
 */
import { join } from 'node:path';
import { criterionCurve, type CriterionName } from '../../src/prefs/strength-criterion.js';
import { scorePreferences } from '../../src/prefs/score.js';
import { defaultModelDir } from '../../src/model/default-model.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { encodePairs } from '../../src/pairs/encode.js';
import { curveFromScores, effectScores, fluentRange } from '../../src/vectors/effect.js';
import { loadPairs } from '../../src/pairs/pairs.js';
import { l2norm, meanRowNorm } from '../../src/vectors/samples.js';
import { DEFAULT_FRACTIONS, DEFAULT_MAX_PERPLEXITY_RATIO, fitSites } from '../../src/vectors/sweep.js';
import { arg, SHARED } from './common.js';

const SITE = 'blocks.0.hook_resid_post';
const train = loadPairs(arg('--pairs', join(SHARED, 'data', 'tinystories-prefs', 'pairs.train.jsonl')));
const heldout = loadPairs(arg('--heldout', 'bench/prefs/heldout.pairs.jsonl'));
const model = await HookedModel.load(await defaultModelDir(), { intraOpNumThreads: 1 });
try {
  const pairs = encodePairs(model, train);
  const data = (await fitSites(model, pairs, [SITE], 'mean-diff', { kind: 'mean' }, 5)).get(SITE);
  if (!data) throw new Error('no site data');
  const unit = meanRowNorm(data.samples) / l2norm(data.direction);
  const strengths = DEFAULT_FRACTIONS.flatMap((f) => [f * unit, -f * unit]);
  const scores = await effectScores(model, { pairs, foldOf: data.fit.foldOf, directions: new Map([[SITE, data.fit.directions]]), kind: 'responses' }, strengths);
  const tokens = pairs.map((p) => ({ chosen: p.continuation.pos.length, rejected: p.continuation.neg.length }));
  const settings: { name: CriterionName; beta: number; eta: number }[] = [
    { name: 'dpo', beta: 0.1, eta: 0 }, { name: 'rpo', beta: 0.1, eta: 0.005 }, { name: 'rpo', beta: 0.1, eta: 1 },
    { name: 'dpo', beta: 1, eta: 0 }, { name: 'rpo', beta: 1, eta: 0.005 }, { name: 'rpo', beta: 1, eta: 1 },
  ];
  console.log(`direction: mean-diff at ${SITE} from ${train.pairs.length} training pairs; strengths ±{${DEFAULT_FRACTIONS.join(', ')}} × |h|/|v| = ${unit.toFixed(3)}; picks judged on ${heldout.pairs.length} held-out pairs (reference: the unsteered model)\n`);
  console.log('| criterion (chosen on the training pairs, 5-fold held out) | picked strength | tuning: margin | tuning: Δ log π(chosen) | tuning: Δ log π(rejected) | held-out: DPO margin (β 0.1) | held-out: Δ log π(chosen) | held-out: Δ log π(rejected) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of settings) {
    const c = criterionCurve(s.name, { ...scores, tokens }, { beta: s.beta, eta: s.eta, epsilon: 0.1 });
    const b = c.best;
    const plan = b.strength === 0 ? undefined : [{ site: SITE, vector: data.direction, strength: b.strength }];
    const h = await scorePreferences(model, [model], heldout, { beta: 0.1, ...(plan ? { steering: plan } : {}) });
    const label = s.name === 'dpo' ? `DPO only, β ${s.beta}` : `RPO, β ${s.beta}, η ${s.eta}`;
    const flag = b.margin > 0 && b.chosenShift < 0 ? ' (chosen falls)' : '';
    console.log(`| ${label} | ${b.strength.toFixed(3)} | ${b.margin.toFixed(3)} | ${b.chosenShift.toFixed(2)}${flag} | ${b.rejectedShift.toFixed(2)} | ${h.dpo.margin.toFixed(3)} | ${h.chosenShift.toFixed(2)} | ${h.rejectedShift.toFixed(2)} |`);
  }
  // The sweep's default recommendation: the top of the fluent range (perplexity ratio ≤ 1.5), which ranks by the raw preference swing.
  const input = { pairs, kind: 'responses' as const };
  const fluent = fluentRange(curveFromScores(input, scores), DEFAULT_MAX_PERPLEXITY_RATIO);
  const at = criterionCurve('dpo', { ...scores, tokens }, { beta: 0.1, eta: 0, epsilon: 0.1 }).points.find((p) => p.strength === fluent.max);
  if (at) {
    const h = await scorePreferences(model, [model], heldout, { beta: 0.1, steering: [{ site: SITE, vector: data.direction, strength: fluent.max }] });
    console.log(`| no criterion: top of the fluent range (the sweep's default) | ${fluent.max.toFixed(3)} | ${at.margin.toFixed(3)} | ${at.chosenShift.toFixed(2)}${at.margin > 0 && at.chosenShift < 0 ? ' (chosen falls)' : ''} | ${at.rejectedShift.toFixed(2)} | ${h.dpo.margin.toFixed(3)} | ${h.chosenShift.toFixed(2)} | ${h.rejectedShift.toFixed(2)} |`);
  }
  console.log('\nstrength → DPO margin at β 1 and Δ log π(chosen), Δ log π(rejected) on the tuning pairs:');
  for (const p of criterionCurve('dpo', { ...scores, tokens }, { beta: 1, eta: 0, epsilon: 0.1 }).points) {
    if (p.strength >= 0) console.log(`  ${p.strength.toFixed(3)}  margin ${p.margin.toFixed(3)}  chosen ${p.chosenShift.toFixed(2)}  rejected ${p.rejectedShift.toFixed(2)}${p.margin > 0 && p.chosenShift < 0 ? '  ← margin up, chosen down' : ''}`);
  }
} finally {
  await model.dispose();
}
