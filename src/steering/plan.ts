/**
 * Steering plans: what to inject, where and when. A plan is a list of
 * interventions, either shared by every row of a batch or given per row.
 * Positions are absolute token positions of the row's sequence (prompt
 * tokens are 0 … promptLength − 1), so they stay correct under a KV cache.
 */
import { InvalidArgumentError } from '../errors.js';

export type SteeringOperator = 'add' | 'ablate' | 'ablate-add';

/** Which positions an intervention applies to. Windows are [start, end) in absolute positions. */
export type PositionSpec = 'all' | 'prompt' | 'generated' | { start: number; end?: number };

/** A strength multiplier over generated positions (index 0 = the first generated token). */
export type StrengthSchedule =
  | { kind: 'constant' }
  | { kind: 'linear'; from: number; to: number; over: number }
  | { kind: 'exponential'; decay: number };

export interface Intervention {
  /** Hook site, e.g. `blocks.1.hook_resid_post`. */
  site: string;
  /** Direction in the residual space (hidden size). */
  vector: Float32Array;
  /** Signed multiplier of the vector (ignored by a pure ablation). Default 1. */
  strength?: number;
  /** Default `add`. */
  operator?: SteeringOperator;
  /** Default `all`. */
  positions?: PositionSpec;
  schedule?: StrengthSchedule;
  /**
   * Rescale the steered residual to the norm it had before steering, at every
   * position this intervention covers. Needs a model built or instrumented
   * with `normPreserving`.
   */
  normPreserving?: boolean;
  /**
   * The low-rank map: adds strength · (h·V)·Uᵀ, with h the site's residual
   * before steering (on top of strength · vector). V and U are row-major
   * [hidden, rank]. Needs a model built, instrumented or loaded with
   * `lowRank` (see hooks/lowrank.ts).
   */
  lowRank?: LowRankMap;
}

/** A rank-r map x ↦ (x·V)·Uᵀ, V and U row-major [hidden, rank]. */
export interface LowRankMap {
  rank: number;
  v: Float32Array;
  u: Float32Array;
}

/** One plan for every row, or a plan per row (null/empty = unsteered row). */
export type SteeringPlan = readonly Intervention[] | { rows: readonly (readonly Intervention[] | null)[] };

export function planForRow(plan: SteeringPlan | undefined, row: number): readonly Intervention[] {
  if (!plan) return [];
  if (Array.isArray(plan)) return plan as readonly Intervention[];
  return (plan as { rows: readonly (readonly Intervention[] | null)[] }).rows[row] ?? [];
}

export function planRowCount(plan: SteeringPlan | undefined): number | undefined {
  if (!plan || Array.isArray(plan)) return undefined;
  return (plan as { rows: readonly unknown[] }).rows.length;
}

/** Whether an intervention is active at absolute position `pos` of a row whose prompt has `promptLength` tokens. */
export function activeAt(spec: PositionSpec | undefined, pos: number, promptLength: number): boolean {
  const s = spec ?? 'all';
  if (s === 'all') return true;
  if (s === 'prompt') return pos < promptLength;
  if (s === 'generated') return pos >= promptLength;
  return pos >= s.start && (s.end === undefined || pos < s.end);
}

/** The schedule multiplier at absolute position `pos` (1 on prompt positions). */
export function scheduleAt(schedule: StrengthSchedule | undefined, pos: number, promptLength: number): number {
  if (!schedule || schedule.kind === 'constant') return 1;
  const g = pos - promptLength;
  if (g < 0) return 1;
  if (schedule.kind === 'linear') {
    if (schedule.over <= 0) return schedule.to;
    const t = Math.min(1, g / schedule.over);
    return schedule.from + (schedule.to - schedule.from) * t;
  }
  return schedule.decay ** g;
}

export function validatePlan(plan: SteeringPlan | undefined, hiddenSize: number, hasSite: (site: string) => void): void {
  if (!plan) return;
  const rows = Array.isArray(plan) ? [plan as readonly Intervention[]] : (plan as { rows: readonly (readonly Intervention[] | null)[] }).rows;
  for (const row of rows) {
    const ablated = new Set<string>();
    const mapped = new Set<string>();
    for (const iv of row ?? []) {
      hasSite(iv.site);
      if (iv.vector.length !== hiddenSize) {
        throw new InvalidArgumentError(`steering vector for ${iv.site} has ${iv.vector.length} dimensions, the model's hidden size is ${hiddenSize}`);
      }
      for (let i = 0; i < iv.vector.length; i++) {
        if (!Number.isFinite(iv.vector[i])) throw new InvalidArgumentError(`steering vector for ${iv.site} contains a non-finite value at index ${i}`);
      }
      if (iv.strength !== undefined && !Number.isFinite(iv.strength)) throw new InvalidArgumentError(`strength for ${iv.site} must be finite`);
      const op = iv.operator ?? 'add';
      if (op !== 'add' && op !== 'ablate' && op !== 'ablate-add') throw new InvalidArgumentError(`unknown steering operator "${String(op)}"`);
      if (op !== 'add') {
        if (ablated.has(iv.site)) throw new InvalidArgumentError(`only one ablation direction per site and row (${iv.site})`);
        ablated.add(iv.site);
        let norm = 0;
        for (let i = 0; i < iv.vector.length; i++) norm += (iv.vector[i] as number) ** 2;
        if (norm === 0) throw new InvalidArgumentError(`cannot ablate a zero vector at ${iv.site}`);
      }
      if (iv.lowRank) {
        checkLowRank(iv.site, iv.lowRank, hiddenSize, op);
        if (mapped.has(iv.site)) throw new InvalidArgumentError(`only one low-rank map per site and row (${iv.site}); add two maps by concatenating their ranks`);
        mapped.add(iv.site);
      }
      const p = iv.positions;
      if (p !== undefined && typeof p === 'object' && (!Number.isInteger(p.start) || p.start < 0 || (p.end !== undefined && p.end <= p.start))) {
        throw new InvalidArgumentError(`invalid position window ${JSON.stringify(p)}`);
      }
    }
  }
}

function checkLowRank(site: string, m: LowRankMap, hidden: number, op: SteeringOperator): void {
  if (op === 'ablate') throw new InvalidArgumentError(`${site}: a pure ablation takes no low-rank map (use add or ablate-add)`);
  if (!Number.isInteger(m.rank) || m.rank < 1 || m.rank >= hidden) throw new InvalidArgumentError(`${site}: low-rank map rank must be an integer in [1, ${hidden - 1}] (below the hidden size ${hidden}), got ${m.rank}`);
  for (const [name, a] of [['V', m.v], ['U', m.u]] as const) {
    if (a.length !== hidden * m.rank) throw new InvalidArgumentError(`${site}: low-rank ${name} has ${a.length} values, expected ${hidden}×${m.rank}`);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new InvalidArgumentError(`${site}: low-rank ${name} has a non-finite value at index ${i}`);
  }
}
