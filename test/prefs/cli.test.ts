/** `onnx-steer prefs`: the --json document, trained checkpoints as policies, and bad input. */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerExtract } from '../../src/cli/commands/extract.js';
import { registerPrefs } from '../../src/cli/commands/prefs.js';
import { registerSweep } from '../../src/cli/commands/sweep.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { InvalidDataError, ModelMismatchError, UsageError } from '../../src/errors.js';
import { encodePreferencePairs } from '../../src/prefs/score.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { parsePairs } from '../../src/pairs/pairs.js';
import { runCommands } from '../helpers/cli.js';
import { defaultDir } from '../helpers/models.js';
import { hasShared, SHARED, tempDir } from '../helpers/paths.js';

const cli = (...args: string[]): Promise<string> => runCommands([registerPrefs, registerSweep, registerExtract], args);
const TRAIN = join(SHARED, 'data', 'tinystories-prefs', 'pairs.train.jsonl');
const DPO = join(SHARED, 'models', 'tinystories-656k-dpo-joy');
const SFT = join(SHARED, 'models', 'tinystories-656k-sft-joy');

const work = tempDir('prefs-cli-');
let modelDir: string;
let pairs: string;
beforeAll(async () => {
  modelDir = await defaultDir();
  pairs = join(work.path, 'six.jsonl');
  writeFileSync(pairs, `${readFileSync(TRAIN, 'utf8').split('\n').slice(0, 6).join('\n')}\n`);
}, 300_000);
afterAll(() => work.cleanup());

interface PrefsJson {
  beta: number; eta: number; epsilon: number;
  pairs: { index: number; policy: { chosen: number; rejected: number; chosenTokens: number; rejectedTokens: number }; references: { chosen: number; rejected: number }[] }[];
  dpo: { loss: number; accuracy: number; margin: number };
  rpo: { loss: number; nll: number };
  mrpo: { loss: number; alpha: number[] } | null;
  chosenShift: number; rejectedShift: number;
}

