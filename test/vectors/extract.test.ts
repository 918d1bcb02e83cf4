/**
 * Extraction on the default model against activations captured and reduced
 * by hand, and an ml-matrix SVD reference.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Matrix, SVD } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { LIBRARY_VERSION } from '../../src/version.js';
import { encodePairs } from '../../src/pairs/encode.js';
import { extractVector } from '../../src/vectors/extract.js';
import { loadPairs, type PairDataset } from '../../src/pairs/pairs.js';
import { sweep } from '../../src/vectors/sweep.js';
import { loadDefault } from '../helpers/models.js';
import { tempDir } from '../helpers/paths.js';

const SITE = 'blocks.1.hook_resid_mid';
const SITES = ['blocks.0.hook_resid_post', SITE];
const PAIRS = [
  { prompt: 'Tom had a red ball.', chosen: 'He played with it all day and laughed.', rejected: 'It rolled away and he cried all day.' },
  { prompt: 'Lily went to the park.', chosen: 'She was happy and made a new friend.', rejected: 'She was sad because it was closed.' },
  { prompt: 'The dog saw a cat.', chosen: 'They became best friends and had fun.', rejected: 'The cat hissed and the dog felt hurt.' },
  { prompt: 'Mia baked a cake.', chosen: 'It was yummy and everyone smiled.', rejected: 'It burned and she was upset.' },
  { prompt: 'Ben had a kite.', chosen: 'It flew high and he cheered with joy.', rejected: 'It broke and he felt sad.' },
  { prompt: 'It was a rainy day.', chosen: 'Sue danced in the puddles with a smile.', rejected: 'Sue sat alone by the window and cried.' },
  { prompt: 'Sam got a letter.', chosen: 'It was from his best friend and made him glad.', rejected: 'It said his friend was moving away.' },
  { prompt: 'The bird sang.', chosen: 'Everyone loved the happy song.', rejected: 'Nobody came to listen and it felt lonely.' },
];
const SCIT = [
  { system: 'Write a happy story.', prompt: 'Tell me about a dog.', response: 'The dog ran in the park.' },
  { system: 'Write a happy story.', prompt: 'Tell me about a cat.', response: 'The cat sat by the fire.' },
  { system: 'Write a happy story.', prompt: 'Tell me about a girl.', response: 'The girl went to school.' },
].map((p) => ({ ...p, chosen: p.system, rejected: 'Write a sad story.', system: undefined }));

let model: HookedModel;
let dataset: PairDataset;
let scit: PairDataset;
const work = tempDir('extract-');
beforeAll(async () => {
  model = await loadDefault();
  const path = join(work.path, 'pairs.jsonl');
  writeFileSync(path, `${PAIRS.map((p) => JSON.stringify(p)).join('\n')}\n`);
  dataset = loadPairs(path);
  const scitPath = join(work.path, 'scit.jsonl');
  writeFileSync(scitPath, `${SCIT.map((p) => JSON.stringify(p)).join('\n')}\n`);
  scit = loadPairs(scitPath);
}, 300_000);
afterAll(async () => { await model?.dispose(); work.cleanup(); });

/** Per pair, [pos, neg] activations at `site` as [len][H] arrays. */
async function capturedAll(ds: PairDataset, site: string): Promise<{ pos: number[][]; neg: number[][]; posStart: number; negStart: number; posIds: number[]; negIds: number[] }[]> {
  const enc = encodePairs(model, ds);
  const acts = await model.capture(enc.flatMap((e) => [e.pos.ids, e.neg.ids]), [site], { positions: 'all' });
  const rows = (t: { data: Float32Array; dims: readonly number[] }) => Array.from({ length: t.dims[0]! }, (_, i) => Array.from(t.data.subarray(i * 128, (i + 1) * 128)));
  return enc.map((e, i) => ({
    pos: rows(acts[2 * i]![site]!), neg: rows(acts[2 * i + 1]![site]!),
    posStart: e.pos.responseStart, negStart: e.neg.responseStart, posIds: e.pos.ids, negIds: e.neg.ids,
  }));
}

const meanRows = (rows: number[][]) => rows[0]!.map((_, h) => rows.reduce((a, r) => a + r[h]!, 0) / rows.length);
const sub = (a: number[], b: number[]) => a.map((x, h) => x - b[h]!);
function expectClose(got: Float32Array, want: number[], tol = 1e-5): void {
  const scale = Math.max(...want.map(Math.abs));
  want.forEach((x, h) => expect(Math.abs(got[h]! - x)).toBeLessThanOrEqual(tol * scale));
}

