/**
 * KV-cache state for every layout a manifest can describe. The cache is an
 * opaque map from past-input names to tensors plus the number of positions it
 * holds; presents returned by a forward pass become the next pasts without
 * copies (the tensors are handed over as they are).
 */
import * as ort from 'onnxruntime-node';
import type { CacheLayout } from '../hooks/manifest.js';
import { InvalidArgumentError, ModelMismatchError } from '../errors.js';
import { emptyFloat, idTensor, selectBatchRows } from './tensors.js';

export interface KvCache {
  batch: number;
  /** Number of positions already in the cache (the past length). */
  length: number;
  tensors: Map<string, ort.Tensor>;
}

function pastNames(layout: CacheLayout): string[] {
  if (layout.kind === 'bnsh' || layout.kind === 'static') return (layout.past ?? []).flatMap((p) => [p.key, p.value]);
  return layout.pastStacked ?? [];
}

function presentNames(layout: CacheLayout): string[] {
  if (layout.kind === 'bnsh' || layout.kind === 'static') return (layout.present ?? []).flatMap((p) => [p.key, p.value]);
  return layout.presentStacked ?? [];
}

/** Output names the runner must fetch to carry the cache forward. */
export function cacheOutputNames(layout: CacheLayout): string[] {
  return presentNames(layout);
}

function batchAxis(layout: CacheLayout): number {
  return layout.kind === 'stacked' ? 1 : 0;
}

export function emptyCache(layout: CacheLayout, batch: number): KvCache {
  const tensors = new Map<string, ort.Tensor>();
  for (const name of pastNames(layout)) {
    let dims: number[];
    if (layout.kind === 'bnsh') dims = [batch, layout.numKvHeads, 0, layout.headDim];
    else if (layout.kind === 'stacked') dims = [2, batch, layout.numKvHeads, 0, layout.headDim];
    else dims = [batch, layout.maxLength ?? 0, layout.numKvHeads * layout.headDim];
    tensors.set(name, emptyFloat(layout.dtype, dims));
  }
  return { batch, length: 0, tensors };
}

/** Feeds for the cache (plus index inputs of static caches) for a step of `seqLen` tokens. */
export function cacheFeeds(layout: CacheLayout, cache: KvCache, seqLen: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of cache.tensors) feeds[name] = t;
  if (layout.kind === 'static') {
    const capacity = layout.maxLength ?? 0;
    if (cache.length + seqLen > capacity) {
      throw new InvalidArgumentError(`sequence of ${cache.length + seqLen} positions exceeds the static cache capacity of ${capacity}`);
    }
    if (layout.writeIndices) feeds[layout.writeIndices] = idTensor('int64', new Array<number>(cache.batch).fill(cache.length), [cache.batch]);
    if (layout.validLength) feeds[layout.validLength] = idTensor('int64', new Array<number>(cache.batch).fill(cache.length + seqLen), [cache.batch]);
  }
  return feeds;
}

/** The cache after a step, built from the step's outputs. */
export function advanceCache(layout: CacheLayout, cache: KvCache, outputs: Record<string, ort.Tensor>, seqLen: number): KvCache {
  const past = pastNames(layout);
  const present = presentNames(layout);
  const tensors = new Map<string, ort.Tensor>();
  present.forEach((name, i) => {
    const t = outputs[name];
    const p = past[i];
    if (!t || !p) throw new ModelMismatchError(`the model returned no cache output ${name} (hooks.json declares it); rebuild or re-instrument the model`);
    tensors.set(p, t);
  });
  return { batch: cache.batch, length: cache.length + seqLen, tensors };
}

/** A cache holding the given rows of `cache` (indices may repeat to expand a batch). */
export function selectCacheRows(layout: CacheLayout, cache: KvCache, rows: readonly number[]): KvCache {
  const axis = batchAxis(layout);
  const tensors = new Map<string, ort.Tensor>();
  for (const [name, t] of cache.tensors) tensors.set(name, selectBatchRows(t, rows, axis));
  return { batch: rows.length, length: cache.length, tensors };
}

/** Releases native memory held by cache tensors (no-op for JS-backed tensors). */
export function disposeCache(cache: KvCache): void {
  for (const t of cache.tensors.values()) t.dispose();
}
