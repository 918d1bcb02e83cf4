/**
 * RAHF-Dual (Liu et al. 2023): the representation difference between a
 * preferred-tuned and a dispreferred-tuned model **on the same input**.
 *
 * Both responses of every pair (prompt ⊕ chosen and prompt ⊕ rejected) run
 * through both models; at each site the direction is the mean, over the
 * first K response tokens of every response (K = 64 by default, as in the
 * paper), of h_preferred − h_dispreferred. The mean is token-weighted: every
 * response token read counts once.
 *
 * The vector steers a third model (or one of the two): the target, by
 * default the dispreferred (base-like) model, whose fingerprint it carries.
 * All models must share architecture, depth, hidden size and tokenizer.
 * Held-out separability (k-fold over pairs) says how far apart the two
 * models' representations sit; the strength range is measured on the target
 * with the pair texts, as for other methods.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InvalidArgumentError, ModelMismatchError } from '../errors.js';
import type { HookedModel } from '../model/hooked-model.js';
import { sha256Files } from '../files/fs.js';
import { encodePairs, type EncodedPair } from '../pairs/encode.js';
import { effectCurve, fluentRange, type EffectPoint } from './effect.js';
import type { LowRankArrays, SiteMeta } from './format.js';
import { fitLowRankMap, type LowRankFitOptions } from './lowrank-fit.js';
import { meanDiff } from './methods.js';
import type { PairDataset } from '../pairs/pairs.js';
import { DEFAULT_RESPONSE_TOKENS } from './positions.js';
import { l2norm, type ContrastSamples } from './samples.js';
import { fitFolds, separability } from './separability.js';
import { DEFAULT_FRACTIONS, DEFAULT_MAX_PERPLEXITY_RATIO } from './sweep.js';
import { SteeringVector, modelIdentity } from './vector.js';

export interface DualModels {
  preferred: HookedModel;
  dispreferred: HookedModel;
  /** The model the vector will steer (default: the dispreferred model). */
  target?: HookedModel;
}

export interface DualReadOptions {
  /** Response tokens read per response (default 64). */
  tokens?: number;
  /** Rows per forward pass (default 16). */
  batchSize?: number;
}

/**
 * Per site, row-aligned activations of the response tokens read: `pos` from
 * the preferred model, `neg` from the dispreferred one, and `base` from the
 * target (the same array as `neg` when the target is the dispreferred model).
 * `pair` is the pair each row came from (both responses of a pair share it).
 */
export interface DualSamples extends ContrastSamples {
  base: Float32Array;
}

export const RAHF_DUAL = 'rahf-dual';

function tokenizerKey(model: HookedModel): string {
  const file = join(model.dir, 'tokenizer.json');
  return existsSync(file) ? sha256Files([file]) : `no tokenizer.json (${model.dir})`;
}

function label(model: HookedModel, role: string): string {
  return `${role} model ${basename(model.dir)} (${model.manifest.architecture}, hidden ${model.manifest.hiddenSize}, ${model.manifest.numBlocks} blocks)`;
}

/**
 * Throws ModelMismatchError, naming both models, unless every model shares
 * architecture, depth, hidden size and tokenizer with the preferred one.
 */
export function assertDualCompatible(models: readonly { role: string; model: HookedModel }[]): void {
  const [first, ...rest] = models;
  if (!first) return;
  const a = first.model.manifest;
  const ta = tokenizerKey(first.model);
  for (const other of rest) {
    const b = other.model.manifest;
    const what = a.architecture !== b.architecture ? 'architecture'
      : a.hiddenSize !== b.hiddenSize ? 'hidden size'
        : a.numBlocks !== b.numBlocks ? 'number of blocks'
          : ta !== tokenizerKey(other.model) ? 'tokenizer' : undefined;
    if (what) throw new ModelMismatchError(`RAHF-Dual needs models of one kind: the ${label(first.model, first.role)} and the ${label(other.model, other.role)} differ in ${what}`);
  }
}

/** One capture per model of both responses of every pair, at every token. */
async function captureAll(model: HookedModel, pairs: readonly EncodedPair[], sites: readonly string[], batchSize: number) {
  return model.capture(pairs.flatMap((p) => [p.pos.ids, p.neg.ids]), sites, { positions: 'all', batchSize });
}

