/**
 * SteeringVector: an immutable value holding one direction per hook site and
 * the metadata that says where it came from (model fingerprint, method, read
 * position, dataset hash, library version, norms, separability, recommended
 * strengths). Arithmetic returns new vectors; `toPlan()` turns a vector into
 * interventions for generate(), score() and capture().
 */
import { readInputFile } from '../validate/index.js';
import { CorruptFileError, InvalidArgumentError, ModelMismatchError, ShapeMismatchError } from '../errors.js';
import type { HooksManifest } from '../hooks/manifest.js';
import type { Intervention, PositionSpec, SteeringOperator, StrengthSchedule } from '../steering/plan.js';
import { atomicWriteFile } from '../files/fs.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import { parseVectorFile, toVectorFile, type LowRankArrays, type ModelIdentity, type SiteMeta, type VectorFile, type VectorMetadata } from './format.js';
import { l2norm } from './samples.js';

/** Anything that can say which model it is: a HookedModel or its manifest. */
export type ModelLike = HooksManifest | { manifest: HooksManifest };

function manifestOf(m: ModelLike): HooksManifest {
  return 'manifest' in m ? m.manifest : m;
}

export function modelIdentity(m: ModelLike): ModelIdentity {
  const man = manifestOf(m);
  return { fingerprint: man.fingerprint, architecture: man.architecture, hiddenSize: man.hiddenSize };
}

export interface ToPlanOptions {
  /** One strength for every site, or one per site. Ignored by `ablate`. */
  strength: number | Readonly<Record<string, number>>;
  /** A subset of the vector's sites (default: all of them). */
  sites?: readonly string[];
  operator?: SteeringOperator;
  positions?: PositionSpec;
  schedule?: StrengthSchedule;
  /** Keep the residual norm at each steered position (needs a norm-preserving model). */
  normPreserving?: boolean;
  /**
   * Apply the sites' low-rank maps, when the vector has them (default true):
   * h' = h + strength·(d + shift + (h·V)·Uᵀ), d the direction. With false,
   * only the constant vector d.
   */
  lowRank?: boolean;
}

export interface LoadVectorOptions {
  /** Refuse the file unless it was made for this model. */
  model?: ModelLike;
}

export class SteeringVector {
  readonly meta: Readonly<VectorMetadata>;
  private readonly dirs: ReadonlyMap<string, Float32Array>;
  private readonly maps: ReadonlyMap<string, LowRankArrays>;

  private constructor(meta: VectorMetadata, dirs: Map<string, Float32Array>, maps: Map<string, LowRankArrays> = new Map()) {
    this.meta = Object.freeze(meta);
    this.dirs = dirs;
    this.maps = maps;
  }

