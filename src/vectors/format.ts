/**
 * The vector file format (JSON, `onnx-steer.vector`). Directions are stored
 * as base64 of little-endian float32, so a save/load round trip is
 * bit-exact. Version 2 adds an optional low-rank map per site (`lowRank`:
 * rank, V and U as row-major [hidden, rank] float32, and its fit); version 1
 * files (no map) still load, and files are written as version 2. Loading validates everything and throws typed errors: bad JSON
 * or structure → CorruptFileError, wrong dimensions → ShapeMismatchError,
 * non-finite values → InvalidDataError.
 */
import { createHash } from 'node:crypto';
import { CorruptFileError, InvalidDataError, ShapeMismatchError } from '../errors.js';

export const VECTOR_FORMAT = 'onnx-steer.vector';
export const VECTOR_VERSION = 2;
/** Versions this reader accepts. */
export const VECTOR_VERSIONS: readonly number[] = [1, 2];

export interface ModelIdentity {
  /** sha256 fingerprint from hooks.json. */
  fingerprint: string;
  architecture: string;
  hiddenSize: number;
}

export interface DatasetInfo {
  sha256: string;
  /** Bytes. */
  size: number;
  pairs: number;
  /** Base name of the pairs file. */
  file?: string;
  kind: 'responses' | 'instructions';
}

export interface SiteSeparability {
  folds: number;
  accuracy: number;
  margin: number;
  effectSize: number;
  probeAccuracy: number;
}

export interface SiteMeta {
  /** L2 norm of the stored direction. */
  norm: number;
  /** Norm of the mean difference (pos − neg) at the site: how far apart the two sides sit. */
  contrastNorm?: number;
  /** Mean L2 norm of the residual at the site over the pairs: the scale strengths act against. */
  residualNorm?: number;
  separability?: SiteSeparability;
  /** How the site's low-rank map was fitted, when it has one. */
  lowRankFit?: LowRankFit;
}

/** Held-out quality of a ridge-fitted low-rank map δ ≈ b + (h·V)·Uᵀ (see vectors/lowrank-fit.ts). */
export interface LowRankFit {
  rank: number;
  /** Ridge penalty λ (absolute; `lambdaScale` = λ ÷ (trace(XᵀX)/hidden)). */
  lambda: number;
  lambdaScale: number;
  /** Held-out R² of the chosen (rank, λ) over folds of pairs. */
  r2: number;
  /** Held-out R² of the constant predictor (the mean difference): the baseline the map must beat. */
  r2Constant: number;
  folds: number;
  /** Samples (tokens) fitted. */
  samples: number;
  intercept: boolean;
}

/** A site's stored low-rank map. */
export interface LowRankArrays {
  rank: number;
  /** Row-major [hidden, rank]. */
  v: Float32Array;
  u: Float32Array;
  /**
   * Added to the site's direction when the map is applied ([hidden]), so a
   * map fitted on centred activations, δ ≈ d + ((h − h̄)·V)·Uᵀ, stores the
   * mean difference d as the direction and shift = −(h̄·V)·Uᵀ.
   */
  shift?: Float32Array;
}

export interface VectorMetadata {
  model: ModelIdentity;
  /** Extraction method, or `derived` for results of vector arithmetic. */
  method: string;
  /** Read position (`last`, `mean`, `response:64`, `index:-2`). */
  read?: string;
  dataset?: DatasetInfo;
  library: { name: string; version: string };
  name?: string;
  description?: string;
  /**
   * Steering strengths in which text stays fluent, as measured when it was
   * made; or, when a preference criterion chose it (`sweep --criterion`),
   * 0 … the criterion's best strength, with the criterion recorded.
   */
  recommendedStrength?: { min: number; max: number; criterion?: StrengthCriterion };
  /** How a derived vector was made, e.g. `scale(joy, 2)`. */
  derivation?: string;
  /** RAHF-Dual: the two models whose difference the vector is (`model` is the one it steers). */
  sources?: { preferred: ModelIdentity; dispreferred: ModelIdentity };
  sites: Record<string, SiteMeta>;
}

/** Which preference criterion chose a recommended strength, with its parameters. */
export interface StrengthCriterion {
  name: string;
  strength: number;
  loss: number;
  beta: number;
  eta: number;
  epsilon: number;
  references: string[];
}

