/**
 * Session graphs with only the hook operators a session needs.
 *
 * A hooked file carries every operator at every site (see insert.ts). Most
 * requests only add steering vectors, or steer nothing, and on a decoder
 * whose step is dominated by per-node overhead the unused ablation and
 * renorm sub-graphs cost as much as the model itself (the default model ran
 * at 0.48 of its unhooked graph). `specializeHooks` rewrites a loaded model in
 * memory: each site's sub-graph — every node between the residual `h`
 * entering the site and its capture output — is removed and re-assembled by
 * {@link assembleSite} with the kinds asked for, folding a lone steering add
 * into the residual `Add` (one `Sum`). With no kinds, the site disappears and
 * its readers read `h` again: the graph is the unhooked one.
 *
 * The file on disk is not touched; directories written before this existed
 * specialise the same way, because sites are found structurally.
 */
import { InvalidArgumentError } from '../errors.js';
import { GraphEditor } from '../onnx/graph.js';
import type { ModelProto, NodeProto } from '../onnx/proto.js';
import { SITE_OPERATORS, assembleSite, siteInput, type HookInputKind } from './insert.js';
import type { FloatDtype, HookSiteInfo } from './manifest.js';

export interface SpecializeOptions {
  dtype: FloatDtype;
  /** Operator kinds to keep at every site, or per site (those a site lacks are skipped). */
  kinds: ReadonlySet<HookInputKind> | ((site: HookSiteInfo) => ReadonlySet<HookInputKind>);
  /**
   * Keep the capture outputs: at every site with kinds (the default, true),
   * at none (false), or where the function says; a site it names keeps its
   * capture even with no kinds (an Identity of the residual).
   */
  captures?: boolean | ((site: HookSiteInfo) => boolean);
  /** Fold a lone steering add into the residual Add (default true). */
  fold?: boolean;
}

export interface SpecializedSite {
  site: HookSiteInfo;
  /** Input kinds the site still reads. */
  kinds: HookInputKind[];
}

/** Rewrites `model` in place; returns, per site, the kinds it still reads. */
export function specializeHooks(model: ModelProto, sites: readonly HookSiteInfo[], options: SpecializeOptions): SpecializedSite[] {
  const editor = new GraphEditor(model);
  const result: SpecializedSite[] = [];
  const dropped = new Set<string>();
  for (const site of sites) {
    const present = SITE_OPERATORS.map((o) => o.kind).filter((k) => siteInput(site, k) !== undefined);
    const kinds = typeof options.kinds === 'function' ? options.kinds(site) : options.kinds;
    const keep = present.filter((k) => kinds.has(k));
    const capture = typeof options.captures === 'function' ? options.captures(site) : keep.length > 0 && options.captures !== false;
    const h = siteEntry(editor, site);
    for (const node of siteRegion(editor, site, h)) editor.removeNode(node);
    if (keep.length === 0 && capture) {
      // Readers read h again; the capture is an Identity of it, read by nothing but the fetch.
      editor.replaceUses(site.capture, h, new Set(), { keepGraphOutputs: true });
      editor.addNode('Identity', [h], [site.capture], {}, { name: `${site.name}/identity` });
    } else if (keep.length > 0) {
      const inputs: Partial<Record<HookInputKind, string>> = {};
      for (const k of keep) inputs[k] = siteInput(site, k);
      assembleSite(editor, h, site.name, { dtype: options.dtype, kinds: new Set(keep), inputs, output: site.capture, fold: options.fold ?? true });
      if (!capture) dropCaptureOutput(editor, site.capture);
    } else {
      editor.replaceUses(site.capture, h, new Set(), { keepGraphOutputs: true });
      dropCaptureOutput(editor, site.capture);
    }
    for (const k of present) if (!keep.includes(k)) dropped.add(siteInput(site, k) as string);
    // The low-rank pair (hooks/lowrank.ts) is never re-assembled: a specialised graph drops it.
    if (site.lowRank) { dropped.add(site.lowRank.v); dropped.add(site.lowRank.u); }
    result.push({ site, kinds: keep });
  }
  const graph = editor.graph;
  graph.input = graph.input.filter((v) => !dropped.has(v.name ?? ''));
  graph.initializer = graph.initializer.filter((t) => !dropped.has(t.name ?? ''));
  editor.reindex();
  editor.removeDeadNodes();
  editor.topologicalSort();
  return result;
}

function dropCaptureOutput(editor: GraphEditor, capture: string): void {
  const outs = editor.graph.output;
  const i = outs.findIndex((v) => v.name === capture);
  if (i >= 0) outs.splice(i, 1);
}

/** Tensors that depend on `from` without passing through `stop`. */
function dependents(editor: GraphEditor, from: string, stop: string): Set<string> {
  const seen = new Set<string>([from]);
  const queue = [from];
  while (queue.length > 0) {
    const t = queue.pop() as string;
    if (t === stop) continue;
    for (const use of editor.uses(t)) {
      for (const o of use.node.output) if (o && !seen.has(o)) { seen.add(o); queue.push(o); }
    }
  }
  return seen;
}

/**
 * The residual entering a site: the `x` of its first operator, found from the
 * ablation input (x · r with x independent of r) or, for sites without one,
 * the other operand of the steering add.
 */
function siteEntry(editor: GraphEditor, site: HookSiteInfo): string {
  const first = site.ablate ?? site.steer;
  const fromFirst = dependents(editor, first, site.capture);
  const opType = site.ablate ? 'Mul' : 'Add';
  for (const use of editor.uses(first)) {
    if (use.node.opType !== opType || use.node.input.length !== 2) continue;
    const other = use.node.input[1 - use.index] ?? '';
    if (other && !fromFirst.has(other)) return other;
  }
  throw new InvalidArgumentError(`cannot find the residual entering hook site ${site.name}`);
}

/** Every node between `h` and the site's capture, checked to depend on `h` or the site's inputs only. */
function siteRegion(editor: GraphEditor, site: HookSiteInfo, h: string): NodeProto[] {
  const own = new Set<string>([h, ...SITE_OPERATORS.map((o) => siteInput(site, o.kind)).filter((n): n is string => n !== undefined), ...(site.lowRank ? [site.lowRank.v, site.lowRank.u] : [])]);
  const root = editor.producer(site.capture);
  if (!root) throw new InvalidArgumentError(`hook site ${site.name} has no capture node`);
  const region = new Set<NodeProto>();
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop() as NodeProto;
    if (region.has(node)) continue;
    region.add(node);
    for (const input of node.input) {
      if (!input || input === h) continue;
      const p = editor.producer(input);
      if (p) stack.push(p);
    }
  }
  const produced = new Set<string>();
  for (const n of region) for (const o of n.output) produced.add(o);
  for (const n of region) {
    if (!n.input.some((i) => own.has(i) || produced.has(i))) throw new InvalidArgumentError(`hook site ${site.name} reads tensors outside the site (${n.name ?? n.opType ?? '?'})`);
    for (const o of n.output) {
      if (o === site.capture) continue;
      if (editor.uses(o).some((u) => !region.has(u.node)) || editor.isGraphOutput(o)) {
        throw new InvalidArgumentError(`hook site ${site.name} has an intermediate read outside the site (${o})`);
      }
    }
  }
  return [...region];
}
