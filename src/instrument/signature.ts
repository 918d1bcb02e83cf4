/**
 * What a decoder graph expects and returns besides its cache: token ids,
 * attention mask, position ids, logits or last hidden state, and which
 * padding its attention supports. Conventional names are taken when present;
 * otherwise structure decides (which integer input reaches the embedding
 * table, which one has the total-length dimension).
 */
import { valueType, type GraphEditor } from '../onnx/graph.js';
import { DataType, type ValueInfoProto } from '../onnx/proto.js';
import type { HooksManifest, IdDtype, NamedInput } from '../hooks/manifest.js';
import type { CacheInfo } from './cache-layout.js';

export interface GraphSignature {
  inputIds?: NamedInput;
  attentionMask?: NamedInput;
  positionIds?: NamedInput;
  maxSequence?: number;
  padding: NonNullable<HooksManifest['inputs']['padding']>;
  logits?: string;
  lastHidden?: string;
  vocabSize?: number;
}

interface IntInput { name: string; dtype: IdDtype; dims: (number | string)[] }

/** Ops a token/position index tensor may pass through on its way to a lookup. */
const INDEX_PASSTHROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Identity', 'Flatten', 'Slice', 'Expand']);

function intInputs(editor: GraphEditor, exclude: ReadonlySet<string>): IntInput[] {
  const out: IntInput[] = [];
  for (const v of editor.graph.input) {
    if (!v.name || editor.initializer(v.name) || exclude.has(v.name)) continue;
    const t = valueType(v);
    if (!t) continue;
    if (t.elemType === DataType.INT64) out.push({ name: v.name, dtype: 'int64', dims: t.dims });
    else if (t.elemType === DataType.INT32) out.push({ name: v.name, dtype: 'int32', dims: t.dims });
  }
  return out;
}

/**
 * How `tensor` is used as a lookup index: 2 when it is the token input of an
 * EmbedLayerNormalization, 1 when it indexes a rank-2 table (a Gather over an
 * initializer, possibly quantized), 0 otherwise.
 */
function lookupRank(editor: GraphEditor, tensor: string, depth = 4): number {
  let best = 0;
  for (const use of editor.uses(tensor)) {
    const n = use.node;
    const op = n.opType ?? '';
    if (op === 'EmbedLayerNormalization' && use.index === 0) return 2;
    if ((op === 'Gather' || op === 'GatherBlockQuantized') && use.index === 1) {
      const table = editor.initializer(n.input[0] ?? '');
      if (table && table.dims.length === 2) best = Math.max(best, 1);
    }
    if (INDEX_PASSTHROUGH.has(op) && use.index === 0 && depth > 0) {
      for (const o of n.output) if (o) best = Math.max(best, lookupRank(editor, o, depth - 1));
    }
  }
  return best;
}

function sameDims(a: readonly (number | string)[], b: readonly (number | string)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function named(list: readonly IntInput[], re: RegExp): IntInput | undefined {
  return list.find((i) => re.test(i.name));
}

function toNamed(i: IntInput | undefined): NamedInput | undefined {
  return i ? { name: i.name, dtype: i.dtype } : undefined;
}

function floatPort(v: ValueInfoProto): { name: string; dims: (number | string)[] } | undefined {
  const t = valueType(v);
  if (!v.name || !t) return undefined;
  if (t.elemType !== DataType.FLOAT && t.elemType !== DataType.FLOAT16 && t.elemType !== DataType.BFLOAT16) return undefined;
  return { name: v.name, dims: t.dims };
}

export function analyzeSignature(editor: GraphEditor, cache: CacheInfo | undefined, hiddenSize: number | undefined): GraphSignature {
  const exclude = new Set<string>();
  if (cache?.layout.writeIndices) exclude.add(cache.layout.writeIndices);
  if (cache?.layout.validLength) exclude.add(cache.layout.validLength);
  const ints = intInputs(editor, exclude);

  const lookups = ints.map((i) => ({ input: i, rank: lookupRank(editor, i.name) })).filter((x) => x.rank > 0);
  const idsInput = named(ints, /input_ids|^ids$|tokens?$/i)
    ?? lookups.find((x) => x.rank === 2)?.input
    ?? lookups[0]?.input;
  const rest = ints.filter((i) => i !== idsInput);
  const mask = named(rest, /mask/i)
    ?? rest.find((i) => idsInput && i.dims.length === 2 && i.dims[1] !== idsInput.dims[1] && !/position/i.test(i.name));
  const positions = named(rest.filter((i) => i !== mask), /position|pos_ids/i)
    ?? rest.find((i) => i !== mask && idsInput && sameDims(i.dims, idsInput.dims));

  const hasGqa = editor.graph.node.some((n) => n.opType === 'GroupQueryAttention');
  const padding: GraphSignature['padding'] = hasGqa || cache?.layout.kind === 'static' ? 'right' : mask ? 'left' : 'none';

  const sig: GraphSignature = { padding };
  const ids = toNamed(idsInput);
  if (ids) sig.inputIds = ids;
  const m = toNamed(mask);
  if (m) sig.attentionMask = m;
  const p = toNamed(positions);
  if (p) sig.positionIds = p;
  const seq = idsInput?.dims[1];
  if (typeof seq === 'number' && seq > 0) sig.maxSequence = seq;

  const cacheOutputs = new Set(cache?.outputs ?? []);
  const main = editor.graph.output.map(floatPort).find((o) => o && !cacheOutputs.has(o.name));
  if (main) {
    const last = main.dims[main.dims.length - 1];
    if (typeof last === 'number' && last > 0 && last === hiddenSize) {
      sig.lastHidden = main.name;
    } else {
      sig.logits = main.name;
      if (typeof last === 'number' && last > 0) sig.vocabSize = last;
    }
  }
  return sig;
}
