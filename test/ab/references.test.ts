/** Several reference models in the A/B harness: KL-BoN on MRPO's combined reference, KL per reference, bad input. */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAB, type ABOptions } from '../../src/ab/harness.js';
import { registerAb } from '../../src/cli/commands/ab.js';
import { ModelMismatchError, UsageError } from '../../src/errors.js';
import { parseReward } from '../../src/rewards/parse.js';
import { hookedModelDir } from '../../src/model/checkpoint-cache.js';
import { HookedModel } from '../../src/model/hooked-model.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { runCommands } from '../helpers/cli.js';
import { defaultDir, loadDefault } from '../helpers/models.js';
import { hasShared, SHARED, tempDir } from '../helpers/paths.js';

const work = tempDir('ab-references-');
const PROMPTS = ['Tom had a red ball.', 'Mia and mom walked to the park.'];

/** A copy of the default model whose tokenizer maps one id to another string, or whose manifest claims another vocabulary size. */
function oddCopy(modelDir: string, kind: 'tokenizer' | 'vocab'): string {
  const dir = join(work.path, `odd-${kind}`);
  mkdirSync(dir, { recursive: true });
  // Copies (onnxruntime refuses external data outside the model's folder); the default model is small.
  for (const f of ['model.onnx', 'model.onnx.data', 'config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer_config.json']) copyFileSync(join(modelDir, f), join(dir, f));
  const tok = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  if (kind === 'tokenizer') {
    const key = Object.keys(tok.model.vocab).find((k) => tok.model.vocab[k] === 1000) as string;
    delete tok.model.vocab[key];
    tok.model.vocab[`${key}§`] = 1000;
    copyFileSync(join(modelDir, 'hooks.json'), join(dir, 'hooks.json'));
  } else {
    const manifest = JSON.parse(readFileSync(join(modelDir, 'hooks.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'hooks.json'), JSON.stringify({ ...manifest, vocabSize: 4096 }));
  }
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return dir;
}

describe.skipIf(!hasShared())('A/B runs with several references', () => {
  let base: HookedModel;
  let dpo: HookedModel;
  let options: ABOptions;
  beforeAll(async () => {
    base = await loadDefault();
    dpo = await HookedModel.load(await hookedModelDir(join(SHARED, 'models', 'tinystories-656k-dpo-joy')), { intraOpNumThreads: 1 });
    const ctx = { model: base };
    options = {
      prompts: PROMPTS, ns: [6], beta: 0.01, selectors: ['kl-bon'],
      proxy: await parseReward('afinn', ctx), gold: await parseReward('vader', ctx), utility: parseUtility('hidden', { model: base }),
      sampling: { maxNewTokens: 12, seed: 5 }, klResamples: 60, bootstrapResamples: 50,
    };
  }, 300_000);
  afterAll(async () => { await dpo?.dispose(); await base?.dispose(); work.cleanup(); });

  it('reduces to the single reference when both references are the model itself', async () => {
    const one = await runAB(base, options);
    const two = await runAB(base, { ...options, references: [{ name: 'a', model: base }, { name: 'b', model: base }] });
    const picks = (r: typeof one) => r.selections.filter((s) => s.method === 'kl-bon').map((s) => s.chosen);
    expect(picks(two)).toEqual(picks(one));
    const arm = two.arms.find((a) => a.arm.id === 'kl-bon(6, β=0.01)');
    const plain = one.arms.find((a) => a.arm.id === 'kl-bon(6, β=0.01)');
    expect(arm?.kl.estimate).toBe(plain?.kl.estimate);
    // KL against a reference that is π_ref itself, and against the combination of two copies of it, is the usual KL.
    expect(arm?.kl.references?.references.map((r) => r.estimate)).toEqual([arm?.kl.estimate, arm?.kl.estimate]);
    expect(arm?.kl.references?.combined).toBe(arm?.kl.estimate);
    expect(two.config.references.map((r) => r.name)).toEqual(['a', 'b']);
    expect(two.config.epsilon).toBe(0.1);
  }, 300_000);

  it('selects on MRPO\'s combined reference of the base model and the DPO policy, and reports KL to each', async () => {
    const r = await runAB(base, { ...options, references: [{ name: 'base', model: base }, { name: 'dpo', model: dpo }], epsilon: 0.5 });
    for (const [k, ps] of r.pools.entries()) {
      const pool = ps.find((p) => p.key === 'reference')!;
      const scored = await dpo.score(pool.prompt, pool.candidates.map((c) => c.ids));
      pool.candidates.forEach((c, i) => {
        expect(c.referenceLogprobs?.[0]).toBe(c.refLogprob);
        expect(c.referenceLogprobs?.[1]).toBeCloseTo(scored[i]!.logprob, 6);
      });
      // The pick by hand: reward-ordered pairs, clipping into the ε band, α, then l̃ = l1 + l2 − log(α·e^{l1} + (1−α)·e^{l2}).
      const sel = r.selections.find((s) => s.method === 'kl-bon' && s.promptIndex === k)!;
      const cand = sel.subset.map((i) => pool.candidates[i]!);
      const l2 = cand.map((c) => c.referenceLogprobs![0]!);
      const l1 = cand.map((c, i) => Math.min(Math.max(c.referenceLogprobs![1]!, 1.5 * l2[i]!), 0.5 * l2[i]!));
      const rew = cand.map((c) => c.proxy!);
      let d1 = 0; let d2 = 0; let n = 0;
      for (let i = 0; i < cand.length; i++) for (let j = 0; j < cand.length; j++) {
        if (rew[i]! > rew[j]!) { d1 += l1[i]! - l1[j]!; d2 += l2[i]! - l2[j]!; n++; }
      }
      const alpha = n === 0 || (d1 === 0 && d2 === 0) ? 0.5 : Math.abs(d1) / (Math.abs(d1) + Math.abs(d2));
      const objective = cand.map((_, i) => rew[i]! + 0.01 * (l1[i]! + l2[i]! - Math.log(alpha * Math.exp(l1[i]!) + (1 - alpha) * Math.exp(l2[i]!))));
      sel.objective.forEach((x, i) => expect(x).toBeCloseTo(objective[i]!, 9));
      const best = objective.indexOf(Math.max(...objective));
      expect(sel.chosen).toBe(sel.subset[best]);
    }
    // The baseline's KL to the DPO policy: 0 + mean over the reference pools of log π_ref − log π_dpo, averaged over prompts.
    const baseline = r.arms.find((a) => a.arm.id === 'baseline')!;
    const perPrompt = r.pools.map((ps) => {
      const c = ps.find((p) => p.key === 'reference')!.candidates.filter((x) => x.proxy !== null && x.gold !== null);
      return c.reduce((s, x) => s + x.refLogprob - x.referenceLogprobs![1]!, 0) / c.length;
    });
    expect(baseline.kl.references?.references[0]?.estimate).toBe(0);
    expect(baseline.kl.references?.references[1]?.estimate).toBeCloseTo(perPrompt.reduce((a, b) => a + b, 0) / perPrompt.length, 9);
    expect(baseline.kl.references?.combined).not.toBeNull();
  }, 300_000);

  it('refuses references with another tokenizer or vocabulary, naming both', async () => {
    const modelDir = await defaultDir();
    const odd = oddCopy(modelDir, 'tokenizer');
    const vocab = oddCopy(modelDir, 'vocab');
    const oddModel = await HookedModel.load(odd, { intraOpNumThreads: 1 });
    try {
      const err = await runAB(base, { ...options, references: [{ name: 'base', model: base }, { name: 'odd', model: oddModel }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelMismatchError);
      expect((err as Error).message).toMatch(/reference base .* and the reference odd .* have different tokenizers/);
      expect((err as Error).message).toContain(odd);
    } finally {
      await oddModel.dispose();
    }
    const prompts = join(work.path, 'p.jsonl');
    writeFileSync(prompts, '{"prompt": "Tom had a red ball."}\n');
    const cli = (...rest: string[]) => runCommands([registerAb], ['ab', '--model', modelDir, '--prompts', prompts, '--reward', 'afinn', '--gold', 'vader', '--beta', '0', '-o', join(work.path, 'out'), ...rest]);
    const err = await cli('--reference', modelDir, '--reference', vocab).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelMismatchError);
    expect((err as Error).message).toMatch(/vocabulary of 2048 tokens, the reference .*odd-vocab of 4096/);
    expect((err as Error).message).toContain(modelDir);
    await expect(cli('--reference', modelDir, '--epsilon', '0.2')).rejects.toThrow(UsageError);
  }, 300_000);
});
