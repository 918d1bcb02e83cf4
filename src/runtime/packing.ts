/**
 * Packed hook inputs. A hooked graph has one steering and one ablation input
 * per site (and a gate per site when built norm-preserving): 180 inputs on a
 * 30-block model. Feeding that many tensors through onnxruntime-node costs
 * about a tenth of a decode step, so the session the runtime opens replaces
 * them with one packed input per kind, [batch|1, seq|1, sites × width], split
 * back into the per-site tensors by a single Split node. A kind with at most
 * {@link DIRECT_MAX} inputs (a fitted session's few steered sites) keeps them
 * as they are: a few feeds cost less than the Split and the copy into the
 * packed buffer. The file on disk keeps its per-site inputs; only the
 * in-memory session graph changes.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../errors.js';
import type { FloatDtype, HookSiteInfo } from '../hooks/manifest.js';
import { int64Tensor } from '../onnx/attributes.js';
import { makeValueInfo } from '../onnx/graph.js';
import { DataType, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { defaultOpset, dropInputs, feedExtent, scatterFeed, zeroFeed, zeroedView } from './feed-buffers.js';
import { LowRankPacker, packLowRankInputs, type LowRankLayout } from './lowrank-packing.js';

type Kind = 'steer' | 'ablate' | 'renorm';

interface PackedKind { input: string; names: string[]; width: number }

/** Kinds with at most this many per-site inputs are fed directly, unpacked. */
export const DIRECT_MAX = 4;

export interface PackLayout {
  kinds: Partial<Record<Kind, PackedKind>>;
  /** Per-site inputs fed as they are (kinds with at most DIRECT_MAX inputs): name → last-axis width. */
  direct: Map<string, number>;
  /** Per-site input name → its kind and slot in the packed input. */
  slots: Map<string, { kind: Kind; slot: number }>;
  /** The low-rank map's inputs, when sites have one (see lowrank-packing.ts). */
  lowRank?: LowRankLayout;
}

/** Rewrites `model` in place: per-site hook inputs become outputs of Split nodes over packed inputs. */
export function packHookInputs(model: ModelProto, sites: readonly HookSiteInfo[], hidden: number, dtype: FloatDtype): PackLayout {
  const graph = model.graph;
  if (!graph) throw new InvalidArgumentError('model has no graph');
  const elemType = dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  // Only inputs the graph still has (a specialised graph drops the kinds it does not use).
  const present = new Set(graph.input.map((v) => v.name ?? ''));
  const lists: Record<Kind, string[]> = {
    steer: sites.map((s) => s.steer).filter((n) => present.has(n)),
    ablate: sites.map((s) => s.ablate).filter((n) => present.has(n)),
    renorm: sites.flatMap((s) => (s.renorm ? [s.renorm] : [])).filter((n) => present.has(n)),
  };
  const layout: PackLayout = { kinds: {}, slots: new Map(), direct: new Map() };
  const packed = new Set<string>();
  const direct = new Set<string>();
  for (const kind of ['steer', 'ablate', 'renorm'] as const) {
    const width = kind === 'renorm' ? 1 : hidden;
    for (const n of lists[kind]) {
      if (lists[kind].length <= DIRECT_MAX) { direct.add(n); layout.direct.set(n, width); } else packed.add(n);
    }
  }
  dropInputs(graph, packed);
  // Direct inputs stay graph inputs; onnxruntime-node cannot feed an input that has an initializer.
  graph.initializer = graph.initializer.filter((t) => !direct.has(t.name ?? ''));
  const splitNodes: NodeProto[] = [];
  for (const kind of ['steer', 'ablate', 'renorm'] as const) {
    const names = lists[kind];
    if (names.length === 0 || names.length <= DIRECT_MAX) continue;
    const width = kind === 'renorm' ? 1 : hidden;
    const input = `onnx_steer::packed_${kind}`;
    graph.input.push(makeValueInfo(input, elemType, [`packed_${kind}_batch`, `packed_${kind}_seq`, names.length * width]));
    const sizes = new Array<number>(names.length).fill(width);
    const node: NodeProto = { opType: 'Split', name: `onnx_steer/unpack_${kind}`, input: [input], output: [...names], attribute: [] };
    if (defaultOpset(model) >= 13) {
      const splitName = `onnx_steer::split_${kind}`;
      graph.initializer.push(int64Tensor(splitName, [sizes.length], sizes));
      node.input.push(splitName);
      node.attribute.push({ name: 'axis', type: 2, i: -1 });
    } else {
      node.attribute.push({ name: 'axis', type: 2, i: -1 }, { name: 'split', type: 7, ints: sizes });
    }
    splitNodes.push(node);
    layout.kinds[kind] = { input, names, width };
    names.forEach((name, slot) => layout.slots.set(name, { kind, slot }));
  }
  // Split nodes first: every consumer comes later in topological order.
  graph.node.unshift(...splitNodes);
  const lowRank = packLowRankInputs(model, sites, hidden, dtype);
  if (lowRank) layout.lowRank = lowRank;
  return layout;
}

