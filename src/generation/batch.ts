/**
 * DecodeBatch: the step-level decode API under continuous batching. Rows
 * join with their own prefilled cache and leave when done; the batch keeps
 * one KV cache whose rows are left-padded to a common length. Padding slots
 * are masked out of attention and each row gets its own position ids, so a
 * row sees exactly its own tokens whatever else is in the batch.
 *
 * Rows are addressed by their index in the batch; `retain()` reorders.
 * Only caches with a time axis (bnsh, stacked) on graphs whose attention
 * honours a left-padding mask can hold rows of different lengths; see
 * `DecodeBatch.supportsRagged`.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../errors.js';
import type { CacheLayout, HooksManifest } from '../hooks/manifest.js';
import { selectCacheRows, type KvCache } from '../runtime/cache.js';
import type { ModelRunner } from '../runtime/runner.js';

/** [outer, batch, mid, time, inner] view of a cache tensor's dims. */
interface Axes { outer: number; mid: number; inner: number }

function axesOf(layout: CacheLayout, dims: readonly number[]): Axes {
  if (layout.kind === 'stacked') return { outer: dims[0] ?? 2, mid: dims[2] ?? 1, inner: dims[4] ?? 1 };
  if (layout.kind === 'bnsh') return { outer: 1, mid: dims[1] ?? 1, inner: dims[3] ?? 1 };
  throw new InvalidArgumentError(`a ${layout.kind} cache cannot hold rows of different lengths`);
}

function withDims(layout: CacheLayout, dims: readonly number[], batch: number, time: number): number[] {
  const out = [...dims];
  if (layout.kind === 'stacked') { out[1] = batch; out[3] = time; } else { out[0] = batch; out[2] = time; }
  return out;
}

interface Part { cache: KvCache; rows: readonly number[]; shift: number }

/**
 * Copies rows of several caches into one of time length `length`: row r of
 * part p lands at the part's offset with its time slice [from, L_p) written
 * at `shift + from …` (shift may be negative to drop leading slots).
 */
function gather(layout: CacheLayout, parts: readonly Part[], length: number, drop: number[]): KvCache {
  const batch = parts.reduce((n, p) => n + p.rows.length, 0);
  const tensors = new Map<string, ort.Tensor>();
  const first = parts[0];
  if (!first) throw new InvalidArgumentError('nothing to gather');
  for (const name of first.cache.tensors.keys()) {
    const t0 = first.cache.tensors.get(name) as ort.Tensor;
    const { outer, mid, inner } = axesOf(layout, t0.dims);
    const Ctor = (t0.data as Float32Array | Uint16Array).constructor as Float32ArrayConstructor | Uint16ArrayConstructor;
    const out = new Ctor(outer * batch * mid * length * inner);
    let rowOffset = 0;
    parts.forEach((p, pi) => {
      const t = p.cache.tensors.get(name) as ort.Tensor;
      const src = t.data as Float32Array | Uint16Array;
      const pb = p.cache.batch;
      const pl = p.cache.length;
      const from = drop[pi] ?? 0;
      const count = pl - from;
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < p.rows.length; r++) {
          const sr = p.rows[r] as number;
          for (let m = 0; m < mid; m++) {
            const s = (((o * pb + sr) * mid + m) * pl + from) * inner;
            const d = (((o * batch + rowOffset + r) * mid + m) * length + from + p.shift) * inner;
            out.set(src.subarray(s, s + count * inner), d);
          }
        }
      }
      rowOffset += p.rows.length;
    });
    tensors.set(name, new ort.Tensor(t0.type as 'float32', out as Float32Array, withDims(layout, t0.dims, batch, length)));
  }
  return { batch, length, tensors };
}

/**
 * The K stride onnxruntime's CPU SGEMM (MLAS) splits a product of inner
 * dimension K into when its output has `n` columns: 128, doubled each time
 * the N stride (128) halves down to 16 while it still covers `n`. Attention
 * weights × V has n = head size and K = cached positions, so its sums run
 * in blocks of this many positions (256 for head size 64, 1024 for 16).
 */
export function sgemmKStride(n: number): number {
  let strideN = 128;
  let strideK = 128;
  while (strideN > 16 && strideN / 2 >= n) { strideK *= 2; strideN /= 2; }
  return strideK;
}

