/**
 * KL-BoN with one reference (the base model) against two (base + a trained
 * policy, combined by MRPO's l̃ over each pool), on the README's A/B prompts:
 * how many picks change, and what happens to the gold reward and the KL.
 *
 *   npx tsx bench/prefs/multiref.ts [--prompts vectors/tinystories-656k/ab-prompts.jsonl] [--n 16] [--epsilon 0.1]
 *
 * Candidates: N draws per prompt from the base model (64 new tokens,
 * temperature 1, seed 0: the README A/B's pools). Proxy AFINN selects, VADER
 * (gold) only judges. The same pools, scored once under every model, are
 * selected with each reference set, so the comparison is paired. The second
 * reference is the SFT-joy or the DPO-joy policy from ../shared/models, built
 * into hooked models through the cache. β is not tuned: every β of the grid
 * is printed.
 */
import { pickFor, type ArmSpec } from '../../src/ab/arms.js';
import { evaluateArm } from '../../src/ab/metrics.js';
import { annotatePool, drawPool, type Pool } from '../../src/ab/pool.js';
import { readPrompts } from '../../src/ab/prompts.js';
import { scoreUnderReferences, type ReferenceModel } from '../../src/ab/references.js';
import { mrpoPoolReference } from '../../src/prefs/pool-reference.js';
import { parseReward } from '../../src/rewards/parse.js';
import { hookedModelDir } from '../../src/model/checkpoint-cache.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { meanCI } from '../../src/selection/stats.js';
import { arg, MODELS } from './common.js';

const prompts = readPrompts(arg('--prompts', 'vectors/tinystories-656k/ab-prompts.jsonl'));
const n = Number(arg('--n', '16'));
const epsilon = Number(arg('--epsilon', '0.1'));
const BETAS = [0.001, 0.003, 0.01, 0.03, 0.1];
const open = async (dir: string) => HookedModel.load(await hookedModelDir(dir), { intraOpNumThreads: 1 });
const base = await open(MODELS.base);
const sft = await open(MODELS.sftJoy);
const dpo = await open(MODELS.dpo);
const all: ReferenceModel[] = [{ name: 'base', model: base }, { name: 'sft-joy', model: sft }, { name: 'dpo-joy', model: dpo }];
const SETS: { label: string; columns: number[] }[] = [
  { label: 'base only', columns: [0] },
  { label: 'base + SFT-joy', columns: [0, 1] },
  { label: 'base + DPO-joy', columns: [0, 2] },
];
try {
  const proxy = await parseReward('afinn', { model: base });
  const gold = await parseReward('vader', { model: base });
  const t0 = performance.now();
  const pools: Pool[] = [];
  for (const [k, prompt] of prompts.entries()) {
    const pool = await drawPool(base, prompt, { n, sampling: { maxNewTokens: 64, temperature: 1, seed: 0 }, key: 'reference', promptIndex: k });
    await annotatePool(base, pool, { proxy, gold });
    await scoreUnderReferences(base, pool, all, epsilon);
    pools.push(pool);
  }
  // The same pools with only the columns of one reference set.
  const view = (columns: number[]): Pool[] => pools.map((p) => ({
    ...p,
    references: { names: columns.map((c) => all[c]?.name as string), epsilon },
    candidates: p.candidates.map((c) => ({ ...c, referenceLogprobs: columns.map((j) => c.referenceLogprobs?.[j] as number) })),
  }));
  const views = SETS.map((s) => view(s.columns));
  console.log(`${prompts.length} prompts, N = ${n} draws from the base model each (64 new tokens, T = 1, seed 0); proxy afinn, gold vader; ε = ${epsilon}; pools drawn and scored under 3 models in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  // MRPO's weight of the base model (α) per pool, from all N candidates.
  for (const [s, set] of SETS.entries()) {
    if (set.columns.length < 2) continue;
    const alphas = views[s]!.map((p) => {
      const v = p.candidates.filter((c) => c.proxy !== null && c.gold !== null);
      return mrpoPoolReference(set.columns.map((_, j) => v.map((c) => c.referenceLogprobs?.[j] as number)), v.map((c) => c.proxy as number), epsilon).weights[0] as number;
    });
    console.log(`${set.label}: MRPO weight α of the base model over the ${n}-candidate pools: mean ${(alphas.reduce((a, b) => a + b, 0) / alphas.length).toFixed(3)}, min ${Math.min(...alphas).toFixed(3)}, max ${Math.max(...alphas).toFixed(3)}`);
  }
  console.log('\n| β | references | picks changed vs base only | gold (VADER), 95% CI | Δ gold vs base only, paired 95% CI | KL(π_sel ‖ base) | KL vs 2nd reference | KL vs l̃ |');
  console.log('|---|---|---|---|---|---|---|---|');
  const goldOf = (ps: Pool[], picks: ReturnType<typeof pickFor>[]) => picks.map((s, k) => (s.chosen === null ? NaN : (ps[k]?.candidates[s.chosen]?.gold ?? NaN)));
  for (const beta of [0, ...BETAS]) {
    const arm: ArmSpec = { id: `kl-bon(${n}, β=${beta})`, kind: 'selector', pool: 'reference', method: 'kl-bon', n, beta, strength: null };
    const results = views.map((ps) => {
      const picks = ps.map((p) => pickFor(arm, p));
      return { picks, gold: goldOf(ps, picks), arm: evaluateArm({ arm, pools: ps, picks }, null, { klResamples: 400, bootstrap: { resamples: 2000 } }) };
    });
    const one = results[0]!;
    for (const [s, r] of results.entries()) {
      const changed = r.picks.filter((p, k) => p.chosen !== one.picks[k]?.chosen).length;
      const diff = r.gold.map((g, k) => g - (one.gold[k] as number));
      const d = s === 0 ? null : meanCI(diff, { resamples: 2000, seed: 1 });
      const refs = r.arm.kl.references;
      const f = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));
      const g = r.arm.gold;
      console.log(`| ${beta} | ${SETS[s]!.label} | ${s === 0 ? '—' : `${changed}/${prompts.length} (${(100 * changed / prompts.length).toFixed(0)}%)`} | ${g ? `${f(g.mean)} [${f(g.lo)}, ${f(g.hi)}]` : '—'} | ${d ? `${d.mean >= 0 ? '+' : ''}${f(d.mean)} [${f(d.lo)}, ${f(d.hi)}]` : '—'} | ${f(r.arm.kl.estimate, 2)} | ${s === 0 ? '—' : f(refs?.references[1]?.estimate, 2)} | ${s === 0 ? '—' : f(refs?.combined, 2)} |`);
    }
  }
} finally {
  for (const m of [base, sft, dpo]) await m.dispose();
}
