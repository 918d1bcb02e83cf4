/**
 * Finding the residual stream of a decoder from graph structure alone.
 *
 * A residual add computes x + f(x): an `Add` (or the sum inside a fused
 * `SkipLayerNormalization` / `SkipSimplifiedLayerNormalization`) where the node
 * producing one operand is an ancestor of the other operand, and the path from
 * x to f(x) passes through a weight-bearing op (MatMul, Gemm, attention, …).
 * The weight requirement rules out look-alikes such as GELU-tanh's
 * `x + 0.044715·x³`. Residual adds are then chained (each add's x is the
 * previous add's sum, possibly through Identity or a no-op Cast) and the
 * longest chain is the residual stream. Tensor and node names are never used.
 */
import type { GraphEditor } from '../onnx/graph.js';
import { toNumber, type NodeProto } from '../onnx/proto.js';
import { getAttribute } from '../onnx/attributes.js';
import type { DtypeInference } from './dtypes.js';

export type ResidualKind = 'add' | 'skip';

export interface ResidualAdd {
  node: NodeProto;
  kind: ResidualKind;
  /** Input index of the residual x and of the branch f(x). */
  xIndex: number;
  fIndex: number;
  /** Tensor holding x + f(x); '' when a fused node does not expose its sum. */
  sum: string;
}

export interface ResidualChain {
  /** The residual entering block 0: the first add's x, traced back through passthroughs. */
  start: string;
  adds: ResidualAdd[];
}

/** Ops that carry weights (or mix positions) between x and f(x) in a real block. */
const WEIGHT_OPS = new Set([
  'MatMul', 'Gemm', 'MatMulNBits', 'MatMulInteger', 'QLinearMatMul', 'FusedMatMul', 'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul', 'QGemm', 'MatMulBnb4', 'MatMulFpQ4', 'Einsum', 'Conv',
  'Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'QAttention', 'PackedAttention', 'DecoderMaskedMultiHeadAttention',
]);

export const SKIP_NORM_OPS = new Set(['SkipLayerNormalization', 'SkipSimplifiedLayerNormalization']);

export class Ancestry {
  constructor(private readonly editor: GraphEditor) {}

  /** Every node `node` depends on (not including itself). */
  ancestors(node: NodeProto): Set<NodeProto> {
    const seen = new Set<NodeProto>();
    const stack: NodeProto[] = [node];
    while (stack.length > 0) {
      const n = stack.pop() as NodeProto;
      for (const input of n.input) {
        const p = input ? this.editor.producer(input) : undefined;
        if (p && !seen.has(p)) { seen.add(p); stack.push(p); }
      }
    }
    return seen;
  }

  /** Whether a weight op lies strictly after `from` on some path to `to` (inclusive). */
  weightBetween(from: NodeProto, to: NodeProto, toAncestors: Set<NodeProto>): boolean {
    const allowed = (n: NodeProto): boolean => n === to || toAncestors.has(n);
    const seen = new Set<NodeProto>([from]);
    const stack: NodeProto[] = [from];
    while (stack.length > 0) {
      const n = stack.pop() as NodeProto;
      for (const out of n.output) {
        if (!out) continue;
        for (const use of this.editor.uses(out)) {
          const c = use.node;
          if (seen.has(c) || !allowed(c)) continue;
          if (WEIGHT_OPS.has(c.opType ?? '')) return true;
          seen.add(c);
          stack.push(c);
        }
      }
    }
    return false;
  }
}

/** Follows Identity and same-type Cast producers back from `tensor`. */
export function throughPassthrough(editor: GraphEditor, dtypes: DtypeInference, tensor: string, stop?: (t: string) => boolean): string {
  let t = tensor;
  for (let guard = 0; guard < 64; guard++) {
    if (stop?.(t)) return t;
    const p = editor.producer(t);
    if (!p) return t;
    const src = p.input[0] ?? '';
    if (p.opType === 'Identity' && src) { t = src; continue; }
    if (p.opType === 'Cast' && src && dtypes.of(src) !== 0 && dtypes.of(src) === toNumber(getAttribute(p, 'to')?.i)) { t = src; continue; }
    return t;
  }
  return t;
}

function candidateOperands(editor: GraphEditor, node: NodeProto): [string, string] | undefined {
  const op = node.opType ?? '';
  const isSkip = SKIP_NORM_OPS.has(op) && node.domain === 'com.microsoft';
  if (op !== 'Add' && !isSkip) return undefined;
  if (op === 'Add' && (node.domain ?? '') !== '') return undefined;
  const a = node.input[0] ?? '';
  const b = node.input[1] ?? '';
  if (!a || !b || editor.initializer(a) || editor.initializer(b)) return undefined;
  return [a, b];
}

