/**
 * A BERT encoder as an ONNX graph (standard opset-17 ops only), built with the
 * project's GraphEditor from a float32 weight source, with sentence-transformers
 * pooling on top:
 *
 *   x = LayerNorm(word[ids] + position[0..L) + tokenType[0])
 *   per layer: x = LayerNorm(x + Attn(x));  x = LayerNorm(x + W2·gelu(W1·x))
 *   last_hidden_state = x
 *   sentence_embedding = normalize(Σ_t mask_t·x_t / max(Σ_t mask_t, 1e-9))   (L2, eps 1e-12)
 *
 * Attention is softmax(QKᵀ/√d + bias) V with bias = −1e9 on padded keys: the
 * padded keys get exactly zero weight in float32, as with HF's finfo.min mask.
 * GELU is the exact erf form. Every sequence uses token type 0 (one segment).
 * Weights are inline initializers: the model is handed to onnxruntime as bytes.
 */
import { floatTensor } from '../onnx/attributes.js';
import { ConstantPool } from '../onnx/constants.js';
import { GraphEditor, makeValueInfo, emptyModel } from '../onnx/graph.js';
import { DataType, type ModelProto } from '../onnx/proto.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import { transposeInto } from '../families/tensors.js';
import { BERT_EMBEDDINGS, bertLayerNames, type BertConfig } from './bert-config.js';
import type { BertWeightSource } from './bert-weights.js';

export const BERT_IO = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  lastHidden: 'last_hidden_state',
  embedding: 'sentence_embedding',
} as const;

/** Small graph-assembly helper: named ops, cached int64/float constants, float weights. */
class Assembler {
  readonly editor: GraphEditor;
  private readonly consts: ConstantPool;

  constructor(editor: GraphEditor) { this.editor = editor; this.consts = new ConstantPool(editor); }

  op(type: string, inputs: string[], hint: string, attrs: Parameters<GraphEditor['op']>[3] = {}): string {
    return this.editor.op(type, inputs, hint, attrs);
  }

  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.consts.i64(values, dims);
  }

  f32(value: number): string {
    return this.consts.f32(value);
  }

  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.editor.addInitializer(floatTensor(name, dims, data));
    return name;
  }

  layerNorm(x: string, scale: string, bias: string, eps: number, hint: string): string {
    return this.op('LayerNormalization', [x, scale, bias], hint, { axis: -1, epsilon: { float: eps } });
  }

  /** x·Wᵀ + b for a HF Linear weight W [out, in]. */
  linear(x: string, src: BertWeightSource, prefix: string, inDim: number, outDim: number, hint: string): string {
    const w = src.read(`${prefix}.weight`, [outDim, inDim]);
    const wt = new Float32Array(inDim * outDim);
    transposeInto(w, outDim, inDim, wt, outDim, 0);
    const wName = this.weight(`${prefix}.weight_t`, [inDim, outDim], wt);
    const bName = this.weight(`${prefix}.bias`, [outDim], src.read(`${prefix}.bias`, [outDim]));
    const y = this.op('MatMul', [x, wName], `${hint}/MatMul`);
    return this.op('Add', [y, bName], `${hint}/Add`);
  }
}

