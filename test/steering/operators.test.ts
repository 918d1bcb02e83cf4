/**
 * Steering operators with real vectors on the default model: arithmetic is
 * exact where it must be, ablation removes the direction, per-row plans give
 * each row what it gets alone.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelMismatchError } from '../../src/errors.js';
import { rowSeed } from '../../src/math/rng.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { Steering } from '../../src/vectors/steering.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { REPO } from '../helpers/paths.js';

const SHIPPED = join(REPO, 'vectors', 'tinystories-656k');
const PROMPT = 'Once upon a time, there was a little boy named Tom. ';
let model: HookedModel;
let joy: SteeringVector;
let dialogue: SteeringVector;
beforeAll(async () => {
  model = await loadDefault();
  joy = SteeringVector.load(join(SHIPPED, 'joy.json'), { model });
  dialogue = SteeringVector.load(join(SHIPPED, 'dialogue.json'), { model });
}, 300_000);
afterAll(async () => { await model?.dispose(); });

const greedy = { temperature: 0, maxNewTokens: 32 };

describe('vector arithmetic under generation', () => {
  it('v − v steers exactly like no steering (greedy and sampled)', async () => {
    const zero = joy.subtract(joy);
    for (const opts of [greedy, { temperature: 0.8, seed: 4, maxNewTokens: 32, n: 2 }]) {
      const base = await model.generate(PROMPT, opts);
      const steered = await model.generate(PROMPT, { ...opts, steering: zero.toPlan({ strength: 5 }) });
      expect(steered.rows.map((r) => r.ids)).toEqual(base.rows.map((r) => r.ids));
      expect(steered.rows.map((r) => r.logprobs)).toEqual(base.rows.map((r) => r.logprobs));
    }
  });

  it('generate(v × 2, strength 1) equals generate(v, strength 2) token for token', async () => {
    const a = await model.generate(PROMPT, { ...greedy, steering: joy.scale(2).toPlan({ strength: 1 }) });
    const b = await model.generate(PROMPT, { ...greedy, steering: joy.toPlan({ strength: 2 }) });
    const base = await model.generate(PROMPT, greedy);
    expect(a.rows[0]!.ids).toEqual(b.rows[0]!.ids);
    expect(a.rows[0]!.ids).not.toEqual(base.rows[0]!.ids);
    const neg = await model.generate(PROMPT, { ...greedy, steering: joy.negate().toPlan({ strength: 2 }) });
    const neg2 = await model.generate(PROMPT, { ...greedy, steering: joy.toPlan({ strength: -2 }) });
    expect(neg.rows[0]!.ids).toEqual(neg2.rows[0]!.ids);
  });
});

describe('ablation', () => {
  const site = 'blocks.0.hook_resid_post';
  const projections = async (plan: ReturnType<SteeringVector['toPlan']> | undefined) => {
    const r = joy.normalize().direction(site);
    const acts = await model.capture([PROMPT, 'The dog was sad and cried.'], [site], { positions: 'all', ...(plan ? { steering: plan } : {}) });
    return acts.flatMap((a) => {
      const t = a[site]!;
      return Array.from({ length: t.dims[0]! }, (_, i) => {
        let d = 0; let n = 0;
        for (let h = 0; h < 128; h++) { const x = t.data[i * 128 + h]!; d += x * r[h]!; n += x * x; }
        return { proj: d, norm: Math.sqrt(n) };
      });
    });
  };

  it('an ablation plan leaves zero projection at the site', async () => {
    const before = await projections(undefined);
    expect(Math.max(...before.map((p) => Math.abs(p.proj)))).toBeGreaterThan(5);
    const after = await projections(joy.toPlan({ strength: 0, operator: 'ablate', sites: [site] }));
    for (const p of after) expect(Math.abs(p.proj)).toBeLessThan(1e-4 * p.norm);
  });

  it('ablate-then-add sets the projection to strength × |v|', async () => {
    const after = await projections(joy.toPlan({ strength: 3, operator: 'ablate-add', sites: [site] }));
    const target = 3 * joy.norm(site);
    for (const p of after) expect(Math.abs(p.proj - target)).toBeLessThan(1e-4 * p.norm);
  });
});

describe('Steering', () => {
  it('combines vectors into one plan and per-row plans give each row what it gets alone', async () => {
    const both = Steering.of(joy, { strength: -2 }).with(dialogue, { strength: 0.75, positions: 'generated' });
    both.check(model);
    expect(both.plan().map((p) => [p.site, p.strength, p.positions])).toEqual([
      ['blocks.0.hook_resid_post', -2, undefined], ['blocks.1.hook_resid_mid', 0.75, 'generated'],
    ]);
    const rows = [Steering.of(joy, { strength: 2 }), null, both];
    const opts = { temperature: 0.8, seed: 9, maxNewTokens: 24 };
    const batch = await model.generate(PROMPT, { ...opts, n: 3, steering: Steering.rows(rows) });
    for (let k = 0; k < 3; k++) {
      const plan = rows[k]?.plan();
      const alone = await model.generate(PROMPT, { ...opts, seed: rowSeed(9, k), ...(plan ? { steering: plan } : {}) });
      expect(batch.rows[k]!.ids).toEqual(alone.rows[0]!.ids);
    }
    expect(batch.rows[0]!.ids).not.toEqual(batch.rows[1]!.ids);
  });

  it('refuses another model\'s vector and impossible plans', () => {
    const foreign = SteeringVector.create({ 'blocks.0.hook_resid_post': joy.direction('blocks.0.hook_resid_post') }, { model: { ...joy.meta.model, fingerprint: '0'.repeat(64) }, method: 'mean-diff' });
    expect(() => Steering.of(foreign, { strength: 1 }).check(model)).toThrow(ModelMismatchError);
    expect(() => Steering.of(joy, { strength: 1, sites: ['blocks.1.hook_resid_post'] })).toThrow(InvalidArgumentError);
    expect(() => Steering.of(joy, { strength: Number.NaN })).toThrow(InvalidArgumentError);
    const twoAblations = Steering.of(joy, { strength: 0, operator: 'ablate' }).with(joy.negate(), { strength: 0, operator: 'ablate' });
    expect(() => twoAblations.check(model)).toThrow(/one ablation direction/);
    expect(Steering.none().describe()).toBe('unsteered');
    expect(Steering.of(joy, { strength: -2 }).describe()).toBe('joy × -2 at blocks.0.hook_resid_post (add, all positions)');
  });
});
