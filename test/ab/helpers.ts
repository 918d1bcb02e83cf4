/** Synthetic pools for the pure stages of the A/B harness. */
import type { Candidate, Pool } from '../../src/ab/pool.js';

export interface FakeCandidate {
  proxy: number | null;
  gold?: number | null;
  ids?: number[];
  text?: string;
  refLogprob?: number;
  steeredLogprob?: number;
  refTokenLogprobs?: number[];
}

export function fakePool(cands: readonly FakeCandidate[], utility?: readonly (readonly number[])[], key = 'reference'): Pool {
  const m = cands.length;
  const candidates = cands.map((c, i): Candidate => {
    const ids = c.ids ?? [100 + i, 200 + i];
    const out: Candidate = {
      index: i, seed: i, text: c.text ?? `text ${i}`, ids, finishReason: 'length',
      logprob: c.steeredLogprob ?? c.refLogprob ?? -ids.length, refLogprob: c.refLogprob ?? -ids.length,
      refTokenLogprobs: c.refTokenLogprobs ?? ids.map(() => -1), proxy: c.proxy, gold: c.gold === undefined ? c.proxy : c.gold,
    };
    if (c.steeredLogprob !== undefined) out.steeredLogprob = c.steeredLogprob;
    return out;
  });
  const u = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) u[i * m + j] = utility ? (utility[i]?.[j] as number) : i === j ? 1 : 0;
  return {
    key, strength: null, promptIndex: 0, prompt: 'p', candidates, utility: u, invalid: [],
    timing: { generateMs: 100, generatedTokens: candidates.reduce((s, c) => s + c.ids.length, 0), forwardPasses: 0, prefillPasses: 1, scoreMs: 0, captureMs: 10, captureForwardPasses: 1, rewardMs: 20, utilityMs: 30 },
  };
}

/** A seeded uniform generator for building random pools (mulberry32). */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
