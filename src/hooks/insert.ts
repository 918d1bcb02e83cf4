/**
 * Inserting a hook site on a residual tensor `h`:
 *
 *   h' = (h − (h·r) r) + s
 *
 * with `r` (ablation direction, unit norm per batch row) and `s` (steering
 * vector, broadcast over [batch, seq|1, hidden]) as graph inputs whose
 * initializer defaults are zeros, so callers feed only what they use. Every
 * former consumer of `h` reads `h'`, which is also exposed as the capture
 * output named after the site.
 */
import { DataType } from '../onnx/proto.js';
import { int64Tensor, zerosTensor } from '../onnx/attributes.js';
import { GraphEditor, makeValueInfo } from '../onnx/graph.js';
import { UnsupportedDtypeError } from '../errors.js';
import { siteTensorNames } from './sites.js';
import type { FloatDtype, HookSiteInfo } from './manifest.js';

export interface HookInsertOptions {
  hiddenSize: number;
  dtype: FloatDtype;
  block: number;
}

const AXES_NAME = 'onnx_steer::axes_last';

export function elemTypeOf(dtype: FloatDtype): number {
  return dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
}

export function dtypeOfElemType(elemType: number): FloatDtype {
  if (elemType === DataType.FLOAT) return 'float32';
  if (elemType === DataType.FLOAT16) return 'float16';
  throw new UnsupportedDtypeError(`residual stream element type ${elemType} is not supported (float32 or float16 only)`);
}

export function insertHookSite(editor: GraphEditor, tensor: string, site: string, options: HookInsertOptions): HookSiteInfo {
  const { hiddenSize, dtype } = options;
  const elemType = elemTypeOf(dtype);
  const bytes = dtype === 'float16' ? 2 : 4;
  const names = siteTensorNames(site);
  const tag = site.replace(/[^A-Za-z0-9]+/g, '_');

  editor.addInitializer(zerosTensor(names.steer, elemType, [1, 1, hiddenSize], bytes));
  editor.addInput(makeValueInfo(names.steer, elemType, [`${tag}_sb`, `${tag}_ss`, hiddenSize]));
  editor.addInitializer(zerosTensor(names.ablate, elemType, [1, 1, hiddenSize], bytes));
  editor.addInput(makeValueInfo(names.ablate, elemType, [`${tag}_ab`, `${tag}_as`, hiddenSize]));

  const previousUses = new Set(editor.uses(tensor).map((u) => u.node));

  const prod = editor.op('Mul', [tensor, names.ablate], `${site}/ablate/mul`);
  let dot: string;
  if (editor.opsetVersion('') >= 13) {
    if (!editor.initializer(AXES_NAME)) editor.addInitializer(int64Tensor(AXES_NAME, [1], [-1]));
    dot = editor.op('ReduceSum', [prod, AXES_NAME], `${site}/ablate/dot`, { keepdims: 1 });
  } else {
    dot = editor.op('ReduceSum', [prod], `${site}/ablate/dot`, { axes: [-1], keepdims: 1 });
  }
  const proj = editor.op('Mul', [dot, names.ablate], `${site}/ablate/proj`);
  const ablated = editor.op('Sub', [tensor, proj], `${site}/ablate/sub`);
  const newNodes = new Set<string>([prod, dot, proj, ablated]);
  editor.addNode('Add', [ablated, names.steer], [names.capture], {}, { name: `${site}/steer/add` });

  // Rewire the former consumers of h to h' (graph outputs keep their names).
  const skip = new Set(editor.uses(tensor).map((u) => u.node).filter((n) => !previousUses.has(n) || n.output.some((o) => newNodes.has(o))));
  editor.replaceUses(tensor, names.capture, skip, { keepGraphOutputs: true });
  editor.addOutput(makeValueInfo(names.capture, elemType, ['batch', 'sequence', hiddenSize]));

  return { name: site, block: options.block, capture: names.capture, steer: names.steer, ablate: names.ablate, sourceTensor: tensor };
}
