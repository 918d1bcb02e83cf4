/**
 * Lexical utilities in [0, 1].
 *
 * ROUGE-L (Lin 2004), the F1 form (β = 1, symmetric): with LCS the longest
 * common subsequence of the two word sequences,
 *   P = LCS/|y|, R = LCS/|y'|, F = 2PR/(P + R).
 * Words are maximal runs of Unicode letters and digits, lower-cased.
 *
 * chrF (Popović 2015): character n-grams, n = 1..order (default 6), with
 * whitespace removed; per order n, P_n = matches/hyp n-grams and
 * R_n = matches/ref n-grams (clipped counts); chrP and chrR are their
 * arithmetic means over the orders both strings are long enough for, and
 *   chrF_β = (1 + β²)·chrP·chrR / (β²·chrP + chrR), β = 2 by default.
 * (sacrebleu instead averages per-order F-scores; values differ slightly.)
 * chrF is asymmetric: u(y, y') treats y as the hypothesis, y' as the reference.
 *
 * Two empty texts score 1; one empty text scores 0.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { UtilityKind } from '../spec.js';
import { settle, type Utility, type UtilityItem } from '../types.js';

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** LCS length of two id sequences, with a caller-provided scratch row (length ≥ b.length + 1). */
function lcsLength(a: ArrayLike<number>, b: ArrayLike<number>, row: Int32Array): number {
  const m = b.length;
  row.fill(0, 0, m + 1);
  for (let i = 0; i < a.length; i++) {
    let diag = 0; // row[j-1] of the previous i
    const ai = a[i];
    for (let j = 1; j <= m; j++) {
      const up = row[j] as number;
      row[j] = ai === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1] as number);
      diag = up;
    }
  }
  return row[m] as number;
}

function rougeFromLcs(lcs: number, lenA: number, lenB: number): number {
  if (lenA === 0 && lenB === 0) return 1;
  if (lenA === 0 || lenB === 0 || lcs === 0) return 0;
  const p = lcs / lenA;
  const r = lcs / lenB;
  return (2 * p * r) / (p + r);
}

/** Maps word sequences to shared integer ids (for fast comparisons). */
function internAll(texts: readonly string[]): Int32Array[] {
  const ids = new Map<string, number>();
  return texts.map((t) => Int32Array.from(words(t), (w) => {
    let id = ids.get(w);
    if (id === undefined) { id = ids.size; ids.set(w, id); }
    return id;
  }));
}

/** ROUGE-L F1 of two texts. */
export function rougeL(a: string, b: string): number {
  const [x, y] = internAll([a, b]) as [Int32Array, Int32Array];
  return rougeFromLcs(lcsLength(x, y, new Int32Array(y.length + 1)), x.length, y.length);
}

