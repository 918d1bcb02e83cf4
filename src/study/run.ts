/**
 * The overoptimization study (Jinnai et al. 2024, "Regularized Best-of-N
 * Sampling with Minimum Bayes Risk Objective for Language Model Alignment",
 * scaled to a small model): does Best-of-N over-optimize an imperfect proxy as
 * N grows, and do the MBR (MBR-BoN) and KL (KL-BoN) regularisers keep the gold
 * reward from falling?
 *
 * One ladder of proxies of decreasing quality, one fixed gold judge, one pool
 * of N_max candidates per prompt (and per steered policy), drawn and
 * annotated once (pools.ts). β of each regulariser is calibrated per proxy
 * (and per policy) on separate dev prompts against gold (calibrate.ts); every
 * arm is evaluated at every N = 1, 2, 4, …, N_max on nested first-N sub-pools
 * (curves.ts); the verdict is computed from the numbers (verdict.ts).
 */
import { cpuUsage } from 'node:process';
import { loadavg } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import type { Reward } from '../rewards/types.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import type { Utility } from '../utilities/types.js';
import type { SamplingOptions } from '../ab/pool.js';
import { rewardCorrelation, type RewardCorrelation } from '../ab/study.js';
import { calibrateSelector, REGULARISED, RELATIVE_BETA_GRID, type SelectorCalibration } from './calibrate.js';
import { powersOfTwo, proxyCurves, type Policy, type StudyPoint } from './curves.js';
import { drawLadderPool, poolFor, type LadderPool } from './pools.js';
import { proxyVerdict, type ProxyVerdict } from './verdict.js';

export interface LadderRung {
  /** strong, weak, learned, misaligned, … */
  label: string;
  reward: Reward;
}

export interface StudySteering {
  plan: readonly Intervention[];
  strength: number;
  name: string;
}

export interface StudyOptions {
  prompts: readonly string[];
  devPrompts: readonly string[];
  /** Candidates per pool; N runs over 1, 2, 4, …, nMax. */
  nMax: number;
  gold: Reward;
  proxies: readonly LadderRung[];
  utility: Utility;
  steering?: StudySteering;
  sampling?: SamplingOptions;
  relativeGrid?: readonly number[];
  klResamples?: number;
  bootstrapResamples?: number;
  onProgress?: (stage: 'dev' | 'prompts' | 'analysis', done: number, total: number) => void;
}

export interface StudyTiming {
  wallMs: number;
  drawMs: number;
  analysisMs: number;
  /** process.cpuUsage() over the run (all threads of the process). */
  cpuUserMs: number;
  cpuSystemMs: number;
  loadAverageStart: number[];
  loadAverageEnd: number[];
  /** Summed over pools. */
  generateMs: number;
  scoreMs: number;
  captureMs: number;
  rewardMs: number;
  utilityMs: number;
  generatedTokens: number;
}

export interface StudyResult {
  config: {
    model: { dir: string; fingerprint: string; architecture: string };
    prompts: number; devPrompts: number; nMax: number; ns: number[];
    gold: string; proxies: { label: string; spec: string }[]; utility: string;
    steering: { name: string; strength: number } | null;
    sampling: Required<Pick<SamplingOptions, 'temperature' | 'topP' | 'maxNewTokens' | 'seed'>>;
    relativeGrid: number[]; klResamples: number;
  };
  prompts: string[];
  devPrompts: string[];
  correlations: { proxy: string; policy: Policy; correlation: RewardCorrelation | null }[];
  /** calibrations[proxy][policy]: one per regulariser. */
  calibrations: { proxy: string; policy: Policy; selectors: SelectorCalibration[] }[];
  points: StudyPoint[];
  verdicts: ProxyVerdict[];
  pools: { reference: LadderPool[]; steered: LadderPool[] | null; devReference: LadderPool[]; devSteered: LadderPool[] | null };
  timing: StudyTiming;
}

export function validateStudyOptions(o: StudyOptions): void {
  if (o.prompts.length === 0) throw new InvalidArgumentError('the study needs at least one prompt');
  if (o.devPrompts.length === 0) throw new InvalidArgumentError('the study needs dev prompts to calibrate β on');
  if (!Number.isSafeInteger(o.nMax) || o.nMax < 1) throw new InvalidArgumentError(`N_max must be an integer ≥ 1, got ${o.nMax}`);
  if (o.proxies.length === 0) throw new InvalidArgumentError('the study needs at least one proxy');
  const specs = [o.gold.spec, ...o.proxies.map((p) => p.reward.spec)];
  if (new Set(specs).size !== specs.length) throw new InvalidArgumentError(`the gold reward and the proxies must all differ, got ${specs.join(', ')}`);
  const labels = o.proxies.map((p) => p.label);
  if (new Set(labels).size !== labels.length) throw new InvalidArgumentError(`proxy labels must differ, got ${labels.join(', ')}`);
  for (const c of o.relativeGrid ?? []) if (!Number.isFinite(c) || c < 0) throw new InvalidArgumentError(`β multiples must be finite and ≥ 0, got ${c}`);
}

