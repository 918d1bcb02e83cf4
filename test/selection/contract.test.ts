/**
 * The selector contract: every registered selector, given only what its
 * `needs` declares, picks a valid index on a small pool, and picks the
 * candidate that is best on everything it reads (highest reward, highest
 * mean utility, highest reference log-prob, shortest) wherever it stands.
 * A new selector file is covered without a new test.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_SELECTORS } from '../../src/selection/builtin.generated.js';
import { selectorNames, selectorSpec } from '../../src/selection/registry.js';
import type { SelectionInput } from '../../src/selection/selectors.js';
import type { SelectorSpec } from '../../src/selection/spec.js';

const N = 5;

/** A pool where candidate `best` dominates on every signal; only what the selector declares is passed. */
function pool(spec: SelectorSpec, best: number, seed: number): SelectionInput {
  let state = seed;
  const noise = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
  const input: SelectionInput = {};
  const n = spec.needs;
  if (n.rewards) input.rewards = Array.from({ length: N }, (_, i) => (i === best ? 5 : noise()));
  if (n.logprobs) input.logprobs = Array.from({ length: N }, (_, i) => (i === best ? -1 : -10 - noise()));
  if (n.lengths) input.lengths = Array.from({ length: N }, (_, i) => (i === best ? 1 : 10 + Math.floor(10 * noise())));
  if (n.utility) {
    const u = new Float64Array(N * N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) u[i * N + j] = i === j ? 1 : i === best || j === best ? 0.8 : 0.2 * noise();
    for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) u[i * N + j] = u[j * N + i] as number;
    input.utility = u;
  }
  if (n.beta) input.beta = 0.01;
  if (n.rng) input.rng = noise;
  return input;
}

describe('selector contract', () => {
  it('every built-in selector is registered', () => {
    expect(BUILTIN_SELECTORS.length).toBeGreaterThan(0);
    for (const s of BUILTIN_SELECTORS) expect(selectorNames()).toContain(s.name);
  });

  for (const name of selectorNames()) {
    it(`${name}: picks the dominant candidate from what it declares it needs`, () => {
      const spec = selectorSpec(name);
      expect(Object.values(spec.needs).some(Boolean), `${name} declares no needs`).toBe(true);
      for (const best of [0, 2, N - 1]) {
        for (const seed of [1, 7, 42]) {
          const out = spec.select(pool(spec, best, seed));
          expect(Number.isInteger(out.index) && out.index >= 0 && out.index < N).toBe(true);
          expect(out.objective).toHaveLength(N);
          expect(out.index, `${name}, best at ${best}, seed ${seed}`).toBe(best);
        }
      }
    });

    it(`${name}: its KL bound, if any, is between 0 and log N`, () => {
      const bound = selectorSpec(name).klBound?.(N);
      if (!bound) return;
      expect(bound.value).toBeGreaterThanOrEqual(0);
      expect(bound.value).toBeLessThanOrEqual(Math.log(N) + 1e-12);
      expect(bound.formula.length).toBeGreaterThan(0);
    });
  }
});
