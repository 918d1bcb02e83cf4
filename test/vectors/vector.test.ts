import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptFileError, InvalidArgumentError, InvalidDataError, ModelMismatchError, ShapeMismatchError } from '../../src/errors.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { LIBRARY_VERSION } from '../../src/version.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { tempDir } from '../helpers/paths.js';

const H = 8;
const MODEL = { fingerprint: 'a'.repeat(64), architecture: 'LlamaForCausalLM', hiddenSize: H };
const SITE0 = 'blocks.0.hook_resid_post';
const SITE1 = 'blocks.1.hook_resid_post';

function awkwardFloats(seed: number): Float32Array {
  // Values a decimal JSON round trip could mangle: subnormals, −0, extremes, thirds.
  const v = new Float32Array(H);
  v.set([1 / 3 + seed, -0, 1.401298464324817e-45, 3.4028234663852886e38, -1e-30, Math.PI * seed, 0.1, -2.5]);
  return v;
}

function vec(seed = 1): SteeringVector {
  return SteeringVector.create({ [SITE0]: awkwardFloats(seed), [SITE1]: Float32Array.from({ length: H }, (_, i) => i - seed) }, {
    model: MODEL, method: 'mean-diff', read: 'mean', name: 'test',
    dataset: { sha256: 'b'.repeat(64), size: 123, pairs: 4, kind: 'responses', file: 'p.jsonl' },
    recommendedStrength: { min: -2, max: 4 },
    sites: { [SITE0]: { norm: 0, residualNorm: 100, contrastNorm: 3, separability: { folds: 5, accuracy: 1, margin: 3, effectSize: 2, probeAccuracy: 1 } } },
  });
}

const manifest = (over: Partial<HooksManifest> = {}): HooksManifest => ({
  fingerprint: MODEL.fingerprint, architecture: MODEL.architecture, hiddenSize: H,
  sites: [SITE0, SITE1].map((name, block) => ({ name, block, capture: name, steer: `${name}.steer`, ablate: `${name}.ablate`, sourceTensor: 'x' })),
  ...over,
} as HooksManifest);

const work = tempDir('vectors-');
afterAll(() => work.cleanup());

describe('SteeringVector files', () => {
  it('round-trips directions bit for bit, with its metadata', () => {
    const v = vec();
    const path = join(work.path, 'v.json');
    v.save(path);
    const back = SteeringVector.load(path);
    for (const site of v.sites) {
      const a = new Uint8Array(v.direction(site).buffer);
      const b = new Uint8Array(back.direction(site).buffer);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    expect(back.meta).toEqual(v.meta);
    expect(back.meta.library.version).toBe(LIBRARY_VERSION);
    expect(back.meta.sites[SITE0]?.norm).toBeCloseTo(Math.hypot(...awkwardFloats(1)), 0);
    // Saving what was loaded gives the same bytes.
    const again = join(work.path, 'again.json');
    back.save(again);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(path, 'utf8'));
  });

  type Mutable = Record<string, unknown> & { sites: Record<string, unknown>[] };
  const corrupt = (mutate: (f: Mutable) => void, name: string): string => {
    const f = JSON.parse(JSON.stringify(vec().toJSON())) as Mutable;
    mutate(f);
    const path = join(work.path, `${name}.json`);
    writeFileSync(path, JSON.stringify(f));
    return path;
  };

  it('refuses broken files with typed errors', () => {
    const badJson = join(work.path, 'bad.json');
    writeFileSync(badJson, '{"format": "onnx-steer.vector", ');
    expect(() => SteeringVector.load(badJson)).toThrow(CorruptFileError);
    expect(() => SteeringVector.load(corrupt((f) => { f.format = 'other'; }, 'format'))).toThrow(/not an onnx-steer vector/);
    expect(() => SteeringVector.load(corrupt((f) => { delete f.model; }, 'nomodel'))).toThrow(CorruptFileError);
    expect(() => SteeringVector.load(corrupt((f) => { f.sites[0]!.direction = 'not base64!'; }, 'b64'))).toThrow(CorruptFileError);
    const shortDir = Buffer.alloc((H - 1) * 4).toString('base64');
    expect(() => SteeringVector.load(corrupt((f) => { f.sites[0]!.direction = shortDir; }, 'dims'))).toThrow(ShapeMismatchError);
    expect(() => SteeringVector.load(corrupt((f) => { f.hiddenSize = H + 1; }, 'hidden'))).toThrow(ShapeMismatchError);
    const nan = Buffer.alloc(H * 4);
    nan.writeFloatLE(Number.NaN, 12);
    expect(() => SteeringVector.load(corrupt((f) => { f.sites[1]!.direction = nan.toString('base64'); }, 'nan'))).toThrow(InvalidDataError);
    expect(() => SteeringVector.load(corrupt((f) => { f.sites[1]!.name = f.sites[0]!.name; }, 'twice'))).toThrow(/appears twice/);
    expect(() => SteeringVector.load(corrupt((f) => { f.recommendedStrength = { min: 3, max: 1 }; }, 'range'))).toThrow(CorruptFileError);
  });

  it('refuses another model: fingerprint, hidden size, missing sites', () => {
    const v = vec();
    expect(() => v.check(manifest())).not.toThrow();
    expect(() => v.check(manifest({ fingerprint: 'c'.repeat(64) }))).toThrow(ModelMismatchError);
    expect(() => v.check(manifest({ hiddenSize: 16 }))).toThrow(ModelMismatchError);
    expect(() => v.check({ manifest: manifest({ sites: manifest().sites.slice(0, 1) }) })).toThrow(/does not hook/);
    const path = join(work.path, 'check.json');
    v.save(path);
    expect(() => SteeringVector.load(path, { model: manifest({ fingerprint: 'd'.repeat(64) }) })).toThrow(ModelMismatchError);
  });
});