function sumTiming(pools: readonly LadderPool[]): Omit<StudyTiming, 'wallMs' | 'drawMs' | 'analysisMs' | 'cpuUserMs' | 'cpuSystemMs' | 'loadAverageStart' | 'loadAverageEnd'> {
  const t = { generateMs: 0, scoreMs: 0, captureMs: 0, rewardMs: 0, utilityMs: 0, generatedTokens: 0 };
  for (const { pool } of pools) {
    t.generateMs += pool.timing.generateMs; t.scoreMs += pool.timing.scoreMs; t.captureMs += pool.timing.captureMs;
    t.rewardMs += pool.timing.rewardMs; t.utilityMs += pool.timing.utilityMs; t.generatedTokens += pool.timing.generatedTokens;
  }
  return t;
}

export async function runStudy(model: HookedModel, o: StudyOptions): Promise<StudyResult> {
  validateStudyOptions(o);
  const t0 = performance.now();
  const cpu0 = cpuUsage();
  const load0 = loadavg();
  const progress = o.onProgress ?? (() => undefined);
  const rewards = [o.gold, ...o.proxies.map((p) => p.reward)];
  const sampling = o.sampling ?? {};
  const draw = (prompt: string, k: number, steered: boolean) => drawLadderPool(model, prompt, {
    n: o.nMax, sampling, rewards, utility: o.utility, promptIndex: k,
    ...(steered && o.steering ? { steering: o.steering.plan, key: `steer:${o.steering.strength}`, strength: o.steering.strength } : { key: 'reference' }),
  });
  const devReference: LadderPool[] = []; const devSteered: LadderPool[] = [];
  for (let k = 0; k < o.devPrompts.length; k++) {
    devReference.push(await draw(o.devPrompts[k] as string, k, false));
    if (o.steering) devSteered.push(await draw(o.devPrompts[k] as string, k, true));
    progress('dev', k + 1, o.devPrompts.length);
  }
  const reference: LadderPool[] = []; const steered: LadderPool[] = [];
  for (let k = 0; k < o.prompts.length; k++) {
    reference.push(await draw(o.prompts[k] as string, k, false));
    if (o.steering) steered.push(await draw(o.prompts[k] as string, k, true));
    progress('prompts', k + 1, o.prompts.length);
  }
  const t1 = performance.now();

  const ns = powersOfTwo(o.nMax);
  const grid = [...(o.relativeGrid ?? RELATIVE_BETA_GRID)];
  const gold = o.gold.spec;
  const correlations: StudyResult['correlations'] = [];
  const calibrations: StudyResult['calibrations'] = [];
  const points: StudyPoint[] = [];
  const verdicts: ProxyVerdict[] = [];
  const curveOptions = { ...(o.klResamples !== undefined ? { klResamples: o.klResamples } : {}), ...(o.bootstrapResamples !== undefined ? { bootstrapResamples: o.bootstrapResamples } : {}) };
  o.proxies.forEach(({ reward }, r) => {
    const spec = reward.spec;
    const view = (ps: readonly LadderPool[]) => ps.map((lp) => poolFor(lp, spec, gold));
    const ref = view(reference);
    const st = o.steering ? view(steered) : undefined;
    const devRef = view(devReference);
    const devSt = o.steering ? view(devSteered) : undefined;
    const calRef = REGULARISED.map((s) => calibrateSelector(devRef, s, ns, grid));
    const calSt = devSt ? REGULARISED.map((s) => calibrateSelector(devSt, s, ns, grid)) : undefined;
    calibrations.push({ proxy: spec, policy: 'reference', selectors: calRef });
    if (calSt) calibrations.push({ proxy: spec, policy: 'steered', selectors: calSt });
    const mine = proxyCurves(spec, { reference: ref, ...(st ? { steered: st } : {}) }, ns, { reference: calRef, ...(calSt ? { steered: calSt } : {}) }, curveOptions);
    points.push(...mine);
    const pairs: [Policy, typeof ref][] = [['reference', ref]];
    if (st) pairs.push(['steered', st]);
    for (const [policy, ps] of pairs) {
      const correlation = rewardCorrelation(ps);
      correlations.push({ proxy: spec, policy, correlation });
      const v = proxyVerdict(mine, spec, policy, correlation);
      if (v) verdicts.push(v);
    }
    progress('analysis', r + 1, o.proxies.length);
  });
  const t2 = performance.now();
  const cpu = cpuUsage(cpu0);
  const all = [...reference, ...steered, ...devReference, ...devSteered];
  const manifest = model.manifest;
  return {
    config: {
      model: { dir: model.dir, fingerprint: manifest.fingerprint, architecture: manifest.architecture },
      prompts: o.prompts.length, devPrompts: o.devPrompts.length, nMax: o.nMax, ns,
      gold, proxies: o.proxies.map((p) => ({ label: p.label, spec: p.reward.spec })), utility: o.utility.spec,
      steering: o.steering ? { name: o.steering.name, strength: o.steering.strength } : null,
      sampling: { temperature: sampling.temperature ?? 1, topP: sampling.topP ?? 1, maxNewTokens: sampling.maxNewTokens ?? 64, seed: sampling.seed ?? 0 },
      relativeGrid: grid, klResamples: o.klResamples ?? 300,
    },
    prompts: [...o.prompts],
    devPrompts: [...o.devPrompts],
    correlations, calibrations, points, verdicts,
    pools: { reference, steered: o.steering ? steered : null, devReference, devSteered: o.steering ? devSteered : null },
    timing: {
      wallMs: t2 - t0, drawMs: t1 - t0, analysisMs: t2 - t1,
      cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000,
      loadAverageStart: load0, loadAverageEnd: loadavg(),
      ...sumTiming(all),
    },
  };
}
