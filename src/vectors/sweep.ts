/**
 * Layer and strength sweep. For every candidate site: held-out separability
 * (k-fold) and the held-out steering effect over a strength grid scaled to
 * the site's residual norm. Recommends the site whose fluent strength range
 * moves the preference most, and that range.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkSameVocabulary } from '../prefs/compat.js';
import type { CriterionParams, SideLogprobs } from '../prefs/criteria.js';
import { pairLogprobs } from '../prefs/score.js';
import { criterionCurve, type CriterionCurve, type CriterionName } from '../prefs/strength-criterion.js';
import type { HookedModel } from '../model/hooked-model.js';
import { encodePairs, type EncodedPair } from '../pairs/encode.js';
import { curveFromScores, effectScores, fluentRange, type EffectPoint } from './effect.js';
import { methodSpec, type DirectionMethod } from './methods.js';
import type { PairDataset } from '../pairs/pairs.js';
import { formatReadPosition, readContrast, type ReadPosition } from './positions.js';
import { l2norm, meanDifferenceNorm, meanRowNorm, type ContrastSamples } from './samples.js';
import { fitFolds, separability, type FoldResult, type Separability } from './separability.js';

/** Strengths as fractions of (residual norm ÷ direction norm), both signs. */
export const DEFAULT_FRACTIONS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8];
/** Perplexity ratio (steered ÷ unsteered, on the pair texts) that still counts as fluent. */
export const DEFAULT_MAX_PERPLEXITY_RATIO = 1.5;

export interface SweepOptions {
  method?: string;
  read?: ReadPosition;
  /** Candidate sites (default: every hooked site). */
  sites?: readonly string[];
  folds?: number;
  fractions?: readonly number[];
  maxPerplexityRatio?: number;
  /** Skip the strength grid (separability only). */
  separabilityOnly?: boolean;
  /**
   * Rank sites and strengths by a preference criterion on the held-out pairs
   * instead of the fluent preference swing (see src/prefs/strength-criterion.ts).
   */
  criterion?: { name: CriterionName; params: CriterionParams; references?: readonly HookedModel[] };
  onProgress?: (message: string) => void;
}

export interface SiteSweep {
  site: string;
  residualNorm: number;
  contrastNorm: number;
  directionNorm: number;
  separability: Separability;
  curve: EffectPoint[];
  fluent: { min: number; max: number };
  /** preference(fluent.max) − preference(fluent.min): how far the fluent range moves the preference (nats). */
  swing: number | null;
  /** The criterion over the strength grid, when the sweep ranks by one. */
  criterion?: CriterionCurve;
}

export interface SweepReport {
  model: { fingerprint: string; architecture: string; hiddenSize: number };
  dataset: { source: string; sha256: string; size: number; pairs: number; kind: string };
  method: string;
  read: string;
  folds: number;
  maxPerplexityRatio: number;
  sites: SiteSweep[];
  /** Sites where the method found no direction (e.g. both sides identical there). */
  skipped: { site: string; reason: string }[];
  recommended: { sites: string[]; strength: RecommendedStrength };
}

/** A recommended strength range; with a criterion, 0 … the criterion's best strength, and which criterion chose it. */
export interface RecommendedStrength {
  min: number;
  max: number;
  criterion?: { name: CriterionName; strength: number; loss: number; beta: number; eta: number; epsilon: number; references: string[] };
}

export function defaultRead(dataset: PairDataset): ReadPosition {
  return dataset.kind === 'instructions' ? { kind: 'response', tokens: 64 } : { kind: 'mean' };
}


export interface SiteData {
  samples: ContrastSamples;
  fit: FoldResult;
  direction: Float32Array;
}

function fitSite(samples: ContrastSamples, make: () => DirectionMethod, folds: number): SiteData {
  return { samples, fit: fitFolds(samples, make(), folds), direction: make()(samples) };
}

/** Reads the pairs and fits the method at each site (full data and per fold). */
export async function fitSites(model: HookedModel, pairs: readonly EncodedPair[], sites: readonly string[], method: string, read: ReadPosition, folds: number): Promise<Map<string, SiteData>> {
  const make = methodSpec(method).create;
  const samples = await readContrast(model, pairs, sites, read);
  const out = new Map<string, SiteData>();
  for (const site of sites) out.set(site, fitSite(samples.get(site) as ContrastSamples, make, folds));
  return out;
}