describe('extraction on the default model', () => {
  it('response spans start where the text leaves the prompt', () => {
    const enc = encodePairs(model, dataset);
    for (const [i, e] of enc.entries()) {
      expect(model.decode(e.pos.ids.slice(e.pos.responseStart))).toContain(PAIRS[i]!.chosen.split(' ').at(-1)!.replace('.', ''));
      expect(model.decode(e.pos.ids.slice(0, e.pos.responseStart))).not.toContain(PAIRS[i]!.chosen.split(' ')[1]!);
      expect(e.prompt.pos).toEqual(e.pos.ids.slice(0, e.pos.responseStart));
      expect(e.continuation.neg).toEqual(e.neg.ids.slice(e.neg.responseStart));
    }
  });

  it('mean-diff over response tokens equals the by-hand mean of captured differences', async () => {
    const { vector } = await extractVector(model, dataset, { method: 'mean-diff', read: { kind: 'mean' }, sites: [SITE], recommend: false });
    const byHand = meanRows((await capturedAll(dataset, SITE)).map((c) => sub(meanRows(c.pos.slice(c.posStart)), meanRows(c.neg.slice(c.negStart)))));
    expectClose(vector.direction(SITE), byHand);
  });

  it('last, index:-2 and per-token response reads match the captured positions', async () => {
    const caps = await capturedAll(dataset, SITE);
    const last = await extractVector(model, dataset, { read: { kind: 'last' }, sites: [SITE], recommend: false });
    expectClose(last.vector.direction(SITE), meanRows(caps.map((c) => sub(c.pos.at(-1)!, c.neg.at(-1)!))));
    const caa = await extractVector(model, dataset, { read: { kind: 'index', index: -2 }, sites: [SITE], recommend: false });
    expectClose(caa.vector.direction(SITE), meanRows(caps.map((c) => sub(c.pos.at(-2)!, c.neg.at(-2)!))));
    const K = 3;
    const perToken = await extractVector(model, dataset, { read: { kind: 'response', tokens: K }, sites: [SITE], recommend: false });
    const diffs = caps.flatMap((c) => Array.from({ length: K }, (_, t) => sub(c.pos[c.posStart + t]!, c.neg[c.negStart + t]!)));
    expectClose(perToken.vector.direction(SITE), meanRows(diffs));
  });

  it('pca-diff matches an ml-matrix SVD of the captured differences', async () => {
    const { vector } = await extractVector(model, dataset, { method: 'pca-diff', read: { kind: 'last' }, sites: [SITE], recommend: false });
    const diffs = (await capturedAll(dataset, SITE)).map((c) => sub(c.pos.at(-1)!, c.neg.at(-1)!));
    const X = new Matrix(diffs);
    const mu = X.mean('column');
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < X.columns; j++) X.set(i, j, X.get(i, j) - mu[j]!);
    const ref = new SVD(X, { computeLeftSingularVectors: false, autoTranspose: true }).rightSingularVectors.getColumn(0);
    const got = vector.direction(SITE);
    const sign = Math.sign(ref.reduce((a, x, h) => a + x * got[h]!, 0));
    expectClose(got, ref.map((x) => sign * x), 1e-4);
    // Oriented so the preferred side projects higher in most pairs.
    expect(diffs.filter((d) => d.reduce((a, x, h) => a + x * got[h]!, 0) > 0).length).toBeGreaterThan(diffs.length / 2);
  });

  it('the training-free RAHF (SCIT) variant averages per-token differences of one response under two instructions', async () => {
    expect(scit.kind).toBe('instructions');
    const { vector } = await extractVector(model, scit, { sites: [SITE], recommend: false, folds: 3 });
    expect(vector.meta.read).toBe('response:64');
    const caps = await capturedAll(scit, SITE);
    const diffs = caps.flatMap((c) => {
      const n = c.posIds.length - c.posStart;
      expect(c.negIds.length - c.negStart).toBe(n);
      return Array.from({ length: n }, (_, t) => sub(c.pos[c.posStart + t]!, c.neg[c.negStart + t]!));
    });
    expectClose(vector.direction(SITE), meanRows(diffs));
  });

  it('records provenance, norms and held-out separability', async () => {
    const { vector } = await extractVector(model, dataset, { sites: SITES, recommend: false, name: 'fixture' });
    const m = vector.meta;
    expect(m.model).toEqual({ fingerprint: model.manifest.fingerprint, architecture: model.manifest.architecture, hiddenSize: 128 });
    expect(m.dataset).toEqual({ sha256: createHash('sha256').update(readFileSync(dataset.source)).digest('hex'), size: readFileSync(dataset.source).byteLength, pairs: 8, kind: 'responses', file: 'pairs.jsonl' });
    expect(m.library.version).toBe(LIBRARY_VERSION);
    expect(m.method).toBe('mean-diff');
    expect(vector.sites).toEqual(SITES);
    for (const site of SITES) {
      const s = m.sites[site]!;
      expect(s.norm).toBeCloseTo(Math.hypot(...vector.direction(site)), 3);
      expect(s.residualNorm).toBeGreaterThan(s.norm);
      expect(s.separability!.folds).toBe(5);
      expect(s.separability!.accuracy).toBeGreaterThanOrEqual(0.75);
    }
  });
});

describe('sweep on the default model', () => {
  it('reports separability and a preference effect whose sign follows the strength', async () => {
    const report = await sweep(model, dataset, { sites: SITES, fractions: [0.1, 0.3], folds: 4 });
    expect(report.sites.map((s) => s.site)).toEqual(SITES);
    for (const s of report.sites) {
      expect(s.curve.map((p) => Math.sign(p.strength))).toEqual([-1, -1, 0, 1, 1]);
      const [lo, , zero, , hi] = s.curve;
      expect(zero!.preference).toBe(0);
      expect(zero!.perplexityRatio).toBe(1);
      expect(hi!.preference!).toBeGreaterThan(0);
      expect(lo!.preference!).toBeLessThan(0);
      expect(hi!.preferenceWins!).toBeGreaterThan(0.5);
      expect(s.fluent.min).toBeLessThanOrEqual(0);
      expect(s.fluent.max).toBeGreaterThanOrEqual(0);
    }
    expect(SITES).toContain(report.recommended.sites[0]);
    const auto = await extractVector(model, dataset, { sites: 'auto', fractions: [0.1, 0.3], folds: 4 });
    expect(auto.vector.sites).toEqual(report.recommended.sites);
    expect(auto.sweep).toBeDefined();
    expect(auto.vector.meta.recommendedStrength).toBeDefined();
  });

  it('skips sites where the two sides do not differ, and says so when none is left', async () => {
    // Token 0 is BOS on both sides: nothing to contrast anywhere.
    await expect(sweep(model, dataset, { sites: SITES, read: { kind: 'index', index: 0 }, separabilityOnly: true })).rejects.toThrow(/no usable site: blocks.0.hook_resid_post/);
  });
});
