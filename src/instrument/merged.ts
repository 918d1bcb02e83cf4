/**
 * Optimum's merged decoder (`decoder_model_merged.onnx`, the layout of most
 * older transformers.js models): the outer graph holds the inputs, the
 * shared weights and one `If` on a boolean `use_cache_branch` input, whose
 * then-branch is the decoder with a KV cache and whose else-branch the
 * decoder without one. Both branches are instrumented:
 *
 * - each branch is analysed as a decoder of its own (its nodes, the outer
 *   graph's inputs, weights, cache and outputs), and both must agree on
 *   blocks, hidden size, dtype and residual wiring;
 * - hook inputs (`.steer`, `.ablate`, `.renorm`) are outer-graph inputs read
 *   by both branches, so one feed steers whichever branch runs;
 * - each site's capture leaves its branch as a branch output and the `If`
 *   gets one more output with the site's name, which the outer graph exposes.
 *
 * The manifest records the condition input; the runtime feeds it true when
 * the cache is non-empty, as transformers.js does.
 */
import { GraphEditor } from '../onnx/graph.js';
import { AttributeType, DataType, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { valueType } from '../onnx/graph.js';
import type { HookSiteInfo } from '../hooks/manifest.js';
import { analyzeGraph, type Analysis, type AnalysisResult } from './analyze.js';
import { applyHooks } from './rewrite.js';

export interface MergedDecoder { node: NodeProto; condition: string; branches: GraphProto[] }

/** A top-level If on a boolean graph input whose two branches are graphs with nodes. */
export function findMergedDecoder(editor: GraphEditor): MergedDecoder | undefined {
  for (const node of editor.graph.node) {
    if (node.opType !== 'If' || (node.domain ?? '') !== '') continue;
    const cond = node.input[0] ?? '';
    const input = editor.graph.input.find((v) => v.name === cond);
    if (!input || valueType(input)?.elemType !== DataType.BOOL) continue;
    const then = node.attribute.find((a) => a.name === 'then_branch' && (a.type === AttributeType.GRAPH || a.g))?.g;
    const other = node.attribute.find((a) => a.name === 'else_branch' && (a.type === AttributeType.GRAPH || a.g))?.g;
    if (then && other && then.node.length > 0 && other.node.length > 0) return { node, condition: cond, branches: [then, other] };
  }
  return undefined;
}

/**
 * An editor over a branch's nodes that sees the outer graph's inputs,
 * initializers and value types. With `shareOuter`, inputs and initializers it
 * adds land in the outer graph; otherwise in copies (for the second branch,
 * whose hook inputs the first one already added).
 */
function branchEditor(model: ModelProto, outer: GraphProto, branch: GraphProto, shareOuter: boolean): GraphEditor {
  const view: GraphProto = {
    ...branch,
    node: branch.node,
    output: branch.output,
    input: shareOuter ? outer.input : [...outer.input],
    initializer: shareOuter ? outer.initializer : [...outer.initializer],
    valueInfo: [...branch.valueInfo, ...outer.valueInfo, ...outer.output],
  };
  const viewModel: ModelProto = { ...model, graph: view };
  return new GraphEditor(viewModel);
}

export function analyzeMerged(editor: GraphEditor, modelPath: string, merged: MergedDecoder): AnalysisResult {
  const results = merged.branches.map((g) => analyzeGraph(editor, modelPath, branchEditor(editor.model, editor.graph, g, false)));
  const labels = ['then_branch (with cache)', 'else_branch (without cache)'];
  for (const [i, r] of results.entries()) {
    if (!r.ok) return { ...r, report: { ...r.report, reason: `merged decoder: ${labels[i] ?? ''}: ${r.report.reason ?? 'not instrumentable'}` } };
  }
  const [a, b] = results.map((r) => (r.ok ? r.analysis : undefined)) as [Analysis, Analysis];
  for (const key of ['numBlocks', 'hiddenSize', 'dtype', 'residual'] as const) {
    if (a[key] !== b[key]) {
      return { ok: false, report: { ...a.report, instrumentable: false, reason: `merged decoder: the branches disagree on ${key} (${String(a[key])} vs ${String(b[key])})` } };
    }
  }
  const report = { ...a.report, architecture: `${a.report.architecture} (Optimum merged decoder: If on ${merged.condition}, both branches hooked)` };
  return { ok: true, analysis: { ...a, report, merged: { node: merged.node, condition: merged.condition, branches: [{ graph: merged.branches[0] as GraphProto, analysis: a }, { graph: merged.branches[1] as GraphProto, analysis: b }] } } };
}

/** Hooks both branches and exposes every capture as an output of the If and of the model. */
export function applyMergedHooks(editor: GraphEditor, analysis: Analysis, sites: readonly string[], normPreserving: boolean): HookSiteInfo[] {
  const merged = analysis.merged;
  if (!merged) throw new Error('applyMergedHooks: not a merged decoder');
  const tags = ['then', 'else'];
  let result: HookSiteInfo[] = [];
  merged.branches.forEach(({ graph, analysis: branch }, i) => {
    const body = branchEditor(editor.model, editor.graph, graph, i === 0);
    const hooked = applyHooks(body, branch, sites, normPreserving);
    // Branch-local capture names, so no branch value shadows the If's outputs.
    const local = new Map(hooked.map((s) => [s.capture, `${s.capture}::${tags[i] ?? i}`]));
    for (const node of graph.node) {
      node.output.forEach((o, k) => { const to = local.get(o); if (to) node.output[k] = to; });
      node.input.forEach((o, k) => { const to = local.get(o); if (to) node.input[k] = to; });
    }
    const captures = graph.output.filter((v) => local.has(v.name ?? ''));
    graph.output = [...graph.output.filter((v) => !local.has(v.name ?? '')), ...hooked.map((s) => {
      const v = captures.find((c) => c.name === s.capture);
      return { ...(v ?? {}), name: local.get(s.capture) ?? s.capture };
    })];
    if (i === 0) result = hooked;
  });
  const outerOutputs = new Set(editor.graph.output.map((v) => v.name));
  const thenGraph = merged.branches[0]?.graph;
  for (const s of result) {
    merged.node.output.push(s.capture);
    const info = thenGraph?.output.find((v) => v.name === `${s.capture}::then`);
    if (!outerOutputs.has(s.capture)) editor.graph.output.push({ ...(info ?? {}), name: s.capture });
  }
  editor.reindex();
  return result;
}
