/**
 * The low-rank representation map: an optional, input-dependent term at a
 * hook site,
 *
 *   h' = (the site's other operators applied to h) + (h·V)·Uᵀ
 *
 * with V and U graph inputs of shape [batch|1, seq|1, hidden, r] (r free per
 * run). The strength α is folded into U by the runtime. `h` is the site's
 * residual before any steering, so the map reads the activation it was
 * fitted on. The defaults are zeros of rank 1, so a graph run without these
 * inputs computes exactly what it did before the term was added:
 * (h·0)·0ᵀ = 0 and x + 0 = x.
 *
 * The term is added to an already hooked graph, after the other operators,
 * by rewiring only the node that produces the site's capture tensor. It is
 * opt-in (`--low-rank` at build or instrument time, or `lowRank` when a
 * model is loaded, in memory): graphs without it carry no extra node.
 */
import { int64Tensor, zerosTensor } from '../onnx/attributes.js';
import { GraphEditor, makeValueInfo } from '../onnx/graph.js';
import { DataType, type ModelProto } from '../onnx/proto.js';
import type { FloatDtype, HookSiteInfo } from './manifest.js';

/** Input names of a site's low-rank pair. */
export function lowRankNames(site: string): { v: string; u: string } {
  return { v: `${site}.lowrank_v`, u: `${site}.lowrank_u` };
}

const AXIS2 = 'onnx_steer::axes_2';

/** Adds the low-rank pair to every site that lacks it (in place); returns the updated site list. */
export function addLowRankSites(model: ModelProto, sites: readonly HookSiteInfo[], hidden: number, dtype: FloatDtype): HookSiteInfo[] {
  const editor = new GraphEditor(model);
  const graph = model.graph;
  if (!graph) return [...sites];
  const elemType = dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  const bytes = dtype === 'float16' ? 2 : 4;
  const opset = editor.opsetVersion('');
  const axesInput = opset >= 13;
  if (axesInput && !editor.initializer(AXIS2)) editor.addInitializer(int64Tensor(AXIS2, [1], [2]));
  const out = sites.map((site) => {
    if (site.lowRank) return site;
    const names = lowRankNames(site.name);
    const tag = site.name.replace(/[^A-Za-z0-9]+/g, '_');
    for (const name of [names.v, names.u]) {
      editor.addInitializer(zerosTensor(name, elemType, [1, 1, hidden, 1], bytes));
      editor.addInput(makeValueInfo(name, elemType, [`${tag}_lrb`, `${tag}_lrs`, hidden, `${tag}_rank`]));
    }
    const producer = graph.node.find((n) => n.output.includes(site.capture));
    if (!producer) throw new Error(`no node produces the capture tensor of ${site.name}`);
    const pre = editor.uniqueName(`${site.capture}::pre_lowrank`);
    producer.output[producer.output.indexOf(site.capture)] = pre;
    const hint = `${site.name}/lowrank`;
    const unsq = axesInput
      ? editor.op('Unsqueeze', [site.sourceTensor, AXIS2], `${hint}/unsqueeze`)
      : editor.op('Unsqueeze', [site.sourceTensor], `${hint}/unsqueeze`, { axes: [2] });
    const hv = editor.op('MatMul', [unsq, names.v], `${hint}/hv`);
    const ut = editor.op('Transpose', [names.u], `${hint}/ut`, { perm: [0, 1, 3, 2] });
    const prod = editor.op('MatMul', [hv, ut], `${hint}/hvut`);
    const term = axesInput
      ? editor.op('Squeeze', [prod, AXIS2], `${hint}/squeeze`)
      : editor.op('Squeeze', [prod], `${hint}/squeeze`, { axes: [2] });
    editor.addNode('Add', [pre, term], [site.capture], {}, { name: `${hint}/add` });
    return { ...site, lowRank: names };
  });
  editor.reindex();
  editor.topologicalSort();
  return out;
}