export async function sweep(model: HookedModel, dataset: PairDataset, options: SweepOptions = {}): Promise<SweepReport> {
  const method = options.method ?? 'mean-diff';
  const spec = methodSpec(method);
  const read = options.read ?? defaultRead(dataset);
  const folds = options.folds ?? 5;
  const maxRatio = options.maxPerplexityRatio ?? DEFAULT_MAX_PERPLEXITY_RATIO;
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const sites = options.sites ?? model.sites;
  if (sites.length === 0) throw new InvalidArgumentError('no sites to sweep');
  if (dataset.pairs.length < 2) throw new InvalidArgumentError('a sweep needs at least two pairs');
  const pairs = encodePairs(model, dataset);
  options.onProgress?.(`reading ${pairs.length} pairs at ${sites.length} site(s)`);
  const samples = await readContrast(model, pairs, sites, read);
  const crit = options.criterion;
  if (crit && dataset.kind !== 'responses') throw new InvalidArgumentError(`the ${crit.name} criterion needs chosen/rejected responses; ${dataset.source} holds instruction contrasts`);
  let refScores: { dirs: string[]; scores: SideLogprobs[][] } | undefined;
  if (crit && (crit.references?.length ?? 0) > 0) {
    refScores = { dirs: [], scores: [] };
    for (const ref of crit.references ?? []) {
      checkSameVocabulary(model, ref, ['model', 'reference']);
      options.onProgress?.(`scoring ${pairs.length} pairs under the reference ${ref.dir}`);
      refScores.dirs.push(ref.dir);
      refScores.scores.push(await pairLogprobs(ref, pairs));
    }
  }
  const tokens = pairs.map((p) => ({ chosen: p.continuation.pos.length, rejected: p.continuation.neg.length }));
  const results: SiteSweep[] = [];
  const skipped: { site: string; reason: string }[] = [];
  for (const site of sites) {
    let d: SiteData;
    let sep: Separability;
    try {
      d = fitSite(samples.get(site) as ContrastSamples, spec.create, folds);
      if (!(l2norm(d.direction) > 0)) throw new InvalidArgumentError('the two sides do not differ here');
      sep = separability(d.samples, spec.create(), folds, d.fit);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      skipped.push({ site, reason: err.message });
      options.onProgress?.(`site ${site}: skipped (${err.message})`);
      continue;
    }
    const residualNorm = meanRowNorm(d.samples);
    const directionNorm = l2norm(d.direction);
    const unit = residualNorm / directionNorm;
    const strengths = options.separabilityOnly ? [] : fractions.flatMap((f) => [f * unit, -f * unit]);
    options.onProgress?.(`site ${site}: separability${strengths.length ? ` and ${strengths.length} strengths` : ''}`);
    const input = { pairs, foldOf: d.fit.foldOf, directions: new Map([[site, d.fit.directions]]), kind: dataset.kind };
    const scores = await effectScores(model, input, strengths);
    const curve = curveFromScores(input, scores);
    const fluent = fluentRange(curve, maxRatio);
    const criterion = crit && strengths.length > 0 ? criterionCurve(crit.name, { ...scores, tokens }, crit.params, refScores) : undefined;
    const at = (x: number) => curve.find((p) => p.strength === x)?.preference ?? null;
    const hi = at(fluent.max);
    const lo = at(fluent.min);
    results.push({
      site, residualNorm, contrastNorm: meanDifferenceNorm(d.samples), directionNorm, separability: sep,
      curve, fluent, swing: hi === null || lo === null ? null : hi - lo,
      ...(criterion ? { criterion } : {}),
    });
  }
  if (results.length === 0) throw new InvalidArgumentError(`no usable site: ${skipped.map((x) => `${x.site} (${x.reason})`).join('; ')}`);
  const best = recommend(results);
  return {
    model: { fingerprint: model.manifest.fingerprint, architecture: model.manifest.architecture, hiddenSize: model.manifest.hiddenSize },
    dataset: { source: dataset.source, sha256: dataset.sha256, size: dataset.bytes, pairs: dataset.pairs.length, kind: dataset.kind },
    method, read: formatReadPosition(read), folds: best.separability.folds, maxPerplexityRatio: maxRatio,
    sites: results,
    skipped,
    recommended: { sites: [best.site], strength: recommendedStrength(best) },
  };
}

