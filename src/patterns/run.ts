/**
 * RLVR reasoning-pattern selection at inference (Chen et al. 2025):
 *
 *   prompts → N samples each from π_ref → verify → embed → cluster the
 *   pooled training candidates into patterns → p(r), π_ref mass → selectors
 *   on held-out prompts → a steering vector toward the best pattern.
 *
 * Prompts are split by index: even indices fit the patterns, odd indices
 * are held out. Held-out candidates are assigned to the nearest pattern
 * centroid; selectors on held-out pools use p(r) from the training prompts
 * only. The steering vector is the mean response activation (at `site`) of
 * the best pattern's training candidates minus that of the others (mean
 * difference), and its success is measured by generating on the held-out
 * prompts with fixed seeds, against the same draws unsteered.
 *
 * Samples come from a backend (local, or an OpenAI-compatible server). The
 * hidden embeddings and the steering vector need the model's activations,
 * so they need the local backend; on a server, embed with MiniLM and measure
 * no strengths (`strengths: []`), or a typed error says what needs the model.
 */
import { captureResponseActivations } from '../embed/response-activations.js';
import type { MiniLMEmbedder } from '../embed/minilm.js';
import { InvalidArgumentError } from '../errors.js';
import type { Reward, RewardItem } from '../rewards/types.js';
import type { HookedModel } from '../model/hooked-model.js';
import pLimit from 'p-limit';
import { asBackend, requireActivations } from '../backends/local.js';
import type { Backend, BackendSteering } from '../backends/types.js';
import { mean } from '../math/stats.js';
import { meanCI } from '../selection/stats.js';
import { SteeringVector, modelIdentity } from '../vectors/vector.js';
import { assignToCentroids, clusterPoints, type ClusterMethod } from './cluster.js';
import { PATTERN_SELECTORS, PATTERN_SELECTOR_NAMES, patternStats, type PatternCandidate, type PatternSelectorName, type PatternStat } from './stats.js';

export interface PatternsOptions {
  prompts: readonly string[];
  /** Samples per prompt (default 16). */
  n?: number;
  verifier: Reward;
  clusters?: number | 'auto';
  method?: ClusterMethod;
  utility?: 'hidden' | 'minilm';
  /** A loaded embedder for `minilm`. */
  embedder?: MiniLMEmbedder;
  /** β of the pattern-weighted selector (default 0.1). */
  beta?: number;
  /** Hook site for `hidden` embeddings and the steering vector (default: the last hook_resid_post). */
  site?: string;
  seed?: number;
  temperature?: number;
  maxNewTokens?: number;
  /** Strengths of the best-pattern vector to measure (default 1, 2). */
  strengths?: readonly number[];
  /** Representative texts per pattern (default 3). */
  examples?: number;
  /** Prompts drawn at once (default 1; a server takes several). */
  concurrency?: number;
  onProgress?: (message: string) => void;
}

export interface SelectorResult { success: number; ci: [number, number] }

export interface PatternReport {
  patterns: (Omit<PatternStat, 'ci'> & { ci: [number, number]; examples: string[]; heldOutSize: number; heldOutSuccess: number })[];
  selectors: Record<PatternSelectorName, SelectorResult>;
  /** `site` is null when no strengths were measured without a local model. */
  steering: { site: string | null; bestPattern: number; baseline: SelectorResult; strengths: { strength: number; success: number; ci: [number, number] }[] };
  clustering: { k: number; method: ClusterMethod; utility: string; silhouette: number; tried?: { k: number; silhouette: number }[] };
  setup: { trainPrompts: number; heldOutPrompts: number; n: number; beta: number; seed: number; temperature: number; maxNewTokens: number; verifier: string };
}

interface Drawn { prompt: string; ids: number[][]; texts: string[]; finish: string[]; logprob: number[]; mean: number[]; success: number[] }

async function draw(backend: Backend, prompt: string, n: number, seed: number, o: { temperature: number; maxNewTokens: number }, verifier: Reward, steering?: BackendSteering): Promise<Drawn> {
  const out = await backend.draw({ prompt, n, seed, temperature: o.temperature, topP: 1, maxNewTokens: o.maxNewTokens, ...(steering ? { steering } : {}) });
  const rows = out.rows;
  const items = rows.map((r) => ({ prompt, response: r.text, ids: r.ids, finishReason: r.finishReason }) as RewardItem);
  const success = Array.from(await verifier.score(items));
  for (const [i, s] of success.entries()) if (s !== 0 && s !== 1) throw new InvalidArgumentError(`verifier "${verifier.spec}" returned ${s} for candidate ${i}; a verifier returns 0 or 1`);
  // Log-probs under π_ref: generate() reports raw-logit log-probs of the sampling policy, which is π_ref when unsteered.
  const sums = rows.map((r) => r.logprobs.reduce((a, b) => a + b, 0));
  return {
    prompt, ids: rows.map((r) => r.ids), texts: rows.map((r) => r.text), finish: rows.map((r) => r.finishReason),
    logprob: sums, mean: rows.map((r, i) => (r.ids.length > 0 ? (sums[i] as number) / r.ids.length : 0)), success,
  };
}