/** The N×N ROUGE-L F1 matrix (symmetric; one scratch row for all pairs). */
export function rougeLMatrix(texts: readonly string[], out?: Float64Array): Float64Array {
  const n = texts.length;
  const seqs = internAll(texts);
  const m = checkOut(out, n);
  const row = new Int32Array(Math.max(0, ...seqs.map((s) => s.length)) + 1);
  for (let i = 0; i < n; i++) {
    const a = seqs[i] as Int32Array;
    for (let j = i; j < n; j++) {
      const b = seqs[j] as Int32Array;
      const v = i === j ? rougeFromLcs(a.length, a.length, a.length) : rougeFromLcs(lcsLength(a, b, row), a.length, b.length);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  return m;
}

export interface ChrFOptions {
  /** Highest character n-gram order (default 6). */
  order?: number;
  /** Recall weight β (default 2). */
  beta?: number;
}

/** Per-order n-gram counts of a text with whitespace removed. */
function charNgrams(text: string, order: number): { counts: Map<string, number>; total: number }[] {
  const chars = Array.from(text.replace(/\s+/gu, ''));
  const out: { counts: Map<string, number>; total: number }[] = [];
  for (let n = 1; n <= order; n++) {
    const counts = new Map<string, number>();
    for (let i = 0; i + n <= chars.length; i++) {
      const g = chars.slice(i, i + n).join('');
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    out.push({ counts, total: Math.max(0, chars.length - n + 1) });
  }
  return out;
}

function resolveChrF(options: ChrFOptions): { order: number; beta: number } {
  const order = options.order ?? 6;
  const beta = options.beta ?? 2;
  if (!Number.isSafeInteger(order) || order < 1) throw new InvalidArgumentError(`chrF order must be a positive integer, got ${order}`);
  if (!(beta > 0) || !Number.isFinite(beta)) throw new InvalidArgumentError(`chrF beta must be positive, got ${beta}`);
  return { order, beta };
}

function chrFFromNgrams(hyp: ReturnType<typeof charNgrams>, ref: ReturnType<typeof charNgrams>, beta: number): number {
  let sumP = 0; let sumR = 0; let orders = 0;
  for (let k = 0; k < hyp.length; k++) {
    const h = hyp[k] as { counts: Map<string, number>; total: number };
    const r = ref[k] as { counts: Map<string, number>; total: number };
    if (h.total === 0 || r.total === 0) continue;
    const [small, large] = h.counts.size <= r.counts.size ? [h.counts, r.counts] : [r.counts, h.counts];
    let match = 0;
    for (const [g, c] of small) { const d = large.get(g); if (d !== undefined) match += Math.min(c, d); }
    sumP += match / h.total;
    sumR += match / r.total;
    orders++;
  }
  if (orders === 0) return (hyp[0]?.total ?? 0) === 0 && (ref[0]?.total ?? 0) === 0 ? 1 : 0;
  const p = sumP / orders;
  const r = sumR / orders;
  const b2 = beta * beta;
  return p + r === 0 ? 0 : ((1 + b2) * p * r) / (b2 * p + r);
}

/** chrF_β of a hypothesis against a reference. */
export function chrF(hypothesis: string, reference: string, options: ChrFOptions = {}): number {
  const { order, beta } = resolveChrF(options);
  return chrFFromNgrams(charNgrams(hypothesis, order), charNgrams(reference, order), beta);
}

/** The N×N chrF matrix: m[i·N + j] = chrF(hyp = y_i, ref = y_j). n-grams are counted once per text. */
export function chrFMatrix(texts: readonly string[], options: ChrFOptions = {}, out?: Float64Array): Float64Array {
  const { order, beta } = resolveChrF(options);
  const n = texts.length;
  const grams = texts.map((t) => charNgrams(t, order));
  const m = checkOut(out, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m[i * n + j] = chrFFromNgrams(grams[i] as ReturnType<typeof charNgrams>, grams[j] as ReturnType<typeof charNgrams>, beta);
  }
  return m;
}

function checkOut(out: Float64Array | undefined, n: number): Float64Array {
  if (out && out.length !== n * n) throw new InvalidArgumentError(`output buffer has ${out.length} entries, expected ${n}×${n}`);
  return out ?? new Float64Array(n * n);
}

function lexicalUtility(spec: string, kind: 'rouge-l' | 'chrf', fn: (texts: string[], out?: Float64Array) => Float64Array): Utility {
  return {
    spec, kind, bounds: [0, 1], symmetric: kind === 'rouge-l', sites: [],
    matrix: (items: readonly UtilityItem[], out?: Float64Array) => settle(() => fn(items.map((it) => it.response), out)),
  };
}

export const rougeLKind: UtilityKind = {
  order: 3, name: 'rouge-l', aliases: ['rougel'], usage: 'rouge-l', description: 'ROUGE-L F1 over words', takesArg: false,
  create: (_arg, spec) => lexicalUtility(spec, 'rouge-l', (t, out) => rougeLMatrix(t, out)),
};

export const chrFKind: UtilityKind = {
  order: 4, name: 'chrf', usage: 'chrf', description: 'chrF over character n-grams (asymmetric)', takesArg: false,
  create: (_arg, spec, ctx) => lexicalUtility(spec, 'chrf', (t, out) => chrFMatrix(t, ctx.chrf, out)),
};

export default [rougeLKind, chrFKind] as const;