  /**
   * A vector from per-site directions (copied) and metadata; site norms in
   * the metadata are recomputed from the directions. `lowRank` gives sites a
   * low-rank map (V, U row-major [hidden, rank], rank < hidden; copied).
   */
  static create(
    directions: ReadonlyMap<string, ArrayLike<number>> | Readonly<Record<string, ArrayLike<number>>>,
    meta: Omit<VectorMetadata, 'library' | 'sites'> & { sites?: Record<string, SiteMeta>; library?: VectorMetadata['library'] },
    lowRank: ReadonlyMap<string, LowRankArrays> = new Map(),
  ): SteeringVector {
    const entries: [string, ArrayLike<number>][] = directions instanceof Map
      ? [...(directions as ReadonlyMap<string, ArrayLike<number>>).entries()]
      : Object.entries(directions as Readonly<Record<string, ArrayLike<number>>>);
    if (entries.length === 0) throw new InvalidArgumentError('a steering vector needs at least one site');
    const H = meta.model.hiddenSize;
    const dirs = new Map<string, Float32Array>();
    const sites: Record<string, SiteMeta> = {};
    for (const [site, v] of entries) {
      if (v.length !== H) throw new ShapeMismatchError(`direction for ${site} has ${v.length} values, the model's hidden size is ${H}`);
      const copy = Float32Array.from(v);
      for (let i = 0; i < H; i++) if (!Number.isFinite(copy[i])) throw new InvalidArgumentError(`direction for ${site} has a non-finite value at index ${i}`);
      dirs.set(site, copy);
      sites[site] = { ...(meta.sites?.[site] ?? {}), norm: l2norm(copy) };
    }
    const maps = new Map<string, LowRankArrays>();
    for (const [site, m] of lowRank) {
      if (!dirs.has(site)) throw new InvalidArgumentError(`low-rank map for ${site}, which has no direction`);
      if (!Number.isInteger(m.rank) || m.rank < 1 || m.rank >= H) throw new InvalidArgumentError(`low-rank map for ${site}: rank must be an integer in [1, ${H - 1}] (below the hidden size ${H}), got ${m.rank}`);
      if (m.v.length !== H * m.rank || m.u.length !== H * m.rank) throw new ShapeMismatchError(`low-rank map for ${site}: V and U must have ${H}×${m.rank} values`);
      const v = Float32Array.from(m.v);
      const u = Float32Array.from(m.u);
      for (const a of [v, u]) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new InvalidArgumentError(`low-rank map for ${site} has a non-finite value at index ${i}`);
      if (m.shift && m.shift.length !== H) throw new ShapeMismatchError(`low-rank map for ${site}: the shift must have ${H} values`);
      maps.set(site, { rank: m.rank, v, u, ...(m.shift ? { shift: Float32Array.from(m.shift) } : {}) });
    }
    return new SteeringVector({ ...meta, library: meta.library ?? { name: LIBRARY_NAME, version: LIBRARY_VERSION }, sites }, dirs, maps);
  }

  get sites(): string[] { return [...this.dirs.keys()]; }
  get hiddenSize(): number { return this.meta.model.hiddenSize; }
  get name(): string { return this.meta.name ?? 'vector'; }

  hasSite(site: string): boolean { return this.dirs.has(site); }

  /** A copy of the direction at `site`. */
  direction(site: string): Float32Array {
    const d = this.dirs.get(site);
    if (!d) throw new InvalidArgumentError(`vector "${this.name}" has no direction for ${site} (it has ${this.sites.join(', ')})`);
    return Float32Array.from(d);
  }

  norm(site: string): number { return l2norm(this.dirs.get(site) ?? []); }

  /** Whether `site` carries a low-rank map. */
  hasLowRank(site: string): boolean { return this.maps.has(site); }

  /** A copy of the site's low-rank map, if it has one. */
  lowRank(site: string): LowRankArrays | undefined {
    const m = this.maps.get(site);
    return m ? { rank: m.rank, v: Float32Array.from(m.v), u: Float32Array.from(m.u), ...(m.shift ? { shift: Float32Array.from(m.shift) } : {}) } : undefined;
  }

  // ---- arithmetic (immutable) ----

  private derive(dirs: Map<string, Float32Array>, derivation: string, keep: { strength?: (r: { min: number; max: number }) => { min: number; max: number } | undefined; siteMeta?: boolean } = {}, maps: Map<string, LowRankArrays> = new Map()): SteeringVector {
    const { recommendedStrength, sites: _sites, ...rest } = this.meta;
    const meta: VectorMetadata = { ...rest, method: rest.method, derivation, sites: {} };
    if (recommendedStrength && keep.strength) {
      const r = keep.strength(recommendedStrength);
      if (r) meta.recommendedStrength = r;
    }
    for (const [site, v] of dirs) meta.sites[site] = keep.siteMeta ? { ...(this.meta.sites[site] ?? {}), norm: l2norm(v) } : { norm: l2norm(v) };
    return new SteeringVector(meta, dirs, maps);
  }

  /** Every map with U scaled by k (the map is linear in U). */
  private scaledMaps(k: number): Map<string, LowRankArrays> {
    const out = new Map<string, LowRankArrays>();
    for (const [site, m] of this.maps) out.set(site, { rank: m.rank, v: m.v, u: m.u.map((x) => x * k), ...(m.shift ? { shift: m.shift.map((x) => x * k) } : {}) });
    return out;
  }

