import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { HookPacker, type PackLayout } from '../../src/runtime/packing.js';
import { InvalidArgumentError } from '../../src/errors.js';

const H = 2;
const layout: PackLayout = {
  kinds: {
    steer: { input: 'P.steer', names: ['a.steer', 'b.steer', 'c.steer'], width: H },
    ablate: { input: 'P.ablate', names: ['a.ablate', 'b.ablate', 'c.ablate'], width: H },
  },
  slots: new Map([
    ['a.steer', { kind: 'steer', slot: 0 }], ['b.steer', { kind: 'steer', slot: 1 }], ['c.steer', { kind: 'steer', slot: 2 }],
    ['a.ablate', { kind: 'ablate', slot: 0 }], ['b.ablate', { kind: 'ablate', slot: 1 }], ['c.ablate', { kind: 'ablate', slot: 2 }],
  ]),
  direct: new Map(),
};
const t = (data: number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(data), dims);

describe('HookPacker', () => {
  it('feeds shared zeros when nothing is steered', () => {
    const p = new HookPacker(layout, 'float32');
    const a = p.pack(undefined);
    expect(a['P.steer']!.dims).toEqual([1, 1, 6]);
    expect(Array.from(a['P.steer']!.data as Float32Array)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(p.pack({})['P.steer']).toBe(a['P.steer']);
  });

  it('places each site in its slot and broadcasts [1,1,H] feeds to the step shape', () => {
    const p = new HookPacker(layout, 'float32');
    const out = p.pack({ 'b.steer': t([1, 2, 3, 4], [2, 1, H]), 'c.steer': t([9, 8], [1, 1, H]) });
    expect(out['P.steer']!.dims).toEqual([2, 1, 6]);
    expect(Array.from(out['P.steer']!.data as Float32Array)).toEqual([0, 0, 1, 2, 9, 8, 0, 0, 3, 4, 9, 8]);
    expect(out['P.ablate']!.dims).toEqual([1, 1, 6]);
    const seq = p.pack({ 'a.steer': t([1, 1, 2, 2, 3, 3], [1, 3, H]) });
    expect(seq['P.steer']!.dims).toEqual([1, 3, 6]);
    expect(Array.from(seq['P.steer']!.data as Float32Array)).toEqual([1, 1, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0]);
  });

  it('passes direct inputs through as they are and feeds zeros for the ones not given', () => {
    const p = new HookPacker({ kinds: {}, slots: new Map(), direct: new Map([['d.steer', H], ['e.steer', H]]) }, 'float32');
    const given = t([1, 2, 3, 4], [2, 1, H]);
    const out = p.pack({ 'd.steer': given });
    expect(out['d.steer']).toBe(given);
    expect(out['e.steer']!.dims).toEqual([1, 1, H]);
    expect(Array.from(out['e.steer']!.data as Float32Array)).toEqual([0, 0]);
    expect(p.has('e.steer')).toBe(true);
    expect(() => p.pack({ 'd.steer': t([1, 2, 3], [1, 1, 3]) })).toThrow(/d\.steer must be \[batch\|1, seq\|1, 2\]/);
  });

  it('rejects unknown inputs and inconsistent shapes', () => {
    const p = new HookPacker(layout, 'float32');
    expect(() => p.pack({ 'z.steer': t([1, 2], [1, 1, H]) })).toThrow(InvalidArgumentError);
    expect(() => p.pack({ 'a.steer': t([1, 2, 3], [1, 1, 3]) })).toThrow(/must be/);
    expect(() => p.pack({ 'a.steer': t([1, 2, 3, 4], [2, 1, H]), 'b.steer': t([1, 2, 3, 4, 5, 6], [3, 1, H]) })).toThrow(/batch size/);
  });
});