function checkCriterion(c: unknown, where: string): StrengthCriterion {
  need(isObj(c) && typeof c.name === 'string' && isNum(c.strength) && isNum(c.loss) && isNum(c.beta) && isNum(c.eta) && isNum(c.epsilon)
    && Array.isArray(c.references) && c.references.every((r) => typeof r === 'string'), where, '"recommendedStrength.criterion" needs name, strength, loss, beta, eta, epsilon and references');
  return { name: c.name, strength: c.strength, loss: c.loss, beta: c.beta, eta: c.eta, epsilon: c.epsilon, references: [...c.references] };
}

export interface VectorFileSite extends SiteMeta {
  name: string;
  /** base64 of little-endian float32 [hiddenSize]. */
  direction: string;
  /** Version 2: the low-rank map, V and U as base64 float32 [hiddenSize × rank], row-major. */
  lowRank?: { rank: number; v: string; u: string; shift?: string };
}

export interface VectorFile extends Omit<VectorMetadata, 'sites'> {
  format: typeof VECTOR_FORMAT;
  version: number;
  encoding: 'float32-le-base64';
  hiddenSize: number;
  sites: VectorFileSite[];
  /**
   * `sha256:<hex>` over the stored data: for each site in file order, its
   * name, a zero byte and its direction's float32 bytes. Verified on load;
   * files written before it existed have none and still load.
   */
  checksum?: string;
}

/**
 * The checksum of a vector's data (see VectorFile.checksum): per site, its
 * name, a zero byte and its direction's float32 bytes; for a site with a
 * low-rank map, then its rank and the V and U bytes.
 */
