/**
 * Static element-type inference for tensors of a graph, enough to tell float
 * residuals from integer shape arithmetic and to pick the hook dtype. Declared
 * types (inputs, outputs, value_info, initializers) win; otherwise a small set
 * of operator rules applies, defaulting to "same as the first typed input".
 */
import { getAttribute } from '../onnx/attributes.js';
import type { GraphEditor } from '../onnx/graph.js';
import { DataType, toNumber, type NodeProto, type ValueInfoProto } from '../onnx/proto.js';

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
const INT32_OPS = new Set(['MatMulInteger', 'ConvInteger']);
/**
 * Ops whose output type is the type of a given input, where falling back to
 * another (index or shape) input would be wrong.
 */
const TYPE_FROM_INPUT: Record<string, number> = {
  Where: 1, DequantizeLinear: 1, GatherBlockQuantized: 2, EmbedLayerNormalization: 2,
  Gather: 0, GatherElements: 0, GatherND: 0, Expand: 0, Reshape: 0, Slice: 0, Squeeze: 0, Unsqueeze: 0,
  Tile: 0, Pad: 0, Split: 0, ScatterND: 0, ScatterElements: 0, TensorScatter: 0,
};

export class DtypeInference {
  private readonly declared = new Map<string, number>();
  private readonly memo = new Map<string, number>();

  constructor(private readonly editor: GraphEditor) {
    const g = editor.graph;
    const declare = (v: ValueInfoProto): void => {
      const t = v.type?.tensorType?.elemType;
      if (v.name && t) this.declared.set(v.name, t);
    };
    g.valueInfo.forEach(declare);
    g.output.forEach(declare);
    g.input.forEach(declare);
    for (const t of g.initializer) if (t.name && t.dataType) this.declared.set(t.name, t.dataType);
  }

  /** Element type of `tensor` (ONNX DataType), or 0 when unknown. */
  of(tensor: string): number {
    if (!tensor) return 0;
    const d = this.declared.get(tensor);
    if (d) return d;
    const m = this.memo.get(tensor);
    if (m !== undefined) return m;
    this.memo.set(tensor, 0); // breaks cycles in malformed graphs
    const node = this.editor.producer(tensor);
    const t = node ? this.infer(node, node.output.indexOf(tensor)) : 0;
    this.memo.set(tensor, t);
    return t;
  }

  isFloat(tensor: string): boolean {
    const t = this.of(tensor);
    return t === DataType.FLOAT || t === DataType.FLOAT16 || t === DataType.BFLOAT16 || t === DataType.DOUBLE;
  }

  private infer(node: NodeProto, outIndex: number): number {
    const op = node.opType ?? '';
    if (op === 'Cast') return toNumber(getAttribute(node, 'to')?.i);
    if (op === 'Constant') return getAttribute(node, 'value')?.t?.dataType ?? (getAttribute(node, 'value_float') ? DataType.FLOAT : DataType.INT64);
    if (op === 'ConstantOfShape') return getAttribute(node, 'value')?.t?.dataType ?? DataType.FLOAT;
    if (BOOL_OPS.has(op)) return DataType.BOOL;
    if (INT64_OPS.has(op)) return DataType.INT64;
    if (INT32_OPS.has(op)) return DataType.INT32;
    if (op === 'DynamicQuantizeLinear') return outIndex === 1 ? DataType.FLOAT : DataType.UINT8;
    if (op === 'QuantizeLinear') return this.of(node.input[2] ?? '') || DataType.UINT8;
    if (op === 'EmbedLayerNormalization' && outIndex === 1) return DataType.INT32;
    if (op === 'TopK' && outIndex === 1) return DataType.INT64;
    const from = TYPE_FROM_INPUT[op];
    if (from !== undefined) {
      const t = this.of(node.input[from] ?? '');
      if (t) return t;
    }
    for (const input of node.input) {
      const t = this.of(input);
      if (t) return t;
    }
    return 0;
  }
}
