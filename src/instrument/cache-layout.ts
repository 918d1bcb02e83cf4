/**
 * Recognising the KV-cache inputs and outputs of a decoder graph and its
 * layout (see {@link CacheLayout}). Cache inputs are found by type and rank
 * (float graph inputs of rank 3–5); names are used only to pair inputs with
 * outputs and keys with values when they follow a known convention, otherwise
 * declaration order decides.
 */
import { attrInt } from '../onnx/attributes.js';
import { valueType, type GraphEditor } from '../onnx/graph.js';
import { DataType, type ValueInfoProto } from '../onnx/proto.js';
import type { CacheLayerNames, CacheLayout, FloatDtype } from '../hooks/manifest.js';

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16]);

export interface CacheInfo {
  layout: CacheLayout;
  /** Graph inputs that make up the cache, in layer order. */
  inputs: string[];
  outputs: string[];
}

export type CacheResult = { ok: true; cache: CacheInfo } | { ok: false; reason: string };

interface Port { name: string; elemType: number; dims: (number | string)[] }

function port(v: ValueInfoProto): Port | undefined {
  const t = valueType(v);
  return v.name && t ? { name: v.name, elemType: t.elemType, dims: t.dims } : undefined;
}

function isFloatPort(p: Port): boolean { return FLOAT_TYPES.has(p.elemType); }

/** Float graph inputs (without initializer defaults) of rank 3 to 5. */
export function cacheCandidateInputs(editor: GraphEditor): Port[] {
  return editor.graph.input
    .filter((v) => v.name && !editor.initializer(v.name))
    .map(port)
    .filter((p): p is Port => !!p && isFloatPort(p) && p.dims.length >= 3 && p.dims.length <= 5);
}