describe('SteeringVector arithmetic', () => {
  it('is immutable and exact where float32 allows', () => {
    const a = vec(1);
    const b = vec(2);
    const before = a.direction(SITE1);
    const sum = a.add(b);
    const diff = sum.subtract(b);
    expect(Array.from(a.direction(SITE1))).toEqual(Array.from(before));
    expect(Array.from(diff.direction(SITE1))).toEqual(Array.from(before));
    expect(Array.from(a.subtract(a).direction(SITE0)).every((x) => x === 0)).toBe(true);
    expect(Array.from(a.scale(2).direction(SITE1))).toEqual(Array.from(before).map((x) => 2 * x));
    expect(Array.from(a.negate().direction(SITE1))).toEqual(Array.from(before).map((x) => -x));
    expect(a.normalize().norm(SITE1)).toBeCloseTo(1, 6);
    expect(sum.meta.derivation).toBe('(test + test)');
    expect(sum.meta.sites[SITE0]?.separability).toBeUndefined();
  });

  it('keeps recommended strengths meaningful: scale(k) divides them by k, negate swaps them', () => {
    const a = vec();
    expect(a.scale(2).meta.recommendedStrength).toEqual({ min: -1, max: 2 });
    expect(a.negate().meta.recommendedStrength).toEqual({ min: -4, max: 2 });
    expect(a.add(a).meta.recommendedStrength).toBeUndefined();
  });

  it('restricts to sites, and refuses mixing models', () => {
    const r = vec().restrictToSites([SITE1]);
    expect(r.sites).toEqual([SITE1]);
    expect(() => vec().restrictToSites(['blocks.9.hook_resid_post'])).toThrow(InvalidArgumentError);
    const other = SteeringVector.create({ [SITE0]: new Float32Array(H) }, { model: { ...MODEL, fingerprint: 'e'.repeat(64) }, method: 'mean-diff' });
    expect(() => vec().add(other)).toThrow(ModelMismatchError);
    const wider = SteeringVector.create({ [SITE0]: new Float32Array(16) }, { model: { ...MODEL, hiddenSize: 16 }, method: 'mean-diff' });
    expect(() => vec().subtract(wider)).toThrow(ModelMismatchError);
    expect(() => SteeringVector.create({ [SITE0]: new Float32Array(3) }, { model: MODEL, method: 'x' })).toThrow(ShapeMismatchError);
    expect(() => SteeringVector.create({ [SITE0]: Float32Array.of(NaN, 0, 0, 0, 0, 0, 0, 0) }, { model: MODEL, method: 'x' })).toThrow(InvalidArgumentError);
  });

  it('turns into interventions', () => {
    const plan = vec().toPlan({ strength: { [SITE0]: 2, [SITE1]: -1 }, operator: 'ablate-add', positions: 'generated', schedule: { kind: 'exponential', decay: 0.9 } });
    expect(plan.map((p) => [p.site, p.strength, p.operator, p.positions])).toEqual([[SITE0, 2, 'ablate-add', 'generated'], [SITE1, -1, 'ablate-add', 'generated']]);
    expect(vec().toPlan({ strength: 3, sites: [SITE1] }).map((p) => p.site)).toEqual([SITE1]);
    expect(() => vec().toPlan({ strength: { [SITE0]: 1 } })).toThrow(/no finite strength for blocks.1/);
  });
});
