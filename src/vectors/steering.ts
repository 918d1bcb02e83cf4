/**
 * Steering: the runtime layer between steering vectors and plans. It says
 * which vectors steer, at which strength per site, with which operator (add,
 * ablate, ablate-then-add), at which positions and with which schedule over
 * generated tokens. A Steering value is immutable and compiles to a plan:
 * a shared list of interventions, or a per-row plan with `Steering.rows()`.
 *
 *   const s = Steering.of(joy, { strength: -2 }).with(dialogue, { strength: 4, positions: 'generated' });
 *   s.check(model);
 *   await model.generate(prompt, { steering: s.plan() });
 *
 * Norm-preserving steering (rescaling the steered residual to its original
 * norm) is not offered: it needs a gate in the hooked graph (see the vectors
 * README).
 */
import { InvalidArgumentError } from '../errors.js';
import type { ModelLike, SteeringVector, ToPlanOptions } from './vector.js';
import { validatePlan, type Intervention, type SteeringPlan } from '../steering/plan.js';

/** How one vector enters a plan: the same options as `SteeringVector.toPlan`. */
export type SteeringTermOptions = ToPlanOptions;

export interface SteeringTerm extends SteeringTermOptions {
  vector: SteeringVector;
}

export class Steering {
  readonly terms: readonly SteeringTerm[];

  private constructor(terms: readonly SteeringTerm[]) {
    this.terms = Object.freeze([...terms]);
  }

  /** No steering at all. */
  static none(): Steering { return new Steering([]); }

  static of(vector: SteeringVector, options: SteeringTermOptions): Steering {
    return Steering.none().with(vector, options);
  }

  /** A new Steering with one more vector. */
  with(vector: SteeringVector, options: SteeringTermOptions): Steering {
    const { strength } = options;
    if (typeof strength === 'number') {
      if (!Number.isFinite(strength)) throw new InvalidArgumentError(`strength must be finite, got ${strength}`);
    } else {
      for (const [site, s] of Object.entries(strength)) if (!Number.isFinite(s)) throw new InvalidArgumentError(`strength for ${site} must be finite`);
    }
    for (const site of options.sites ?? []) {
      if (!vector.hasSite(site)) throw new InvalidArgumentError(`vector "${vector.name}" has no direction for ${site} (it has ${vector.sites.join(', ')})`);
    }
    return new Steering([...this.terms, { ...options, vector }]);
  }

  get empty(): boolean { return this.terms.length === 0; }

  /** Refuses vectors made for another model, and plans the model cannot run. */
  check(model: ModelLike): void {
    for (const t of this.terms) t.vector.check(model);
    const manifest = 'manifest' in model ? model.manifest : model;
    const sites = new Set(manifest.sites.map((s) => s.name));
    validatePlan(this.plan(), manifest.hiddenSize, (s) => {
      if (!sites.has(s)) throw new InvalidArgumentError(`the model has no hook site ${s}`);
    });
  }

  /** The interventions, in term order. */
  plan(): Intervention[] {
    return this.terms.flatMap((t) => t.vector.toPlan(t));
  }

  /** A per-row plan: row k of a batch gets `rows[k]` (null = unsteered). */
  static rows(rows: readonly (Steering | null)[]): SteeringPlan {
    return { rows: rows.map((r) => (r && !r.empty ? r.plan() : null)) };
  }

  /** One line per term, e.g. `joy × -2 at blocks.0.hook_resid_post (add, all positions)`. */
  describe(): string {
    if (this.empty) return 'unsteered';
    return this.terms.map((t) => {
      const strength = typeof t.strength === 'number' ? String(t.strength) : JSON.stringify(t.strength);
      const pos = t.positions === undefined ? 'all' : typeof t.positions === 'string' ? t.positions : `[${t.positions.start}, ${t.positions.end ?? '∞'})`;
      return `${t.vector.name} × ${strength} at ${(t.sites ?? t.vector.sites).join(', ')} (${t.operator ?? 'add'}, ${pos} positions${t.schedule && t.schedule.kind !== 'constant' ? `, ${t.schedule.kind} schedule` : ''})`;
    }).join('\n');
  }
}
