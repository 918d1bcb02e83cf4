/**
 * Hook feeds for a decode step of a batch whose rows each carry their own
 * steering plan. A row's values are exactly what `CompiledPlan` gives the same
 * plan alone (the sum of strength × schedule × vector over its active add
 * interventions, the unit direction of its ablation), and unsteered rows get
 * zeros, which leave the residual bit-for-bit unchanged. Buffers are sized
 * for the largest batch once per site and refilled in place.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../errors.js';
import type { FloatDtype, HookSiteInfo } from '../hooks/manifest.js';
import { activeAt, scheduleAt, validatePlan, type Intervention } from '../steering/plan.js';
import { feedTensor, normalized } from '../steering/compile.js';

/** A row's interventions, checked and prepared once (unit directions for ablations). */
export class RowPlan {
  readonly interventions: readonly Intervention[];
  readonly sites: ReadonlySet<string>;
  readonly unit: ReadonlyMap<Intervention, Float32Array>;

  constructor(interventions: readonly Intervention[], sites: readonly HookSiteInfo[], hidden: number) {
    const byName = new Map(sites.map((s) => [s.name, s]));
    validatePlan(interventions, hidden, (name) => {
      if (!byName.has(name)) throw new InvalidArgumentError(`the model has no hook site ${name}`);
    });
    const unit = new Map<Intervention, Float32Array>();
    for (const iv of interventions) {
      if ((iv.operator ?? 'add') !== 'add') unit.set(iv, normalized(iv.vector));
      if (iv.normPreserving && !byName.get(iv.site)?.renorm) {
        throw new InvalidArgumentError(`${iv.site} has no norm-preserving gate; build or instrument the model with --norm-preserving`);
      }
    }
    this.interventions = interventions;
    this.sites = new Set(interventions.map((iv) => iv.site));
    this.unit = unit;
  }

  get empty(): boolean { return this.interventions.length === 0; }
}

/** What the feeds need to know about one batch row at this step. */
export interface FeedRow {
  plan: RowPlan | undefined;
  /** Absolute position of the token fed at this step. */
  position: number;
  promptLength: number;
}

interface Buffers { steer: Float32Array; ablate: Float32Array; gate: Float32Array; half?: { steer: Uint16Array; ablate: Uint16Array; gate: Uint16Array } }

export class BatchFeeds {
  private readonly sites: Map<string, HookSiteInfo>;
  private readonly hidden: number;
  private readonly dtype: FloatDtype;
  private readonly buffers = new Map<string, Buffers>();
  private readonly touched = new Set<string>();

  constructor(sites: readonly HookSiteInfo[], hidden: number, dtype: FloatDtype) {
    this.sites = new Map(sites.map((s) => [s.name, s]));
    this.hidden = hidden;
    this.dtype = dtype;
  }

  /** Feeds for a one-token step over `rows` (empty when no row steers). */
  feeds(rows: readonly FeedRow[]): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = {};
    const touched = this.touched;
    touched.clear();
    for (const r of rows) if (r.plan) for (const s of r.plan.sites) touched.add(s);
    if (touched.size === 0) return out;
    const B = rows.length;
    const H = this.hidden;
    for (const name of touched) {
      const site = this.sites.get(name);
      if (!site) continue;
      const bufs = this.bufferFor(name, B);
      const { steer, ablate, gate } = bufs;
      steer.fill(0, 0, B * H);
      ablate.fill(0, 0, B * H);
      gate.fill(0, 0, B);
      let anyAblate = false;
      let anyGate = false;
      for (let b = 0; b < B; b++) {
        const row = rows[b] as FeedRow;
        const plan = row.plan;
        if (!plan?.sites.has(name)) continue;
        for (const iv of plan.interventions) {
          if (iv.site !== name || !activeAt(iv.positions, row.position, row.promptLength)) continue;
          const base = b * H;
          if (iv.normPreserving) { anyGate = true; gate[b] = 1; }
          const op = iv.operator ?? 'add';
          if (op !== 'add') { anyAblate = true; ablate.set(plan.unit.get(iv) as Float32Array, base); }
          if (op !== 'ablate') {
            const k = (iv.strength ?? 1) * scheduleAt(iv.schedule, row.position, row.promptLength);
            const v = iv.vector;
            for (let h = 0; h < H; h++) steer[base + h] = (steer[base + h] as number) + k * (v[h] as number);
          }
        }
      }
      out[site.steer] = this.tensor(bufs, 'steer', B * H, [B, 1, H]);
      if (anyAblate) out[site.ablate] = this.tensor(bufs, 'ablate', B * H, [B, 1, H]);
      if (anyGate && site.renorm) out[site.renorm] = this.tensor(bufs, 'gate', B, [B, 1, 1]);
    }
    return out;
  }

  private bufferFor(site: string, batch: number): Buffers {
    let b = this.buffers.get(site);
    if (!b || b.gate.length < batch) {
      const rows = Math.max(batch, (b?.gate.length ?? 0) * 2);
      const n = rows * this.hidden;
      b = { steer: new Float32Array(n), ablate: new Float32Array(n), gate: new Float32Array(rows) };
      if (this.dtype === 'float16') b.half = { steer: new Uint16Array(n), ablate: new Uint16Array(n), gate: new Uint16Array(rows) };
      this.buffers.set(site, b);
    }
    return b;
  }

  private tensor(bufs: Buffers, which: 'steer' | 'ablate' | 'gate', size: number, dims: number[]): ort.Tensor {
    return feedTensor(bufs[which], bufs.half?.[which], size, dims);
  }
}
