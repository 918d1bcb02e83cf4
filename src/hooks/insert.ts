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
 *
 * With `normPreserving`, a third input `g` ([batch, seq|1, 1], default 0)
 * rescales the result toward the norm of the unsteered residual:
 *
 *   h'' = h' · (1 + g · (‖h‖ / ‖h'‖ − 1))
 *
 * so g = 1 keeps ‖h''‖ = ‖h‖ at every position and g = 0 leaves h' as it is.
 */
import { DataType } from '../onnx/proto.js';
import { int64Tensor, makeTensor, zerosTensor } from '../onnx/attributes.js';
import { floatToHalf } from '../onnx/fp16.js';
import { GraphEditor, makeValueInfo } from '../onnx/graph.js';
import { UnsupportedDtypeError } from '../errors.js';
import { siteTensorNames } from './sites.js';
import type { FloatDtype, HookSiteInfo } from './manifest.js';

export interface HookInsertOptions {
  hiddenSize: number;
  dtype: FloatDtype;
  block: number;
  /** Add the norm-preserving gate input (default false: it costs ops at every step). */
  normPreserving?: boolean;
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

  const dotLast = (a: string, b: string, hint: string): string => {
    const prod = editor.op('Mul', [a, b], `${hint}/mul`);
    if (editor.opsetVersion('') >= 13) {
      if (!editor.initializer(AXES_NAME)) editor.addInitializer(int64Tensor(AXES_NAME, [1], [-1]));
      return editor.op('ReduceSum', [prod, AXES_NAME], `${hint}/sum`, { keepdims: 1 });
    }
    return editor.op('ReduceSum', [prod], `${hint}/sum`, { axes: [-1], keepdims: 1 });
  };
  const dot = dotLast(tensor, names.ablate, `${site}/ablate/dot`);
  const proj = editor.op('Mul', [dot, names.ablate], `${site}/ablate/proj`);
  const ablated = editor.op('Sub', [tensor, proj], `${site}/ablate/sub`);
  let renorm: string | undefined;
  if (options.normPreserving) {
    renorm = `${site}.renorm`;
    editor.addInitializer(zerosTensor(renorm, elemType, [1, 1, 1], bytes));
    editor.addInput(makeValueInfo(renorm, elemType, [`${tag}_gb`, `${tag}_gs`, 1]));
    const steered = editor.op('Add', [ablated, names.steer], `${site}/steer/add`);
    const before = dotLast(tensor, tensor, `${site}/renorm/norm0`);
    const after = dotLast(steered, steered, `${site}/renorm/norm1`);
    const consts = renormConstants(editor, elemType, bytes);
    const ratio = editor.op('Sqrt', [editor.op('Div', [before, editor.op('Max', [after, consts.eps], `${site}/renorm/safe`)], `${site}/renorm/div`)], `${site}/renorm/ratio`);
    const factor = editor.op('Add', [consts.one, editor.op('Mul', [renorm, editor.op('Sub', [ratio, consts.one], `${site}/renorm/minus1`)], `${site}/renorm/gate`)], `${site}/renorm/factor`);
    editor.addNode('Mul', [steered, factor], [names.capture], {}, { name: `${site}/renorm/scale` });
  } else {
    editor.addNode('Add', [ablated, names.steer], [names.capture], {}, { name: `${site}/steer/add` });
  }

  // Rewire the former consumers of h to h' (graph outputs keep their names).
  const skip = new Set(editor.uses(tensor).map((u) => u.node).filter((n) => !previousUses.has(n)));
  editor.replaceUses(tensor, names.capture, skip, { keepGraphOutputs: true });
  editor.addOutput(makeValueInfo(names.capture, elemType, ['batch', 'sequence', hiddenSize]));

  return { name: site, block: options.block, capture: names.capture, steer: names.steer, ablate: names.ablate, ...(renorm ? { renorm } : {}), sourceTensor: tensor };
}

/** Shared scalar constants (1 and a small epsilon) of the residual's element type. */
function renormConstants(editor: GraphEditor, elemType: number, bytes: number): { one: string; eps: string } {
  const one = `onnx_steer::one_${elemType}`;
  const eps = `onnx_steer::eps_${elemType}`;
  if (!editor.initializer(one)) {
    const make = (name: string, v: number) => {
      const raw = new Uint8Array(bytes);
      if (bytes === 2) new DataView(raw.buffer).setUint16(0, floatToHalf(v), true);
      else new DataView(raw.buffer).setFloat32(0, v, true);
      editor.addInitializer(makeTensor(name, elemType, [], raw));
    };
    make(one, 1);
    make(eps, bytes === 2 ? 1e-4 : 1e-12);
  }
  return { one, eps };
}