/** Builds the encoder + pooling graph. */
export function buildBertGraph(cfg: BertConfig, src: BertWeightSource): ModelProto {
  const model = emptyModel('onnx_steer_bert_encoder', { name: LIBRARY_NAME, version: LIBRARY_VERSION });
  const editor = new GraphEditor(model);
  const a = new Assembler(editor);
  const { hiddenSize: H, numHeads: nh, headDim: hd, intermediateSize: I, layerNormEps: eps } = cfg;

  editor.addInput(makeValueInfo(BERT_IO.inputIds, DataType.INT64, ['batch', 'sequence']));
  editor.addInput(makeValueInfo(BERT_IO.attentionMask, DataType.INT64, ['batch', 'sequence']));
  editor.addOutput(makeValueInfo(BERT_IO.embedding, DataType.FLOAT, ['batch', H]));
  editor.addOutput(makeValueInfo(BERT_IO.lastHidden, DataType.FLOAT, ['batch', 'sequence', H]));

  // Embeddings.
  const word = a.weight(BERT_EMBEDDINGS.word, [cfg.vocabSize, H], src.read(BERT_EMBEDDINGS.word, [cfg.vocabSize, H]));
  const pos = a.weight(BERT_EMBEDDINGS.position, [cfg.maxPositions, H], src.read(BERT_EMBEDDINGS.position, [cfg.maxPositions, H]));
  const types = src.read(BERT_EMBEDDINGS.tokenType, [cfg.typeVocabSize, H]);
  const type0 = a.weight(`${BERT_EMBEDDINGS.tokenType}.row0`, [H], types.slice(0, H));
  const shape = a.op('Shape', [BERT_IO.inputIds], '/embeddings/Shape');
  const seqLen = a.op('Slice', [shape, a.i64([1]), a.i64([2]), a.i64([0])], '/embeddings/SeqLen');
  const posRows = a.op('Slice', [pos, a.i64([0]), seqLen, a.i64([0])], '/embeddings/Positions');
  const tok = a.op('Gather', [word, BERT_IO.inputIds], '/embeddings/Gather', { axis: 0 });
  const withPos = a.op('Add', [tok, posRows], '/embeddings/AddPosition');
  const summed = a.op('Add', [withPos, type0], '/embeddings/AddTokenType');
  const lnScale = a.weight(`${BERT_EMBEDDINGS.ln}.weight`, [H], src.read(`${BERT_EMBEDDINGS.ln}.weight`, [H]));
  const lnBias = a.weight(`${BERT_EMBEDDINGS.ln}.bias`, [H], src.read(`${BERT_EMBEDDINGS.ln}.bias`, [H]));
  let x = a.layerNorm(summed, lnScale, lnBias, eps, '/embeddings/LayerNorm');

  // Attention bias [B, 1, 1, L]: 0 for real keys, −1e9 for padding.
  const maskF = a.op('Cast', [BERT_IO.attentionMask], '/mask/Cast', { to: DataType.FLOAT });
  const maskInv = a.op('Sub', [a.f32(1), maskF], '/mask/Invert');
  const maskBias = a.op('Mul', [maskInv, a.f32(-1e9)], '/mask/Bias');
  const bias4 = a.op('Unsqueeze', [maskBias, a.i64([1, 2])], '/mask/Unsqueeze');
  const scale = a.f32(1 / Math.sqrt(hd));
  const headShape = a.i64([0, 0, nh, hd]);
  const mergedShape = a.i64([0, 0, H]);

  for (let i = 0; i < cfg.numLayers; i++) {
    const n = bertLayerNames(i);
    const h = `/encoder/layer.${i}`;
    const heads = (t: string, name: string, perm: number[]): string =>
      a.op('Transpose', [a.op('Reshape', [t, headShape], `${h}/${name}/Reshape`)], `${h}/${name}/Transpose`, { perm });
    const q = heads(a.linear(x, src, n.q, H, H, `${h}/query`), 'q', [0, 2, 1, 3]);
    const kT = heads(a.linear(x, src, n.k, H, H, `${h}/key`), 'k', [0, 2, 3, 1]);
    const v = heads(a.linear(x, src, n.v, H, H, `${h}/value`), 'v', [0, 2, 1, 3]);
    const scores = a.op('Mul', [a.op('MatMul', [q, kT], `${h}/QK`), scale], `${h}/Scale`);
    const probs = a.op('Softmax', [a.op('Add', [scores, bias4], `${h}/Mask`)], `${h}/Softmax`, { axis: -1 });
    const ctx = a.op('MatMul', [probs, v], `${h}/PV`);
    const merged = a.op('Reshape', [a.op('Transpose', [ctx], `${h}/ctx/Transpose`, { perm: [0, 2, 1, 3] }), mergedShape], `${h}/ctx/Reshape`);
    const attnOut = a.linear(merged, src, n.o, H, H, `${h}/attention/output`);
    x = a.layerNorm(
      a.op('Add', [attnOut, x], `${h}/attention/Residual`),
      a.weight(`${n.attnLn}.weight`, [H], src.read(`${n.attnLn}.weight`, [H])),
      a.weight(`${n.attnLn}.bias`, [H], src.read(`${n.attnLn}.bias`, [H])),
      eps, `${h}/attention/LayerNorm`,
    );
    const up = a.linear(x, src, n.up, H, I, `${h}/intermediate`);
    // gelu(u) = 0.5·u·(1 + erf(u/√2))
    const erf = a.op('Erf', [a.op('Mul', [up, a.f32(Math.SQRT1_2)], `${h}/gelu/Scale`)], `${h}/gelu/Erf`);
    const gelu = a.op('Mul', [a.op('Mul', [up, a.f32(0.5)], `${h}/gelu/Half`), a.op('Add', [erf, a.f32(1)], `${h}/gelu/OnePlus`)], `${h}/gelu/Mul`);
    const down = a.linear(gelu, src, n.down, I, H, `${h}/output`);
    x = a.layerNorm(
      a.op('Add', [down, x], `${h}/output/Residual`),
      a.weight(`${n.outLn}.weight`, [H], src.read(`${n.outLn}.weight`, [H])),
      a.weight(`${n.outLn}.bias`, [H], src.read(`${n.outLn}.bias`, [H])),
      eps, `${h}/output/LayerNorm`,
    );
  }
  editor.addNode('Identity', [x], [BERT_IO.lastHidden], {}, { name: '/last_hidden_state' });

  // Masked mean pooling, then L2 normalisation.
  const m3 = a.op('Unsqueeze', [maskF, a.i64([2])], '/pool/Mask');
  const sum = a.op('ReduceSum', [a.op('Mul', [x, m3], '/pool/Masked'), a.i64([1])], '/pool/Sum', { keepdims: 0 });
  const count = a.op('Max', [a.op('ReduceSum', [maskF, a.i64([1])], '/pool/Count', { keepdims: 1 }), a.f32(1e-9)], '/pool/Clamp');
  const mean = a.op('Div', [sum, count], '/pool/Mean');
  const sq = a.op('ReduceSum', [a.op('Mul', [mean, mean], '/norm/Square'), a.i64([1])], '/norm/Sum', { keepdims: 1 });
  const norm = a.op('Max', [a.op('Sqrt', [sq], '/norm/Sqrt'), a.f32(1e-12)], '/norm/Clamp');
  editor.addNode('Div', [mean, norm], [BERT_IO.embedding], {}, { name: '/norm/Div' });
  return model;
}
