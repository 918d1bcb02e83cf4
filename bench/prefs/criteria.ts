/**
 * DPO, RPO and MRPO of the trained policies in ../shared/models (and of the
 * base model steered by the shipped joy vector) against the base model, on
 * held-out pairs. Prints the README table.
 *
 *   npx tsx bench/prefs/criteria.ts [--pairs bench/prefs/heldout.pairs.jsonl]
 *
 * β = 0.1 (the DPO policy's training β), η = 0.005, ε = 0.1. MRPO uses the
 * base model as the initial policy and the SFT-joy model as the external
 * reference.
 */
import { hookedModelDir } from '../../src/model/checkpoint-cache.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { scorePreferences, type PreferenceReport } from '../../src/prefs/score.js';
import { Steering } from '../../src/vectors/steering.js';
import { loadPairs } from '../../src/pairs/pairs.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { arg, MODELS } from './common.js';

const pairsPath = arg('--pairs', 'bench/prefs/heldout.pairs.jsonl');
const dataset = loadPairs(pairsPath);
const open = async (dir: string) => HookedModel.load(await hookedModelDir(dir), { intraOpNumThreads: 1 });
const base = await open(MODELS.base);
const sftJoy = await open(MODELS.sftJoy);
const others = { dpo: await open(MODELS.dpo), sftSad: await open(MODELS.sftSad) };
const joy = SteeringVector.load('vectors/tinystories-656k/joy.json', { model: base });
const rows: { label: string; r: PreferenceReport }[] = [];
try {
  const refs = [base, sftJoy];
  rows.push({ label: 'DPO-joy (trained, β 0.1)', r: await scorePreferences(others.dpo, refs, dataset) });
  rows.push({ label: 'SFT-joy (trained)', r: await scorePreferences(sftJoy, refs, dataset) });
  rows.push({ label: 'SFT-sad (trained)', r: await scorePreferences(others.sftSad, refs, dataset) });
  for (const s of [1, 2]) {
    const plan = Steering.of(joy, { strength: s }).plan();
    rows.push({ label: `base + joy × ${s} (steering)`, r: await scorePreferences(base, refs, dataset, { steering: plan, steeringLabel: `joy × ${s}` }) });
  }
} finally {
  for (const m of [base, sftJoy, others.dpo, others.sftSad]) await m.dispose();
}
const f = (x: number, d = 3) => x.toFixed(d);
const sign = (x: number, d = 1) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;
console.log(`${dataset.pairs.length} held-out pairs (${pairsPath}); reference: the base model; β = 0.1, η = 0.005, ε = 0.1; MRPO references: base (initial policy) + SFT-joy (external)\n`);
console.log('| policy | DPO loss | DPO accuracy | DPO margin | RPO loss | RPO loss (per-token NLL) | MRPO loss | mean α | Δ log π(chosen) | Δ log π(rejected) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const { label, r } of rows) {
  const alpha = r.mrpo ? r.mrpo.alpha.reduce((a, b) => a + b, 0) / r.mrpo.alpha.length : NaN;
  console.log(`| ${label} | ${f(r.dpo.loss)} | ${f(r.dpo.accuracy, 2)} | ${f(r.dpo.margin)} | ${f(r.rpo.loss)} | ${f(r.rpo.lossPerToken)} | ${r.mrpo ? f(r.mrpo.loss) : '—'} | ${f(alpha, 2)} | ${sign(r.chosenShift)} | ${sign(r.rejectedShift)} |`);
}
console.log('');
for (const { label, r } of rows) for (const x of r.findings.slice(1)) console.log(`- ${label}: ${x}`);
