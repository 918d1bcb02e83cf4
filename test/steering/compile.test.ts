import { describe, expect, it } from 'vitest';
import { CompiledPlan } from '../../src/steering/compile.js';
import { activeAt, scheduleAt, validatePlan, type Intervention } from '../../src/steering/plan.js';
import type { HookSiteInfo } from '../../src/hooks/manifest.js';
import { InvalidArgumentError } from '../../src/errors.js';

const H = 4;
const site = (name: string): HookSiteInfo => ({ name, block: 0, capture: name, steer: `${name}.steer`, ablate: `${name}.ablate`, sourceTensor: 'x' });
const SITES = [site('blocks.0.hook_resid_post'), site('blocks.1.hook_resid_post')];
const v = (...xs: number[]) => Float32Array.from(xs);

describe('position and schedule semantics', () => {
  it('selects absolute positions', () => {
    expect(activeAt('prompt', 4, 5)).toBe(true);
    expect(activeAt('prompt', 5, 5)).toBe(false);
    expect(activeAt('generated', 5, 5)).toBe(true);
    expect(activeAt({ start: 2, end: 4 }, 3, 5)).toBe(true);
    expect(activeAt({ start: 2, end: 4 }, 4, 5)).toBe(false);
  });
  it('schedules strength over generated positions', () => {
    expect(scheduleAt({ kind: 'linear', from: 1, to: 0, over: 4 }, 7, 5)).toBeCloseTo(0.5);
    expect(scheduleAt({ kind: 'linear', from: 1, to: 0, over: 4 }, 3, 5)).toBe(1);
    expect(scheduleAt({ kind: 'exponential', decay: 0.5 }, 7, 5)).toBeCloseTo(0.25);
  });
});

