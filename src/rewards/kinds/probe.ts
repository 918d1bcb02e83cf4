/**
 * `probe:<vector.json>`: a linear reward model on the policy's residual
 * stream. The score of a response is the projection of its mean activation at
 * the vector's site (pooled over the response tokens) onto the unit direction:
 *
 *   R(y) = ⟨ā_site(y), d / ‖d‖⟩ + bias
 *
 * Activations come from `item.activations[site]`; only items without them are
 * captured, in one batch, and only when the context has a model.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileNotFoundError, InvalidArgumentError, InvalidDataError, ShapeMismatchError } from '../../errors.js';
import { captureResponseActivations } from '../../embed/response-activations.js';
import { readJsonFile } from '../../files/fs.js';
import type { HookedModel } from '../../model/hooked-model.js';
import type { RewardKind } from '../spec.js';
import { defineReward, type ProbeDirection, type Reward, type RewardItem } from '../types.js';

/**
 * The default vector loader: a JSON file `{"site": string, "direction": number[], "bias"?: number}`.
 * The SteeringVector file format plugs in through `RewardContext.loadVector`.
 */
export function loadProbeJson(path: string): ProbeDirection {
  if (!existsSync(path)) throw new FileNotFoundError(path, 'probe vector');
  const raw = readJsonFile<Record<string, unknown>>(path, 'probe vector');
  const { site, direction, bias } = raw;
  if (typeof site !== 'string' || site.length === 0) throw new InvalidDataError(`${path}: "site" must be a hook-site name`);
  if (!Array.isArray(direction) || direction.length === 0 || !direction.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new InvalidDataError(`${path}: "direction" must be a non-empty array of finite numbers`);
  }
  if (bias !== undefined && (typeof bias !== 'number' || !Number.isFinite(bias))) throw new InvalidDataError(`${path}: "bias" must be a finite number`);
  return { site, direction: Float32Array.from(direction as number[]), ...(bias !== undefined ? { bias } : {}) };
}

/** The unit direction as float64 (throws on a zero or non-finite direction). */
function unitDirection(probe: ProbeDirection, label: string): Float64Array {
  let norm = 0;
  for (const v of probe.direction) norm += v * v;
  norm = Math.sqrt(norm);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new InvalidArgumentError(`${label}: the direction has norm ${norm}; it needs a non-zero, finite direction`);
  return Float64Array.from(probe.direction, (v) => v / norm);
}

export function probeReward(probe: ProbeDirection, options: { model?: HookedModel; spec?: string } = {}): Reward {
  const spec = options.spec ?? `probe:${probe.site}`;
  const unit = unitDirection(probe, spec);
  const bias = probe.bias ?? 0;
  const { site } = probe;
  return defineReward(spec, 'probe', [site], async (items: readonly RewardItem[]) => {
    const acts: (Float32Array | undefined)[] = items.map((it) => it.activations?.[site]);
    const missing = acts.flatMap((a, i) => (a === undefined ? [i] : []));
    if (missing.length > 0) {
      if (!options.model) {
        throw new InvalidArgumentError(`${spec}: candidate ${missing[0]} has no activations at ${site}; pass item.activations or a model in the reward context`);
      }
      const captured = await captureResponseActivations(options.model, missing.map((i) => items[i] as RewardItem), [site]);
      missing.forEach((i, k) => { acts[i] = captured[k]?.[site]; });
    }
    return acts.map((a, i) => {
      const v = a as Float32Array;
      if (v.length !== unit.length) throw new ShapeMismatchError(`${spec}: candidate ${i} has a ${v.length}-dim activation at ${site}, the direction has ${unit.length}`);
      let dot = bias;
      for (let h = 0; h < unit.length; h++) dot += (v[h] as number) * (unit[h] as number);
      return dot;
    });
  });
}

export const probeKind: RewardKind = {
  order: 4, name: 'probe', usage: 'probe:<vector.json>', description: 'projection of the pooled response activation on a direction', arg: 'required', argHint: 'a vector file',
  create: async (arg, spec, ctx) => {
    const path = resolve(ctx.cwd ?? process.cwd(), arg ?? '');
    const probe = await (ctx.loadVector ?? loadProbeJson)(path);
    return probeReward(probe, { spec, ...(ctx.model ? { model: ctx.model } : {}) });
  },
};

export default probeKind;