function numeric(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

function dtypeName(elemType: number): FloatDtype | undefined {
  if (elemType === DataType.FLOAT) return 'float32';
  if (elemType === DataType.FLOAT16) return 'float16';
  return undefined;
}

/** The index written in a name (`past_key_values.3.key` → 3), if exactly one number appears. */
function layerIndex(name: string): number | undefined {
  const nums = name.match(/\d+/g);
  return nums && nums.length === 1 ? Number(nums[0]) : undefined;
}

/** Whether a cache tensor name says key or value (`past_key_values.0.value` → value). */
function role(name: string): 'key' | 'value' | undefined {
  const n = name.toLowerCase().replace(/key_?values?/g, '');
  if (n.includes('key')) return 'key';
  if (n.includes('value')) return 'value';
  return undefined;
}

/** Whether an output has the same fixed dims as a cache input (sequence dims may differ). */
function sameFixedDims(input: Port, output: Port): boolean {
  return input.dims.length === output.dims.length && input.dims.every((d, i) => typeof d !== 'number' || d <= 0 || output.dims[i] === d);
}

/**
 * Matches each cache input with an output: by name (same layer number and
 * key/value role) when every input finds exactly one such output, else by order.
 */
function matchOutputs(inputs: readonly Port[], outputs: readonly Port[]): string[] | undefined {
  if (outputs.length !== inputs.length) return undefined;
  const byName = inputs.map((i) => {
    const li = layerIndex(i.name);
    const ri = role(i.name);
    const hits = outputs.filter((o) => layerIndex(o.name) === li && role(o.name) === ri);
    return li !== undefined && hits.length === 1 ? hits[0]?.name : undefined;
  });
  const named = byName.filter((n): n is string => n !== undefined);
  if (named.length === inputs.length && new Set(named).size === named.length) return named;
  return outputs.map((o) => o.name);
}

/** Orders bnsh/static cache inputs as (key, value) pairs per layer. */
function pairKeysValues(inputs: readonly Port[]): [Port, Port][] | undefined {
  if (inputs.length % 2 !== 0) return undefined;
  const keys = inputs.filter((p) => role(p.name) === 'key');
  const values = inputs.filter((p) => role(p.name) === 'value');
  const pairs: [Port, Port][] = [];
  if (keys.length === values.length && keys.length * 2 === inputs.length) {
    for (const k of keys) {
      const li = layerIndex(k.name);
      const v = values.find((x) => layerIndex(x.name) === li);
      if (li === undefined || !v) { pairs.length = 0; break; }
      pairs.push([k, v]);
    }
    if (pairs.length === keys.length) {
      pairs.sort((a, b) => (layerIndex(a[0].name) ?? 0) - (layerIndex(b[0].name) ?? 0));
      return pairs;
    }
  }
  for (let i = 0; i < inputs.length; i += 2) pairs.push([inputs[i] as Port, inputs[i + 1] as Port]);
  return pairs;
}

function layerNames(pairs: readonly [Port, Port][]): CacheLayerNames[] {
  return pairs.map(([k, v]) => ({ key: k.name, value: v.name }));
}

/** The kv head count of the attention node reading a static cache input (through TensorScatter). */
function staticKvHeads(editor: GraphEditor, cacheInput: string): number | undefined {
  const visit = (tensor: string, depth: number): number | undefined => {
    for (const use of editor.uses(tensor)) {
      const n = use.node;
      const kv = attrInt(n, 'kv_num_heads', 0);
      if (kv > 0) return kv;
      if (depth > 0) for (const o of n.output) { const r = o ? visit(o, depth - 1) : undefined; if (r) return r; }
    }
    return undefined;
  };
  return visit(cacheInput, 2);
}

/** The integer graph input read directly as input `index` of a node of one of `opTypes`. */
function intInputAt(editor: GraphEditor, opTypes: readonly string[], index: number): string | undefined {
  for (const v of editor.graph.input) {
    if (!v.name || editor.initializer(v.name)) continue;
    const t = valueType(v);
    if (!t || (t.elemType !== DataType.INT64 && t.elemType !== DataType.INT32)) continue;
    if (editor.uses(v.name).some((u) => opTypes.includes(u.node.opType ?? '') && u.index === index)) return v.name;
  }
  return undefined;
}

/** Recognises the KV cache of a graph, or explains why it could not. */
export function analyzeCache(editor: GraphEditor): CacheResult {
  const inputs = cacheCandidateInputs(editor);
  if (inputs.length === 0) return { ok: false, reason: 'no KV-cache inputs (no float graph inputs of rank 3-5)' };
  const ranks = new Set(inputs.map((p) => p.dims.length));
  if (ranks.size !== 1) return { ok: false, reason: `cache-like inputs of mixed ranks: ${inputs.map((p) => `${p.name}[${p.dims.join(',')}]`).join(', ')}` };
  const rank = inputs[0]?.dims.length ?? 0;
  const dtype = dtypeName(inputs[0]?.elemType ?? 0);
  if (!dtype) return { ok: false, reason: `cache element type ${inputs[0]?.elemType ?? 0} is not float32/float16` };
  const first = inputs[0] as Port;
  const outputs = editor.graph.output.map(port).filter((p): p is Port => !!p && isFloatPort(p) && sameFixedDims(first, p));

  if (rank === 5) {
    if (!inputs.every((p) => p.dims[0] === 2)) return { ok: false, reason: 'rank-5 cache inputs without a leading dimension of 2' };
    const outs = matchOutputs(inputs, outputs);
    if (!outs) return { ok: false, reason: `found ${inputs.length} stacked past inputs but ${outputs.length} matching present outputs` };
    const numKvHeads = numeric(first.dims[2]);
    const headDim = numeric(first.dims[4]);
    if (!numKvHeads || !headDim) return { ok: false, reason: `stacked cache ${first.name} has symbolic heads/head size` };
    return { ok: true, cache: {
      layout: { kind: 'stacked', dtype, numLayers: inputs.length, numKvHeads, headDim, pastStacked: inputs.map((p) => p.name), presentStacked: outs },
      inputs: inputs.map((p) => p.name), outputs: outs,
    } };
  }

  const pairs = pairKeysValues(inputs);
  if (!pairs) return { ok: false, reason: `odd number (${inputs.length}) of key/value cache inputs` };
  const ordered = pairs.flat();
  const outs = matchOutputs(ordered, outputs);
  if (!outs) return { ok: false, reason: `found ${ordered.length} cache inputs but ${outputs.length} matching cache outputs` };
  const presentPairs: CacheLayerNames[] = [];
  for (let i = 0; i < outs.length; i += 2) presentPairs.push({ key: outs[i] ?? '', value: outs[i + 1] ?? '' });

  if (rank === 4) {
    const numKvHeads = numeric(first.dims[1]);
    const headDim = numeric(first.dims[3]);
    if (!numKvHeads || !headDim) return { ok: false, reason: `cache ${first.name} has symbolic heads/head size` };
    return { ok: true, cache: {
      layout: { kind: 'bnsh', dtype, numLayers: pairs.length, numKvHeads, headDim, past: layerNames(pairs), present: presentPairs },
      inputs: ordered.map((p) => p.name), outputs: outs,
    } };
  }

  const maxLength = numeric(first.dims[1]);
  const width = numeric(first.dims[2]);
  const numKvHeads = staticKvHeads(editor, first.name);
  if (!maxLength || !width || !numKvHeads || width % numKvHeads !== 0) {
    return { ok: false, reason: `rank-3 cache ${first.name}[${first.dims.join(',')}] without a fixed capacity and a kv head count` };
  }
  const writeIndices = intInputAt(editor, ['TensorScatter', 'ScatterND', 'ScatterElements'], 2) ?? namedInput(editor, /write_ind/i);
  const validLength = intInputAt(editor, ['Attention'], 6) ?? namedInput(editor, /seqlen|valid|nonpad/i);
  if (!writeIndices) return { ok: false, reason: `static cache ${first.name} without a write-index input` };
  const layout: CacheLayout = {
    kind: 'static', dtype, numLayers: pairs.length, numKvHeads, headDim: width / numKvHeads,
    past: layerNames(pairs), present: presentPairs, maxLength, writeIndices,
  };
  if (validLength) layout.validLength = validLength;
  return { ok: true, cache: { layout, inputs: ordered.map((p) => p.name), outputs: outs } };
}

function namedInput(editor: GraphEditor, re: RegExp): string | undefined {
  return editor.graph.input.find((v) => v.name && !editor.initializer(v.name) && re.test(v.name))?.name;
}
