/**
 * A closed-form stand-in for RAHF's LoRA step: per site, a rank-r ridge map
 * from the activation h to the per-token representation difference δ,
 *
 *   δ ≈ b + (h·V)·Uᵀ,     V, U: [hidden, r],
 *
 * applied at inference as h' = h + α·(b + (h·V)·Uᵀ) (the steer input carries
 * α·b, the low-rank inputs the map). The fit is reduced-rank ridge
 * regression (Mukherjee & Zhu 2011): with centred X (activations) and Y
 * (differences), the ridge solution W = (XᵀX + λI)⁻¹XᵀY is projected onto
 * the top-r principal directions P_r of its fitted values XW, so V = W·P_r
 * and U = P_r; the intercept is b = ȳ − (x̄·V)·Uᵀ (or none, b = 0, with
 * `intercept: false`, where X and Y are not centred).
 *
 * The rank and λ are chosen by held-out fit: k folds over pairs (all tokens
 * of a pair stay together), pooled R² = 1 − ΣSSE / ΣSST with SST around each
 * held-out fold's own mean. The constant predictor (the training mean of δ,
 * i.e. the mean-difference vector) is scored the same way, so a map is worth
 * its cost only where its R² beats `r2Constant`. λ is searched as a multiple
 * of trace(XᵀX)/hidden, so the grid does not depend on the residual's scale.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { InvalidArgumentError } from '../errors.js';
import type { LowRankArrays, LowRankFit } from './format.js';
import { foldAssignment } from './separability.js';

export interface LowRankData {
  hidden: number;
  count: number;
  /** Activations h of the model to steer, row-major [count, hidden]. */
  x: Float32Array;
  /** Differences δ, row-major [count, hidden]. */
  y: Float32Array;
  /** Pair (group) of each row, 0 … pairs − 1. */
  group: Int32Array;
  pairs: number;
}

export interface LowRankFitOptions {
  /** Ranks to try (default 1, 2, 4, 8, 16, 32, 64 below the hidden size). */
  ranks?: readonly number[];
  /** λ as multiples of trace(XᵀX)/hidden (default 1e-4 … 10). */
  lambdaScales?: readonly number[];
  folds?: number;
  intercept?: boolean;
}

export interface LowRankResult {
  map: LowRankArrays;
  /** The intercept b (zeros without one). */
  bias: Float32Array;
  fit: LowRankFit;
  /** Held-out R² for every (rank, λ scale) tried. */
  grid: { rank: number; lambdaScale: number; r2: number }[];
}

export const DEFAULT_RANKS = [1, 2, 4, 8, 16, 32, 64];
export const DEFAULT_LAMBDA_SCALES = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

