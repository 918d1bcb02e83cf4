/** Graph surgery for tests: meaningless renaming, and a tiny BERT-like encoder. */
import { floatTensor } from '../../../src/onnx/attributes.js';
import { GraphEditor, makeValueInfo } from '../../../src/onnx/graph.js';
import { DataType, type ModelProto, type ValueInfoProto } from '../../../src/onnx/proto.js';
import { randomVector } from './feeds.js';

/**
 * Renames every tensor (inputs, outputs, initializers, intermediates) to
 * t0, t1, … and every node to n0, n1, …; returns old → new tensor names.
 */
export function renameEverything(model: ModelProto): Map<string, string> {
  const g = model.graph;
  if (!g) throw new Error('no graph');
  const map = new Map<string, string>();
  const rename = (name: string | undefined): string => {
    if (!name) return '';
    let n = map.get(name);
    if (n === undefined) { n = `t${map.size}`; map.set(name, n); }
    return n;
  };
  const renameInfo = (v: ValueInfoProto): void => { v.name = rename(v.name); };
  g.input.forEach(renameInfo);
  g.output.forEach(renameInfo);
  g.valueInfo.forEach(renameInfo);
  for (const t of g.initializer) t.name = rename(t.name);
  g.node.forEach((node, i) => {
    node.name = `n${i}`;
    node.input = node.input.map(rename);
    node.output = node.output.map(rename);
  });
  return map;
}

/**
 * A two-layer post-LN encoder (BERT-like): embedding + LayerNorm, then per
 * layer LN(h + Attn(h)) and LN(h + FFN(h)). No KV cache, no causal mask.
 */
export function tinyEncoder(hidden = 8, vocab = 50, layers = 2): ModelProto {
  const model: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'onnx-steer-test',
    producerVersion: '1',
    graph: { node: [], initializer: [], input: [], output: [], valueInfo: [], name: 'tiny_bert' },
    metadataProps: [],
  };
  const e = new GraphEditor(model);
  let seed = 1;
  const weight = (name: string, dims: number[]): string =>
    e.addInitializer(floatTensor(name, dims, randomVector(dims.reduce((a, b) => a * b, 1), seed++).map((x) => 0.3 * x)));
  const ones = (name: string): string => e.addInitializer(floatTensor(name, [hidden], new Float32Array(hidden).fill(1)));
  const zeros = (name: string): string => e.addInitializer(floatTensor(name, [hidden], new Float32Array(hidden)));
  const norm = (x: string, tag: string): string => e.op('LayerNormalization', [x, ones(`${tag}.g`), zeros(`${tag}.b`)], tag, { axis: -1, epsilon: { float: 1e-5 } });

  e.addInput(makeValueInfo('input_ids', DataType.INT64, ['batch', 'sequence']));
  let h = norm(e.op('Gather', [weight('word_embeddings', [vocab, hidden]), 'input_ids'], 'embeddings'), 'embeddings.ln');
  for (let l = 0; l < layers; l++) {
    const p = `layer.${l}`;
    const q = e.op('MatMul', [h, weight(`${p}.q`, [hidden, hidden])], `${p}.q_out`);
    const k = e.op('MatMul', [h, weight(`${p}.k`, [hidden, hidden])], `${p}.k_out`);
    const v = e.op('MatMul', [h, weight(`${p}.v`, [hidden, hidden])], `${p}.v_out`);
    const scores = e.op('MatMul', [q, e.op('Transpose', [k], `${p}.kT`, { perm: [0, 2, 1] })], `${p}.scores`);
    const probs = e.op('Softmax', [scores], `${p}.probs`, { axis: -1 });
    const attn = e.op('MatMul', [e.op('MatMul', [probs, v], `${p}.ctx`), weight(`${p}.o`, [hidden, hidden])], `${p}.attn_out`);
    h = norm(e.op('Add', [h, attn], `${p}.attn_residual`), `${p}.attn_ln`);
    const up = e.op('Relu', [e.op('MatMul', [h, weight(`${p}.up`, [hidden, 2 * hidden])], `${p}.up_out`)], `${p}.act`);
    const down = e.op('MatMul', [up, weight(`${p}.down`, [2 * hidden, hidden])], `${p}.down_out`);
    h = norm(e.op('Add', [h, down], `${p}.ffn_residual`), `${p}.ffn_ln`);
  }
  e.addNode('Identity', [h], ['last_hidden_state']);
  e.addOutput(makeValueInfo('last_hidden_state', DataType.FLOAT, ['batch', 'sequence', hidden]));
  return model;
}