  private combine(other: SteeringVector, sign: 1 | -1, op: string): SteeringVector {
    this.assertSameModel(other);
    const dirs = new Map<string, Float32Array>();
    const H = this.hiddenSize;
    for (const site of new Set([...this.sites, ...other.sites])) {
      const a = this.dirs.get(site);
      const b = other.dirs.get(site);
      const out = new Float32Array(H);
      for (let i = 0; i < H; i++) out[i] = (a?.[i] ?? 0) + sign * (b?.[i] ?? 0);
      dirs.set(site, out);
    }
    // Sums of maps are maps of the summed rank: [V₁ V₂] and [U₁ ±U₂], column-concatenated.
    const maps = new Map<string, LowRankArrays>();
    for (const site of dirs.keys()) {
      const a = this.maps.get(site);
      const b = other.maps.get(site);
      if (!a && !b) continue;
      const parts = [...(a ? [{ m: a, s: 1 }] : []), ...(b ? [{ m: b, s: sign }] : [])];
      const rank = parts.reduce((n, p) => n + p.m.rank, 0);
      if (rank >= H) throw new InvalidArgumentError(`the sum of the low-rank maps at ${site} would have rank ${rank}, not below the hidden size ${H}`);
      const v = new Float32Array(H * rank);
      const u = new Float32Array(H * rank);
      let col = 0;
      for (const { m, s } of parts) {
        for (let h = 0; h < H; h++) for (let c = 0; c < m.rank; c++) { v[h * rank + col + c] = m.v[h * m.rank + c] as number; u[h * rank + col + c] = s * (m.u[h * m.rank + c] as number); }
        col += m.rank;
      }
      const shift = new Float32Array(H);
      for (const { m, s } of parts) if (m.shift) for (let h = 0; h < H; h++) shift[h] = (shift[h] as number) + s * (m.shift[h] as number);
      maps.set(site, { rank, v, u, shift });
    }
    return this.derive(dirs, `(${this.label()} ${op} ${other.label()})`, {}, maps);
  }

  add(other: SteeringVector): SteeringVector { return this.combine(other, 1, '+'); }
  subtract(other: SteeringVector): SteeringVector { return this.combine(other, -1, '-'); }

  scale(k: number): SteeringVector {
    if (!Number.isFinite(k)) throw new InvalidArgumentError(`scale factor must be finite, got ${k}`);
    const dirs = new Map<string, Float32Array>();
    for (const [site, v] of this.dirs) dirs.set(site, v.map((x) => x * k));
    // The same steering needs 1/k of the strength.
    return this.derive(dirs, `(${this.label()} * ${k})`, {
      siteMeta: false,
      strength: (r) => (k === 0 ? undefined : k > 0 ? { min: r.min / k, max: r.max / k } : { min: r.max / k, max: r.min / k }),
    }, this.scaledMaps(k));
  }

  negate(): SteeringVector { return this.scale(-1); }

  /** Every site's direction scaled to unit norm (zero directions are refused); a site's map scales with it. */
  normalize(): SteeringVector {
    const dirs = new Map<string, Float32Array>();
    const maps = new Map<string, LowRankArrays>();
    for (const [site, v] of this.dirs) {
      const n = l2norm(v);
      if (!(n > 0)) throw new InvalidArgumentError(`cannot normalize the zero direction at ${site}`);
      dirs.set(site, v.map((x) => x / n));
      const m = this.maps.get(site);
      if (m) maps.set(site, { rank: m.rank, v: m.v, u: m.u.map((x) => x / n), ...(m.shift ? { shift: m.shift.map((x) => x / n) } : {}) });
    }
    return this.derive(dirs, `normalize(${this.label()})`, {}, maps);
  }

