/**
 * Arms of an A/B run and how each one picks an output per prompt.
 *
 *   baseline        one sample from π_ref (its own draw, seed s + 1)
 *   steer@s         one sample from the steered model (its own draw, seed s + 1: the same
 *                   random stream as the baseline, so the pair differs only by the steering)
 *   bon(N)          argmax proxy over the first N reference candidates
 *   mbr-bon(N, β)   argmax proxy + β·ū over the first N reference candidates
 *   steer@s+mbr-bon(N, β)  the same on the steered pool
 *   policy:<name>   one sample from another model (a trained policy with the same tokenizer;
 *                   its own draw, seed s + 1), judged and charged like the steering arms
 *   <selector>(N[, β])  any other registered selector named in `selectors`, on the
 *                   first N reference candidates (β when the selector reads one)
 */
import { selectorSpec } from '../selection/registry.js';
import type { SelectorName } from '../selection/selectors.js';
import { isValid, type Pool } from './pool.js';
import { selectFromPool, type PoolSelection } from './pool-selection.js';

export type ArmKind = 'baseline' | 'steering' | 'policy' | 'bon' | 'mbr-bon' | 'steer+mbr-bon' | 'selector';

/** The selector arms of an A/B run unless told otherwise. */
export const DEFAULT_AB_SELECTORS: readonly string[] = ['bon', 'mbr-bon'];

export interface ArmSpec {
  id: string;
  kind: ArmKind;
  /** The pool key the arm reads (`baseline`, `reference`, `steer-sample:<s>`, `steer:<s>`). */
  pool: string;
  /** For steering arms: the pool of N_max steered draws that the KL estimate averages over. */
  klPool?: string;
  /** A registered selector, or `sample` for the one-sample arms. */
  method: SelectorName;
  n: number;
  beta: number | null;
  strength: number | null;
}

export function poolKeyForStrength(s: number): string {
  return `steer:${s}`;
}

export function samplePoolKeyForStrength(s: number): string {
  return `steer-sample:${s}`;
}

/** A number for labels: at most 3 significant digits. */
export function formatBeta(b: number): string {
  return Number(b.toPrecision(3)).toString();
}

export function policyPoolKey(name: string): string {
  return `policy:${name}`;
}

export function policySamplePoolKey(name: string): string {
  return `policy-sample:${name}`;
}

function selectorArm(name: string, n: number, beta: number): ArmSpec {
  const b = formatBeta(beta);
  if (name === 'bon') return { id: `bon(${n})`, kind: 'bon', pool: 'reference', method: 'bon', n, beta: null, strength: null };
  if (name === 'mbr-bon') return { id: `mbr-bon(${n}, β=${b})`, kind: 'mbr-bon', pool: 'reference', method: 'mbr-bon', n, beta, strength: null };
  const withBeta = selectorSpec(name).needs.beta;
  return { id: `${name}(${n}${withBeta ? `, β=${b}` : ''})`, kind: 'selector', pool: 'reference', method: name, n, beta: withBeta ? beta : null, strength: null };
}

export function defineArms(options: { ns: readonly number[]; strengths: readonly number[]; beta: number; comboN?: number; selectors?: readonly string[]; policies?: readonly string[] }): ArmSpec[] {
  const { ns, strengths, beta } = options;
  const nMax = Math.max(...ns);
  const comboN = options.comboN ?? nMax;
  const b = formatBeta(beta);
  // The baseline's KL pool is the reference pool: its N_max draws from π_ref feed the KL against other references.
  const arms: ArmSpec[] = [{ id: 'baseline', kind: 'baseline', pool: 'baseline', klPool: 'reference', method: 'sample', n: 1, beta: null, strength: null }];
  for (const s of strengths) {
    arms.push({ id: `steer@${formatBeta(s)}`, kind: 'steering', pool: samplePoolKeyForStrength(s), klPool: poolKeyForStrength(s), method: 'sample', n: 1, beta: null, strength: s });
  }
  for (const name of options.policies ?? []) {
    arms.push({ id: `policy:${name}`, kind: 'policy', pool: policySamplePoolKey(name), klPool: policyPoolKey(name), method: 'sample', n: 1, beta: null, strength: null });
  }
  for (const name of options.selectors ?? DEFAULT_AB_SELECTORS) for (const n of ns) arms.push(selectorArm(name, n, beta));
  for (const s of strengths) {
    arms.push({ id: `steer@${formatBeta(s)}+mbr-bon(${comboN}, β=${b})`, kind: 'steer+mbr-bon', pool: poolKeyForStrength(s), method: 'mbr-bon', n: comboN, beta, strength: s });
  }
  return arms;
}

/** The arm's pick on one pool: a selection for selector arms, the first valid candidate for sample arms. */
export function pickFor(arm: ArmSpec, pool: Pool): PoolSelection {
  if (arm.method === 'sample') {
    const first = pool.candidates.find((c) => isValid(c, true));
    return { method: 'bon', n: 1, beta: null, subset: first ? [first.index] : [], objective: first ? [first.proxy as number] : [], chosen: first?.index ?? null };
  }
  return selectFromPool(pool, { method: arm.method, n: arm.n, ...(arm.beta !== null ? { beta: arm.beta } : {}), needGold: true });
}
