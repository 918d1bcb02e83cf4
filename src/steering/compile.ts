/**
 * Compiles a steering plan into hook feeds for one forward step. Each step
 * covers absolute positions [start_b, start_b + seqLen) for row b. Feeds are
 * [batch, 1, hidden] when every row's value is the same over the step's
 * positions (always on decode steps), [batch, seqLen, hidden] otherwise.
 * Decode-step buffers are allocated once per site and refilled in place.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../errors.js';
import type { FloatDtype, HookSiteInfo } from '../hooks/manifest.js';
import { floatToHalf } from '../onnx/fp16.js';
import { activeAt, planForRow, scheduleAt, type Intervention, type LowRankMap, type SteeringPlan } from './plan.js';

export interface StepRows {
  /** Absolute position of the step's first token, per row. */
  starts: readonly number[];
  /** Prompt length per row (positions ≥ this are generated). */
  promptLengths: readonly number[];
  /** Which original plan row each batch row serves (defaults to identity). */
  planRows?: readonly number[];
  seqLen: number;
}

interface SiteBuffers { steer?: Float32Array; ablate?: Float32Array; gate?: Float32Array; lrV?: Float32Array; lrU?: Float32Array; steerHalf?: Uint16Array; ablateHalf?: Uint16Array; gateHalf?: Uint16Array; lrVHalf?: Uint16Array; lrUHalf?: Uint16Array }

export class CompiledPlan {
  private readonly plan: SteeringPlan | undefined;
  private readonly hidden: number;
  private readonly dtype: FloatDtype;
  private readonly sites: Map<string, HookSiteInfo>;
  private readonly unit = new Map<Intervention, Float32Array>();
  private readonly buffers = new Map<string, SiteBuffers>();
  /** Sites touched by the plan. */
  readonly touched: readonly string[];
  /** The largest low-rank map rank in the plan (0: none); every step's low-rank feeds use it. */
  private readonly rank: number = 0;
  /** The previous one-position step's feeds and signature (see feeds). */
  private last: Record<string, ort.Tensor> | undefined;
  private sig = new Float64Array(64);
  private lastSig = new Float64Array(64);
  private lastLength = -1;

  constructor(plan: SteeringPlan | undefined, sites: readonly HookSiteInfo[], hidden: number, dtype: FloatDtype) {
    this.plan = plan;
    this.hidden = hidden;
    this.dtype = dtype;
    this.sites = new Map(sites.map((s) => [s.name, s]));
    const touched = new Set<string>();
    const rows = !plan ? [] : Array.isArray(plan) ? [plan as readonly Intervention[]] : (plan as { rows: readonly (readonly Intervention[] | null)[] }).rows;
    for (const row of rows) {
      for (const iv of row ?? []) {
        touched.add(iv.site);
        if ((iv.operator ?? 'add') !== 'add') this.unit.set(iv, normalized(iv.vector));
        if (iv.lowRank) {
          if (!this.sites.get(iv.site)?.lowRank) throw new InvalidArgumentError(`${iv.site} has no low-rank map inputs; build or instrument the model with --low-rank, or load it with lowRank: true`);
          this.rank = Math.max(this.rank, iv.lowRank.rank);
        }
        if (iv.normPreserving && !this.sites.get(iv.site)?.renorm) {
          throw new InvalidArgumentError(`${iv.site} has no norm-preserving gate; build or instrument the model with --norm-preserving`);
        }
      }
    }
    this.touched = [...touched];
  }

  get empty(): boolean { return this.touched.length === 0; }

  /**
   * Hook feeds for a step (empty object when the plan touches nothing). A
   * one-position step whose rows, activity and strengths equal the previous
   * step's gets the previous step's feeds back, unchanged (every decode step
   * of a constant plan): nothing is refilled.
   */
  feeds(step: StepRows): Record<string, ort.Tensor> {
    if (this.empty) return {};
    const same = this.sameAsLast(step);
    if (same && this.last) return this.last;
    const out = this.build(step);
    this.last = same === undefined ? undefined : out;
    return out;
  }

