/**
 * `mean-diff`: the mean of (pos − neg) over samples, unnormalised (CAA,
 * RAHF's training-free variant, steering-vectors' `mean`).
 */
import type { DirectionMethod, MethodSpec } from '../method-types.js';
import { assertSamples, orient } from '../samples.js';

export function meanDiff(): DirectionMethod {
  return (s) => {
    assertSamples(s, 'mean-diff');
    const H = s.hidden;
    const sum = new Float64Array(H);
    for (let r = 0; r < s.count; r++) {
      for (let h = 0; h < H; h++) sum[h] = (sum[h] as number) + (s.pos[r * H + h] as number) - (s.neg[r * H + h] as number);
    }
    for (let h = 0; h < H; h++) sum[h] = (sum[h] as number) / s.count;
    return orient(s, sum);
  };
}

const spec: MethodSpec = { order: 1, name: 'mean-diff', description: 'mean of per-sample differences (CAA, RAHF training-free)', unitNorm: false, create: meanDiff };

export default spec;
