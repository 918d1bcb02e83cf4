/**
 * One pair's summed log-probabilities from scorePreferences() against the
 * independent float64 numpy reference in ../shared/fixtures/reference.
 *
 * The reference gives the residual stream after the last block (before the
 * final RMSNorm) at every position of "Once upon a time, there was a little
 * girl named Lily. She loved to play outside." We finish the forward pass in
 * float64 here (RMSNorm with the checkpoint's model.norm.weight, then the
 * lm_head read straight from model.safetensors), check the result against
 * the reference's own last-position logits, and sum log-softmax over the
 * response tokens. The pair is prompt "… named Lily." and response "She loved
 * to play outside.": the token "Lily." of the prompt alone differs from the
 * full text's, so the response starts at the straddling token (index 8).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePreferencePairs, scorePreferences } from '../../src/prefs/score.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { parsePairs } from '../../src/pairs/pairs.js';
import { loadDefault } from '../helpers/models.js';
import { hasShared, REFERENCE, TINYSTORIES } from '../helpers/paths.js';

interface RefSequence { text: string; ids: number[]; hidden: number[][]; logits_last: number[] }

function readTensor(file: Buffer, name: string): { shape: number[]; data: Float64Array } {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const t = header[name];
  if (!t || t.dtype !== 'F32') throw new Error(`no F32 tensor ${name}`);
  const start = 8 + n + t.data_offsets[0];
  const count = (t.data_offsets[1] - t.data_offsets[0]) / 4;
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = file.readFloatLE(start + 4 * i);
  return { shape: t.shape, data };
}

/** logits[t][v] in float64 from the pre-norm residual rows. */
function headLogits(residual: number[], hidden: number, norm: Float64Array, head: Float64Array, eps: number): Float64Array[] {
  const T = residual.length / hidden;
  const vocab = head.length / hidden;
  const out: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const x = residual.slice(t * hidden, (t + 1) * hidden);
    const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / hidden + eps);
    const y = x.map((v, i) => (v / rms) * (norm[i] as number));
    const logits = new Float64Array(vocab);
    for (let v = 0; v < vocab; v++) {
      let s = 0;
      for (let i = 0; i < hidden; i++) s += (y[i] as number) * (head[v * hidden + i] as number);
      logits[v] = s;
    }
    out.push(logits);
  }
  return out;
}

function logSoftmaxAt(logits: Float64Array, id: number): number {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  let z = 0;
  for (const l of logits) z += Math.exp(l - max);
  return (logits[id] as number) - max - Math.log(z);
}

describe.skipIf(!hasShared())('summed log-probs against the float64 reference', () => {
  let model: HookedModel;
  beforeAll(async () => { model = await loadDefault(); });
  afterAll(async () => { await model?.dispose(); });

  it('matches the reference logits summed over the response tokens', async () => {
    const ref = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.reference.json'), 'utf8')) as { sequences: RefSequence[] };
    const seq = ref.sequences.find((s) => s.text.endsWith('She loved to play outside.'));
    if (!seq) throw new Error('reference sequence missing');
    const config = JSON.parse(readFileSync(join(TINYSTORIES, 'config.json'), 'utf8')) as { hidden_size: number; rms_norm_eps: number };
    const weights = readFileSync(join(TINYSTORIES, 'model.safetensors'));
    const head = readTensor(weights, 'lm_head.weight').data;
    const norm = readTensor(weights, 'model.norm.weight').data;
    const residual = seq.hidden[seq.hidden.length - 1] as number[];
    const logits = headLogits(residual, config.hidden_size, norm, head, config.rms_norm_eps);
    // The float64 head reproduces the reference's own last-position logits.
    const last = logits[logits.length - 1] as Float64Array;
    const maxErr = seq.logits_last.reduce((m, v, i) => Math.max(m, Math.abs(v - (last[i] as number))), 0);
    expect(maxErr).toBeLessThan(1e-5);

    const dataset = parsePairs(JSON.stringify({
      prompt: 'Once upon a time, there was a little girl named Lily.',
      chosen: 'She loved to play outside.',
      rejected: 'She was sad and cried all day.',
    }), 'reference-pair');
    const [encoded] = encodePreferencePairs(model, dataset);
    expect(encoded?.pos.ids).toEqual(seq.ids);
    const start = encoded?.pos.responseStart ?? -1;
    expect(start).toBe(8);
    let expected = 0;
    for (let t = start; t < seq.ids.length; t++) expected += logSoftmaxAt(logits[t - 1] as Float64Array, seq.ids[t] as number);

    const report = await scorePreferences(model, [model], dataset, { beta: 0.1 });
    const pair = report.pairs[0];
    expect(pair?.policy.chosenTokens).toBe(seq.ids.length - start);
    expect(pair?.policy.chosen).toBeCloseTo(expected, 3);
    expect(pair?.references[0]?.chosen).toBeCloseTo(expected, 3);
    // The policy is its own reference: margin 0, DPO loss log 2, RPO adds η·β·NLL.
    expect(report.dpo.loss).toBeCloseTo(Math.LN2, 10);
    expect(report.rpo.nll).toBeCloseTo(-expected, 3);
    expect(report.rpo.loss).toBeCloseTo(Math.LN2 + 0.005 * 0.1 * -expected, 6);
  });
});
