/**
 * The A/B harness: baseline vs steering vs BoN vs MBR-BoN vs steering +
 * MBR-BoN on a prompt set, judged by a gold reward that differs from the
 * proxy used for selection.
 *
 * Work is shared: per prompt, one batched draw of N_max candidates from π_ref
 * (every BoN/MBR-BoN arm takes the first N of them), one of N_max from each
 * steered model (the combined arm selects among them, and all of them feed
 * the steering KL estimate), and single draws for the baseline and for each
 * steering strength (seed s + 1 for all of them: paired random streams).
 * Activations are captured once per pool, rewards and the N_max × N_max
 * utility matrix are computed once per pool, and every selection reads them.
 */
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_CRITERION_PARAMS } from '../prefs/criteria.js';
import type { Reward } from '../rewards/types.js';
import { DEFAULT_BETA_GRID } from '../selection/calibrate.js';
import { selectorSpec } from '../selection/registry.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import type { Utility } from '../utilities/types.js';
import { DEFAULT_AB_SELECTORS, defineArms, pickFor, policyPoolKey, policySamplePoolKey, poolKeyForStrength, samplePoolKeyForStrength, type ArmSpec } from './arms.js';
import { evaluateArm, pickedGold, type ArmResult } from './metrics.js';
import { annotatePool, drawPool, type Pool, type SamplingOptions } from './pool.js';
import type { PoolSelection } from './pool-selection.js';
import { checkReferences, scoreUnderReferences, type ReferenceModel } from './references.js';
import { calibrateOnPools, describeOveroptimization, overoptimization, type BetaCalibration, type OveroptimizationStudy } from './study.js';

/**
 * The default β grid of an A/B run: the select module's grid extended to 1000.
 * Hidden-state cosines of a small model sit close together (on TinyStories-656K
 * the mean utility ū varies by ≈ 0.003 across candidates while afinn varies by
 * ≈ 0.07), so the β that matter can be large.
 */
export const AB_BETA_GRID: readonly number[] = [...DEFAULT_BETA_GRID, 100, 300, 1000];

/** A trained policy as an arm: a name for the report and the model to sample. */
export interface PolicyArm {
  name: string;
  model: HookedModel;
}

/** Anything that turns a strength into interventions (a SteeringVector does). */
export interface Steerer {
  toPlan(options: { strength: number }): Intervention[];
  readonly name?: string;
}

export interface ProgressEvent {
  stage: 'dev' | 'prompts' | 'evaluate';
  done: number;
  total: number;
}

export interface ABOptions {
  prompts: readonly string[];
  /** Held-out prompts for β calibration. */
  devPrompts?: readonly string[];
  vector?: Steerer;
  strengths?: readonly number[];
  /**
   * Other models sampled as arms (trained policies: DPO, SFT, …). They must
   * share the reference model's tokenizer; KL to π_ref is Monte Carlo over
   * N_max samples of each, scored under the reference with score().
   */
  policies?: readonly PolicyArm[];
  /**
   * Reference models of KL-BoN and of the KL columns (same tokenizer as the
   * model; the first is MRPO's anchor). With two or more, KL-BoN's reference
   * log-prob is MRPO's combined l̃ (references.ts). Default: the model itself.
   */
  references?: readonly ReferenceModel[];
  /** MRPO clipping ε in (0, 1) for several references (default 0.1). */
  epsilon?: number;
  /** N values of the BoN and MBR-BoN arms (candidates are drawn once, N_max per prompt). */
  ns: readonly number[];
  /** Selects (BoN, MBR-BoN). */
  proxy: Reward;
  /** Judges every arm; must differ from the proxy. */
  gold: Reward;
  utility: Utility;
  /** A fixed β; without it, β is calibrated on the dev prompts. */
  beta?: number;
  betaGrid?: readonly number[];
  sampling?: SamplingOptions;
  /** Selector arms on the reference pool, each at every N (default bon, mbr-bon; any registered selector). */
  selectors?: readonly string[];
  /** N of the steering + MBR-BoN arms (default N_max). */
  comboN?: number;
  klResamples?: number;
  bootstrapResamples?: number;
  onProgress?: (event: ProgressEvent) => void;
}

