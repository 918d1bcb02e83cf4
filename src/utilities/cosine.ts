/**
 * Cosine similarity of vectors, and the N×N cosine matrix computed the cheap
 * way: every vector is normalised once into one packed float64 buffer, then
 * the Gram matrix of the unit rows is filled with one tight loop over the
 * upper triangle and mirrored. No per-pair allocation. A zero vector has
 * cosine 0 with everything, itself included.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';

/** Vectors as separate arrays, or packed row-major (`data.length = count·dim`). */
export type VectorSet = readonly ArrayLike<number>[] | { data: ArrayLike<number>; count: number; dim: number };

/** cos(a, b) = ⟨a, b⟩ / (‖a‖‖b‖), 0 when either is zero; clamped to [−1, 1]. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ShapeMismatchError(`cosine of vectors of length ${a.length} and ${b.length}`);
  let dot = 0; let na = 0; let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number; const y = b[i] as number;
    dot += x * y; na += x * x; nb += y * y;
  }
  if (na === 0 || nb === 0) return 0;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}

/** Packs `vectors` into unit rows (float64, row-major); zero rows stay zero. */
export function unitRows(vectors: VectorSet): { data: Float64Array; count: number; dim: number } {
  const packed = 'data' in vectors ? vectors : undefined;
  const list = 'data' in vectors ? undefined : vectors;
  const count = packed ? packed.count : (list as readonly ArrayLike<number>[]).length;
  const dim = packed ? packed.dim : (list?.[0]?.length ?? 0);
  if (packed && packed.data.length !== count * dim) throw new ShapeMismatchError(`packed vectors hold ${packed.data.length} values, expected ${count}×${dim}`);
  const data = new Float64Array(count * dim);
  for (let i = 0; i < count; i++) {
    const row = packed ? packed.data : (list?.[i] as ArrayLike<number>);
    const base = packed ? i * dim : 0;
    if (!packed && row.length !== dim) throw new ShapeMismatchError(`vector ${i} has length ${row.length}, expected ${dim}`);
    let norm = 0;
    for (let k = 0; k < dim; k++) { const v = row[base + k] as number; data[i * dim + k] = v; norm += v * v; }
    if (!Number.isFinite(norm)) throw new InvalidArgumentError(`vector ${i} has a non-finite value`);
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let k = 0; k < dim; k++) data[i * dim + k] = (data[i * dim + k] as number) * inv;
    }
  }
  return { data, count, dim };
}

/**
 * The N×N matrix m[i·N + j] = cos(v_i, v_j), written into `out` when given
 * (length N², reused across calls) or a new Float64Array.
 */
export function cosineMatrix(vectors: VectorSet, out?: Float64Array): Float64Array {
  const { data, count: n, dim } = unitRows(vectors);
  const m = out ?? new Float64Array(n * n);
  if (m.length !== n * n) throw new ShapeMismatchError(`output buffer has ${m.length} entries, expected ${n}×${n}`);
  for (let i = 0; i < n; i++) {
    const a = i * dim;
    for (let j = i; j < n; j++) {
      const b = j * dim;
      let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
      let k = 0;
      for (; k + 3 < dim; k += 4) {
        s0 += (data[a + k] as number) * (data[b + k] as number);
        s1 += (data[a + k + 1] as number) * (data[b + k + 1] as number);
        s2 += (data[a + k + 2] as number) * (data[b + k + 2] as number);
        s3 += (data[a + k + 3] as number) * (data[b + k + 3] as number);
      }
      for (; k < dim; k++) s0 += (data[a + k] as number) * (data[b + k] as number);
      const c = Math.max(-1, Math.min(1, s0 + s1 + s2 + s3));
      m[i * n + j] = c;
      m[j * n + i] = c;
    }
  }
  return m;
}