/** Embeddings of every candidate, and their activations at `site` when there is a model to capture them from. */
async function embed(model: HookedModel | undefined, pools: readonly Drawn[], utility: 'hidden' | 'minilm', site: string | null, embedder?: MiniLMEmbedder): Promise<{ embeddings: Float32Array[]; activations: Float32Array[] }> {
  const items = pools.flatMap((p) => p.ids.map((ids) => ({ prompt: p.prompt, ids })));
  const acts = model && site !== null ? (await captureResponseActivations(model, items, [site], { batchSize: 16 })).map((a) => a[site] as Float32Array) : [];
  if (utility === 'hidden') return { embeddings: acts, activations: acts };
  if (!embedder) throw new InvalidArgumentError('the minilm utility needs a loaded MiniLM embedder');
  const batch = await embedder.embed(pools.flatMap((p) => p.texts));
  const embeddings = Array.from({ length: batch.count }, (_, i) => batch.data.slice(i * batch.dim, (i + 1) * batch.dim));
  return { embeddings, activations: acts };
}

function candidates(pools: readonly Drawn[], labels: Int32Array): PatternCandidate[][] {
  let i = 0;
  return pools.map((p) => p.texts.map((_, j) => ({ pattern: labels[i++] as number, success: (p.success[j] === 1 ? 1 : 0), logprob: p.logprob[j] as number, meanLogprob: p.mean[j] as number })));
}

function ci(values: readonly number[], seed: number): SelectorResult {
  const m = meanCI(values, { seed });
  return { success: m.mean, ci: [m.lo, m.hi] };
}