/** Eigenpairs of a symmetric H×H matrix, eigenvalues descending; vectors as columns of a row-major array. */
function eigh(a: Float64Array, H: number): { values: Float64Array; vectors: Float64Array } {
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(H, H, a), { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const order = vals.map((_, i) => i).sort((i, j) => (vals[j] as number) - (vals[i] as number));
  const m = evd.eigenvectorMatrix;
  const vectors = new Float64Array(H * H);
  order.forEach((src, col) => { for (let r = 0; r < H; r++) vectors[r * H + col] = m.get(r, src); });
  return { values: Float64Array.from(order, (i) => vals[i] as number), vectors };
}

/** C = A·B for row-major H×H matrices. */
function matmul(a: Float64Array, b: Float64Array, H: number): Float64Array {
  const c = new Float64Array(H * H);
  for (let i = 0; i < H; i++) {
    for (let k = 0; k < H; k++) {
      const aik = a[i * H + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < H; j++) c[i * H + j] = (c[i * H + j] as number) + aik * (b[k * H + j] as number);
    }
  }
  return c;
}

/** Aᵀ·B for row-major H×H matrices. */
function matmulTA(a: Float64Array, b: Float64Array, H: number): Float64Array {
  const c = new Float64Array(H * H);
  for (let k = 0; k < H; k++) {
    for (let i = 0; i < H; i++) {
      const aki = a[k * H + i] as number;
      if (aki === 0) continue;
      for (let j = 0; j < H; j++) c[i * H + j] = (c[i * H + j] as number) + aki * (b[k * H + j] as number);
    }
  }
  return c;
}

interface Moments { mx: Float64Array; my: Float64Array; sxx: Float64Array; sxy: Float64Array; n: number }

function moments(d: LowRankData, rows: readonly number[], intercept: boolean): Moments {
  const H = d.hidden;
  const mx = new Float64Array(H);
  const my = new Float64Array(H);
  if (intercept) {
    for (const r of rows) for (let h = 0; h < H; h++) { mx[h] = (mx[h] as number) + (d.x[r * H + h] as number); my[h] = (my[h] as number) + (d.y[r * H + h] as number); }
    for (let h = 0; h < H; h++) { mx[h] = (mx[h] as number) / rows.length; my[h] = (my[h] as number) / rows.length; }
  }
  const sxx = new Float64Array(H * H);
  const sxy = new Float64Array(H * H);
  const xc = new Float64Array(H);
  const yc = new Float64Array(H);
  for (const r of rows) {
    for (let h = 0; h < H; h++) { xc[h] = (d.x[r * H + h] as number) - (mx[h] as number); yc[h] = (d.y[r * H + h] as number) - (my[h] as number); }
    for (let i = 0; i < H; i++) {
      const xi = xc[i] as number;
      if (xi === 0) continue;
      for (let j = i; j < H; j++) sxx[i * H + j] = (sxx[i * H + j] as number) + xi * (xc[j] as number);
      for (let j = 0; j < H; j++) sxy[i * H + j] = (sxy[i * H + j] as number) + xi * (yc[j] as number);
    }
  }
  for (let i = 0; i < H; i++) for (let j = 0; j < i; j++) sxx[i * H + j] = sxx[j * H + i] as number;
  return { mx, my, sxx, sxy, n: rows.length };
}

/** Ridge W for penalty λ from the eigenpairs of Sxx, and the principal directions P of its fitted values. */
function ridge(m: Moments, eig: { values: Float64Array; vectors: Float64Array }, lambda: number, H: number): { w: Float64Array; p: Float64Array } {
  // W = Q diag(1/(e+λ)) Qᵀ Sxy
  const qtS = matmulTA(eig.vectors, m.sxy, H);
  for (let i = 0; i < H; i++) {
    const k = 1 / Math.max((eig.values[i] as number) + lambda, 1e-300);
    for (let j = 0; j < H; j++) qtS[i * H + j] = (qtS[i * H + j] as number) * k;
  }
  const w = matmul(eig.vectors, qtS, H);
  // Fitted-value covariance Wᵀ Sxx W; its top eigenvectors are the output directions of the best rank-r map.
  const fitted = matmulTA(w, matmul(m.sxx, w, H), H);
  return { w, p: eigh(fitted, H).vectors };
}

export function fitLowRankMap(d: LowRankData, options: LowRankFitOptions = {}): LowRankResult {
  const H = d.hidden;
  const intercept = options.intercept ?? true;
  const folds = Math.min(options.folds ?? 5, d.pairs);
  const ranks = [...new Set(options.ranks ?? DEFAULT_RANKS.filter((r) => r < H))].sort((a, b) => a - b);
  const scales = options.lambdaScales ?? DEFAULT_LAMBDA_SCALES;
  for (const r of ranks) {
    if (!Number.isInteger(r) || r < 1 || r >= H) throw new InvalidArgumentError(`low-rank map rank must be an integer in [1, ${H - 1}] (below the hidden size ${H}), got ${r}`);
  }
  if (ranks.length === 0) throw new InvalidArgumentError('no ranks to try');
  for (const s of scales) if (!(s > 0) || !Number.isFinite(s)) throw new InvalidArgumentError(`ridge λ scales must be finite and > 0, got ${s}`);
  if (d.count < 2 || d.x.length !== d.count * H || d.y.length !== d.count * H) throw new InvalidArgumentError(`a low-rank fit needs at least two samples of ${H} values (got ${d.count})`);
  if (folds < 2) throw new InvalidArgumentError(`choosing a low-rank map by held-out fit needs at least two pairs (got ${d.pairs})`);
  const foldOf = foldAssignment(d.pairs, folds);
  const maxRank = ranks[ranks.length - 1] as number;
  const sse = new Float64Array(ranks.length * scales.length);
  let sst = 0;
  let sseConstant = 0;
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let r = 0; r < d.count; r++) (foldOf[d.group[r] as number] === f ? test : train).push(r);
    if (test.length === 0 || train.length === 0) continue;
    const m = moments(d, train, intercept);
    const eig = eigh(m.sxx, H);
    let trace = 0;
    for (let i = 0; i < H; i++) trace += m.sxx[i * H + i] as number;
    // Held-out variance around the fold's own mean, and the constant predictor's error.
    const testMean = new Float64Array(H);
    for (const r of test) for (let h = 0; h < H; h++) testMean[h] = (testMean[h] as number) + (d.y[r * H + h] as number) / test.length;
    const trainMean = new Float64Array(H);
    for (const r of train) for (let h = 0; h < H; h++) trainMean[h] = (trainMean[h] as number) + (d.y[r * H + h] as number) / train.length;
    for (const r of test) {
      for (let h = 0; h < H; h++) {
        const y = d.y[r * H + h] as number;
        sst += (y - (testMean[h] as number)) ** 2;
        sseConstant += (y - (trainMean[h] as number)) ** 2;
      }
    }
    const xc = new Float64Array(H);
    const yc = new Float64Array(H);
    scales.forEach((scale, li) => {
      const { w, p } = ridge(m, eig, scale * (trace / H), H);
      const wp = matmul(w, p, H);
      for (const r of test) {
        for (let h = 0; h < H; h++) { xc[h] = (d.x[r * H + h] as number) - (m.mx[h] as number); yc[h] = (d.y[r * H + h] as number) - (m.my[h] as number); }
        let total = 0;
        for (let h = 0; h < H; h++) total += (yc[h] as number) ** 2;
        // Coordinates of the prediction (a) and of the target (b) along P; the rank-r error is ‖y‖² − Σ_{c<r} (2·a_c·b_c − a_c²).
        let acc = 0;
        let ri = 0;
        for (let c = 0; c < maxRank; c++) {
          let a = 0;
          let b = 0;
          for (let h = 0; h < H; h++) { a += (xc[h] as number) * (wp[h * H + c] as number); b += (yc[h] as number) * (p[h * H + c] as number); }
          acc += 2 * a * b - a * a;
          if (c + 1 === ranks[ri]) {
            sse[ri * scales.length + li] = (sse[ri * scales.length + li] as number) + total - acc;
            ri++;
          }
        }
      }
    });
  }
  if (!(sst > 0)) throw new InvalidArgumentError('the differences do not vary: there is nothing for a low-rank map to fit');
  const grid: LowRankResult['grid'] = [];
  let best = { rank: ranks[0] as number, lambdaScale: scales[0] as number, r2: -Infinity };
  ranks.forEach((rank, ri) => scales.forEach((lambdaScale, li) => {
    const r2 = 1 - (sse[ri * scales.length + li] as number) / sst;
    grid.push({ rank, lambdaScale, r2 });
    if (r2 > best.r2) best = { rank, lambdaScale, r2 };
  }));
  // The final map on every sample.
  const all = Array.from({ length: d.count }, (_, i) => i);
  const m = moments(d, all, intercept);
  const eig = eigh(m.sxx, H);
  let trace = 0;
  for (let i = 0; i < H; i++) trace += m.sxx[i * H + i] as number;
  const lambda = best.lambdaScale * (trace / H);
  const { w, p } = ridge(m, eig, lambda, H);
  const r = best.rank;
  const v = new Float32Array(H * r);
  const u = new Float32Array(H * r);
  const wp = matmul(w, p, H);
  for (let h = 0; h < H; h++) for (let c = 0; c < r; c++) { v[h * r + c] = wp[h * H + c] as number; u[h * r + c] = p[h * H + c] as number; }
  const bias = new Float32Array(H);
  if (intercept) {
    // b = ȳ − (x̄·V)·Uᵀ
    const xv = new Float64Array(r);
    for (let c = 0; c < r; c++) { let s = 0; for (let h = 0; h < H; h++) s += (m.mx[h] as number) * (v[h * r + c] as number); xv[c] = s; }
    for (let j = 0; j < H; j++) { let s = 0; for (let c = 0; c < r; c++) s += (xv[c] as number) * (u[j * r + c] as number); bias[j] = (m.my[j] as number) - s; }
  }
  return {
    map: { rank: r, v, u },
    bias,
    fit: { rank: r, lambda, lambdaScale: best.lambdaScale, r2: best.r2, r2Constant: 1 - sseConstant / sst, folds, samples: d.count, intercept },
    grid,
  };
}
