/**
 * Token selection from one row's (processed) logits: greedy argmax, or a draw
 * after top-k, top-p and min-p filtering. Buffers are allocated once per
 * sampler and reused for every token.
 */
import type { Rng } from '../math/rng.js';

export interface SamplerOptions {
  /** 0 means greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
  minP?: number;
}

export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) { bestValue = v; best = i; }
  }
  return best;
}

/** log-softmax value of entry `index` (numerically stable, no allocation). */
export function logSoftmaxAt(logits: Float32Array, index: number, offset = 0, length = logits.length - offset): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) { const v = logits[offset + i] as number; if (v > max) max = v; }
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp((logits[offset + i] as number) - max);
  return (logits[offset + index] as number) - max - Math.log(sum);
}

export class Sampler {
  private readonly opts: SamplerOptions;
  private probs: Float32Array;
  private order: Uint32Array;
  /** log Σ exp(logits) of the last sampled row (NaN after a greedy pick). */
  lastLogPartition = Number.NaN;

  constructor(vocabSize: number, options: SamplerOptions) {
    this.opts = options;
    this.probs = new Float32Array(vocabSize);
    this.order = new Uint32Array(vocabSize);
  }

  get greedy(): boolean { return this.opts.temperature === 0; }

  /** Picks a token from logits (already processed, temperature applied). */
  sample(logits: Float32Array, rng: Rng): number {
    this.lastLogPartition = Number.NaN;
    if (this.greedy) return argmax(logits);
    const n = logits.length;
    if (this.probs.length < n) { this.probs = new Float32Array(n); this.order = new Uint32Array(n); }
    const probs = this.probs;
    let max = -Infinity;
    for (let i = 0; i < n; i++) { const v = logits[i] as number; if (v > max) max = v; }
    let sum = 0;
    for (let i = 0; i < n; i++) { const p = Math.exp((logits[i] as number) - max); probs[i] = p; sum += p; }
    const inv = 1 / sum;
    for (let i = 0; i < n; i++) probs[i] = (probs[i] as number) * inv;
    this.lastLogPartition = max + Math.log(sum);

    // Candidates sorted by probability (descending, ties by index), cut by top-k, min-p, top-p.
    const { topK = 0, topP = 1, minP = 0 } = this.opts;
    let limit = topK > 0 ? Math.min(topK, n) : n;
    if (minP > 0) {
      const threshold = minP * (probs[argmax(probs)] as number);
      let kept = 0;
      for (let i = 0; i < n; i++) if ((probs[i] as number) >= threshold) kept++;
      limit = Math.min(limit, kept);
    }
    if (limit === n && topP >= 1) {
      // Nothing is filtered: draw from the whole distribution in index order, no sorting.
      const u = rng.next();
      let acc = 0;
      for (let i = 0; i < n; i++) {
        acc += probs[i] as number;
        if (u < acc) return i;
      }
      return lastPositive(probs);
    }
    const count = this.topIndices(limit, topP);
    let mass = 0;
    for (let j = 0; j < count; j++) mass += probs[this.order[j] as number] as number;
    const u = rng.next() * mass;
    let acc = 0;
    for (let j = 0; j < count; j++) {
      const idx = this.order[j] as number;
      acc += probs[idx] as number;
      if (u < acc) return idx;
    }
    return this.order[count - 1] as number;
  }

  /**
   * Puts the most probable `limit` indices first in `order` (sorted), then
   * shortens the list to the smallest prefix whose mass reaches `topP`.
   * Sorts a growing prefix (64, 256, …) so peaked distributions stay cheap.
   */
  private topIndices(limit: number, topP: number): number {
    const probs = this.probs;
    const n = probs.length;
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = i;
    const better = (a: number, b: number) => {
      const pa = probs[a] as number;
      const pb = probs[b] as number;
      return pa > pb || (pa === pb && a < b);
    };
    let k = Math.min(limit, 64);
    for (;;) {
      selectTop(order, n, k, better);
      const head = order.subarray(0, k);
      head.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
      let acc = 0;
      for (let j = 0; j < k; j++) {
        acc += probs[order[j] as number] as number;
        if (topP < 1 && acc >= topP) return j + 1;
      }
      if (k >= limit) return k;
      k = Math.min(limit, k * 4);
    }
  }
}

function lastPositive(probs: Float32Array): number {
  for (let i = probs.length - 1; i > 0; i--) if ((probs[i] as number) > 0) return i;
  return 0;
}

/** Partitions `order[0..n)` so its first k entries are the k best (unsorted): quickselect. */
function selectTop(order: Uint32Array, n: number, k: number, better: (a: number, b: number) => boolean): void {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = order[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (better(order[i] as number, pivot)) i++;
      while (better(pivot, order[j] as number)) j--;
      if (i <= j) {
        const t = order[i] as number; order[i] = order[j] as number; order[j] = t;
        i++; j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else return;
  }
}