function recommendedStrength(best: SiteSweep): RecommendedStrength {
  const c = best.criterion;
  if (!c) return best.fluent;
  const s = c.best.strength;
  return {
    min: Math.min(0, s), max: Math.max(0, s),
    criterion: { name: c.name, strength: s, loss: c.best.loss, beta: c.params.beta, eta: c.params.eta, epsilon: c.params.epsilon, references: c.references },
  };
}

/**
 * The site with the largest fluent preference swing among sites whose
 * held-out probe accuracy is at least 0.75 (all sites if none is); without
 * preference data (instruction contrasts), the most separable site.
 */
export function recommend(results: readonly SiteSweep[]): SiteSweep {
  if (results.length === 0) throw new InvalidArgumentError('nothing to recommend from');
  const separable = results.filter((r) => r.separability.probeAccuracy >= 0.75);
  const pool = separable.length > 0 ? separable : [...results];
  if (pool.every((r) => r.criterion)) {
    // Lowest criterion loss at the site's best strength.
    return pool.reduce((a, b) => ((b.criterion as CriterionCurve).best.loss < (a.criterion as CriterionCurve).best.loss ? b : a));
  }
  const key = (r: SiteSweep) => (r.swing ?? r.separability.accuracy + r.separability.effectSize * 1e-3);
  return pool.reduce((a, b) => (key(b) > key(a) ? b : a));
}

/** A plain-text table of a sweep report. */
export function formatSweep(report: SweepReport): string {
  const lines = [
    `method ${report.method}, read ${report.read}, ${report.dataset.pairs} pairs, ${report.folds}-fold held out; fluent = perplexity ratio ≤ ${report.maxPerplexityRatio}`,
    '',
    'site                       probe acc  dir acc  effect d  margin   |h|     fluent strengths        swing (nats)',
  ];
  for (const s of report.sites) {
    const sep = s.separability;
    lines.push([
      s.site.padEnd(26), sep.probeAccuracy.toFixed(2).padStart(9), sep.accuracy.toFixed(2).padStart(8), sep.effectSize.toFixed(2).padStart(9),
      sep.margin.toFixed(1).padStart(7), s.residualNorm.toFixed(0).padStart(6),
      `  [${s.fluent.min.toFixed(2)}, ${s.fluent.max.toFixed(2)}]`.padEnd(24), s.swing === null ? '   n/a' : s.swing.toFixed(2).padStart(8),
    ].join(' '));
  }
  for (const s of report.sites) {
    if (s.curve.length <= 1) continue;
    lines.push('', `${s.site}: strength → preference Δ (nats), wins, perplexity ratio`);
    for (const p of s.curve) {
      lines.push(`  ${p.strength.toFixed(2).padStart(9)}  ${p.preference === null ? 'n/a' : p.preference.toFixed(2).padStart(8)}  ${p.preferenceWins === null ? '' : p.preferenceWins.toFixed(2)}  ${p.perplexityRatio.toFixed(3)}`);
    }
  }
  for (const s of report.sites) {
    const c = s.criterion;
    if (!c) continue;
    lines.push('', `${s.site}: ${c.name.toUpperCase()} criterion (β ${c.params.beta}, η ${c.params.eta}${c.name === 'mrpo' ? `, ε ${c.params.epsilon}` : ''}; reference ${c.references.join(' + ')}): strength → loss, DPO loss, margin, Δ log π(chosen), Δ log π(rejected)`);
    for (const p of c.points) {
      lines.push(`  ${p.strength.toFixed(2).padStart(9)}  ${p.loss.toFixed(4)}  ${p.dpoLoss.toFixed(4)}  ${p.margin.toFixed(3).padStart(7)}  ${p.chosenShift.toFixed(2).padStart(8)}  ${p.rejectedShift.toFixed(2).padStart(8)}${p.strength === c.best.strength ? '  ← best' : ''}${p.margin > 0 && p.chosenShift < 0 ? '  (chosen falls)' : ''}`);
    }
  }
  for (const x of report.skipped) lines.push(`skipped ${x.site}: ${x.reason}`);
  const rc = report.recommended.strength.criterion;
  lines.push('', `recommended: ${report.recommended.sites.join(', ')}, strength ${report.recommended.strength.min.toFixed(2)} … ${report.recommended.strength.max.toFixed(2)}${rc ? ` (chosen by ${rc.name}: best strength ${rc.strength.toFixed(2)}, loss ${rc.loss.toFixed(4)})` : ''}`);
  return lines.join('\n');
}