export function vectorChecksum(directions: Iterable<readonly [string, Float32Array]>, lowRank: ReadonlyMap<string, LowRankArrays> = new Map()): string {
  const hash = createHash('sha256');
  const floats = (v: Float32Array) => {
    const bytes = Buffer.alloc(v.length * 4);
    for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i] as number, i * 4);
    hash.update(bytes);
  };
  for (const [name, v] of directions) {
    hash.update(Buffer.from(name, 'utf8'));
    hash.update(Buffer.alloc(1));
    floats(v);
    const map = lowRank.get(name);
    if (map) {
      hash.update(Buffer.from(`lowRank:${map.rank}`, 'utf8'));
      floats(map.v);
      floats(map.u);
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

export function encodeFloat32(v: Float32Array): string {
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i] as number, i * 4);
  return bytes.toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeFloat32(text: string, hidden: number, where: string, what = 'direction', expected = `hiddenSize is ${hidden}`): Float32Array {
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new CorruptFileError(where, `${what} is not valid base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== hidden * 4) {
    throw new ShapeMismatchError(`${where}: ${what} has ${bytes.length / 4} values, ${expected}`);
  }
  const out = new Float32Array(hidden);
  for (let i = 0; i < hidden; i++) {
    const x = bytes.readFloatLE(i * 4);
    if (!Number.isFinite(x)) throw new InvalidDataError(`${where}: ${what} has a non-finite value (${x}) at index ${i}`);
    out[i] = x;
  }
  return out;
}

function need(cond: boolean, where: string, what: string): asserts cond {
  if (!cond) throw new CorruptFileError(where, what);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkSiteMeta(s: Record<string, unknown>, where: string): SiteMeta {
  need(isNum(s.norm) && s.norm >= 0, where, 'site "norm" must be a finite number ≥ 0');
  const meta: SiteMeta = { norm: s.norm };
  if (s.contrastNorm !== undefined) { need(isNum(s.contrastNorm), where, '"contrastNorm" must be a number'); meta.contrastNorm = s.contrastNorm; }
  if (s.residualNorm !== undefined) { need(isNum(s.residualNorm), where, '"residualNorm" must be a number'); meta.residualNorm = s.residualNorm; }
  if (s.separability !== undefined) {
    const sep = s.separability;
    need(isObj(sep) && ['folds', 'accuracy', 'margin', 'effectSize', 'probeAccuracy'].every((k) => isNum(sep[k])), where, '"separability" needs numeric folds, accuracy, margin, effectSize, probeAccuracy');
    meta.separability = { folds: sep.folds as number, accuracy: sep.accuracy as number, margin: sep.margin as number, effectSize: sep.effectSize as number, probeAccuracy: sep.probeAccuracy as number };
  }
  if (s.lowRankFit !== undefined) {
    const f = s.lowRankFit;
    const keys = ['rank', 'lambda', 'lambdaScale', 'r2', 'r2Constant', 'folds', 'samples'] as const;
    need(isObj(f) && keys.every((k) => isNum(f[k])) && typeof f.intercept === 'boolean', where, `"lowRankFit" needs numeric ${keys.join(', ')} and a boolean intercept`);
    meta.lowRankFit = { rank: f.rank as number, lambda: f.lambda as number, lambdaScale: f.lambdaScale as number, r2: f.r2 as number, r2Constant: f.r2Constant as number, folds: f.folds as number, samples: f.samples as number, intercept: f.intercept };
  }
  return meta;
}

/** Validates a parsed vector file; returns metadata and directions. */
export function parseVectorFile(raw: unknown, where: string): { meta: VectorMetadata; directions: Map<string, Float32Array>; lowRank: Map<string, LowRankArrays> } {
  need(isObj(raw), where, 'a vector file is a JSON object');
  need(raw.format === VECTOR_FORMAT, where, `not an onnx-steer vector (format ${JSON.stringify(raw.format)})`);
  need(typeof raw.version === 'number' && VECTOR_VERSIONS.includes(raw.version), where, `unsupported vector version ${JSON.stringify(raw.version)} (this reader takes ${VECTOR_VERSIONS.join(', ')})`);
  need(raw.encoding === 'float32-le-base64', where, `unsupported encoding ${JSON.stringify(raw.encoding)}`);
  const hidden = raw.hiddenSize;
  need(typeof hidden === 'number' && Number.isInteger(hidden) && hidden > 0, where, '"hiddenSize" must be a positive integer');
  const model = raw.model;
  need(isObj(model) && typeof model.fingerprint === 'string' && typeof model.architecture === 'string' && typeof model.hiddenSize === 'number', where, '"model" needs fingerprint, architecture and hiddenSize');
  if (model.hiddenSize !== hidden) throw new ShapeMismatchError(`${where}: model.hiddenSize ${String(model.hiddenSize)} differs from hiddenSize ${hidden}`);
  need(typeof raw.method === 'string' && raw.method.length > 0, where, '"method" must be a string');
  const lib = raw.library;
  need(isObj(lib) && typeof lib.name === 'string' && typeof lib.version === 'string', where, '"library" needs name and version');
  need(Array.isArray(raw.sites) && raw.sites.length > 0, where, '"sites" must be a non-empty array');
  const directions = new Map<string, Float32Array>();
  const lowRank = new Map<string, LowRankArrays>();
  const sites: Record<string, SiteMeta> = {};
  raw.sites.forEach((s: unknown, i: number) => {
    need(isObj(s) && typeof s.name === 'string' && s.name.length > 0 && typeof s.direction === 'string', where, `sites[${i}] needs a name and a direction`);
    need(!directions.has(s.name), where, `site ${s.name} appears twice`);
    const at = `${where} (${s.name})`;
    directions.set(s.name, decodeFloat32(s.direction, hidden, at));
    sites[s.name] = checkSiteMeta(s, at);
    if (s.lowRank !== undefined) {
      need(raw.version !== 1, where, `site ${s.name} has a low-rank map, which version 1 files cannot carry`);
      const m = s.lowRank;
      need(isObj(m) && typeof m.rank === 'number' && Number.isInteger(m.rank) && m.rank >= 1 && m.rank < hidden && typeof m.v === 'string' && typeof m.u === 'string', at, `"lowRank" needs an integer rank in [1, ${hidden - 1}] and base64 v, u`);
      const n = hidden * m.rank;
      const expected = `expected ${hidden}×${m.rank}`;
      need(m.shift === undefined || typeof m.shift === 'string', at, '"lowRank.shift" must be base64');
      lowRank.set(s.name, {
        rank: m.rank, v: decodeFloat32(m.v, n, at, 'low-rank V', expected), u: decodeFloat32(m.u, n, at, 'low-rank U', expected),
        ...(typeof m.shift === 'string' ? { shift: decodeFloat32(m.shift, hidden, at, 'low-rank shift') } : {}),
      });
    }
  });
  if (raw.checksum !== undefined) {
    need(typeof raw.checksum === 'string' && /^sha256:[0-9a-f]{64}$/.test(raw.checksum), where, '"checksum" must be "sha256:<64 hex digits>"');
    const actual = vectorChecksum(directions, lowRank);
    if (actual !== raw.checksum) throw new CorruptFileError(where, `checksum mismatch: the stored directions do not match ${raw.checksum.slice(0, 19)}… (the file was altered or damaged)`);
  }
  const meta: VectorMetadata = {
    model: { fingerprint: model.fingerprint, architecture: model.architecture, hiddenSize: model.hiddenSize },
    method: raw.method,
    library: { name: lib.name, version: lib.version },
    sites,
  };
  if (typeof raw.read === 'string') meta.read = raw.read;
  if (typeof raw.name === 'string') meta.name = raw.name;
  if (typeof raw.description === 'string') meta.description = raw.description;
  if (typeof raw.derivation === 'string') meta.derivation = raw.derivation;
  if (raw.sources !== undefined) {
    const src = raw.sources;
    const ident = (m: unknown): m is ModelIdentity => isObj(m) && typeof m.fingerprint === 'string' && typeof m.architecture === 'string' && isNum(m.hiddenSize);
    need(isObj(src) && ident(src.preferred) && ident(src.dispreferred), where, '"sources" needs preferred and dispreferred models (fingerprint, architecture, hiddenSize)');
    meta.sources = { preferred: identity(src.preferred), dispreferred: identity(src.dispreferred) };
  }
  if (raw.dataset !== undefined) {
    const d = raw.dataset;
    need(isObj(d) && typeof d.sha256 === 'string' && isNum(d.size) && isNum(d.pairs) && (d.kind === 'responses' || d.kind === 'instructions'), where, '"dataset" needs sha256, size, pairs and kind');
    meta.dataset = { sha256: d.sha256, size: d.size, pairs: d.pairs, kind: d.kind, ...(typeof d.file === 'string' ? { file: d.file } : {}) };
  }
  if (raw.recommendedStrength !== undefined) {
    const r = raw.recommendedStrength;
    need(isObj(r) && isNum(r.min) && isNum(r.max) && r.min <= r.max, where, '"recommendedStrength" needs numbers min ≤ max');
    meta.recommendedStrength = { min: r.min, max: r.max, ...(r.criterion !== undefined ? { criterion: checkCriterion(r.criterion, where) } : {}) };
  }
  return { meta, directions, lowRank };
}

function identity(m: ModelIdentity): ModelIdentity {
  return { fingerprint: m.fingerprint, architecture: m.architecture, hiddenSize: m.hiddenSize };
}

function siteEntry(name: string, m: SiteMeta | undefined, v: Float32Array, map?: LowRankArrays): VectorFileSite {
  const out: VectorFileSite = { name, norm: m?.norm ?? 0, direction: '' };
  if (m?.contrastNorm !== undefined) out.contrastNorm = m.contrastNorm;
  if (m?.residualNorm !== undefined) out.residualNorm = m.residualNorm;
  if (m?.separability) out.separability = m.separability;
  if (m?.lowRankFit) out.lowRankFit = { ...m.lowRankFit };
  out.direction = encodeFloat32(v);
  if (map) out.lowRank = { rank: map.rank, v: encodeFloat32(map.v), u: encodeFloat32(map.u), ...(map.shift ? { shift: encodeFloat32(map.shift) } : {}) };
  return out;
}

/** The file form, with keys in a fixed order (so equal vectors write equal bytes). */
export function toVectorFile(meta: VectorMetadata, directions: ReadonlyMap<string, Float32Array>, lowRank: ReadonlyMap<string, LowRankArrays> = new Map()): VectorFile {
  const file: VectorFile = {
    format: VECTOR_FORMAT,
    version: VECTOR_VERSION,
    encoding: 'float32-le-base64',
    hiddenSize: meta.model.hiddenSize,
    model: { fingerprint: meta.model.fingerprint, architecture: meta.model.architecture, hiddenSize: meta.model.hiddenSize },
    method: meta.method,
    library: { name: meta.library.name, version: meta.library.version },
    sites: [],
  };
  if (meta.name !== undefined) file.name = meta.name;
  if (meta.description !== undefined) file.description = meta.description;
  if (meta.read !== undefined) file.read = meta.read;
  if (meta.derivation !== undefined) file.derivation = meta.derivation;
  if (meta.sources) file.sources = { preferred: identity(meta.sources.preferred), dispreferred: identity(meta.sources.dispreferred) };
  if (meta.dataset) {
    const d = meta.dataset;
    file.dataset = { sha256: d.sha256, size: d.size, pairs: d.pairs, kind: d.kind, ...(d.file !== undefined ? { file: d.file } : {}) };
  }
  if (meta.recommendedStrength) {
    const r = meta.recommendedStrength;
    file.recommendedStrength = { min: r.min, max: r.max, ...(r.criterion ? { criterion: { ...r.criterion, references: [...r.criterion.references] } } : {}) };
  }
  file.sites = [...directions.entries()].map(([name, v]) => siteEntry(name, meta.sites[name], v, lowRank.get(name)));
  file.checksum = vectorChecksum(directions.entries(), lowRank);
  return file;
}
