/** The top principal component of a set of rows, shared by the PCA direction methods. */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { InvalidArgumentError } from '../errors.js';
import { argmax } from '../math/stats.js';
import { l2norm } from './samples.js';

/** Top eigenvector of the covariance of the rows of `x` ([n, H]) after centring them. */
export function firstPrincipalComponent(x: Float64Array, n: number, H: number): Float64Array {
  if (n < 2) throw new InvalidArgumentError('PCA needs at least two samples');
  const mean = new Float64Array(H);
  for (let r = 0; r < n; r++) for (let h = 0; h < H; h++) mean[h] = (mean[h] as number) + (x[r * H + h] as number) / n;
  const cov = new Matrix(H, H);
  const row = new Float64Array(H);
  for (let r = 0; r < n; r++) {
    for (let h = 0; h < H; h++) row[h] = (x[r * H + h] as number) - (mean[h] as number);
    for (let i = 0; i < H; i++) {
      const xi = row[i] as number;
      if (xi === 0) continue;
      for (let j = i; j < H; j++) cov.set(i, j, cov.get(i, j) + xi * (row[j] as number));
    }
  }
  for (let i = 0; i < H; i++) for (let j = 0; j < i; j++) cov.set(i, j, cov.get(j, i));
  const evd = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const v = Float64Array.from(evd.eigenvectorMatrix.getColumn(argmax(values)));
  const norm = l2norm(v);
  if (!(norm > 0)) throw new InvalidArgumentError('PCA found no direction (all samples identical?)');
  for (let h = 0; h < H; h++) v[h] = (v[h] as number) / norm;
  return v;
}
