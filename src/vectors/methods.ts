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
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { InvalidArgumentError } from '../errors.js';
import { argmax } from '../math/stats.js';
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
  const v = Float64Array.from(evd.eigenvectorMatrix.getColumn(argmax(values)));
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
    const newton = newtonSolver(x, n, H);
    for (let it = 0; it < maxIterations; it++) {
      const m = margins(w);
      const grad = Float64Array.from(w);
      const curvature = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        const z = m[r] as number;
        const g = 2 * C * sigmoid(-z);
        curvature[r] = 2 * C * sigmoid(z) * sigmoid(-z);
        for (let i = 0; i < H; i++) grad[i] = (grad[i] as number) - g * (x[r * H + i] as number);
      }
      const gnorm = l2norm(grad);
      if (it === 0) firstGrad = gnorm;
      if (gnorm <= tolerance * Math.max(1, firstGrad)) break;
      // Newton step: (I + Xᵀ D X) step = grad.
      const step = newton(curvature, grad);
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

/**
 * Solves (I + Xᵀ D X) s = g for the logistic Hessian (X: n × H rows, D ≥ 0
 * diagonal). With fewer rows than dimensions (the usual case: tens of pairs,
 * hundreds of dimensions) it works in the n × n dual, by Woodbury with
 * S = D^½: s = g − Xᵀ S (I + S X Xᵀ S)⁻¹ S X g; otherwise it solves the
 * H × H primal. Both systems are symmetric positive definite (Cholesky).
 */
function newtonSolver(x: Float64Array, n: number, H: number): (curvature: Float64Array, g: Float64Array) => Float64Array {
  if (n < H) {
    const gram = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++) {
        let d = 0;
        for (let h = 0; h < H; h++) d += (x[a * H + h] as number) * (x[b * H + h] as number);
        gram[a * n + b] = d;
        gram[b * n + a] = d;
      }
    }
    return (curvature, g) => {
      const sq = curvature.map(Math.sqrt);
      const m = new Float64Array(n * n);
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) m[a * n + b] = (a === b ? 1 : 0) + (sq[a] as number) * (gram[a * n + b] as number) * (sq[b] as number);
      const rhs = new Float64Array(n);
      for (let a = 0; a < n; a++) { let d = 0; for (let h = 0; h < H; h++) d += (x[a * H + h] as number) * (g[h] as number); rhs[a] = (sq[a] as number) * d; }
      const y = choleskySolve(m, rhs, n);
      const out = Float64Array.from(g);
      for (let a = 0; a < n; a++) {
        const k = (sq[a] as number) * (y[a] as number);
        if (k !== 0) for (let h = 0; h < H; h++) out[h] = (out[h] as number) - k * (x[a * H + h] as number);
      }
      return out;
    };
  }
  return (curvature, g) => {
    const hess = new Float64Array(H * H);
    for (let i = 0; i < H; i++) hess[i * H + i] = 1;
    for (let r = 0; r < n; r++) {
      const k = curvature[r] as number;
      if (k === 0) continue;
      for (let i = 0; i < H; i++) {
        const xi = k * (x[r * H + i] as number);
        if (xi === 0) continue;
        for (let j = i; j < H; j++) hess[i * H + j] = (hess[i * H + j] as number) + xi * (x[r * H + j] as number);
      }
    }
    for (let i = 0; i < H; i++) for (let j = 0; j < i; j++) hess[i * H + j] = hess[j * H + i] as number;
    return choleskySolve(hess, g, H);
  };
}

/** Solves A x = b for a symmetric positive definite A (row-major, n × n); A is overwritten. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * n + k] as number) ** 2;
    if (!(d > 0)) throw new InvalidArgumentError('probe: the Newton system is not positive definite');
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * n + k] as number) * (a[j * n + k] as number);
      a[i * n + j] = s / l;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) { let s = b[i] as number; for (let k = 0; k < i; k++) s -= (a[i * n + k] as number) * (y[k] as number); y[i] = s / (a[i * n + i] as number); }
  const out = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) { let s = y[i] as number; for (let k = i + 1; k < n; k++) s -= (a[k * n + i] as number) * (out[k] as number); out[i] = s / (a[i * n + i] as number); }
  return out;
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
