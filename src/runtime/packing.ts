/**
 * Packed hook inputs. A hooked graph has one steering and one ablation input
 * per site (and a gate per site when built norm-preserving): 180 inputs on a
 * 30-block model. Feeding that many tensors through onnxruntime-node costs
 * about a tenth of a decode step, so the session the runtime opens replaces
 * them with one packed input per kind, [batch|1, seq|1, sites × width], split
 * back into the per-site tensors by a single Split node. The file on disk
 * keeps its per-site inputs; only the in-memory session graph changes.
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

export interface PackLayout {
  kinds: Partial<Record<Kind, PackedKind>>;
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
  const hookNames = new Set([...lists.steer, ...lists.ablate, ...lists.renorm]);
  dropInputs(graph, hookNames);
  const layout: PackLayout = { kinds: {}, slots: new Map() };
  const splitNodes: NodeProto[] = [];
  for (const kind of ['steer', 'ablate', 'renorm'] as const) {
    const names = lists[kind];
    if (names.length === 0) continue;
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
  }

  has(name: string): boolean { return this.layout.slots.has(name) || this.lowRank?.has(name) === true; }

  /** Packed feeds for a step, from per-site tensors ([b|1, s|1, width]). */
  pack(hookFeeds: Record<string, ort.Tensor> | undefined): Record<string, ort.Tensor> {
    const byKind = new Map<Kind, [number, ort.Tensor][]>();
    const lowRank: [string, ort.Tensor][] = [];
    for (const [name, t] of Object.entries(hookFeeds ?? {})) {
      if (this.lowRank?.has(name)) { lowRank.push([name, t]); continue; }
      const slot = this.layout.slots.get(name);
      if (!slot) throw new InvalidArgumentError(`the model has no hook input named "${name}"`);
      let list = byKind.get(slot.kind);
      if (!list) { list = []; byKind.set(slot.kind, list); }
      list.push([slot.slot, t]);
    }
    const out: Record<string, ort.Tensor> = {};
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

