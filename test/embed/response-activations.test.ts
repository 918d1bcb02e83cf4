/**
 * Pooled response activations on the default model, and the rewards and
 * utilities that read them (probe, hidden) without running the model again.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureResponseActivations } from '../../src/embed/response-activations.js';
import { parseReward } from '../../src/rewards/parse.js';
import { probeReward } from '../../src/rewards/kinds/probe.js';
import type { RewardItem } from '../../src/rewards/types.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { cosine } from '../../src/utilities/cosine.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { loadDefault } from '../helpers/models.js';

const SITE = 'blocks.1.hook_resid_post';
const PROMPT = 'Once upon a time';
let model: HookedModel;
let items: RewardItem[];

beforeAll(async () => {
  model = await loadDefault();
  const out = await model.generate(PROMPT, { n: 6, seed: 3, temperature: 1, maxNewTokens: 12 });
  items = out.rows.map((r) => ({ prompt: PROMPT, response: r.text, ids: r.ids }));
}, 300_000);
afterAll(async () => { await model?.dispose(); });

describe('captureResponseActivations', () => {
  it('is the mean over the response tokens of the full-sequence activations', async () => {
    const pooled = await captureResponseActivations(model, items, [SITE]);
    const P = model.encode(PROMPT).length;
    for (let k = 0; k < items.length; k++) {
      const ids = [...model.encode(PROMPT), ...items[k]!.ids!];
      const all = (await model.capture([ids], [SITE], { positions: 'all' }))[0]![SITE]!;
      const H = all.dims[1]!;
      const R = ids.length - P;
      let maxDiff = 0;
      for (let h = 0; h < H; h++) {
        let s = 0;
        for (let t = P; t < ids.length; t++) s += all.data[t * H + h]!;
        maxDiff = Math.max(maxDiff, Math.abs(s / R - pooled[k]![SITE]![h]!));
      }
      // batched (right-padded) vs single-row float32 runs: summation order differs
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  it('uses the last prompt token for an empty response, and text when ids are absent', async () => {
    const [empty, text] = await captureResponseActivations(model, [{ prompt: PROMPT, ids: [] }, { prompt: PROMPT, response: items[0]!.response }], [SITE]);
    const last = (await model.capture([PROMPT], [SITE], { positions: 'last' }))[0]![SITE]!.data;
    expect([...empty![SITE]!]).toEqual([...last]);
    expect(text![SITE]!.length).toBe(model.manifest.hiddenSize);
  });
});

describe('probe reward and hidden utility on pooled activations', () => {
  it('the probe reuses passed activations and captures only when they are missing', async () => {
    const pooled = await captureResponseActivations(model, items, [SITE]);
    const H = model.manifest.hiddenSize;
    // A direction we construct: from candidate 1's pooled state toward candidate 0's.
    const direction = new Float32Array(H);
    for (let h = 0; h < H; h++) direction[h] = pooled[0]![SITE]![h]! - pooled[1]![SITE]![h]!;
    const norm = Math.hypot(...direction);
    const probe = probeReward({ site: SITE, direction }, { model });
    const spy = vi.spyOn(model, 'capture');
    const withActs = await probe.score(items.map((it, k) => ({ ...it, activations: pooled[k]! })));
    expect(spy).not.toHaveBeenCalled();
    const fromModel = await probe.score(items);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    for (let k = 0; k < items.length; k++) {
      let expected = 0;
      for (let h = 0; h < H; h++) expected += pooled[k]![SITE]![h]! * direction[h]! / norm;
      expect(withActs[k]).toBeCloseTo(expected, 4);
      expect(fromModel[k]).toBeCloseTo(expected, 4);
    }
    expect(withActs[0]!).toBeGreaterThan(withActs[1]!);
  });

  it('parseReward wires the model from the context for probes', async () => {
    const r = await parseReward('probe:any', { model, loadVector: () => ({ site: SITE, direction: Float32Array.from({ length: model.manifest.hiddenSize }, (_, h) => (h === 0 ? 1 : 0)) }) });
    const pooled = await captureResponseActivations(model, items.slice(0, 2), [SITE]);
    const s = await r.score(items.slice(0, 2));
    expect(s[0]).toBeCloseTo(pooled[0]![SITE]![0]!, 5);
  });

  it('the hidden utility is the cosine of pooled activations, defaulting to the last block', async () => {
    const u = parseUtility('hidden', { model });
    expect(u.sites).toEqual([SITE]);
    const pooled = await captureResponseActivations(model, items, [SITE]);
    const m = await u.matrix(items.map((it, k) => ({ ...it, activations: pooled[k]! })));
    const n = items.length;
    for (let i = 0; i < n; i++) {
      expect(m[i * n + i]).toBeCloseTo(1, 12);
      for (let j = 0; j < n; j++) expect(m[i * n + j]).toBeCloseTo(cosine(pooled[i]![SITE]!, pooled[j]![SITE]!), 12);
    }
    expect(() => parseUtility('hidden:blocks.9.hook_resid_post', { model })).toThrow(/not in the model/);
  });
});
