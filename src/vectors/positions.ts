/**
 * Read positions: where activations are read for each side of a pair.
 *
 * - `last`: the last token (repeng).
 * - `mean`: the mean over the response tokens.
 * - `response`: per-token, RAHF-style. Response token t of the preferred side
 *   is paired with response token t of the other side, for the first K tokens
 *   both sides have; every aligned token is one sample of the pair. For
 *   instruction contrasts the two responses are identical, so this is the
 *   per-token difference h(good ⊕ q ⊕ r) − h(bad ⊕ q ⊕ r).
 * - `index`: a token index of the whole sequence, negative from the end
 *   (CAA reads −2, the answer letter before the closing parenthesis).
 */
import { InvalidArgumentError, InvalidSpecError } from '../errors.js';
import type { PositionSelector } from '../generation/capture.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { EncodedPair } from '../pairs/encode.js';
import type { ContrastSamples } from './samples.js';

export type ReadPosition =
  | { kind: 'last' }
  | { kind: 'mean' }
  | { kind: 'response'; tokens: number }
  | { kind: 'index'; index: number };

/** RAHF reads the first 64 response tokens. */
export const DEFAULT_RESPONSE_TOKENS = 64;

/** Parses `last`, `mean`, `response`, `response:<K>` or `index:<k>`. */
export function parseReadPosition(text: string): ReadPosition {
  const s = text.trim();
  if (s === 'last') return { kind: 'last' };
  if (s === 'mean') return { kind: 'mean' };
  if (s === 'response') return { kind: 'response', tokens: DEFAULT_RESPONSE_TOKENS };
  const m = /^(response|index):(-?\d+)$/.exec(s);
  if (m) {
    const k = Number(m[2]);
    if (m[1] === 'response') {
      if (k < 1) throw new InvalidSpecError(text, `response:<K> needs K ≥ 1, got ${k}`);
      return { kind: 'response', tokens: k };
    }
    return { kind: 'index', index: k };
  }
  throw new InvalidSpecError(text, `unknown read position "${text}" (expected last, mean, response, response:<K> or index:<k>)`);
}

export function formatReadPosition(r: ReadPosition): string {
  if (r.kind === 'response') return `response:${r.tokens}`;
  if (r.kind === 'index') return `index:${r.index}`;
  return r.kind;
}

function selector(read: ReadPosition, text: { ids: number[]; responseStart: number }): PositionSelector {
  if (read.kind === 'last') return 'last';
  if (read.kind === 'index') return { index: read.index };
  if (read.kind === 'mean') return { mean: { start: text.responseStart, end: text.ids.length } };
  return 'all';
}

export interface ReadOptions {
  /** Rows per forward pass (default 16). */
  batchSize?: number;
}

/**
 * Captures the activations of every pair at `sites` and returns, per site,
 * the preferred and dispreferred samples (one per pair, or one per aligned
 * response token for `response`).
 */
export async function readContrast(
  model: HookedModel,
  pairs: readonly EncodedPair[],
  sites: readonly string[],
  read: ReadPosition,
  options: ReadOptions = {},
): Promise<Map<string, ContrastSamples>> {
  if (pairs.length === 0) throw new InvalidArgumentError('no pairs to read');
  const context = model.manifest.maxPositions;
  for (const p of pairs) {
    const len = Math.max(p.pos.ids.length, p.neg.ids.length);
    if (context !== undefined && len > context) throw new InvalidArgumentError(`pair on line ${p.line} has ${len} tokens, the model's context is ${context}`);
  }
  const inputs = pairs.flatMap((p) => [p.pos.ids, p.neg.ids]);
  const selectors = pairs.flatMap((p) => [selector(read, p.pos), selector(read, p.neg)]);
  const acts = await model.capture(inputs, sites, { positions: selectors, ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
  const H = model.manifest.hiddenSize;

  // Which (pos row, neg row) token offsets form the samples of each pair.
  const spans = pairs.map((p) => {
    if (read.kind !== 'response') return { posAt: [0], negAt: [0] };
    const n = Math.min(read.tokens, p.pos.ids.length - p.pos.responseStart, p.neg.ids.length - p.neg.responseStart);
    const posAt = Array.from({ length: n }, (_, t) => p.pos.responseStart + t);
    const negAt = Array.from({ length: n }, (_, t) => p.neg.responseStart + t);
    return { posAt, negAt };
  });
  const count = spans.reduce((n, s) => n + s.posAt.length, 0);
  const out = new Map<string, ContrastSamples>();
  for (const site of sites) {
    const pos = new Float32Array(count * H);
    const neg = new Float32Array(count * H);
    const pair = new Int32Array(count);
    let row = 0;
    pairs.forEach((_, i) => {
      const a = acts[2 * i]?.[site];
      const b = acts[2 * i + 1]?.[site];
      if (!a || !b) throw new InvalidArgumentError(`capture returned no activations for ${site}`);
      const span = spans[i] as { posAt: number[]; negAt: number[] };
      span.posAt.forEach((tp, j) => {
        const tn = span.negAt[j] as number;
        const perToken = read.kind === 'response';
        pos.set(perToken ? a.data.subarray(tp * H, (tp + 1) * H) : a.data, row * H);
        neg.set(perToken ? b.data.subarray(tn * H, (tn + 1) * H) : b.data, row * H);
        pair[row] = i;
        row++;
      });
    });
    out.set(site, { hidden: H, count, pos, neg, pair, pairs: pairs.length });
  }
  return out;
}
