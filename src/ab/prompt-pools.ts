/**
 * The pools of one A/B prompt, drawn and annotated through backends: the
 * baseline sample and the reference pool from the policy backend (π_ref
 * unsteered), each policy arm's sample and pool from its own backend (scored
 * under the reference), and per steering strength one sample and one pool
 * from the policy backend steered. Single draws use seed s + 1 (paired random
 * streams); pools use seed s, so row k has rowSeed(s, k) on every backend.
 */
import type { Backend, BackendSteering } from '../backends/types.js';
import type { Reward } from '../rewards/types.js';
import { Steering } from '../vectors/steering.js';
import type { Intervention } from '../steering/plan.js';
import type { Utility } from '../utilities/types.js';
import { SteeringVector } from '../vectors/vector.js';
import { policyPoolKey, policySamplePoolKey, poolKeyForStrength, samplePoolKeyForStrength } from './arms.js';
import { annotatePool, drawPool, type Pool, type SamplingOptions } from './pool.js';

/** Anything that turns a strength into interventions (a SteeringVector does). */
export interface Steerer {
  toPlan(options: { strength: number }): Intervention[];
  readonly name?: string;
}

export interface PoolContext {
  /** Draws the reference, baseline and steered pools. */
  policy: Backend;
  /** Scores log π_ref where the draw does not give it. */
  reference: Backend;
  policies: readonly { name: string; backend: Backend }[];
  proxy: Reward;
  gold: Reward;
  utility: Utility;
  sampling: SamplingOptions;
  strengths: readonly number[];
  vector?: Steerer;
}

/** The steering at strength s: a Steering for a vector (sendable to servers), a plan otherwise. */
export function steeringAt(vector: Steerer, s: number): BackendSteering {
  return vector instanceof SteeringVector ? Steering.of(vector, { strength: s }) : vector.toPlan({ strength: s });
}

export async function referencePool(c: PoolContext, prompt: string, k: number, nMax: number): Promise<Pool> {
  const pool = await drawPool(c.policy, prompt, { n: nMax, sampling: c.sampling, key: 'reference', promptIndex: k, refFromDraw: c.reference === c.policy });
  await annotatePool(c.policy, pool, { proxy: c.proxy, gold: c.gold, utility: c.utility, reference: c.reference });
  return pool;
}

/** A policy arm's pool: its draw's log-probs are the policy's (`steeredLogprob`); π_ref comes from the reference. */
async function scoreUnderReference(reference: Backend, pool: Pool): Promise<void> {
  const t = performance.now();
  const ref = await reference.score({ prompt: pool.prompt, continuations: pool.candidates.map((x) => x.ids) });
  pool.candidates.forEach((x, i) => {
    x.steeredLogprob = x.logprob;
    const r = ref[i];
    x.refLogprob = r ? r.logprob : NaN;
    x.refTokenLogprobs = r ? r.tokenLogprobs : [];
  });
  pool.timing.scoreMs += performance.now() - t;
}

export async function promptPools(c: PoolContext, prompt: string, k: number, nMax: number): Promise<Pool[]> {
  const one = { ...c.sampling, seed: (c.sampling.seed ?? 0) + 1 };
  const sameRef = c.reference === c.policy;
  const baseline = await drawPool(c.policy, prompt, { n: 1, sampling: one, key: 'baseline', promptIndex: k, refFromDraw: sameRef });
  await annotatePool(c.policy, baseline, { proxy: c.proxy, gold: c.gold, reference: c.reference });
  const pools = [baseline, await referencePool(c, prompt, k, nMax)];
  for (const p of c.policies) {
    const sample = await drawPool(p.backend, prompt, { n: 1, sampling: one, key: policySamplePoolKey(p.name), promptIndex: k, refFromDraw: false });
    const pool = await drawPool(p.backend, prompt, { n: nMax, sampling: c.sampling, key: policyPoolKey(p.name), promptIndex: k, refFromDraw: false });
    for (const x of [sample, pool]) {
      await scoreUnderReference(c.reference, x);
      await annotatePool(c.policy, x, { proxy: c.proxy, gold: c.gold, reference: c.policy });
      pools.push(x);
    }
  }
  for (const s of c.strengths) {
    const steering = steeringAt(c.vector as Steerer, s);
    const sample = await drawPool(c.policy, prompt, { n: 1, sampling: one, steering, key: samplePoolKeyForStrength(s), strength: s, promptIndex: k });
    await annotatePool(c.policy, sample, { proxy: c.proxy, gold: c.gold, steering, reference: c.reference });
    pools.push(sample);
    const pool = await drawPool(c.policy, prompt, { n: nMax, sampling: c.sampling, steering, key: poolKeyForStrength(s), strength: s, promptIndex: k });
    await annotatePool(c.policy, pool, { proxy: c.proxy, gold: c.gold, utility: c.utility, steering, reference: c.reference });
    pools.push(pool);
  }
  return pools;
}

/** Checks, before the first request, that the backends can do what the run needs. */
export async function preparePools(c: PoolContext): Promise<void> {
  const sites = [...new Set([...c.utility.sites, ...c.proxy.sites, ...c.gold.sites])];
  const who = c.utility.sites.length > 0 ? `the utility ${c.utility.spec}` : `the rewards (${c.proxy.spec}, ${c.gold.spec})`;
  const steerings = c.vector ? c.strengths.map((s) => steeringAt(c.vector as Steerer, s)) : [];
  await c.policy.prepare({
    ...(steerings.length > 0 ? { steering: steerings, scoring: 'the steering arms (their KL to π_ref)' } : {}),
    ...(sites.length > 0 ? { activations: who } : {}),
  });
  if (c.reference !== c.policy || c.policies.length > 0) await c.reference.prepare({ scoring: c.policies.length > 0 ? 'the policy arms (their KL to π_ref)' : 'log π_ref on the reference backend (KL)' });
}
