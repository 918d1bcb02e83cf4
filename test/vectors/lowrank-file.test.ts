/** Vector files with low-rank maps (format version 2), and old version-1 files. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import { VECTOR_VERSION } from '../../src/vectors/format.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { REPO, tempDir } from '../helpers/paths.js';

const H = 8;
const model = { fingerprint: 'f'.repeat(64), architecture: 'LlamaForCausalLM', hiddenSize: H };
const map = (rank: number, k = 1) => ({ rank, v: Float32Array.from({ length: H * rank }, (_, i) => Math.sin(i) * k), u: Float32Array.from({ length: H * rank }, (_, i) => Math.cos(i) * k) });
const make = (rank = 2) => SteeringVector.create({ s: Float32Array.from({ length: H }, (_, i) => i) }, { model, method: 'rahf-dual' }, new Map([['s', map(rank)]]));

describe('vector files with low-rank maps', () => {
  it('round-trip bit for bit as version 2; shipped version-1 files still load', () => {
    expect(VECTOR_VERSION).toBe(2);
    const v = make();
    const work = tempDir('lr-file-');
    try {
      const path = join(work.path, 'v.json');
      v.save(path);
      const raw = JSON.parse(readFileSync(path, 'utf8')) as { version: number; sites: { lowRank?: { rank: number } }[] };
      expect(raw.version).toBe(2);
      expect(raw.sites[0]!.lowRank!.rank).toBe(2);
      const back = SteeringVector.load(path);
      expect(Array.from(back.lowRank('s')!.v)).toEqual(Array.from(v.lowRank('s')!.v));
      expect(Array.from(back.lowRank('s')!.u)).toEqual(Array.from(v.lowRank('s')!.u));
    } finally {
      work.cleanup();
    }
    const joy = SteeringVector.load(join(REPO, 'vectors', 'tinystories-656k', 'joy.json'));
    expect(joy.hasLowRank('blocks.0.hook_resid_post')).toBe(false);
  });

  it('refuses maps in version-1 files, rank ≥ hidden and wrong sizes', () => {
    const file = make().toJSON() as unknown as Record<string, unknown>;
    expect(() => SteeringVector.fromJSON({ ...file, version: 1 })).toThrow(CorruptFileError);
    const sites = file.sites as Record<string, unknown>[];
    const withRank = (rank: number) => ({ ...file, sites: [{ ...sites[0], lowRank: { ...(sites[0]!.lowRank as object), rank } }] });
    expect(() => SteeringVector.fromJSON(withRank(H))).toThrow(/integer rank in \[1, 7\]/);
    expect(() => SteeringVector.fromJSON(withRank(3))).toThrow(ShapeMismatchError);
    expect(() => make(H)).toThrow(InvalidArgumentError);
  });

  it('arithmetic carries the maps: scale scales U, sums concatenate ranks; plans may leave them out', () => {
    const v = make(2);
    const x = Float32Array.from({ length: H }, (_, i) => 1 + i);
    const apply = (w: SteeringVector) => {
      const m = w.lowRank('s')!;
      const out = new Float64Array(H);
      for (let j = 0; j < H; j++) for (let c = 0; c < m.rank; c++) out[j] = out[j]! + x.reduce((s, xi, h) => s + xi * m.v[h * m.rank + c]!, 0) * m.u[j * m.rank + c]!;
      return out;
    };
    const base = apply(v);
    const scaled = apply(v.scale(3));
    for (let j = 0; j < H; j++) expect(scaled[j]!).toBeCloseTo(3 * base[j]!, 4);
    const sum = v.add(v.scale(2));
    expect(sum.lowRank('s')!.rank).toBe(4);
    const summed = apply(sum);
    for (let j = 0; j < H; j++) expect(summed[j]!).toBeCloseTo(3 * base[j]!, 4);
    expect(v.toPlan({ strength: 1 })[0]!.lowRank?.rank).toBe(2);
    expect(v.toPlan({ strength: 1, lowRank: false })[0]!.lowRank).toBeUndefined();
  });
});