  /**
   * Writes the step's signature (rows, then per row its plan row and each
   * intervention's activity × strength) into a reused buffer and compares it
   * with the previous one; undefined for steps of more than one position.
   */
  private sameAsLast(step: StepRows): boolean | undefined {
    if (step.seqLen !== 1) return undefined;
    const batch = step.starts.length;
    let n = 0;
    const put = (x: number) => {
      if (n >= this.sig.length) { const grown = new Float64Array(this.sig.length * 2); grown.set(this.sig); this.sig = grown; const g2 = new Float64Array(grown.length); g2.set(this.lastSig); this.lastSig = g2; }
      this.sig[n++] = x;
    };
    put(batch);
    for (let b = 0; b < batch; b++) {
      const row = step.planRows?.[b] ?? b;
      put(row);
      const pos = step.starts[b] ?? 0;
      const prompt = step.promptLengths[b] ?? 0;
      for (const iv of planForRow(this.plan, row)) put(activeAt(iv.positions, pos, prompt) ? (iv.strength ?? 1) * scheduleAt(iv.schedule, pos, prompt) : Number.NaN);
    }
    let same = n === this.lastLength;
    // NaN marks an inactive intervention; compare bit patterns so NaN equals NaN.
    for (let i = 0; same && i < n; i++) same = Object.is(this.sig[i], this.lastSig[i]);
    [this.sig, this.lastSig] = [this.lastSig, this.sig];
    this.lastLength = n;
    return same;
  }

  private build(step: StepRows): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = {};
    const batch = step.starts.length;
    const H = this.hidden;
    for (const siteName of this.touched) {
      const site = this.sites.get(siteName);
      if (!site) continue;
      const perPosition = step.seqLen > 1 && this.variesOverStep(siteName, step);
      const len = perPosition ? step.seqLen : 1;
      const size = batch * len * H;
      const bufs = this.bufferFor(siteName, size);
      const steer = bufs.steer as Float32Array;
      const ablate = bufs.ablate as Float32Array;
      const gate = bufs.gate as Float32Array;
      steer.fill(0, 0, size);
      let anySteer = false;
      let anyAblate = false;
      let anyGate = false;
      let anyLowRank = false;
      const R = this.rank;
      const lrSize = R > 0 ? size * R : 0;
      if (lrSize > 0) this.lowRankBuffers(bufs, lrSize);
      for (let b = 0; b < batch; b++) {
        const ivs = planForRow(this.plan, step.planRows?.[b] ?? b);
        for (const iv of ivs) {
          if (iv.site !== siteName) continue;
          const op = iv.operator ?? 'add';
          if (op !== 'ablate') anySteer = true;
          for (let s = 0; s < len; s++) {
            const pos = (step.starts[b] ?? 0) + s;
            const prompt = step.promptLengths[b] ?? 0;
            if (!activeAt(iv.positions, pos, prompt)) continue;
            const base = (b * len + s) * H;
            if (iv.normPreserving) {
              if (!anyGate) gate.fill(0, 0, batch * len);
              anyGate = true;
              gate[b * len + s] = 1;
            }
            if (op !== 'add') {
              if (!anyAblate) ablate.fill(0, 0, size);
              anyAblate = true;
              ablate.set(this.unit.get(iv) as Float32Array, base);
            }
            if (op !== 'ablate') {
              const k = (iv.strength ?? 1) * scheduleAt(iv.schedule, pos, prompt);
              const v = iv.vector;
              for (let h = 0; h < H; h++) steer[base + h] = (steer[base + h] as number) + k * (v[h] as number);
              if (iv.lowRank) {
                if (!anyLowRank) { (bufs.lrV as Float32Array).fill(0, 0, lrSize); (bufs.lrU as Float32Array).fill(0, 0, lrSize); anyLowRank = true; }
                addLowRank(bufs.lrV as Float32Array, bufs.lrU as Float32Array, base * R, iv.lowRank, R, H, k);
              }
            }
          }
        }
      }
      const dims = [batch, len, H];
      // An ablating plan with its direction inactive here still feeds zeros, so the step's inputs keep one shape.
      if (anySteer || !anyAblate) out[site.steer] = this.tensor(bufs, 'steer', size, dims);
      if (anyAblate) out[site.ablate] = this.tensor(bufs, 'ablate', size, dims);
      if (anyGate && site.renorm) out[site.renorm] = this.tensor(bufs, 'gate', batch * len, [batch, len, 1]);
      if (anyLowRank && site.lowRank) {
        out[site.lowRank.v] = this.tensor(bufs, 'lrV', lrSize, [batch, len, H, R]);
        out[site.lowRank.u] = this.tensor(bufs, 'lrU', lrSize, [batch, len, H, R]);
      }
    }
    return out;
  }

  private variesOverStep(siteName: string, step: StepRows): boolean {
    for (let b = 0; b < step.starts.length; b++) {
      for (const iv of planForRow(this.plan, step.planRows?.[b] ?? b)) {
        if (iv.site !== siteName) continue;
        const start = step.starts[b] ?? 0;
        const prompt = step.promptLengths[b] ?? 0;
        const first = activeAt(iv.positions, start, prompt);
        const k0 = scheduleAt(iv.schedule, start, prompt);
        for (let s = 1; s < step.seqLen; s++) {
          if (activeAt(iv.positions, start + s, prompt) !== first) return true;
          if (scheduleAt(iv.schedule, start + s, prompt) !== k0) return true;
        }
      }
    }
    return false;
  }

  private bufferFor(site: string, size: number): SiteBuffers {
    let b = this.buffers.get(site);
    if (!b || (b.steer?.length ?? 0) < size) {
      const rows = size / this.hidden;
      b = { steer: new Float32Array(size), ablate: new Float32Array(size), gate: new Float32Array(rows) };
      if (this.dtype === 'float16') { b.steerHalf = new Uint16Array(size); b.ablateHalf = new Uint16Array(size); b.gateHalf = new Uint16Array(rows); }
      this.buffers.set(site, b);
    }
    return b;
  }

  private lowRankBuffers(b: SiteBuffers, size: number): void {
    if ((b.lrV?.length ?? 0) >= size) return;
    b.lrV = new Float32Array(size);
    b.lrU = new Float32Array(size);
    if (this.dtype === 'float16') { b.lrVHalf = new Uint16Array(size); b.lrUHalf = new Uint16Array(size); }
  }

  private tensor(bufs: SiteBuffers, which: 'steer' | 'ablate' | 'gate' | 'lrV' | 'lrU', size: number, dims: number[]): ort.Tensor {
    return feedTensor(bufs[which] as Float32Array, this.dtype === 'float16' ? bufs[`${which}Half`] : undefined, size, dims);
  }
}

