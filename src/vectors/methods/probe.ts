/**
 * `probe`: steering-vectors' `logistic` aggregator, L2-regularised logistic
 * regression without intercept on the midpoint-centred rows (pos − mid
 * labelled +1, neg − mid labelled −1); the unit weight vector.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { DirectionMethod, MethodSpec } from '../method-types.js';
import { assertSamples, differences, l2norm, orient } from '../samples.js';

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

const spec: MethodSpec = { order: 4, name: 'probe', description: 'logistic-regression weight direction (steering-vectors logistic)', unitNorm: true, create: () => probe() };

export default spec;
