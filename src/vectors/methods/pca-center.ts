/**
 * `pca-center`: repeng's `pca_center`, each pair is centred on its
 * midpoint and both centred rows enter one PCA. Unit norm.
 */
import type { DirectionMethod, MethodSpec } from '../method-types.js';
import { firstPrincipalComponent } from '../pca.js';
import { assertSamples, orient } from '../samples.js';

export function pcaCenter(): DirectionMethod {
  return (s) => {
    assertSamples(s, 'pca-center');
    const H = s.hidden;
    const rows = new Float64Array(2 * s.count * H);
    for (let r = 0; r < s.count; r++) {
      for (let h = 0; h < H; h++) {
        const half = ((s.pos[r * H + h] as number) - (s.neg[r * H + h] as number)) / 2;
        rows[2 * r * H + h] = half;
        rows[(2 * r + 1) * H + h] = -half;
      }
    }
    return orient(s, firstPrincipalComponent(rows, 2 * s.count, H));
  };
}

const spec: MethodSpec = { order: 3, name: 'pca-center', description: 'first principal component after centring each pair on its midpoint (repeng pca_center)', unitNorm: true, create: pcaCenter };

export default spec;
