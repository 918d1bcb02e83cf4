/**
 * A Steering as the `steering` request field (EasySteer's schema, which
 * onnx-steer's server reads). Vectors travel by name: each local vector is
 * matched, by content checksum, to an entry the server lists under
 * GET /v1/steering/vectors. Positions map to `apply`:
 *
 *   all → (no apply)   prompt → prompt: "all"   generated → generation: "all"
 *
 * and, when the whole sequence is sent as a prompt to be scored (prompt of P
 * tokens + continuation), `prompt` → prompt_window [0, P) and `generated` →
 * prompt_window [P, end). The server applies directions only: vectors with
 * low-rank maps, strength schedules, norm-preserving steering and absolute
 * windows are refused here rather than silently changed.
 */
import { BackendCapabilityError } from '../errors.js';
import { Steering, type SteeringTerm } from '../vectors/steering.js';
import { checksumOf } from '../vectors/checksum.js';
import type { BackendSteering } from './types.js';

export interface ListedVector { id: string; checksum?: string; compatible?: boolean }

export interface SteeringSpec {
  source: string;
  scale: number;
  sites?: string[];
  operator?: string;
  apply?: Record<string, unknown>;
}

function refuse(where: string, why: string): never {
  throw new BackendCapabilityError('steering', `${where} cannot steer with this plan: ${why}`);
}

function apply(term: SteeringTerm, where: string, scoredPromptLength: number | undefined): Record<string, unknown> | undefined {
  const p = term.positions ?? 'all';
  if (p === 'all') return undefined;
  if (typeof p !== 'string') refuse(where, `absolute position windows (${p.start}:${p.end ?? ''}) are not sent to servers; use all, prompt or generated`);
  if (scoredPromptLength === undefined) return p === 'prompt' ? { prompt: 'all' } : { generation: 'all' };
  return p === 'prompt' ? { prompt_window: [0, scoredPromptLength] } : { prompt_window: [scoredPromptLength, null] };
}

/** Server name of each local vector, matched by checksum. */
export function matchVectors(steering: Steering, listed: readonly ListedVector[], where: string): Map<string, string> {
  const byChecksum = new Map<string, ListedVector>();
  for (const v of listed) if (v.checksum && v.compatible !== false && !byChecksum.has(v.checksum)) byChecksum.set(v.checksum, v);
  const out = new Map<string, string>();
  for (const t of steering.terms) {
    const sum = checksumOf(t.vector);
    const hit = byChecksum.get(sum);
    if (!hit) throw new BackendCapabilityError('steering', `${where} lists no steering vector matching "${t.vector.name}" (checksum ${sum.slice(0, 19)}…); start it with --vectors <a folder holding that file>`);
    out.set(sum, hit.id);
  }
  return out;
}

/**
 * The `steering` field for a draw (scoredPromptLength undefined) or for
 * scoring a sequence whose first `scoredPromptLength` tokens are the prompt.
 */
export function steeringField(steering: BackendSteering | undefined, names: ReadonlyMap<string, string>, where: string, scoredPromptLength?: number): { vectors: SteeringSpec[] } | undefined {
  if (steering === undefined) return undefined;
  if (!(steering instanceof Steering)) {
    if (steering.length === 0) return undefined;
    refuse(where, 'a raw intervention plan has no vector names; pass a Steering (vector + strength)');
  }
  if (steering.empty) return undefined;
  const vectors: SteeringSpec[] = [];
  for (const t of steering.terms) {
    if (t.schedule && t.schedule.kind !== 'constant') refuse(where, `strength schedules (${t.schedule.kind}) are local only`);
    if (t.normPreserving) refuse(where, 'norm-preserving steering is local only');
    const sites = t.sites ?? t.vector.sites;
    if (t.lowRank !== false && sites.some((s) => t.vector.lowRank(s) !== undefined)) refuse(where, `vector "${t.vector.name}" has low-rank maps, which servers do not apply`);
    const source = names.get(checksumOf(t.vector));
    if (source === undefined) refuse(where, `vector "${t.vector.name}" was not matched to a server vector`);
    const a = apply(t, where, scoredPromptLength);
    const base = { source, ...(t.operator && t.operator !== 'add' ? { operator: t.operator } : {}), ...(a ? { apply: a } : {}) };
    if (typeof t.strength === 'number') vectors.push({ ...base, scale: t.strength, ...(t.sites ? { sites: [...t.sites] } : {}) });
    else for (const site of sites) vectors.push({ ...base, scale: t.strength[site] ?? refuse(where, `no strength for ${site}`), sites: [site] });
  }
  return { vectors };
}
