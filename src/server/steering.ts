/**
 * The `steering` request field, EasySteer's schema where it can be:
 *
 *   steering: { vectors: [{ source, scale = 1, layers?, sites?, normalize = false,
 *               operator = 'add' | 'ablate' | 'ablate-add',
 *               apply?: { prompt?: 'all', generation?: 'all', prompt_window?: [a, b],
 *                         generation_window?: [a, b], prompt_positions?: number[] } }],
 *               conflict?: 'sequential' | 'priority' | 'error' }
 *
 * `layers: [i]` means decoder layer i's output, `blocks.i.hook_resid_post`
 * (as EasySteer and llama.cpp's `direction.i`); `sites` names hook sites
 * directly. Without `apply` a vector steers every position. Prompt windows are
 * prompt token indices [a, b) (negative counts from the prompt's end, as in
 * Python slices); generation windows count generated tokens from 0. Several
 * vectors at one site sum (`sequential`, the default), the first listed wins
 * (`priority`), or the request is refused (`error`).
 */
import type { Intervention, PositionSpec, SteeringOperator } from '../steering/plan.js';
import type { SteeringVector } from '../vectors/vector.js';
import { checkBoolean, checkNumber, QUANTITIES, shown } from '../validate/index.js';
import { badRequest } from './errors.js';
import { field } from './params.js';
import type { VectorRegistry } from './registry.js';