/** All residual adds (plain or fused) of the graph, in graph order. */
export function findResidualAdds(editor: GraphEditor, dtypes: DtypeInference): ResidualAdd[] {
  const ancestry = new Ancestry(editor);
  const found: ResidualAdd[] = [];
  for (const node of editor.graph.node) {
    const operands = candidateOperands(editor, node);
    if (!operands) continue;
    const kind: ResidualKind = node.opType === 'Add' ? 'add' : 'skip';
    if (kind === 'add' && dtypes.of(node.output[0] ?? '') !== 0 && !dtypes.isFloat(node.output[0] ?? '')) continue;
    const producers = operands.map((t) => editor.producer(t));
    for (const xIndex of [0, 1]) {
      const fIndex = 1 - xIndex;
      const xProd = producers[xIndex];
      const fProd = producers[fIndex];
      if (!xProd || !fProd || xProd.opType === 'Constant') continue;
      const anc = ancestry.ancestors(fProd);
      if (!anc.has(xProd)) continue;
      if (!ancestry.weightBetween(xProd, fProd, anc)) continue;
      const sum = kind === 'add' ? (node.output[0] ?? '') : (node.output[3] ?? '');
      found.push({ node, kind, xIndex, fIndex, sum });
      break;
    }
  }
  return found;
}

/**
 * The longest chain of residual adds where each add's x is the previous add's
 * sum (through passthroughs). Ties go to the chain that ends later in the graph.
 */
export function longestChain(editor: GraphEditor, dtypes: DtypeInference, adds: readonly ResidualAdd[]): ResidualChain | undefined {
  const bySum = new Map<string, ResidualAdd>();
  for (const r of adds) if (r.sum) bySum.set(r.sum, r);
  const pred = new Map<ResidualAdd, ResidualAdd | undefined>();
  for (const r of adds) {
    const x = r.node.input[r.xIndex] ?? '';
    const resolved = throughPassthrough(editor, dtypes, x, (t) => bySum.has(t));
    const p = bySum.get(resolved);
    pred.set(r, p && p !== r ? p : undefined);
  }
  const length = new Map<ResidualAdd, number>();
  const lengthOf = (r: ResidualAdd): number => {
    const known = length.get(r);
    if (known !== undefined) return known;
    const path: ResidualAdd[] = [];
    let cur: ResidualAdd | undefined = r;
    while (cur && !length.has(cur) && !path.includes(cur)) { path.push(cur); cur = pred.get(cur); }
    let base = cur ? (length.get(cur) ?? 0) : 0;
    for (let i = path.length - 1; i >= 0; i--) { base += 1; length.set(path[i] as ResidualAdd, base); }
    return length.get(r) ?? 0;
  };
  let best: ResidualAdd | undefined;
  let bestLen = 0;
  for (const r of adds) {
    const len = lengthOf(r);
    if (len >= bestLen) { best = r; bestLen = len; }
  }
  if (!best) return undefined;
  const chain: ResidualAdd[] = [];
  for (let cur: ResidualAdd | undefined = best; cur; cur = pred.get(cur)) chain.unshift(cur);
  const first = chain[0] as ResidualAdd;
  return { start: throughPassthrough(editor, dtypes, first.node.input[first.xIndex] ?? ''), adds: chain };
}

/** A short description of how the residual entering block 0 is made. */
export function describeStart(editor: GraphEditor, tensor: string): string {
  const p = editor.producer(tensor);
  if (!p) return editor.isGraphInput(tensor) ? 'graph input (embeddings fed by the caller)' : 'unknown source';
  const op = p.opType ?? '';
  if (op === 'EmbedLayerNormalization') return 'EmbedLayerNormalization output 2 (embedding sum)';
  if (op === 'Gather') return 'Gather output (token embedding)';
  if (op === 'DequantizeLinear' && editor.producer(p.input[0] ?? '')?.opType === 'Gather') return 'DequantizeLinear of a quantized embedding Gather';
  if (op === 'Add') {
    const leaves = addLeaves(editor, tensor, 3);
    const gathers = leaves.filter((l) => l === 'Gather').length;
    if (gathers >= 2 && leaves.every((l) => l === 'Gather' || l === 'Constant' || l === 'initializer')) {
      return `Add of token and position embeddings (${leaves.join(' + ')})`;
    }
    return `Add output (${leaves.join(' + ')})`;
  }
  if (op === 'Mul') return 'Mul output (scaled embedding)';
  return `${op} output`;
}

/** Producer ops of the terms of a nested Add, looking through Identity/Cast. */
function addLeaves(editor: GraphEditor, tensor: string, depth: number): string[] {
  let t = tensor;
  let p = editor.producer(t);
  while (p && (p.opType === 'Identity' || p.opType === 'Cast')) { t = p.input[0] ?? ''; p = editor.producer(t); }
  if (!p) return [editor.initializer(t) ? 'initializer' : 'input'];
  if (p.opType === 'DequantizeLinear' && editor.producer(p.input[0] ?? '')?.opType === 'Gather') return ['Gather'];
  if (p.opType === 'Add' && depth > 0) return p.input.flatMap((x) => addLeaves(editor, x, depth - 1));
  return [p.opType ?? '?'];
}