export interface ArmSelection extends Omit<PoolSelection, 'method'> {
  /** The selector, or `sample` for the one-sample arms (their pick is the pool's single draw). */
  method: PoolSelection['method'];
  arm: string;
  promptIndex: number;
  pool: string;
}

export interface ABResult {
  config: {
    model: { dir: string; fingerprint: string; architecture: string };
    prompts: number;
    devPrompts: number;
    ns: number[];
    nMax: number;
    strengths: number[];
    vector: string | null;
    /** Policy arms: name and model directory. */
    policies: { name: string; dir: string }[];
    /** Reference models (empty: the model itself) and MRPO's ε when there are several. */
    references: { name: string; dir: string }[];
    epsilon: number | null;
    proxy: string;
    gold: string;
    utility: string;
    sampling: Required<Pick<SamplingOptions, 'temperature' | 'topP' | 'maxNewTokens' | 'seed'>>;
    comboN: number;
    klResamples: number;
    selectors: string[];
  };
  beta: { value: number; source: 'given' | 'calibrated' };
  prompts: string[];
  devPrompts: string[];
  /** pools[k]: every pool of prompt k (baseline, reference, steer-sample:<s>, steer:<s>). */
  pools: Pool[][];
  devPools: Pool[];
  arms: ArmResult[];
  selections: ArmSelection[];
  calibration: BetaCalibration | null;
  overoptimization: OveroptimizationStudy;
  findings: string[];
  timing: { totalMs: number; drawMs: number; evaluateMs: number };
}

export function validateABOptions(o: ABOptions): void {
  if (o.prompts.length === 0) throw new InvalidArgumentError('the A/B run needs at least one prompt');
  if (o.ns.length === 0) throw new InvalidArgumentError('give at least one N');
  for (const n of o.ns) if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`N must be an integer ≥ 1, got ${n}`);
  if (o.beta !== undefined && (!Number.isFinite(o.beta) || o.beta < 0)) throw new InvalidArgumentError(`β must be a finite number ≥ 0, got ${o.beta}`);
  for (const b of o.betaGrid ?? []) if (!Number.isFinite(b) || b < 0) throw new InvalidArgumentError(`β must be a finite number ≥ 0, got ${b}`);
  if (o.beta === undefined && (o.devPrompts?.length ?? 0) === 0) throw new InvalidArgumentError('give β or dev prompts to calibrate it on');
  if (o.proxy.spec === o.gold.spec) throw new InvalidArgumentError(`the gold reward must differ from the proxy used for selection (both are "${o.proxy.spec}")`);
  const strengths = o.strengths ?? [];
  for (const s of strengths) if (!Number.isFinite(s)) throw new InvalidArgumentError(`strengths must be finite, got ${s}`);
  if (strengths.length > 0 && !o.vector) throw new InvalidArgumentError('steering strengths need a vector');
  const names = new Set<string>();
  for (const p of o.policies ?? []) {
    if (!/^[A-Za-z0-9._-]+$/.test(p.name)) throw new InvalidArgumentError(`policy arm names use letters, digits, '.', '_' and '-'; got "${p.name}"`);
    if (names.has(p.name)) throw new InvalidArgumentError(`two policy arms are named "${p.name}"`);
    names.add(p.name);
  }
  for (const name of o.selectors ?? []) selectorSpec(name);
  const nMax = Math.max(...o.ns);
  if (o.comboN !== undefined && (!Number.isSafeInteger(o.comboN) || o.comboN < 1 || o.comboN > nMax)) {
    throw new InvalidArgumentError(`the steering + MBR-BoN N must be an integer in [1, ${nMax}], got ${o.comboN}`);
  }
}

