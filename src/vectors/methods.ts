/**
 * Direction methods: small factories returning typed functions from contrast
 * samples to a direction. Every method orients its result so the preferred
 * side projects higher.
 *
 * - `meanDiff()`: mean of (pos − neg) over samples, unnormalised (CAA, RAHF's
 *   training-free variant, steering-vectors' `mean`).
 * - `pcaDiff()`: repeng's `pca_diff`: the first principal component of the
 *   per-sample differences (PCA centres them first, as scikit-learn does).
 *   Unit norm.
 * - `pcaCenter()`: repeng's `pca_center`: each pair is centred on its
 *   midpoint, both centred rows enter one PCA. Unit norm.
 * - `probe()`: steering-vectors' `logistic` aggregator: L2-regularised
 *   logistic regression without intercept on the midpoint-centred rows
 *   (pos − mid labelled +1, neg − mid labelled −1); the unit weight vector.
 *
 * New methods slot in with `registerMethod`.
 */
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { InvalidArgumentError } from '../errors.js';
import { assertSamples, differences, l2norm, orient, type ContrastSamples } from './samples.js';

export type DirectionMethod = (samples: ContrastSamples) => Float32Array;

export interface MethodSpec {
  name: string;
  description: string;
  /** Whether the method returns unit vectors (strengths are then in residual units). */
  unitNorm: boolean;
  create: () => DirectionMethod;
}

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
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  const v = Float64Array.from(evd.eigenvectorMatrix.getColumn(best));
  const norm = l2norm(v);
  if (!(norm > 0)) throw new InvalidArgumentError('PCA found no direction (all samples identical?)');
  for (let h = 0; h < H; h++) v[h] = (v[h] as number) / norm;
  return v;
}

export function pcaDiff(): DirectionMethod {
  return (s) => {
    assertSamples(s, 'pca-diff');
    return orient(s, firstPrincipalComponent(differences(s), s.count, s.hidden));
  };
}

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

export interface ProbeOptions {
  /** Inverse L2 regularisation strength, as scikit-learn's C (default 1). */
  C?: number;
  maxIterations?: number;
  /** Stop when the Newton step's gradient norm falls below this (relative to the start). */
  tolerance?: number;
}

const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function probe(options: ProbeOptions = {}): DirectionMethod {
  const C = options.C ?? 1;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-10;
  if (!(C > 0)) throw new InvalidArgumentError(`probe C must be > 0, got ${C}`);
  return (s) => {
    assertSamples(s, 'probe');
    const H = s.hidden;
    const n = s.count;
    // Midpoint-centred rows: x = (pos − neg)/2 with label +1, and −x with label −1,
    // contribute identical terms, so each x counts twice.
    const x = differences(s);
    for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) / 2;
    const margins = (w: Float64Array): Float64Array => {
      const m = new Float64Array(n);
      for (let r = 0; r < n; r++) { let z = 0; for (let h = 0; h < H; h++) z += (w[h] as number) * (x[r * H + h] as number); m[r] = z; }
      return m;
    };
    const loss = (w: Float64Array): number => {
      const m = margins(w);
      let l = 0;
      for (let h = 0; h < H; h++) l += 0.5 * (w[h] as number) ** 2;
      for (let r = 0; r < n; r++) l += 2 * C * softplus(-(m[r] as number));
      return l;
    };
    let w = new Float64Array(H);
    let current = loss(w);
    let firstGrad = 0;
    for (let it = 0; it < maxIterations; it++) {
      const m = margins(w);
      const grad = Float64Array.from(w);
      const hess = Matrix.eye(H, H);
      for (let r = 0; r < n; r++) {
        const z = m[r] as number;
        const g = 2 * C * sigmoid(-z);
        const k = 2 * C * sigmoid(z) * sigmoid(-z);
        for (let i = 0; i < H; i++) {
          const xi = x[r * H + i] as number;
          grad[i] = (grad[i] as number) - g * xi;
          if (k === 0 || xi === 0) continue;
          for (let j = i; j < H; j++) hess.set(i, j, hess.get(i, j) + k * xi * (x[r * H + j] as number));
        }
      }
      for (let i = 0; i < H; i++) for (let j = 0; j < i; j++) hess.set(i, j, hess.get(j, i));
      const gnorm = l2norm(grad);
      if (it === 0) firstGrad = gnorm;
      if (gnorm <= tolerance * Math.max(1, firstGrad)) break;
      const step = solve(hess, Matrix.columnVector(Array.from(grad))).getColumn(0);
      // Damped Newton: halve the step until the loss decreases.
      let t = 1;
      let next = w;
      let nextLoss = current;
      for (let k = 0; k < 40; k++) {
        const cand = new Float64Array(H);
        for (let h = 0; h < H; h++) cand[h] = (w[h] as number) - t * (step[h] as number);
        const l = loss(cand);
        if (l < current) { next = cand; nextLoss = l; break; }
        t /= 2;
      }
      if (next === w) break;
      const improvement = current - nextLoss;
      w = next;
      current = nextLoss;
      if (improvement <= 1e-14 * Math.max(1, Math.abs(current))) break;
    }
    const norm = l2norm(w);
    if (!(norm > 0)) throw new InvalidArgumentError('probe found no direction (the two sides are identical?)');
    for (let h = 0; h < H; h++) w[h] = (w[h] as number) / norm;
    return orient(s, w);
  };
}

const REGISTRY = new Map<string, MethodSpec>();

export function registerMethod(spec: MethodSpec): void {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name)) throw new InvalidArgumentError(`method names are lower-case words with dashes, got "${spec.name}"`);
  REGISTRY.set(spec.name, spec);
}

export function methodSpec(name: string): MethodSpec {
  const spec = REGISTRY.get(name);
  if (!spec) throw new InvalidArgumentError(`unknown method "${name}" (available: ${methodNames().join(', ')})`);
  return spec;
}

export function methodNames(): string[] {
  return [...REGISTRY.keys()];
}

registerMethod({ name: 'mean-diff', description: 'mean of per-sample differences (CAA, RAHF training-free)', unitNorm: false, create: meanDiff });
registerMethod({ name: 'pca-diff', description: "first principal component of the differences (repeng pca_diff)", unitNorm: true, create: pcaDiff });
registerMethod({ name: 'pca-center', description: 'first principal component after centring each pair on its midpoint (repeng pca_center)', unitNorm: true, create: pcaCenter });
registerMethod({ name: 'probe', description: 'logistic-regression weight direction (steering-vectors logistic)', unitNorm: true, create: () => probe() });
