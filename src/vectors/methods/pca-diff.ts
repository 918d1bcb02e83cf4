/**
 * `pca-diff`: repeng's `pca_diff`, the first principal component of the
 * per-sample differences (PCA centres them first, as scikit-learn does).
 * Unit norm.
 */
import type { DirectionMethod, MethodSpec } from '../method-types.js';
import { firstPrincipalComponent } from '../pca.js';
import { assertSamples, differences, orient } from '../samples.js';

export function pcaDiff(): DirectionMethod {
  return (s) => {
    assertSamples(s, 'pca-diff');
    return orient(s, firstPrincipalComponent(differences(s), s.count, s.hidden));
  };
}

const spec: MethodSpec = { order: 2, name: 'pca-diff', description: 'first principal component of the differences (repeng pca_diff)', unitNorm: true, create: pcaDiff };

export default spec;