/** The positions per summation block of the attention × V product on this model (Infinity when unknown). */
function attentionBlock(manifest: HooksManifest): number {
  const kind = manifest.cache.kind;
  return kind === 'bnsh' || kind === 'stacked' ? sgemmKStride(manifest.cache.headDim) : Infinity;
}

export class DecodeBatch {
  private readonly runner: ModelRunner;
  private readonly layout: CacheLayout;
  private cache: KvCache | undefined;
  /** Masked slots at the front of each row's cache. */
  private pads: number[] = [];
  /** The most real positions each row will attend over in its life (Infinity: unknown). */
  private finals: number[] = [];

  /**
   * Row padding is kept to multiples of `alignment` slots. onnxruntime's CPU
   * softmax and attention kernels sum in SIMD lanes, so a row shifted by a
   * padding that is not a multiple of the lane group gets logits that differ
   * in the last bits from the same row alone (measured: about 1e-5 for a
   * shift of 1 or 2, bitwise equal for multiples of 4, onnxruntime 1.30 on
   * AVX-512). With aligned padding a row's logits do not depend on the batch.
   */
  readonly alignment: number;
  /**
   * Summation block of the attention × V product, in positions (see
   * sgemmKStride). The product sums each block of cached positions, then
   * adds the blocks, so a row whose padding moves its positions across a
   * block boundary gets different last bits than alone (measured on head
   * size 64: exact while a padded row's positions stay inside one block of
   * 256, about 1e-6 off once they straddle one). A row may therefore carry
   * padding that is a multiple of the block, or padding that keeps its whole
   * life (`final` positions) inside one block; joins and trims that would
   * break this for any row are refused.
   */
  readonly block: number;
  /** Whether rows of different lengths may share the batch (else only equal lengths do; static caches hold one row). */
  readonly ragged: boolean;

  constructor(runner: ModelRunner, options: { alignment?: number; block?: number } = {}) {
    this.runner = runner;
    this.layout = runner.manifest.cache;
    this.ragged = DecodeBatch.supportsRagged(runner.manifest);
    this.alignment = options.alignment ?? 8;
    this.block = options.block ?? attentionBlock(runner.manifest);
    if (!Number.isInteger(this.alignment) || this.alignment < 1) throw new InvalidArgumentError(`alignment must be a positive integer, got ${this.alignment}`);
    if (!(this.block === Infinity || (Number.isInteger(this.block) && this.block >= 1))) throw new InvalidArgumentError(`block must be a positive integer or Infinity, got ${this.block}`);
  }

  /** Whether a row padded by `pad` slots attends exactly as alone for its whole life of `final` positions. */
  private exact(pad: number, final: number): boolean {
    if (this.block === Infinity) return true;
    const phase = pad % this.block;
    return phase === 0 || phase + final <= this.block;
  }

  /**
   * Whether rows whose caches hold `length` positions (and will attend over
   * at most `final` positions) can join now: always into an empty batch,
   * else when the padding either side needs is a multiple of the alignment
   * and keeps every row exact (see `block`).
   */
  canJoin(length: number, final = Infinity): boolean {
    if (this.size === 0) return true;
    if (this.layout.kind === 'static') return false;
    if (!this.ragged) return length === this.length;
    const d = this.length - length;
    if (((d % this.alignment) + this.alignment) % this.alignment !== 0) return false;
    const grow = Math.max(0, -d);
    if (!this.exact(Math.max(0, d), final)) return false;
    return grow === 0 || this.pads.every((p, b) => this.exact(p + grow, this.finals[b] ?? Infinity));
  }

  /** Whether rows of different lengths can share a batch on this model. */
  static supportsRagged(manifest: HooksManifest): boolean {
    const kind = manifest.cache.kind;
    return (kind === 'bnsh' || kind === 'stacked') && manifest.inputs.padding === 'left' && manifest.inputs.attentionMask !== undefined;
  }

  get size(): number { return this.pads.length; }
  /** Time length of the batched cache (real positions plus padding). */
  get length(): number { return this.cache?.length ?? 0; }
  /** Real positions in row `b`'s cache. */
  rowLength(b: number): number { return this.length - (this.pads[b] ?? 0); }
  /** Padding slots held in the batch (a measure of wasted attention). */
  get padding(): number { return this.pads.reduce((a, b) => a + b, 0); }