/**
 * Packs per-site hook feeds into the packed inputs, reusing one buffer per
 * kind and shape, and a shared zero tensor for kinds a step does not use.
 */
export class HookPacker {
  private readonly layout: PackLayout;
  private readonly dtype: FloatDtype;
  private readonly zeros = new Map<Kind, ort.Tensor>();
  private readonly directZeros = new Map<string, ort.Tensor>();
  private readonly buffers = new Map<Kind, Float32Array | Uint16Array>();
  private readonly lowRank: LowRankPacker | undefined;

  constructor(layout: PackLayout, dtype: FloatDtype) {
    this.layout = layout;
    this.dtype = dtype;
    this.lowRank = layout.lowRank ? new LowRankPacker(layout.lowRank, dtype) : undefined;
    for (const [kind, k] of Object.entries(layout.kinds) as [Kind, PackedKind][]) {
      const n = k.names.length * k.width;
      this.zeros.set(kind, zeroFeed(dtype, n, [1, 1, n]));
    }
    for (const [name, width] of layout.direct) this.directZeros.set(name, zeroFeed(dtype, width, [1, 1, width]));
  }

  has(name: string): boolean { return this.layout.slots.has(name) || this.layout.direct.has(name) || this.lowRank?.has(name) === true; }

  /** Packed feeds for a step, from per-site tensors ([b|1, s|1, width]). */
  pack(hookFeeds: Record<string, ort.Tensor> | undefined): Record<string, ort.Tensor> {
    const byKind = new Map<Kind, [number, ort.Tensor][]>();
    const lowRank: [string, ort.Tensor][] = [];
    const out: Record<string, ort.Tensor> = {};
    for (const [name, zero] of this.directZeros) out[name] = zero;
    for (const [name, t] of Object.entries(hookFeeds ?? {})) {
      if (this.lowRank?.has(name)) { lowRank.push([name, t]); continue; }
      const width = this.layout.direct.get(name);
      if (width !== undefined) {
        if (t.dims.length !== 3 || t.dims[2] !== width) throw new InvalidArgumentError(`hook feed for ${name} must be [batch|1, seq|1, ${width}], got [${t.dims.join(', ')}]`);
        out[name] = t;
        continue;
      }
      const slot = this.layout.slots.get(name);
      if (!slot) throw new InvalidArgumentError(`the model has no hook input named "${name}"`);
      let list = byKind.get(slot.kind);
      if (!list) { list = []; byKind.set(slot.kind, list); }
      list.push([slot.slot, t]);
    }
    for (const [kind, k] of Object.entries(this.layout.kinds) as [Kind, PackedKind][]) {
      const list = byKind.get(kind);
      out[k.input] = list ? this.packKind(kind, k, list) : (this.zeros.get(kind) as ort.Tensor);
    }
    if (this.lowRank) Object.assign(out, this.lowRank.pack(lowRank));
    return out;
  }

  private packKind(kind: Kind, k: PackedKind, list: [number, ort.Tensor][]): ort.Tensor {
    for (const [, t] of list) {
      if (t.dims[2] !== k.width || t.dims.length !== 3) throw new InvalidArgumentError(`hook feed for ${k.names[0] ?? kind} must be [batch|1, seq|1, ${k.width}], got [${t.dims.join(', ')}]`);
    }
    const { B, S } = feedExtent(list, 'hook feeds');
    const row = k.names.length * k.width;
    const size = B * S * row;
    const view = zeroedView(this.buffers, kind, size, this.dtype);
    for (const [slot, t] of list) scatterFeed(view, t, B, S, 1, k.width, row, slot * k.width);
    return new ort.Tensor(this.dtype === 'float16' ? 'float16' : 'float32', view as Float32Array, [B, S, row]);
  }
}

