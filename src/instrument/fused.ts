/**
 * Opening up fused onnxruntime ops so a steered residual reaches everything
 * that reads it.
 *
 * - `SkipLayerNormalization` / `SkipSimplifiedLayerNormalization` compute the
 *   residual sum and its norm in one kernel. They become `Add` (+ the optional
 *   bias) producing the sum, then `LayerNormalization` /
 *   `SimplifiedLayerNormalization` with the same gamma, beta and epsilon
 *   producing the old output 0. A hook on the sum then feeds both the next
 *   residual add and the norm.
 * - `EmbedLayerNormalization` exposes the embedding sum as output 2 (block
 *   0's input) and its norm as output 0. When block 0's input is steered, the
 *   norm is recomputed from the steered sum for output 0's consumers.
 *
 * onnxruntime runs `LayerNormalization` and `SimplifiedLayerNormalization`
 * from the default domain at any opset (checked with opset-11 and opset-14
 * graphs in ORT 1.30), so the model's opset imports stay as they are, even
 * though standard ONNX only defines LayerNormalization from opset 17.
 */
import { attrFloat } from '../onnx/attributes.js';
import type { GraphEditor } from '../onnx/graph.js';
import type { NodeProto } from '../onnx/proto.js';
import { InvalidArgumentError, UnsupportedArchitectureError } from '../errors.js';
import { SKIP_NORM_OPS } from './detect.js';

/** ORT's default epsilon for the Skip*LayerNormalization and EmbedLayerNormalization kernels. */
const ORT_FUSED_NORM_EPSILON = 1e-12;

function usedOutput(editor: GraphEditor, name: string | undefined): boolean {
  return !!name && (editor.uses(name).length > 0 || editor.isGraphOutput(name));
}

/**
 * Replaces a fused skip-norm node by Add (+ bias) and a plain norm. Returns the
 * tensor holding the residual sum (the old output 3 when it existed).
 */
export function decomposeSkipNorm(editor: GraphEditor, node: NodeProto): string {
  const op = node.opType ?? '';
  if (!SKIP_NORM_OPS.has(op)) throw new InvalidArgumentError(`decomposeSkipNorm: ${op} is not a fused skip norm`);
  const simplified = op === 'SkipSimplifiedLayerNormalization';
  const label = node.name || op;
  for (const i of [1, 2]) {
    if (usedOutput(editor, node.output[i])) {
      throw new UnsupportedArchitectureError(`${op} node "${label}" exposes its mean/inverse-std output ${i}, which onnx-steer cannot recompute after steering`);
    }
  }
  const [input = '', skip = '', gamma = ''] = node.input;
  const beta = simplified ? '' : (node.input[3] ?? '');
  const bias = simplified ? (node.input[3] ?? '') : (node.input[4] ?? '');
  const epsilon = attrFloat(node, 'epsilon', ORT_FUSED_NORM_EPSILON);
  const normOut = node.output[0] ?? '';
  const existingSum = node.output[3] ?? '';

  editor.removeNode(node);
  const sum = existingSum || editor.uniqueName(`${label}/residual_sum`);
  if (bias) {
    const partial = editor.op('Add', [input, skip], `${label}/skip_add`);
    editor.addNode('Add', [partial, bias], [sum], {}, { name: `${label}/bias_add` });
  } else {
    editor.addNode('Add', [input, skip], [sum], {}, { name: `${label}/skip_add` });
  }
  if (usedOutput(editor, normOut)) {
    const normInputs = simplified ? [sum, gamma] : beta ? [sum, gamma, beta] : [sum, gamma];
    editor.addNode(simplified ? 'SimplifiedLayerNormalization' : 'LayerNormalization', normInputs, [normOut],
      { axis: -1, epsilon: { float: epsilon } }, { name: `${label}/norm` });
  }
  return sum;
}

/**
 * After block 0's input (the embedding sum) has been hooked as `steered`,
 * recomputes the embedding norm from it for every consumer of output 0.
 */
export function renormalizeEmbedding(editor: GraphEditor, node: NodeProto, steered: string): void {
  const normOut = node.output[0] ?? '';
  if (!normOut || editor.uses(normOut).length === 0) return;
  const gamma = node.input[5] ?? '';
  const beta = node.input[6] ?? '';
  const epsilon = attrFloat(node, 'epsilon', ORT_FUSED_NORM_EPSILON);
  const label = node.name || 'EmbedLayerNormalization';
  const out = editor.uniqueName(`${label}/steered_norm`);
  editor.addNode('LayerNormalization', beta ? [steered, gamma, beta] : [steered, gamma], [out],
    { axis: -1, epsilon: { float: epsilon } }, { name: `${label}/steered_norm` });
  editor.replaceUses(normOut, out, new Set(), { keepGraphOutputs: true });
}
