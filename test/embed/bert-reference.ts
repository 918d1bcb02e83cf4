/**
 * A second, independent BERT implementation for the tests: a plain
 * typed-array forward pass in float64, one unpadded sentence at a time, written
 * from the BERT equations (not from the ONNX graph builder).
 */
import { BERT_EMBEDDINGS, bertLayerNames, type BertConfig } from '../../src/embed/bert-config.js';
import type { BertWeightSource } from '../../src/embed/bert-weights.js';

interface Linear { w: Float32Array; b: Float32Array; out: number; inp: number }

function linear(src: BertWeightSource, prefix: string, out: number, inp: number): Linear {
  return { w: src.read(`${prefix}.weight`, [out, inp]), b: src.read(`${prefix}.bias`, [out]), out, inp };
}

/** y[t] = W x[t] + b for every row t of x ([L, inp]). */
function applyLinear(x: Float64Array, L: number, f: Linear): Float64Array {
  const y = new Float64Array(L * f.out);
  for (let t = 0; t < L; t++) {
    for (let o = 0; o < f.out; o++) {
      let s = f.b[o] as number;
      const wRow = o * f.inp;
      const xRow = t * f.inp;
      for (let i = 0; i < f.inp; i++) s += (f.w[wRow + i] as number) * (x[xRow + i] as number);
      y[t * f.out + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, L: number, H: number, g: Float32Array, b: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(L * H);
  for (let t = 0; t < L; t++) {
    let mean = 0;
    for (let h = 0; h < H; h++) mean += x[t * H + h] as number;
    mean /= H;
    let v = 0;
    for (let h = 0; h < H; h++) { const d = (x[t * H + h] as number) - mean; v += d * d; }
    const inv = 1 / Math.sqrt(v / H + eps);
    for (let h = 0; h < H; h++) y[t * H + h] = ((x[t * H + h] as number) - mean) * inv * (g[h] as number) + (b[h] as number);
  }
  return y;
}

/** erf in float64: Maclaurin series for |x| < 2.5, Laplace's continued fraction for erfc beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc at larger |x|.
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

export interface ReferenceOutput { hidden: Float64Array; embedding: Float64Array }

export function bertReference(cfg: BertConfig, src: BertWeightSource, ids: readonly number[]): ReferenceOutput {
  const { hiddenSize: H, numHeads: nh, headDim: hd, intermediateSize: I, layerNormEps: eps } = cfg;
  const L = ids.length;
  const word = src.read(BERT_EMBEDDINGS.word, [cfg.vocabSize, H]);
  const pos = src.read(BERT_EMBEDDINGS.position, [cfg.maxPositions, H]);
  const type = src.read(BERT_EMBEDDINGS.tokenType, [cfg.typeVocabSize, H]);
  let x: Float64Array = new Float64Array(L * H);
  for (let t = 0; t < L; t++) {
    const id = ids[t] as number;
    for (let h = 0; h < H; h++) x[t * H + h] = (word[id * H + h] as number) + (pos[t * H + h] as number) + (type[h] as number);
  }
  x = layerNorm(x, L, H, src.read(`${BERT_EMBEDDINGS.ln}.weight`, [H]), src.read(`${BERT_EMBEDDINGS.ln}.bias`, [H]), eps);

  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const n = bertLayerNames(layer);
    const q = applyLinear(x, L, linear(src, n.q, H, H));
    const k = applyLinear(x, L, linear(src, n.k, H, H));
    const v = applyLinear(x, L, linear(src, n.v, H, H));
    const ctx = new Float64Array(L * H);
    const scores = new Float64Array(L);
    for (let head = 0; head < nh; head++) {
      const off = head * hd;
      for (let i = 0; i < L; i++) {
        let max = -Infinity;
        for (let j = 0; j < L; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += (q[i * H + off + d] as number) * (k[j * H + off + d] as number);
          s /= Math.sqrt(hd);
          scores[j] = s;
          if (s > max) max = s;
        }
        let z = 0;
        for (let j = 0; j < L; j++) { const e = Math.exp((scores[j] as number) - max); scores[j] = e; z += e; }
        for (let d = 0; d < hd; d++) {
          let s = 0;
          for (let j = 0; j < L; j++) s += (scores[j] as number) * (v[j * H + off + d] as number);
          ctx[i * H + off + d] = s / z;
        }
      }
    }
    const attn = applyLinear(ctx, L, linear(src, n.o, H, H));
    for (let i = 0; i < L * H; i++) attn[i] = (attn[i] as number) + (x[i] as number);
    x = layerNorm(attn, L, H, src.read(`${n.attnLn}.weight`, [H]), src.read(`${n.attnLn}.bias`, [H]), eps);
    const up = applyLinear(x, L, linear(src, n.up, I, H));
    for (let i = 0; i < up.length; i++) { const u = up[i] as number; up[i] = 0.5 * u * (1 + erf(u / Math.SQRT2)); }
    const down = applyLinear(up, L, linear(src, n.down, H, I));
    for (let i = 0; i < L * H; i++) down[i] = (down[i] as number) + (x[i] as number);
    x = layerNorm(down, L, H, src.read(`${n.outLn}.weight`, [H]), src.read(`${n.outLn}.bias`, [H]), eps);
  }

  const emb = new Float64Array(H);
  for (let t = 0; t < L; t++) for (let h = 0; h < H; h++) emb[h] = (emb[h] as number) + (x[t * H + h] as number) / L;
  let norm = 0;
  for (let h = 0; h < H; h++) norm += (emb[h] as number) ** 2;
  norm = Math.sqrt(norm);
  for (let h = 0; h < H; h++) emb[h] = (emb[h] as number) / norm;
  return { hidden: x, embedding: emb };
}
