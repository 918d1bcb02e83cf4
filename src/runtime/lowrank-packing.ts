/**
 * Packed low-rank inputs. Sites with a low-rank map (hooks/lowrank.ts) have
 * two inputs each, V and U, [batch|1, seq|1, hidden, r]. Like the other hook
 * inputs they are fed as one packed tensor per kind, [B, S, hidden, sites·r],
 * which one Split node (equal parts on the last axis) cuts back into the
 * per-site tensors, so every site of a step shares one rank r: a site given
 * a smaller rank, or none, gets zero columns, which contribute exactly 0.
 * A step that uses no low-rank map feeds a shared zero tensor of rank 1.
 */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../errors.js';
import type { FloatDtype, HookSiteInfo } from '../hooks/manifest.js';
import { makeValueInfo } from '../onnx/graph.js';
import { DataType, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { defaultOpset, dropInputs, feedExtent, scatterFeed, zeroFeed, zeroedView } from './feed-buffers.js';

export type LowRankKind = 'v' | 'u';

export interface LowRankLayout {
  inputs: Record<LowRankKind, string>;
  /** Per-site input name → its kind and slot. */
  slots: Map<string, { kind: LowRankKind; slot: number }>;
  sites: number;
  hidden: number;
}

/** Rewrites `model` in place (per-site low-rank inputs → Split outputs); undefined when no site has a map. */
export function packLowRankInputs(model: ModelProto, sites: readonly HookSiteInfo[], hidden: number, dtype: FloatDtype): LowRankLayout | undefined {
  const graph = model.graph;
  const withMap = sites.filter((s) => s.lowRank);
  if (!graph || withMap.length === 0) return undefined;
  const elemType = dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  const lists: Record<LowRankKind, string[]> = { v: withMap.map((s) => s.lowRank?.v ?? ''), u: withMap.map((s) => s.lowRank?.u ?? '') };
  const names = new Set([...lists.v, ...lists.u]);
  dropInputs(graph, names);
  const layout: LowRankLayout = { inputs: { v: 'onnx_steer::packed_lowrank_v', u: 'onnx_steer::packed_lowrank_u' }, slots: new Map(), sites: withMap.length, hidden };
  const nodes: NodeProto[] = [];
  for (const kind of ['v', 'u'] as const) {
    const input = layout.inputs[kind];
    graph.input.push(makeValueInfo(input, elemType, [`packed_lowrank_${kind}_batch`, `packed_lowrank_${kind}_seq`, hidden, `packed_lowrank_${kind}_width`]));
    const node: NodeProto = { opType: 'Split', name: `onnx_steer/unpack_lowrank_${kind}`, input: [input], output: [...lists[kind]], attribute: [{ name: 'axis', type: 2, i: -1 }] };
    // Equal parts: opset 18 needs num_outputs; earlier opsets split equally when no sizes are given.
    if (defaultOpset(model) >= 18) node.attribute.push({ name: 'num_outputs', type: 2, i: lists[kind].length });
    nodes.push(node);
    lists[kind].forEach((name, slot) => layout.slots.set(name, { kind, slot }));
  }
  graph.node.unshift(...nodes);
  return layout;
}

/** Packs per-site V/U feeds ([b|1, s|1, hidden, r], one r per step) into the two packed inputs. */
export class LowRankPacker {
  private readonly layout: LowRankLayout;
  private readonly dtype: FloatDtype;
  private readonly zero: ort.Tensor;
  private readonly buffers = new Map<LowRankKind, Float32Array | Uint16Array>();

  constructor(layout: LowRankLayout, dtype: FloatDtype) {
    this.layout = layout;
    this.dtype = dtype;
    const n = layout.hidden * layout.sites;
    this.zero = zeroFeed(dtype, n, [1, 1, layout.hidden, layout.sites]);
  }

  has(name: string): boolean { return this.layout.slots.has(name); }

  pack(feeds: readonly [string, ort.Tensor][]): Record<string, ort.Tensor> {
    const byKind: Record<LowRankKind, [number, ort.Tensor][]> = { v: [], u: [] };
    for (const [name, t] of feeds) {
      const slot = this.layout.slots.get(name);
      if (!slot) throw new InvalidArgumentError(`the model has no low-rank input named "${name}"`);
      byKind[slot.kind].push([slot.slot, t]);
    }
    const out: Record<string, ort.Tensor> = {};
    for (const kind of ['v', 'u'] as const) {
      const list = byKind[kind];
      out[this.layout.inputs[kind]] = list.length === 0 ? this.zero : this.packKind(kind, list);
    }
    return out;
  }

  private packKind(kind: LowRankKind, list: [number, ort.Tensor][]): ort.Tensor {
    const H = this.layout.hidden;
    let R = 0;
    for (const [, t] of list) {
      const [, , h = 0, r = 0] = t.dims;
      if (t.dims.length !== 4 || h !== H || r < 1) throw new InvalidArgumentError(`low-rank feed must be [batch|1, seq|1, ${H}, r ≥ 1], got [${t.dims.join(', ')}]`);
      if (R !== 0 && r !== R) throw new InvalidArgumentError('low-rank feeds of one step must share a rank (pad with zero columns)');
      R = r;
    }
    const { B, S } = feedExtent(list, 'low-rank feeds');
    const width = this.layout.sites * R;
    const size = B * S * H * width;
    const view = zeroedView(this.buffers, kind, size, this.dtype);
    for (const [slot, t] of list) scatterFeed(view, t, B, S, H, R, width, slot * R);
    return new ort.Tensor(this.dtype === 'float16' ? 'float16' : 'float32', view as Float32Array, [B, S, H, width]);
  }
}