describe.skipIf(!hasShared())('onnx-steer prefs', () => {
  it('scores the DPO checkpoint against the base model and its SFT sibling, with the documented --json names', async () => {
    const doc = JSON.parse(await cli('prefs', '--pairs', pairs, '--policy', DPO, '--reference', modelDir, '--reference', SFT, '--beta', '0.1', '--threads', '1', '--json')) as PrefsJson;
    expect([doc.beta, doc.eta, doc.epsilon]).toEqual([0.1, 0.005, 0.1]);
    expect(doc.pairs).toHaveLength(6);
    const p = doc.pairs[0]!;
    expect(p.index).toBe(0);
    expect(p.references).toHaveLength(2);
    expect(p.policy.chosenTokens).toBeGreaterThan(0);
    // The margins recomputed from the per-pair numbers give the reported DPO loss.
    const losses = doc.pairs.map((q) => {
      const m = 0.1 * ((q.policy.chosen - q.references[0]!.chosen) - (q.policy.rejected - q.references[0]!.rejected));
      return Math.log1p(Math.exp(-m));
    });
    expect(doc.dpo.loss).toBeCloseTo(losses.reduce((a, b) => a + b, 0) / losses.length, 10);
    expect(doc.rpo.nll).toBeCloseTo(-doc.pairs.reduce((s, q) => s + q.policy.chosen, 0) / 6, 8);
    expect(doc.mrpo?.alpha).toHaveLength(6);
    // Trained on these pairs: the DPO policy wins them.
    expect(doc.dpo.accuracy).toBeGreaterThan(0.5);
    expect(doc.rejectedShift).toBeLessThan(0);
  });

  it('refuses β ≤ 0, ε outside (0, 1), and MRPO settings with one reference, as usage errors', async () => {
    await expect(cli('prefs', '--pairs', pairs, '--beta', '0')).rejects.toThrow(UsageError);
    await expect(cli('prefs', '--pairs', pairs, '--beta', '-1')).rejects.toThrow(/--beta must be > 0/);
    await expect(cli('prefs', '--pairs', pairs, '--reference', modelDir, '--reference', SFT, '--epsilon', '1')).rejects.toThrow(/--epsilon must lie in \(0, 1\)/);
    await expect(cli('prefs', '--pairs', pairs, '--reference', modelDir, '--epsilon', '0.2')).rejects.toThrow(/MRPO needs two --reference/);
    await expect(cli('prefs', '--policy', modelDir)).rejects.toThrow(/--pairs/);
    expect(new UsageError('x').exitCode).toBe(2);
  });

  it('refuses models with different tokenizers or vocabularies, naming both', async () => {
    // A copy of the default model whose tokenizer maps one token to another string.
    const odd = join(work.path, 'odd-tokenizer');
    const vocab = join(work.path, 'odd-vocab');
    for (const dir of [odd, vocab]) {
      mkdirSync(dir, { recursive: true });
      for (const f of ['model.onnx', 'model.onnx.data', 'config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer_config.json']) {
        symlinkSync(join(modelDir, f), join(dir, f));
      }
    }
    const tok = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    const key = Object.keys(tok.model.vocab).find((k) => tok.model.vocab[k] === 1000) as string;
    const id = tok.model.vocab[key] as number;
    delete tok.model.vocab[key];
    tok.model.vocab[`${key}§`] = id;
    writeFileSync(join(odd, 'tokenizer.json'), JSON.stringify(tok));
    copyFileSync(join(modelDir, 'hooks.json'), join(odd, 'hooks.json'));
    copyFileSync(join(modelDir, 'tokenizer.json'), join(vocab, 'tokenizer.json'));
    const manifest = JSON.parse(readFileSync(join(modelDir, 'hooks.json'), 'utf8')) as { vocabSize?: number };
    writeFileSync(join(vocab, 'hooks.json'), JSON.stringify({ ...manifest, vocabSize: 4096 }));
    const err = await cli('prefs', '--pairs', pairs, '--policy', modelDir, '--reference', odd).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelMismatchError);
    expect((err as Error).message).toContain(odd);
    expect((err as Error).message).toContain(modelDir);
    expect((err as ModelMismatchError).exitCode).toBe(1);
    await expect(cli('prefs', '--pairs', pairs, '--policy', vocab, '--reference', modelDir)).rejects.toThrow(/vocabulary of 4096 tokens.*of 2048/);
  });

  it('refuses a response that tokenizes to nothing, naming the line', () => {
    // A tokenizer that drops what it does not know (no byte fallback, no unk).
    const stub = {
      tokenizer: {
        hasChatTemplate: false,
        encode: (text: string, o: { addSpecialTokens?: boolean } = {}) => [...(o.addSpecialTokens === false ? [] : [1]), ...[...text].filter((ch) => /[a-z ]/.test(ch)).map((ch) => ch.charCodeAt(0))],
      },
    } as unknown as HookedModel;
    const ds = parsePairs(`${JSON.stringify({ prompt: 'a story', chosen: 'yes', rejected: 'ok' })}\n${JSON.stringify({ prompt: 'a story', chosen: 'fine', rejected: '😀😀' })}\n`, 'p.jsonl');
    expect(() => encodePreferencePairs(stub, ds)).toThrow(InvalidDataError);
    expect(() => encodePreferencePairs(stub, ds)).toThrow(/p\.jsonl:2: the rejected response tokenizes to nothing/);
  });

  it('sweep and extract: --criterion mrpo needs two references; the vector records the criterion that chose its strength', async () => {
    await expect(cli('sweep', '--pairs', pairs, '--criterion', 'mrpo', '--reference', modelDir)).rejects.toThrow(/--criterion mrpo needs two --reference/);
    await expect(cli('sweep', '--pairs', pairs, '--criterion', 'kto')).rejects.toThrow(UsageError);
    await expect(cli('sweep', '--pairs', pairs, '--criterion', 'rpo', '--beta', '0')).rejects.toThrow(/--beta must be > 0/);
    await expect(cli('sweep', '--pairs', pairs, '--eta', '1')).rejects.toThrow(/need --criterion/);
    const out = join(work.path, 'rpo.json');
    await cli('extract', '--model', modelDir, '--pairs', pairs, '--sites', 'blocks.0.hook_resid_post', '--folds', '2', '--criterion', 'rpo', '--eta', '1', '--threads', '1', '-o', out, '--json');
    const v = SteeringVector.load(out);
    const rc = v.meta.recommendedStrength?.criterion;
    expect(rc?.name).toBe('rpo');
    expect(rc?.eta).toBe(1);
    expect(rc?.references).toEqual(['unsteered']);
    expect(v.meta.recommendedStrength?.max).toBe(Math.max(0, rc?.strength ?? NaN));
  });
});