  restrictToSites(sites: readonly string[]): SteeringVector {
    if (sites.length === 0) throw new InvalidArgumentError('restrictToSites needs at least one site');
    const dirs = new Map<string, Float32Array>();
    const maps = new Map<string, LowRankArrays>();
    for (const s of sites) {
      dirs.set(s, this.direction(s));
      const m = this.maps.get(s);
      if (m) maps.set(s, m);
    }
    return this.derive(dirs, this.meta.derivation ?? this.label(), { siteMeta: true, strength: (r) => r }, maps);
  }

  private label(): string { return this.meta.derivation ?? this.meta.name ?? 'vector'; }

  private assertSameModel(other: SteeringVector): void {
    const a = this.meta.model;
    const b = other.meta.model;
    if (a.hiddenSize !== b.hiddenSize) throw new ModelMismatchError(`cannot combine vectors of hidden size ${a.hiddenSize} and ${b.hiddenSize}`);
    if (a.fingerprint !== b.fingerprint) throw new ModelMismatchError(`cannot combine vectors made for different models (${a.fingerprint.slice(0, 12)}… and ${b.fingerprint.slice(0, 12)}…)`);
  }

  // ---- models and plans ----

  /** Throws ModelMismatchError unless the vector was made for this model and its sites exist there. */
  check(model: ModelLike): void {
    const man = manifestOf(model);
    const own = this.meta.model;
    if (own.hiddenSize !== man.hiddenSize) throw new ModelMismatchError(`vector "${this.name}" has hidden size ${own.hiddenSize}, the model's is ${man.hiddenSize}`);
    if (own.fingerprint !== man.fingerprint) {
      throw new ModelMismatchError(`vector "${this.name}" was made for model ${own.fingerprint.slice(0, 16)}… (${own.architecture}), not this model ${man.fingerprint.slice(0, 16)}… (${man.architecture})`);
    }
    const names = new Set(man.sites.map((s) => s.name));
    const missing = this.sites.filter((s) => !names.has(s));
    if (missing.length > 0) throw new ModelMismatchError(`vector "${this.name}" steers ${missing.join(', ')}, which this model does not hook`);
  }

  toPlan(options: ToPlanOptions): Intervention[] {
    const sites = options.sites ?? this.sites;
    return sites.map((site) => {
      const strength = typeof options.strength === 'number' ? options.strength : options.strength[site];
      if (strength === undefined || !Number.isFinite(strength)) throw new InvalidArgumentError(`no finite strength for ${site}`);
      const map = options.lowRank === false ? undefined : this.maps.get(site);
      const vector = this.direction(site);
      if (map?.shift) for (let h = 0; h < vector.length; h++) vector[h] = (vector[h] as number) + (map.shift[h] as number);
      const iv: Intervention = { site, vector, strength };
      if (options.operator) iv.operator = options.operator;
      if (options.positions !== undefined) iv.positions = options.positions;
      if (options.schedule) iv.schedule = options.schedule;
      if (options.normPreserving) iv.normPreserving = true;
      if (map) iv.lowRank = { rank: map.rank, v: Float32Array.from(map.v), u: Float32Array.from(map.u) };
      return iv;
    });
  }

  // ---- files ----

  toJSON(): VectorFile { return toVectorFile(this.meta, this.dirs, this.maps); }

  /** The vector file's text, as `save()` writes it. */
  fileText(): string { return `${JSON.stringify(this.toJSON(), null, 2)}\n`; }

  /** Writes the vector file atomically. */
  save(path: string): void {
    atomicWriteFile(path, this.fileText());
  }

  static fromJSON(raw: unknown, where = '<vector>'): SteeringVector {
    const { meta, directions, lowRank } = parseVectorFile(raw, where);
    return new SteeringVector(meta, directions, lowRank);
  }

  static load(path: string, options: LoadVectorOptions = {}): SteeringVector {
    const bytes = readInputFile(path, 'vector file');
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new CorruptFileError(path, `invalid JSON (${(err as Error).message})`, { cause: err });
    }
    const v = SteeringVector.fromJSON(raw, path);
    if (options.model) v.check(options.model);
    return v;
  }
}
