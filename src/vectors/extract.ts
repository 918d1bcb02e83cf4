/**
 * Extraction: pairs → activations at the chosen sites → a direction per site
 * → a SteeringVector with its provenance, norms, held-out separability and a
 * measured fluent strength range. `sites: 'auto'` runs the sweep first and
 * keeps the site it recommends.
 */
import { basename } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { HookedModel } from '../model/hooked-model.js';
import { checkSameVocabulary } from '../prefs/compat.js';
import { pairLogprobs } from '../prefs/score.js';
import { criterionCurve } from '../prefs/strength-criterion.js';
import { encodePairs } from '../pairs/encode.js';
import { curveFromScores, effectScores, fluentRange, type EffectPoint } from './effect.js';
import type { SiteMeta } from './format.js';
import { methodSpec } from './methods.js';
import type { PairDataset } from '../pairs/pairs.js';
import { formatReadPosition, type ReadPosition } from './positions.js';
import { l2norm, meanDifferenceNorm, meanRowNorm } from './samples.js';
import { separability } from './separability.js';
import { DEFAULT_FRACTIONS, DEFAULT_MAX_PERPLEXITY_RATIO, defaultRead, fitSites, sweep, type RecommendedStrength, type SiteData, type SweepOptions, type SweepReport } from './sweep.js';
import { SteeringVector, modelIdentity } from './vector.js';

export interface ExtractOptions {
  /** Direction method (default `mean-diff`). */
  method?: string;
  /** Read position (default: `mean` over the response; `response:64` for instruction contrasts). */
  read?: ReadPosition;
  /** Sites to extract at, or `auto` (default) to take the sweep's recommendation. */
  sites?: 'auto' | readonly string[];
  folds?: number;
  name?: string;
  description?: string;
  /** Measure the strength curve and record a recommended range (default true). */
  recommend?: boolean;
  /** Choose the recommended strength by a preference criterion (DPO, RPO, MRPO) instead of the fluent range. */
  criterion?: SweepOptions['criterion'];
  fractions?: readonly number[];
  maxPerplexityRatio?: number;
  onProgress?: (message: string) => void;
}

export interface ExtractResult {
  vector: SteeringVector;
  /** The sweep, when sites were chosen automatically. */
  sweep?: SweepReport;
  /** The held-out strength curve of the extracted vector (all its sites together). */
  curve?: EffectPoint[];
}

export async function extractVector(model: HookedModel, dataset: PairDataset, options: ExtractOptions = {}): Promise<ExtractResult> {
  const method = options.method ?? 'mean-diff';
  const spec = methodSpec(method);
  const read = options.read ?? defaultRead(dataset);
  const folds = options.folds ?? 5;
  const maxRatio = options.maxPerplexityRatio ?? DEFAULT_MAX_PERPLEXITY_RATIO;
  let report: SweepReport | undefined;
  let sites: readonly string[];
  if (options.sites === undefined || options.sites === 'auto') {
    report = await sweep(model, dataset, {
      method, read, folds, maxPerplexityRatio: maxRatio,
      ...(options.fractions ? { fractions: options.fractions } : {}),
      ...(options.criterion ? { criterion: options.criterion } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    sites = report.recommended.sites;
  } else {
    sites = options.sites;
    if (sites.length === 0) throw new InvalidArgumentError('no sites to extract at');
    for (const s of sites) model.runner.site(s);
  }
  const pairs = encodePairs(model, dataset);
  options.onProgress?.(`extracting ${method} at ${sites.join(', ')}`);
  const data = await fitSites(model, pairs, sites, method, read, folds);
  const directions = new Map<string, Float32Array>();
  const siteMeta: Record<string, SiteMeta> = {};
  for (const site of sites) {
    const d = data.get(site) as SiteData;
    directions.set(site, d.direction);
    const fromSweep = report?.sites.find((r) => r.site === site);
    siteMeta[site] = {
      norm: l2norm(d.direction),
      contrastNorm: fromSweep?.contrastNorm ?? meanDifferenceNorm(d.samples),
      residualNorm: meanRowNorm(d.samples),
      separability: fromSweep?.separability ?? separability(d.samples, spec.create(), folds, d.fit),
    };
  }
  let recommended: RecommendedStrength | undefined;
  let curve: EffectPoint[] | undefined;
  if (report && sites.length === 1) {
    const s = report.sites.find((r) => r.site === sites[0]);
    if (s) { recommended = report.recommended.strength; curve = s.curve; }
  } else if (options.recommend !== false) {
    const unit = Math.min(...sites.map((s) => (siteMeta[s]?.residualNorm ?? 1) / (siteMeta[s]?.norm ?? 1)));
    const strengths = (options.fractions ?? DEFAULT_FRACTIONS).flatMap((f) => [f * unit, -f * unit]);
    options.onProgress?.(`measuring ${strengths.length} strengths`);
    const foldDirs = new Map(sites.map((s) => [s, (data.get(s) as SiteData).fit.directions]));
    const input = { pairs, foldOf: (data.get(sites[0] as string) as SiteData).fit.foldOf, directions: foldDirs, kind: dataset.kind };
    const scores = await effectScores(model, input, strengths);
    curve = curveFromScores(input, scores);
    recommended = fluentRange(curve, maxRatio);
    if (options.criterion) {
      const tokens = pairs.map((p) => ({ chosen: p.continuation.pos.length, rejected: p.continuation.neg.length }));
      const refs = options.criterion.references ?? [];
      const refScores = refs.length > 0 ? { dirs: refs.map((r) => r.dir), scores: await Promise.all(refs.map((r) => { checkSameVocabulary(model, r, ['model', 'reference']); return pairLogprobs(r, pairs); })) } : undefined;
      const c = criterionCurve(options.criterion.name, { ...scores, tokens }, options.criterion.params, refScores);
      const s = c.best.strength;
      recommended = { min: Math.min(0, s), max: Math.max(0, s), criterion: { name: c.name, strength: s, loss: c.best.loss, beta: c.params.beta, eta: c.params.eta, epsilon: c.params.epsilon, references: c.references } };
    }
  }
  const vector = SteeringVector.create(directions, {
    model: modelIdentity(model),
    method,
    read: formatReadPosition(read),
    dataset: { sha256: dataset.sha256, size: dataset.bytes, pairs: dataset.pairs.length, kind: dataset.kind, file: basename(dataset.source) },
    ...(options.name ? { name: options.name } : {}),
    ...(options.description ? { description: options.description } : {}),
    ...(recommended ? { recommendedStrength: recommended } : {}),
    sites: siteMeta,
  });
  return { vector, ...(report ? { sweep: report } : {}), ...(curve ? { curve } : {}) };
}