/**
 * The feed over the first `size` values of `src`: float32 as it is, or, given
 * a `half` buffer (a float16 model), converted into it.
 */
export function feedTensor(src: Float32Array, half: Uint16Array | undefined, size: number, dims: readonly number[]): ort.Tensor {
  if (half) {
    for (let i = 0; i < size; i++) half[i] = floatToHalf(src[i] as number);
    return new ort.Tensor('float16', half.subarray(0, size), dims);
  }
  return new ort.Tensor('float32', src.subarray(0, size), dims);
}

/** `v / ‖v‖`, a new array (the unit direction an ablating intervention projects out). */
export function normalized(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += (v[i] as number) ** 2;
  const inv = 1 / Math.sqrt(n);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) * inv;
  return out;
}

/**
 * Adds map m at strength k into the [H, R] blocks at `offset` of the V and U
 * feeds: V gets m.v in its first m.rank columns, U gets k · m.u. Two maps at
 * one site and position would need rank r1 + r2; the plan validator allows
 * one map per site and row, so the columns never collide.
 */
function addLowRank(V: Float32Array, U: Float32Array, offset: number, m: LowRankMap, R: number, H: number, k: number): void {
  const r = m.rank;
  for (let h = 0; h < H; h++) {
    for (let c = 0; c < r; c++) {
      V[offset + h * R + c] = m.v[h * r + c] as number;
      U[offset + h * R + c] = k * (m.u[h * r + c] as number);
    }
  }
}