/** Reads aligned per-token activations of both (and the target) models. */
export async function readDual(models: DualModels, pairs: readonly EncodedPair[], sites: readonly string[], options: DualReadOptions = {}): Promise<Map<string, DualSamples>> {
  const K = options.tokens ?? DEFAULT_RESPONSE_TOKENS;
  if (!Number.isInteger(K) || K < 1) throw new InvalidArgumentError(`RAHF-Dual reads K ≥ 1 response tokens, got ${K}`);
  if (pairs.length === 0) throw new InvalidArgumentError('no pairs to read');
  if (sites.length === 0) throw new InvalidArgumentError('no sites to read');
  const target = models.target ?? models.dispreferred;
  for (const m of [models.preferred, models.dispreferred, target]) for (const s of sites) m.runner.site(s);
  const batchSize = options.batchSize ?? 16;
  const pref = await captureAll(models.preferred, pairs, sites, batchSize);
  const dispref = await captureAll(models.dispreferred, pairs, sites, batchSize);
  const separateTarget = target !== models.dispreferred;
  const base = separateTarget ? await captureAll(target, pairs, sites, batchSize) : dispref;
  const H = models.preferred.manifest.hiddenSize;
  // Rows: for each pair, chosen then rejected, their first K response tokens.
  const spans: { seq: number; start: number; n: number; pair: number }[] = [];
  pairs.forEach((p, i) => {
    for (const [k, text] of [[0, p.pos], [1, p.neg]] as const) {
      const n = Math.min(K, text.ids.length - text.responseStart);
      if (n > 0) spans.push({ seq: 2 * i + k, start: text.responseStart, n, pair: i });
    }
  });
  const count = spans.reduce((s, x) => s + x.n, 0);
  const out = new Map<string, DualSamples>();
  for (const site of sites) {
    const pos = new Float32Array(count * H);
    const neg = new Float32Array(count * H);
    const own = separateTarget ? new Float32Array(count * H) : neg;
    const pair = new Int32Array(count);
    let row = 0;
    for (const span of spans) {
      const a = pref[span.seq]?.[site];
      const b = dispref[span.seq]?.[site];
      const c = base[span.seq]?.[site];
      if (!a || !b || !c) throw new InvalidArgumentError(`capture returned no activations for ${site}`);
      const from = span.start * H;
      const to = (span.start + span.n) * H;
      pos.set(a.data.subarray(from, to), row * H);
      neg.set(b.data.subarray(from, to), row * H);
      if (separateTarget) own.set(c.data.subarray(from, to), row * H);
      pair.fill(span.pair, row, row + span.n);
      row += span.n;
    }
    out.set(site, { hidden: H, count, pos, neg, base: own, pair, pairs: pairs.length });
  }
  return out;
}

/** The token-weighted mean of pos − neg (no re-orientation: the difference is the direction). */
export function dualDirection(s: ContrastSamples): Float32Array {
  if (s.count < 1) throw new InvalidArgumentError('RAHF-Dual read no response tokens');
  const H = s.hidden;
  const sum = new Float64Array(H);
  for (let r = 0; r < s.count; r++) for (let h = 0; h < H; h++) sum[h] = (sum[h] as number) + (s.pos[r * H + h] as number) - (s.neg[r * H + h] as number);
  return Float32Array.from(sum, (x) => x / s.count);
}

function meanNorm(rows: Float32Array, count: number, H: number): number {
  let total = 0;
  for (let r = 0; r < count; r++) total += l2norm(rows.subarray(r * H, (r + 1) * H));
  return count > 0 ? total / count : 0;
}

export interface DualExtractOptions extends DualReadOptions {
  sites: readonly string[];
  /** Folds for held-out separability and the strength curve (default 5). */
  folds?: number;
  /** Measure the fluent strength range on the target (default true). */
  recommend?: boolean;
  fractions?: readonly number[];
  maxPerplexityRatio?: number;
  name?: string;
  description?: string;
  onProgress?: (message: string) => void;
  /**
   * Also fit a low-rank map per site from the target's activation to the
   * per-token difference (see lowrank-fit.ts); rank and λ by held-out fit.
   */
  lowRank?: LowRankFitOptions;
}

export interface DualExtractResult {
  vector: SteeringVector;
  /** Per site, the aligned samples (for fitting a low-rank map without reading again). */
  samples: Map<string, DualSamples>;
  curve?: EffectPoint[];
}