  /**
   * Appends the rows of `rows` (a cache of one or more rows of equal length)
   * at the end of the batch; `final` bounds the positions they will attend over.
   */
  add(rows: KvCache, final = Infinity): void {
    if (rows.length === 0) throw new InvalidArgumentError('a row must join with a non-empty cache');
    if (!this.canJoin(rows.length, final)) throw new InvalidArgumentError(`rows of length ${rows.length} cannot join a batch of length ${this.length} (alignment ${this.alignment}, block ${this.block})`);
    const ids = Array.from({ length: rows.batch }, (_, i) => i);
    const finals = new Array<number>(rows.batch).fill(final);
    if (!this.cache || this.size === 0) {
      this.cache = rows;
      this.pads = new Array<number>(rows.batch).fill(0);
      this.finals = finals;
      return;
    }
    this.finals.push(...finals);
    const L = Math.max(this.cache.length, rows.length);
    const cur = this.cache;
    if (cur.length === L && rows.length === L) {
      this.cache = gather(this.layout, [{ cache: cur, rows: this.pads.map((_, i) => i), shift: 0 }, { cache: rows, rows: ids, shift: 0 }], L, [0, 0]);
      this.pads.push(...new Array<number>(rows.batch).fill(0));
      return;
    }
    const grow = L - cur.length;
    const pad = L - rows.length;
    this.cache = gather(this.layout, [
      { cache: cur, rows: this.pads.map((_, i) => i), shift: grow },
      { cache: rows, rows: ids, shift: pad },
    ], L, [0, 0]);
    this.pads = [...this.pads.map((p) => p + grow), ...new Array<number>(rows.batch).fill(pad)];
  }

  /** Keeps the rows at `keep` (batch indices, in their new order) and drops padding every row shares. */
  retain(keep: readonly number[]): void {
    if (keep.length === this.size && keep.every((k, i) => k === i)) return;
    if (keep.length === 0 || !this.cache) {
      this.cache = undefined;
      this.pads = [];
      this.finals = [];
      return;
    }
    const pads = keep.map((k) => this.pads[k] ?? 0);
    const finals = keep.map((k) => this.finals[k] ?? Infinity);
    const least = Math.min(...pads);
    let trim = Math.floor(least / this.alignment) * this.alignment;
    // A trim must keep every row exact; a multiple of the block keeps each row's phase in it.
    if (!pads.every((p, i) => this.exact(p - trim, finals[i] ?? Infinity))) trim = this.block === Infinity ? 0 : Math.floor(least / this.block) * this.block;
    const cur = this.cache;
    if (this.layout.kind !== 'bnsh' && this.layout.kind !== 'stacked') {
      // Static caches never carry padding (rows of one length only): a plain row selection.
      this.cache = selectCacheRows(this.layout, cur, keep);
    } else {
      this.cache = gather(this.layout, [{ cache: cur, rows: keep, shift: -trim }], cur.length - trim, [trim]);
    }
    this.pads = pads.map((p) => p - trim);
    this.finals = finals;
  }

  /**
   * One decode step: `ids[b]` is row b's newest token. Returns the logits of
   * every row, [batch × vocab], valid until the next step.
   */
  async step(ids: readonly number[], hookFeeds: Record<string, ort.Tensor>): Promise<Float32Array> {
    const cache = this.cache;
    const B = this.size;
    if (!cache || B === 0) throw new InvalidArgumentError('the decode batch is empty');
    if (ids.length !== B) throw new InvalidArgumentError(`expected ${B} token ids, got ${ids.length}`);
    const L = cache.length;
    const positions = this.pads.map((p) => L - p);
    let mask: number[] | undefined;
    if (this.pads.some((p) => p > 0)) {
      mask = new Array<number>(B * (L + 1)).fill(1);
      for (let b = 0; b < B; b++) mask.fill(0, b * (L + 1), b * (L + 1) + (this.pads[b] ?? 0));
    }
    const out = await this.runner.forward({
      ids, batch: B, seqLen: 1, cache, hookFeeds, positionIds: positions,
      ...(mask ? { attentionMask: mask } : {}),
    });
    this.cache = out.cache;
    if (!out.logits) throw new InvalidArgumentError('this model has no logits output (it ends in a hidden state); it cannot generate');
    return out.logits.data;
  }

  /** Drops every row. */
  clear(): void {
    this.cache = undefined;
    this.pads = [];
    this.finals = [];
  }
}