export async function runPatterns(target: HookedModel | Backend, options: PatternsOptions): Promise<PatternReport> {
  const backend = asBackend(target);
  const n = options.n ?? 16;
  const clusters = options.clusters ?? 'auto';
  const utility = options.utility ?? 'hidden';
  const beta = options.beta ?? 0.1;
  const seed = options.seed ?? 0;
  const o = { temperature: options.temperature ?? 1, maxNewTokens: options.maxNewTokens ?? 48 };
  const method = options.method ?? 'kmeans';
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError(`--n must be an integer ≥ 2, got ${n}`);
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new InvalidArgumentError(`beta must be a finite number ≥ 0, got ${beta}`);
  if (options.prompts.length < 2) throw new InvalidArgumentError(`patterns needs at least 2 prompts (half fit the patterns, half are held out), got ${options.prompts.length}`);
  const train = options.prompts.filter((_, i) => i % 2 === 0);
  const held = options.prompts.filter((_, i) => i % 2 === 1);
  if (typeof clusters === 'number' && train.length * n < clusters) throw new InvalidArgumentError(`cannot make ${clusters} patterns from ${train.length * n} training candidates (N < clusters)`);
  const strengths = options.strengths ?? [1, 2];
  if (utility === 'hidden') requireActivations(backend, 'the hidden utility (pattern embeddings from the residual stream)');
  if (strengths.length > 0) requireActivations(backend, 'steering toward a pattern (a vector extracted from its candidates\' activations)');
  const model = backend.model;
  let site: string | null = null;
  if (model) {
    const posts = model.sites.filter((s) => s.endsWith('hook_resid_post'));
    site = options.site ?? posts[posts.length - 1] ?? model.sites[model.sites.length - 1] ?? null;
    if (site === null) throw new InvalidArgumentError('the model has no hook sites');
    model.runner.site(site);
  } else if (options.site !== undefined) {
    requireActivations(backend, `--site ${options.site}`);
  }

  options.onProgress?.(`sampling ${n} candidates for ${options.prompts.length} prompts`);
  const seedOf = (q: number) => seed + q;
  const limit = pLimit(options.concurrency ?? 1);
  const trainPools = await Promise.all(train.map((p, q) => limit(() => draw(backend, p, n, seedOf(2 * q), o, options.verifier))));
  const heldPools = await Promise.all(held.map((p, q) => limit(() => draw(backend, p, n, seedOf(2 * q + 1), o, options.verifier))));

  options.onProgress?.(`embedding (${utility}) and clustering`);
  const trainEmb = await embed(model, trainPools, utility, site, options.embedder);
  const heldEmb = await embed(model, heldPools, utility, site, options.embedder);
  const clustering = clusterPoints(trainEmb.embeddings, { k: clusters, method, seed });
  const k = clustering.k;
  const trainCands = candidates(trainPools, clustering.labels);
  const heldCands = candidates(heldPools, assignToCentroids(heldEmb.embeddings, clustering.centroids));
  const stats = patternStats(trainCands, k);
  const heldStats = patternStats(heldCands, k);
  const p = stats.map((s) => s.success);

  const flatTexts = trainPools.flatMap((d) => d.texts);
  const patterns = stats.map((s) => {
    const members = [...clustering.labels.entries()].filter(([, l]) => l === s.id).map(([i]) => i);
    // Representatives: the members closest to the centroid.
    const c = clustering.centroids[s.id] as Float64Array;
    const score = (i: number) => { const e = trainEmb.embeddings[i] as Float32Array; let d = 0; let nn = 0; for (let j = 0; j < e.length; j++) { d += (e[j] as number) * (c[j] as number); nn += (e[j] as number) ** 2; } return d / Math.sqrt(nn || 1); };
    const examples = members.sort((a, b) => score(b) - score(a)).slice(0, options.examples ?? 3).map((i) => flatTexts[i] as string);
    const h = heldStats[s.id] as PatternStat;
    return { ...s, examples, heldOutSize: h.size, heldOutSuccess: h.success };
  });

  const selectors = Object.fromEntries(PATTERN_SELECTOR_NAMES.map((name) => {
    const per = heldCands.map((pool) => PATTERN_SELECTORS[name](pool, p, beta));
    return [name, ci(per, seed)];
  })) as Record<PatternSelectorName, SelectorResult>;

  // Steering toward the best pattern (ties: the larger pattern).
  let best = 0;
  for (const s of stats) if (s.success > (stats[best] as PatternStat).success || (s.success === (stats[best] as PatternStat).success && s.size > (stats[best] as PatternStat).size)) best = s.id;
  const steering: PatternReport['steering'] = { site, bestPattern: best, baseline: selectors.random, strengths: [] };
  if (model && site !== null && strengths.length > 0) steering.strengths = await steerTowards(backend, model, site, best, (stats[best] as PatternStat).success, clustering.labels, trainEmb.activations, held, { n, seedOf, o, verifier: options.verifier, strengths, seed, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  return {
    patterns, selectors, steering,
    clustering: { k, method, utility, silhouette: clustering.silhouette, ...(clustering.tried ? { tried: clustering.tried } : {}) },
    setup: { trainPrompts: train.length, heldOutPrompts: held.length, n, beta, seed, temperature: o.temperature, maxNewTokens: o.maxNewTokens, verifier: options.verifier.spec },
  };
}

interface SteerOptions { n: number; seedOf: (q: number) => number; o: { temperature: number; maxNewTokens: number }; verifier: Reward; strengths: readonly number[]; seed: number; onProgress?: (m: string) => void }

/** The best pattern's mean-difference vector, measured on the held-out prompts at each strength (same seeds as unsteered). */
async function steerTowards(backend: Backend, model: HookedModel, site: string, best: number, bestSuccess: number, labels: Int32Array, activations: readonly Float32Array[], held: readonly string[], c: SteerOptions): Promise<PatternReport['steering']['strengths']> {
  const H = model.manifest.hiddenSize;
  const inBest = new Float64Array(H);
  const others = new Float64Array(H);
  let nb = 0;
  let no = 0;
  activations.forEach((a, i) => {
    const target = labels[i] === best ? inBest : others;
    for (let h = 0; h < H; h++) target[h] = (target[h] as number) + (a[h] as number);
    if (labels[i] === best) nb++; else no++;
  });
  const out: PatternReport['steering']['strengths'] = [];
  if (nb === 0 || no === 0 || held.length === 0) return out;
  const direction = Float32Array.from(inBest, (x, h) => x / nb - (others[h] as number) / no);
  const vector = SteeringVector.create(new Map([[site, direction]]), { model: modelIdentity(model), method: 'mean-diff', read: 'mean', name: `pattern-${best}`, description: `toward reasoning pattern ${best} (verified success ${bestSuccess.toFixed(2)})` });
  for (const s of c.strengths) {
    c.onProgress?.(`steering toward pattern ${best} at strength ${s}`);
    const per: number[] = [];
    for (const [q, prompt] of held.entries()) {
      const d = await draw(backend, prompt, c.n, c.seedOf(2 * q + 1), c.o, c.verifier, vector.toPlan({ strength: s }));
      per.push(mean(d.success));
    }
    const m = ci(per, c.seed);
    out.push({ strength: s, success: m.success, ci: m.ci });
  }
  return out;
}