/** The RAHF-Dual steering vector of `dataset`, bound to the target model. */
export async function extractDualVector(models: DualModels, dataset: PairDataset, options: DualExtractOptions): Promise<DualExtractResult> {
  const target = models.target ?? models.dispreferred;
  const roles = [{ role: 'preferred', model: models.preferred }, { role: 'dispreferred', model: models.dispreferred }];
  if (models.target && models.target !== models.dispreferred) roles.push({ role: 'target', model: models.target });
  assertDualCompatible(roles);
  if (models.preferred.manifest.fingerprint === models.dispreferred.manifest.fingerprint) {
    throw new InvalidArgumentError(`the preferred and dispreferred models are the same model (fingerprint ${models.preferred.manifest.fingerprint.slice(0, 16)}…)`);
  }
  if (dataset.kind !== 'responses') throw new InvalidArgumentError(`RAHF-Dual reads chosen and rejected responses; ${dataset.source} holds instruction contrasts`);
  const folds = options.folds ?? 5;
  const K = options.tokens ?? DEFAULT_RESPONSE_TOKENS;
  const pairs = encodePairs(target, dataset);
  options.onProgress?.(`reading ${pairs.length} pairs × 2 responses through ${roles.length} models at ${options.sites.join(', ')}`);
  const samples = await readDual(models, pairs, options.sites, options);
  const H = target.manifest.hiddenSize;
  const directions = new Map<string, Float32Array>();
  const siteMeta: Record<string, SiteMeta> = {};
  const foldDirections = new Map<string, Float32Array[]>();
  const maps = new Map<string, LowRankArrays>();
  let foldOf: Int32Array | undefined;
  for (const site of options.sites) {
    const s = samples.get(site) as DualSamples;
    const direction = dualDirection(s);
    directions.set(site, direction);
    const meta: SiteMeta = { norm: l2norm(direction), contrastNorm: l2norm(direction), residualNorm: meanNorm(s.base, s.count, H) };
    if (pairs.length >= 2 && folds >= 2) {
      const fit = fitFolds(s, meanDiff(), folds);
      foldOf ??= fit.foldOf;
      foldDirections.set(site, fit.directions);
      meta.separability = separability(s, meanDiff(), folds, fit);
    }
    if (options.lowRank) {
      options.onProgress?.(`fitting a low-rank map at ${site}`);
      const y = new Float32Array(s.count * H);
      for (let i = 0; i < y.length; i++) y[i] = (s.pos[i] as number) - (s.neg[i] as number);
      const res = fitLowRankMap({ hidden: H, count: s.count, x: s.base, y, group: s.pair, pairs: s.pairs }, { folds, ...options.lowRank });
      meta.lowRankFit = res.fit;
      const shift = Float32Array.from(res.bias, (b, h) => b - (direction[h] as number));
      maps.set(site, { ...res.map, shift });
    }
    siteMeta[site] = meta;
  }
  let recommended: { min: number; max: number } | undefined;
  let curve: EffectPoint[] | undefined;
  if (options.recommend !== false && foldOf) {
    const unit = Math.min(...options.sites.map((s) => (siteMeta[s]?.residualNorm ?? 1) / (siteMeta[s]?.norm || 1)));
    const strengths = (options.fractions ?? DEFAULT_FRACTIONS).flatMap((f) => [f * unit, -f * unit]);
    options.onProgress?.(`measuring ${strengths.length} strengths on the target`);
    curve = await effectCurve(target, { pairs, foldOf, directions: foldDirections, kind: dataset.kind }, strengths);
    recommended = fluentRange(curve, options.maxPerplexityRatio ?? DEFAULT_MAX_PERPLEXITY_RATIO);
  }
  const vector = SteeringVector.create(directions, {
    model: modelIdentity(target),
    method: RAHF_DUAL,
    read: `response:${K}`,
    dataset: { sha256: dataset.sha256, size: dataset.bytes, pairs: dataset.pairs.length, kind: dataset.kind, file: basename(dataset.source) },
    sources: { preferred: modelIdentity(models.preferred), dispreferred: modelIdentity(models.dispreferred) },
    ...(options.name ? { name: options.name } : {}),
    ...(options.description ? { description: options.description } : {}),
    ...(recommended ? { recommendedStrength: recommended } : {}),
    sites: siteMeta,
  }, maps);
  return { vector, samples, ...(curve ? { curve } : {}) };
}

/** RAHF reads middle layers: the residual leaving the middle block. */
export function defaultDualSites(model: HookedModel): string[] {
  const block = Math.max(0, Math.ceil(model.manifest.numBlocks / 2) - 1);
  const site = `blocks.${block}.hook_resid_post`;
  return model.sites.includes(site) ? [site] : [model.sites[Math.floor(model.sites.length / 2)] as string];
}
