/**
 * Contrast samples: row-major [count, hidden] activations of the preferred
 * (`pos`) and dispreferred (`neg`) side, with the pair each row came from.
 * Small linear-algebra helpers on them live here too.
 */
import { InvalidArgumentError } from '../errors.js';

export interface ContrastSamples {
  hidden: number;
  /** Number of rows (pairs, or aligned tokens for per-token reads). */
  count: number;
  pos: Float32Array;
  neg: Float32Array;
  /** Pair index of each row. */
  pair: Int32Array;
  /** Number of distinct pairs. */
  pairs: number;
}

/** Rows whose pair satisfies `keep`, as new samples (pair indices renumbered densely). */
export function selectPairs(s: ContrastSamples, keep: (pair: number) => boolean): ContrastSamples {
  const H = s.hidden;
  const rows: number[] = [];
  for (let r = 0; r < s.count; r++) if (keep(s.pair[r] as number)) rows.push(r);
  const pos = new Float32Array(rows.length * H);
  const neg = new Float32Array(rows.length * H);
  const pair = new Int32Array(rows.length);
  const renumber = new Map<number, number>();
  rows.forEach((r, i) => {
    pos.set(s.pos.subarray(r * H, (r + 1) * H), i * H);
    neg.set(s.neg.subarray(r * H, (r + 1) * H), i * H);
    const p = s.pair[r] as number;
    if (!renumber.has(p)) renumber.set(p, renumber.size);
    pair[i] = renumber.get(p) as number;
  });
  return { hidden: H, count: rows.length, pos, neg, pair, pairs: renumber.size };
}

/** Per-row differences pos − neg, in float64, [count, hidden]. */
export function differences(s: ContrastSamples): Float64Array {
  const d = new Float64Array(s.count * s.hidden);
  for (let i = 0; i < d.length; i++) d[i] = (s.pos[i] as number) - (s.neg[i] as number);
  return d;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, offsetA = 0, n = b.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[offsetA + i] as number) * (b[i] as number);
  return s;
}

export function l2norm(v: ArrayLike<number>): number {
  return Math.sqrt(dot(v, v));
}

/** Projections of every pos and neg row on `v`. */
export function projections(s: ContrastSamples, v: ArrayLike<number>): { pos: Float64Array; neg: Float64Array } {
  const H = s.hidden;
  const pos = new Float64Array(s.count);
  const neg = new Float64Array(s.count);
  for (let r = 0; r < s.count; r++) {
    pos[r] = dot(s.pos, v, r * H, H);
    neg[r] = dot(s.neg, v, r * H, H);
  }
  return { pos, neg };
}

/** Per-pair mean projection gap (pos − neg) on `v`, one entry per pair. */
export function pairGaps(s: ContrastSamples, v: ArrayLike<number>): Float64Array {
  const { pos, neg } = projections(s, v);
  const sum = new Float64Array(s.pairs);
  const n = new Float64Array(s.pairs);
  for (let r = 0; r < s.count; r++) {
    const p = s.pair[r] as number;
    sum[p] = (sum[p] as number) + (pos[r] as number) - (neg[r] as number);
    n[p] = (n[p] as number) + 1;
  }
  for (let p = 0; p < s.pairs; p++) sum[p] = (n[p] as number) > 0 ? (sum[p] as number) / (n[p] as number) : 0;
  return sum;
}

/**
 * Orients `v` so the preferred side projects higher: by majority vote over
 * pairs (as repeng does), ties broken by the mean gap. Returns a float32 copy.
 */
export function orient(s: ContrastSamples, v: ArrayLike<number>): Float32Array {
  const gaps = pairGaps(s, v);
  let votes = 0;
  let mean = 0;
  for (const g of gaps) { votes += g > 0 ? 1 : g < 0 ? -1 : 0; mean += g; }
  const flip = votes < 0 || (votes === 0 && mean < 0);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = flip ? -(v[i] as number) : (v[i] as number);
  return out;
}

/** Mean L2 norm of all pos and neg rows: the typical residual size at a site. */
export function meanRowNorm(s: ContrastSamples): number {
  const H = s.hidden;
  let total = 0;
  for (let r = 0; r < s.count; r++) {
    total += Math.sqrt(dot(s.pos, s.pos.subarray(r * H, (r + 1) * H), r * H, H));
    total += Math.sqrt(dot(s.neg, s.neg.subarray(r * H, (r + 1) * H), r * H, H));
  }
  return total / (2 * s.count);
}

/** Norm of the mean difference (pos − neg) over all rows. */
export function meanDifferenceNorm(s: ContrastSamples): number {
  const H = s.hidden;
  const m = new Float64Array(H);
  for (let r = 0; r < s.count; r++) for (let h = 0; h < H; h++) m[h] = (m[h] as number) + ((s.pos[r * H + h] as number) - (s.neg[r * H + h] as number)) / s.count;
  return l2norm(m);
}

export function assertSamples(s: ContrastSamples, what: string): void {
  if (s.count < 1) throw new InvalidArgumentError(`${what} needs at least one contrast sample`);
  if (s.pos.length !== s.count * s.hidden || s.neg.length !== s.count * s.hidden) throw new InvalidArgumentError(`${what}: samples have inconsistent sizes`);
}