async function referencePool(model: HookedModel, prompt: string, k: number, nMax: number, o: ABOptions): Promise<Pool> {
  const pool = await drawPool(model, prompt, { n: nMax, sampling: o.sampling ?? {}, key: 'reference', promptIndex: k });
  await annotatePool(model, pool, { proxy: o.proxy, gold: o.gold, utility: o.utility });
  return pool;
}

/**
 * A policy's pool: generate() reported log-probs under the policy; they become
 * `steeredLogprob` (the sampling policy's), and π_ref comes from score() on the
 * reference model.
 */
async function scoreUnderReference(model: HookedModel, pool: Pool): Promise<void> {
  const t = performance.now();
  const ref = await model.score(pool.prompt, pool.candidates.map((c) => c.ids));
  pool.candidates.forEach((c, i) => {
    c.steeredLogprob = c.logprob;
    const r = ref[i];
    c.refLogprob = r ? r.logprob : NaN;
    c.refTokenLogprobs = r ? r.tokenLogprobs : [];
  });
  pool.timing.scoreMs += performance.now() - t;
}

async function promptPools(model: HookedModel, prompt: string, k: number, nMax: number, o: ABOptions): Promise<Pool[]> {
  const sampling = o.sampling ?? {};
  const baseline = await drawPool(model, prompt, { n: 1, sampling: { ...sampling, seed: (sampling.seed ?? 0) + 1 }, key: 'baseline', promptIndex: k });
  await annotatePool(model, baseline, { proxy: o.proxy, gold: o.gold });
  const pools = [baseline, await referencePool(model, prompt, k, nMax, o)];
  for (const p of o.policies ?? []) {
    const sample = await drawPool(p.model, prompt, { n: 1, sampling: { ...sampling, seed: (sampling.seed ?? 0) + 1 }, key: policySamplePoolKey(p.name), promptIndex: k });
    const pool = await drawPool(p.model, prompt, { n: nMax, sampling, key: policyPoolKey(p.name), promptIndex: k });
    for (const x of [sample, pool]) {
      await scoreUnderReference(model, x);
      await annotatePool(model, x, { proxy: o.proxy, gold: o.gold });
      pools.push(x);
    }
  }
  for (const s of o.strengths ?? []) {
    const steering = (o.vector as Steerer).toPlan({ strength: s });
    const sample = await drawPool(model, prompt, { n: 1, sampling: { ...sampling, seed: (sampling.seed ?? 0) + 1 }, steering, key: samplePoolKeyForStrength(s), strength: s, promptIndex: k });
    await annotatePool(model, sample, { proxy: o.proxy, gold: o.gold, steering });
    pools.push(sample);
    const pool = await drawPool(model, prompt, { n: nMax, sampling, steering, key: poolKeyForStrength(s), strength: s, promptIndex: k });
    await annotatePool(model, pool, { proxy: o.proxy, gold: o.gold, utility: o.utility, steering });
    pools.push(pool);
  }
  return pools;
}

