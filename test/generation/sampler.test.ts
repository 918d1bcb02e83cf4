import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/math/rng.js';
import { Sampler, logSoftmaxAt } from '../../src/generation/sampler.js';
import { argmax } from '../../src/math/stats.js';

function frequencies(logits: number[], opts: ConstructorParameters<typeof Sampler>[1], draws = 20_000): number[] {
  const s = new Sampler(logits.length, opts);
  const rng = new Rng(1);
  const counts = new Array<number>(logits.length).fill(0);
  const l = Float32Array.from(logits);
  for (let i = 0; i < draws; i++) counts[s.sample(l, rng)]! += 1;
  return counts.map((c) => c / draws);
}

describe('Sampler', () => {
  it('greedy picks the argmax, lowest index on ties', () => {
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).toBe(1);
    const s = new Sampler(4, { temperature: 0 });
    expect(s.sample(Float32Array.from([0, 5, 1, 5]), new Rng(0))).toBe(1);
  });

  it('samples in proportion to softmax probabilities', () => {
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const f = frequencies(logits, { temperature: 1 });
    expect(f[0]).toBeCloseTo(0.5, 1);
    expect(f[1]).toBeCloseTo(0.3, 1);
    expect(f[2]).toBeCloseTo(0.2, 1);
  });

  it('top-k keeps only the k most likely tokens', () => {
    const f = frequencies([4, 3, 2, 1, 0], { temperature: 1, topK: 2 });
    expect(f[2]! + f[3]! + f[4]!).toBe(0);
    expect(f[0]! / f[1]!).toBeCloseTo(Math.E, 0);
  });

  it('top-p keeps the smallest prefix reaching the mass', () => {
    const p = [0.5, 0.3, 0.15, 0.05];
    const f = frequencies(p.map(Math.log), { temperature: 1, topP: 0.75 });
    expect(f[2]! + f[3]!).toBe(0);
    expect(f[0]).toBeCloseTo(0.5 / 0.8, 1);
  });

  it('min-p drops tokens under p × max', () => {
    const p = [0.6, 0.3, 0.06, 0.04];
    const f = frequencies(p.map(Math.log), { temperature: 1, minP: 0.2 });
    expect(f[2]! + f[3]!).toBe(0);
  });

  it('top-p over a large vocabulary agrees with a full sort (property)', () => {
    fc.assert(fc.property(fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 300, maxLength: 600 }), fc.double({ min: 0.05, max: 0.99, noNaN: true }), (vals, topP) => {
      const logits = Float32Array.from(vals);
      const max = Math.max(...vals.map((v) => Math.fround(v)));
      // Probabilities rounded to float32 as the sampler stores them, so ties agree.
      const probs = Array.from(logits, (v) => Math.fround(Math.exp(v - max)));
      const z = probs.reduce((a, b) => a + b, 0);
      // Mass strictly above each probability: tokens tied with the drawn one are
      // unordered (top-p may keep any of a tie at its boundary), so they do not count.
      const sorted = probs.map((p, i) => ({ p: p / z, i })).sort((a, b) => b.p - a.p);
      const massBefore = new Map<number, number>();
      let acc = 0;
      for (let k = 0; k < sorted.length;) {
        let j = k;
        let tie = 0;
        while (j < sorted.length && sorted[j]!.p === sorted[k]!.p) { massBefore.set(sorted[j]!.i, acc); tie += sorted[j]!.p; j++; }
        acc += tie;
        k = j;
      }
      const s = new Sampler(logits.length, { temperature: 1, topP });
      const rng = new Rng(3);
      for (let k = 0; k < 50; k++) {
        const id = s.sample(logits, rng);
        // Every token ranked before the drawn one leaves the mass short of topP
        // (up to float32 rounding of the probabilities).
        expect(massBefore.get(id)!).toBeLessThan(topP + 1e-5);
      }
    }), { numRuns: 30 });
  });

  it('logSoftmaxAt matches a direct computation', () => {
    const l = Float32Array.from([1, 2, 3, -1]);
    const z = Math.log([1, 2, 3, -1].reduce((s, v) => s + Math.exp(v), 0));
    expect(logSoftmaxAt(l, 2)).toBeCloseTo(3 - z, 6);
    expect(logSoftmaxAt(Float32Array.from([9, 9, 1, 2, 3, -1]), 2, 2, 4)).toBeCloseTo(3 - z, 6);
  });
});
