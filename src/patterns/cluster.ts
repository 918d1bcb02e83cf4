/**
 * Clustering candidates into reasoning patterns, on L2-normalised
 * embeddings (so Euclidean distance orders pairs as cosine does):
 * k-means (ml-kmeans, k-means++ seeding, seeded) or agglomerative
 * (ml-hclust, Ward linkage). With k = `auto`, k is the one of 2 … maxK with
 * the highest mean silhouette (Rousseeuw 1987).
 */
import { kmeans } from 'ml-kmeans';
import { agnes } from 'ml-hclust';
import { InvalidArgumentError } from '../errors.js';

export type ClusterMethod = 'kmeans' | 'agglomerative';

export interface Clustering {
  k: number;
  /** Cluster of each point, 0 … k − 1. */
  labels: Int32Array;
  /** Mean (normalised) embedding of each cluster, for assigning new points. */
  centroids: Float64Array[];
  /** Mean silhouette of this clustering (0 when k = 1). */
  silhouette: number;
  /** For `auto`: the silhouette of every k tried. */
  tried?: { k: number; silhouette: number }[];
}

export interface ClusterOptions {
  k: number | 'auto';
  method?: ClusterMethod;
  /** Largest k for `auto` (default 8). */
  maxK?: number;
  seed?: number;
}

export function normalizeRows(points: readonly ArrayLike<number>[]): number[][] {
  return points.map((p) => {
    let n = 0;
    for (let i = 0; i < p.length; i++) n += (p[i] as number) ** 2;
    const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
    return Array.from(p, (x) => x * inv);
  });
}

function dist(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

/** Mean silhouette of `labels` over `points` (points in singleton clusters count 0). */
export function silhouette(points: readonly (readonly number[])[], labels: ArrayLike<number>, k: number): number {
  const n = points.length;
  if (k < 2 || n < 2) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sums = new Float64Array(k);
    const counts = new Float64Array(k);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const c = labels[j] as number;
      sums[c] = (sums[c] as number) + dist(points[i] as number[], points[j] as number[]);
      counts[c] = (counts[c] as number) + 1;
    }
    const own = labels[i] as number;
    if ((counts[own] as number) === 0) continue;
    const a = (sums[own] as number) / (counts[own] as number);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && (counts[c] as number) > 0) b = Math.min(b, (sums[c] as number) / (counts[c] as number));
    if (!Number.isFinite(b)) continue;
    total += (b - a) / Math.max(a, b);
  }
  return total / n;
}

function centroidsOf(points: readonly (readonly number[])[], labels: Int32Array, k: number): Float64Array[] {
  const dim = points[0]?.length ?? 0;
  const out = Array.from({ length: k }, () => new Float64Array(dim));
  const counts = new Float64Array(k);
  points.forEach((p, i) => {
    const c = labels[i] as number;
    counts[c] = (counts[c] as number) + 1;
    const o = out[c] as Float64Array;
    for (let d = 0; d < dim; d++) o[d] = (o[d] as number) + (p[d] as number);
  });
  out.forEach((o, c) => { for (let d = 0; d < dim; d++) o[d] = (o[d] as number) / Math.max(1, counts[c] as number); });
  return out;
}

/** Relabels clusters by first appearance, so labels do not depend on the algorithm's internal order. */
function canonical(labels: ArrayLike<number>): Int32Array {
  const map = new Map<number, number>();
  return Int32Array.from(labels, (l) => {
    if (!map.has(l)) map.set(l, map.size);
    return map.get(l) as number;
  });
}

function clusterOnce(points: number[][], k: number, method: ClusterMethod, seed: number): Int32Array {
  if (k === 1) return new Int32Array(points.length);
  if (method === 'kmeans') return canonical(kmeans(points, k, { seed, initialization: 'kmeans++', maxIterations: 100 }).clusters);
  const tree = agnes(points, { method: 'ward' }).group(k);
  const labels = new Int32Array(points.length);
  tree.children.forEach((c, ci) => { for (const i of c.indices()) labels[i] = ci; });
  return canonical(labels);
}

export function clusterPoints(points: readonly ArrayLike<number>[], options: ClusterOptions): Clustering {
  const n = points.length;
  const method = options.method ?? 'kmeans';
  const seed = options.seed ?? 0;
  if (method !== 'kmeans' && method !== 'agglomerative') throw new InvalidArgumentError(`cluster method must be kmeans or agglomerative, got "${String(method)}"`);
  const x = normalizeRows(points);
  if (options.k === 'auto') {
    const maxK = Math.min(options.maxK ?? 8, n - 1);
    if (maxK < 2) throw new InvalidArgumentError(`choosing k by silhouette needs at least 3 candidates, got ${n}`);
    const tried: { k: number; silhouette: number }[] = [];
    let best: { k: number; labels: Int32Array; s: number } | undefined;
    for (let k = 2; k <= maxK; k++) {
      const labels = clusterOnce(x, k, method, seed);
      const s = silhouette(x, labels, k);
      tried.push({ k, silhouette: s });
      if (!best || s > best.s) best = { k, labels, s };
    }
    const b = best as { k: number; labels: Int32Array; s: number };
    return { k: b.k, labels: b.labels, centroids: centroidsOf(x, b.labels, b.k), silhouette: b.s, tried };
  }
  const k = options.k;
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`the number of clusters must be an integer ≥ 1 or auto, got ${k}`);
  if (n < k) throw new InvalidArgumentError(`cannot make ${k} clusters from ${n} candidates (N < clusters)`);
  const labels = clusterOnce(x, k, method, seed);
  return { k, labels, centroids: centroidsOf(x, labels, k), silhouette: silhouette(x, labels, k) };
}

/** The nearest centroid of each (normalised) point. */
export function assignToCentroids(points: readonly ArrayLike<number>[], centroids: readonly Float64Array[]): Int32Array {
  const x = normalizeRows(points);
  return Int32Array.from(x, (p) => {
    let best = 0;
    let bestD = Infinity;
    centroids.forEach((c, i) => { const d = dist(p, Array.from(c)); if (d < bestD) { bestD = d; best = i; } });
    return best;
  });
}