export async function runAB(model: HookedModel, o: ABOptions): Promise<ABResult> {
  validateABOptions(o);
  const references = o.references ?? [];
  checkReferences(model, references, o.epsilon);
  const epsilon = o.epsilon ?? DEFAULT_CRITERION_PARAMS.epsilon;
  const t0 = performance.now();
  const ns = [...new Set(o.ns)].sort((a, b) => a - b);
  const nMax = ns[ns.length - 1] as number;
  const strengths = [...(o.strengths ?? [])];
  const dev = [...(o.devPrompts ?? [])];
  const progress = o.onProgress ?? (() => undefined);
  // Warm-up (not timed): the first run of a session pays for allocations the others do not.
  await model.generate(o.prompts[0] as string, { maxNewTokens: 2, n: 2 });

  const devPools: Pool[] = [];
  for (let k = 0; k < dev.length; k++) {
    devPools.push(await referencePool(model, dev[k] as string, k, nMax, o));
    progress({ stage: 'dev', done: k + 1, total: dev.length });
  }
  const calibration = devPools.length > 0 ? calibrateOnPools(devPools, ns, o.betaGrid ?? AB_BETA_GRID) : null;
  const beta = o.beta !== undefined ? { value: o.beta, source: 'given' as const } : { value: (calibration as BetaCalibration).chosen, source: 'calibrated' as const };

  const pools: Pool[][] = [];
  for (let k = 0; k < o.prompts.length; k++) {
    const ps = await promptPools(model, o.prompts[k] as string, k, nMax, o);
    if (references.length > 0) for (const pool of ps) await scoreUnderReferences(model, pool, references, epsilon);
    pools.push(ps);
    progress({ stage: 'prompts', done: k + 1, total: o.prompts.length });
  }
  const t1 = performance.now();

  const comboN = o.comboN ?? nMax;
  const selectors = [...(o.selectors ?? DEFAULT_AB_SELECTORS)];
  const armSpecs = defineArms({ ns, strengths, beta: beta.value, comboN, selectors, policies: (o.policies ?? []).map((p) => p.name) });
  const poolsOf = (arm: ArmSpec, key = arm.pool) => pools.map((ps) => ps.find((p) => p.key === key) as Pool);
  const selections: ArmSelection[] = [];
  const picksOf = new Map<string, PoolSelection[]>();
  for (const arm of armSpecs) {
    const ps = poolsOf(arm);
    const picks = ps.map((p) => pickFor(arm, p));
    picksOf.set(arm.id, picks);
    picks.forEach((s, k) => selections.push({ arm: arm.id, promptIndex: k, pool: arm.pool, ...s, method: arm.method }));
  }
  const klResamples = o.klResamples ?? 1000;
  const bootstrap = o.bootstrapResamples !== undefined ? { resamples: o.bootstrapResamples } : {};
  const baselineArm = armSpecs[0] as ArmSpec;
  const baselineGold = pickedGold({ arm: baselineArm, pools: poolsOf(baselineArm), picks: picksOf.get(baselineArm.id) ?? [] });
  const arms: ArmResult[] = armSpecs.map((arm, i) => {
    const r = evaluateArm({ arm, pools: poolsOf(arm), picks: picksOf.get(arm.id) ?? [], ...(arm.klPool ? { klPools: poolsOf(arm, arm.klPool) } : {}) }, baselineGold, {
      klResamples, bootstrap, utilityCaptures: o.utility.sites.length > 0,
    });
    progress({ stage: 'evaluate', done: i + 1, total: armSpecs.length });
    return r;
  });
  const study = overoptimization(pools.map((ps) => ps.find((p) => p.key === 'reference') as Pool), ns, beta.value, calibration?.best.map((b) => b.beta) ?? []);
  const t2 = performance.now();
  const manifest = model.manifest;
  const sampling = o.sampling ?? {};
  return {
    config: {
      model: { dir: model.dir, fingerprint: manifest.fingerprint, architecture: manifest.architecture },
      prompts: o.prompts.length, devPrompts: dev.length, ns, nMax, strengths,
      vector: o.vector ? (o.vector.name ?? 'vector') : null,
      policies: (o.policies ?? []).map((p) => ({ name: p.name, dir: p.model.dir })),
      references: references.map((r) => ({ name: r.name, dir: r.model.dir })),
      epsilon: references.length >= 2 ? epsilon : null,
      proxy: o.proxy.spec, gold: o.gold.spec, utility: o.utility.spec,
      sampling: { temperature: sampling.temperature ?? 1, topP: sampling.topP ?? 1, maxNewTokens: sampling.maxNewTokens ?? 64, seed: sampling.seed ?? 0 },
      comboN, klResamples, selectors,
    },
    beta,
    prompts: [...o.prompts],
    devPrompts: dev,
    pools,
    devPools,
    arms,
    selections,
    calibration,
    overoptimization: study,
    findings: describeOveroptimization(study),
    timing: { totalMs: t2 - t0, drawMs: t1 - t0, evaluateMs: t2 - t1 },
  };
}