const VECTOR_KEYS = new Set(['source', 'scale', 'layers', 'sites', 'normalize', 'operator', 'apply', 'name']);
const APPLY_KEYS = new Set(['prompt', 'generation', 'prompt_window', 'generation_window', 'prompt_positions']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function window(v: unknown, param: string): [number, number | undefined] {
  // [start] or [start, end]; only the end may be null (open).
  if (!Array.isArray(v) || v.length < 1 || v.length > 2 || !Number.isSafeInteger(v[0]) || !(v[1] === undefined || v[1] === null || Number.isSafeInteger(v[1]))) {
    throw badRequest(`${param} must be [start, end) with integer bounds`, param);
  }
  return [v[0] as number, (v[1] ?? undefined) as number | undefined];
}

/** Absolute [start, end) intervals an `apply` block covers, for a prompt of P tokens. */
function intervals(apply: unknown, P: number, param: string): { start: number; end?: number }[] | 'all' {
  if (apply === undefined || apply === null) return 'all';
  if (!isObject(apply)) throw badRequest(`${param} must be an object`, param);
  for (const k of Object.keys(apply)) if (!APPLY_KEYS.has(k)) throw badRequest(`unsupported key "${k}" in ${param}`, `${param}.${k}`);
  for (const k of ['prompt', 'generation'] as const) {
    if (apply[k] !== undefined && apply[k] !== 'all' && apply[k] !== null && apply[k] !== false) throw badRequest(`${param}.${k} must be "all"`, `${param}.${k}`);
  }
  const out: { start: number; end?: number }[] = [];
  if (apply.prompt === 'all') out.push({ start: 0, end: P });
  if (apply.prompt_window !== undefined) {
    let [a, b] = window(apply.prompt_window, `${param}.prompt_window`);
    if (a < 0) a = Math.max(0, P + a);
    b = b === undefined ? P : b < 0 ? P + b : Math.min(b, P);
    if (b > a) out.push({ start: a, end: b });
  }
  if (Array.isArray(apply.prompt_positions)) {
    for (const p of apply.prompt_positions) {
      if (!Number.isInteger(p)) throw badRequest(`${param}.prompt_positions must hold integers`, `${param}.prompt_positions`);
      const q = (p as number) < 0 ? P + (p as number) : (p as number);
      if (q >= 0 && q < P) out.push({ start: q, end: q + 1 });
    }
  } else if (apply.prompt_positions !== undefined) throw badRequest(`${param}.prompt_positions must be an array`, `${param}.prompt_positions`);
  if (apply.generation === 'all') out.push({ start: P });
  if (apply.generation_window !== undefined) {
    const [a, b] = window(apply.generation_window, `${param}.generation_window`);
    if (a < 0 || (b !== undefined && b < 0)) throw badRequest(`${param}.generation_window bounds must be ≥ 0`, `${param}.generation_window`);
    if (b === undefined || b > a) out.push(b === undefined ? { start: P + a } : { start: P + a, end: P + b });
  }
  if (out.length === 0) throw badRequest(`${param} selects no positions`, param);
  // Merge overlapping or touching intervals.
  out.sort((x, y) => x.start - y.start);
  const merged: { start: number; end?: number }[] = [];
  for (const iv of out) {
    const last = merged[merged.length - 1];
    if (last && (last.end === undefined || iv.start <= last.end)) {
      if (last.end !== undefined) last.end = iv.end === undefined ? undefined : Math.max(last.end, iv.end);
      if (last.end === undefined) delete last.end;
    } else merged.push({ ...iv });
  }
  if (merged.length === 1 && merged[0]?.start === 0 && merged[0].end === undefined) return 'all';
  return merged;
}

/** Interventions for a request's `steering` field (undefined when absent), for a prompt of `promptLength` tokens. */
export function parseSteering(raw: unknown, registry: VectorRegistry, promptLength: number): Intervention[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw badRequest('"steering" must be an object with a "vectors" array', 'steering');
  for (const k of Object.keys(raw)) if (k !== 'vectors' && k !== 'conflict') throw badRequest(`unsupported key "${k}" in steering`, `steering.${k}`);
  const conflict = raw.conflict ?? 'sequential';
  if (conflict !== 'sequential' && conflict !== 'priority' && conflict !== 'error') throw badRequest('steering.conflict must be "sequential", "priority" or "error"', 'steering.conflict');
  if (!Array.isArray(raw.vectors)) throw badRequest('steering.vectors must be an array', 'steering.vectors');
  const out: Intervention[] = [];
  const claimed = new Map<string, number>();
  raw.vectors.forEach((spec: unknown, i) => {
    const param = `steering.vectors[${i}]`;
    if (!isObject(spec)) throw badRequest(`${param} must be an object`, param);
    for (const k of Object.keys(spec)) if (!VECTOR_KEYS.has(k)) throw badRequest(`unsupported key "${k}" in ${param}`, `${param}.${k}`);
    let vector: SteeringVector = registry.resolve(spec.source, `${param}.source`);
    const operator = (spec.operator ?? 'add') as SteeringOperator;
    if (operator !== 'add' && operator !== 'ablate' && operator !== 'ablate-add') throw badRequest(`${param}.operator must be add, ablate or ablate-add, got ${shown(spec.operator)}`, `${param}.operator`);
    const scale = field(`${param}.scale`, () => checkNumber(spec.scale ?? 1, `${param}.scale`, QUANTITIES.strength.rule));
    if (spec.normalize !== undefined) field(`${param}.normalize`, () => checkBoolean(spec.normalize, `${param}.normalize`));
    if (spec.normalize) vector = vector.normalize();
    let sites = vector.sites;
    if (spec.layers !== undefined) {
      if (!Array.isArray(spec.layers) || spec.layers.length === 0 || !spec.layers.every((l) => Number.isInteger(l) && (l as number) >= 0)) throw badRequest(`${param}.layers must be a non-empty array of layer indices`, `${param}.layers`);
      sites = (spec.layers as number[]).map((l) => `blocks.${l}.hook_resid_post`);
    }
    if (spec.sites !== undefined) {
      if (!Array.isArray(spec.sites) || spec.sites.length === 0 || !spec.sites.every((s) => typeof s === 'string')) throw badRequest(`${param}.sites must be a non-empty array of site names`, `${param}.sites`);
      sites = spec.sites;
    }
    for (const s of sites) if (!vector.hasSite(s)) throw badRequest(`vector "${String(spec.source)}" has no direction for ${s} (it has ${vector.sites.join(', ')})`, `${param}.layers`);
    const ivs = intervals(spec.apply, promptLength, `${param}.apply`);
    if (ivs !== 'all' && ivs.length > 1 && operator !== 'add') throw badRequest(`${param}: an ablation takes one contiguous position window`, `${param}.apply`);
    for (const site of sites) {
      const prior = claimed.get(site);
      if (prior !== undefined) {
        if (conflict === 'error') throw badRequest(`steering.vectors[${prior}] and [${i}] both steer ${site} (conflict: "error")`, 'steering.conflict');
        if (conflict === 'priority') continue;
      } else claimed.set(site, i);
      const positions: PositionSpec[] = ivs === 'all' ? ['all'] : ivs;
      for (const p of positions) {
        const iv: Intervention = { site, vector: vector.direction(site), strength: scale, positions: p };
        if (operator !== 'add') iv.operator = operator;
        out.push(iv);
      }
    }
  });
  return out.length > 0 ? out : undefined;
}