describe('CompiledPlan', () => {
  it('adds strength × vector at every position, broadcast over the step', () => {
    const plan: Intervention[] = [{ site: 'blocks.0.hook_resid_post', vector: v(1, 2, 3, 4), strength: 2 }];
    const feeds = new CompiledPlan(plan, SITES, H, 'float32').feeds({ starts: [0, 0], promptLengths: [3, 3], seqLen: 3 });
    const t = feeds['blocks.0.hook_resid_post.steer']!;
    expect(t.dims).toEqual([2, 1, 4]);
    expect(Array.from(t.data as Float32Array)).toEqual([2, 4, 6, 8, 2, 4, 6, 8]);
    expect(feeds['blocks.0.hook_resid_post.ablate']).toBeUndefined();
  });

  it('expands to per-position feeds when only part of the step is steered', () => {
    const plan: Intervention[] = [{ site: 'blocks.0.hook_resid_post', vector: v(1, 0, 0, 0), positions: 'generated' }];
    const compiled = new CompiledPlan(plan, SITES, H, 'float32');
    const prefill = compiled.feeds({ starts: [0], promptLengths: [2], seqLen: 3 });
    expect(prefill['blocks.0.hook_resid_post.steer']!.dims).toEqual([1, 3, 4]);
    expect(Array.from(prefill['blocks.0.hook_resid_post.steer']!.data as Float32Array)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    // Under a KV cache the decode step's position is absolute: still "generated".
    const decode = compiled.feeds({ starts: [7], promptLengths: [2], seqLen: 1 });
    expect(Array.from(decode['blocks.0.hook_resid_post.steer']!.data as Float32Array)).toEqual([1, 0, 0, 0]);
    const promptOnly = new CompiledPlan([{ ...plan[0]!, positions: 'prompt' }], SITES, H, 'float32').feeds({ starts: [7], promptLengths: [2], seqLen: 1 });
    expect(Array.from(promptOnly['blocks.0.hook_resid_post.steer']!.data as Float32Array)).toEqual([0, 0, 0, 0]);
  });

  it('gives each row its own plan and unit ablation direction', () => {
    const rows = [
      [{ site: 'blocks.1.hook_resid_post', vector: v(0, 3, 0, 4), operator: 'ablate' as const }],
      null,
      [{ site: 'blocks.1.hook_resid_post', vector: v(1, 1, 1, 1), strength: -1, operator: 'ablate-add' as const }],
    ];
    const feeds = new CompiledPlan({ rows }, SITES, H, 'float32').feeds({ starts: [5, 5, 5], promptLengths: [5, 5, 5], seqLen: 1 });
    const r = Array.from(feeds['blocks.1.hook_resid_post.ablate']!.data as Float32Array);
    expect(r.slice(0, 4)).toEqual([0, 0.6, 0, 0.8].map(Math.fround));
    expect(r.slice(4, 8)).toEqual([0, 0, 0, 0]);
    expect(r.slice(8, 12)).toEqual([0.5, 0.5, 0.5, 0.5]);
    const s = Array.from(feeds['blocks.1.hook_resid_post.steer']!.data as Float32Array);
    expect(s).toEqual([0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1]);
  });

  it('feeds an ablating-only site no steering input', () => {
    const plan: Intervention[] = [{ site: 'blocks.1.hook_resid_post', vector: v(0, 3, 0, 4), operator: 'ablate' }];
    const feeds = new CompiledPlan(plan, SITES, H, 'float32').feeds({ starts: [5], promptLengths: [5], seqLen: 1 });
    expect(Object.keys(feeds)).toEqual(['blocks.1.hook_resid_post.ablate']);
  });

  it('reuses the previous decode step\'s feeds only while rows, activity and strengths are unchanged', () => {
    const plan: Intervention[] = [{ site: 'blocks.0.hook_resid_post', vector: v(1, 2, 3, 4), schedule: { kind: 'linear', from: 1, to: 0, over: 2 }, positions: { start: 0, end: 9 } }];
    const c = new CompiledPlan(plan, SITES, H, 'float32');
    const steer = (f: Record<string, { data: unknown }>) => Array.from(f['blocks.0.hook_resid_post.steer']!.data as Float32Array);
    const a = c.feeds({ starts: [7], promptLengths: [3], seqLen: 1 }); // past the schedule: strength 0
    expect(steer(a)).toEqual([0, 0, 0, 0]);
    expect(c.feeds({ starts: [8], promptLengths: [3], seqLen: 1 })).toBe(a);
    const b = c.feeds({ starts: [9], promptLengths: [3], seqLen: 1 }); // outside positions: inactive
    expect(b).not.toBe(a);
    const d = c.feeds({ starts: [4], promptLengths: [3], seqLen: 1 }); // halfway: strength 0.5
    expect(steer(d)).toEqual([0.5, 1, 1.5, 2]);
    const two = c.feeds({ starts: [4, 4], promptLengths: [3, 3], seqLen: 1 });
    expect(two).not.toBe(d);
    expect(steer(two)).toEqual([0.5, 1, 1.5, 2, 0.5, 1, 1.5, 2]);
    // A prompt pass is never reused, and the decode step after it is rebuilt.
    const prompt = c.feeds({ starts: [0, 0], promptLengths: [3, 3], seqLen: 3 });
    expect(c.feeds({ starts: [0, 0], promptLengths: [3, 3], seqLen: 3 })).not.toBe(prompt);
    expect(steer(c.feeds({ starts: [4, 4], promptLengths: [3, 3], seqLen: 1 }))).toEqual([0.5, 1, 1.5, 2, 0.5, 1, 1.5, 2]);
  });

  it('maps batch rows to plan rows after finished rows leave the batch', () => {
    const rows = [[{ site: 'blocks.0.hook_resid_post', vector: v(1, 1, 1, 1) }], [{ site: 'blocks.0.hook_resid_post', vector: v(2, 2, 2, 2) }]];
    const feeds = new CompiledPlan({ rows }, SITES, H, 'float32').feeds({ starts: [9], promptLengths: [3], planRows: [1], seqLen: 1 });
    expect(Array.from(feeds['blocks.0.hook_resid_post.steer']!.data as Float32Array)).toEqual([2, 2, 2, 2]);
  });

  it('reuses its decode buffers across steps', () => {
    const c = new CompiledPlan([{ site: 'blocks.0.hook_resid_post', vector: v(1, 1, 1, 1), schedule: { kind: 'exponential', decay: 0.5 } }], SITES, H, 'float32');
    const a = c.feeds({ starts: [3], promptLengths: [3], seqLen: 1 })['blocks.0.hook_resid_post.steer']!.data as Float32Array;
    expect(a[0]).toBe(1);
    const b = c.feeds({ starts: [4], promptLengths: [3], seqLen: 1 })['blocks.0.hook_resid_post.steer']!.data as Float32Array;
    expect(b.buffer).toBe(a.buffer);
    expect(b[0]).toBe(0.5);
  });

  it('writes float16 feeds for fp16 models', () => {
    const feeds = new CompiledPlan([{ site: 'blocks.0.hook_resid_post', vector: v(1, -2, 0.5, 0) }], SITES, H, 'float16').feeds({ starts: [0], promptLengths: [1], seqLen: 1 });
    const t = feeds['blocks.0.hook_resid_post.steer']!;
    expect(t.type).toBe('float16');
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x3800, 0]);
  });
});

describe('validatePlan', () => {
  const has = (s: string) => { if (!SITES.some((x) => x.name === s)) throw new Error(`no ${s}`); };
  it('rejects wrong dimensions, NaN, zero ablations and double ablations', () => {
    expect(() => validatePlan([{ site: 'blocks.0.hook_resid_post', vector: v(1, 2) }], H, has)).toThrow(/hidden size is 4/);
    expect(() => validatePlan([{ site: 'blocks.0.hook_resid_post', vector: v(1, NaN, 0, 0) }], H, has)).toThrow(InvalidArgumentError);
    expect(() => validatePlan([{ site: 'blocks.0.hook_resid_post', vector: v(0, 0, 0, 0), operator: 'ablate' }], H, has)).toThrow(/zero vector/);
    const twice = [{ site: 'blocks.0.hook_resid_post', vector: v(1, 0, 0, 0), operator: 'ablate' as const }, { site: 'blocks.0.hook_resid_post', vector: v(0, 1, 0, 0), operator: 'ablate' as const }];
    expect(() => validatePlan(twice, H, has)).toThrow(/one ablation/);
    expect(() => validatePlan([{ site: 'blocks.9.hook_resid_post', vector: v(1, 0, 0, 0) }], H, has)).toThrow(/no blocks.9/);
  });
});
