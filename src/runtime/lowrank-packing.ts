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
import { DataType, toNumber, type ModelProto, type NodeProto } from '../onnx/proto.js';
import { zeroedView } from './feed-buffers.js';

export type LowRankKind = 'v' | 'u';

export interface LowRankLayout {
  inputs: Record<LowRankKind, string>;
  /** Per-site input name → its kind and slot. */
  slots: Map<string, { kind: LowRankKind; slot: number }>;
  sites: number;
  hidden: number;
}

function opset(model: ModelProto): number {
  const e = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return e ? toNumber(e.version) : 0;
}

/** Rewrites `model` in place (per-site low-rank inputs → Split outputs); undefined when no site has a map. */
export function packLowRankInputs(model: ModelProto, sites: readonly HookSiteInfo[], hidden: number, dtype: FloatDtype): LowRankLayout | undefined {
  const graph = model.graph;
  const withMap = sites.filter((s) => s.lowRank);
  if (!graph || withMap.length === 0) return undefined;
  const elemType = dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  const lists: Record<LowRankKind, string[]> = { v: withMap.map((s) => s.lowRank?.v ?? ''), u: withMap.map((s) => s.lowRank?.u ?? '') };
  const names = new Set([...lists.v, ...lists.u]);
  graph.input = graph.input.filter((v) => !names.has(v.name ?? ''));
  graph.initializer = graph.initializer.filter((t) => !names.has(t.name ?? ''));
  const layout: LowRankLayout = { inputs: { v: 'onnx_steer::packed_lowrank_v', u: 'onnx_steer::packed_lowrank_u' }, slots: new Map(), sites: withMap.length, hidden };
  const nodes: NodeProto[] = [];
  for (const kind of ['v', 'u'] as const) {
    const input = layout.inputs[kind];
    graph.input.push(makeValueInfo(input, elemType, [`packed_lowrank_${kind}_batch`, `packed_lowrank_${kind}_seq`, hidden, `packed_lowrank_${kind}_width`]));
    const node: NodeProto = { opType: 'Split', name: `onnx_steer/unpack_lowrank_${kind}`, input: [input], output: [...lists[kind]], attribute: [{ name: 'axis', type: 2, i: -1 }] };
    // Equal parts: opset 18 needs num_outputs; earlier opsets split equally when no sizes are given.
    if (opset(model) >= 18) node.attribute.push({ name: 'num_outputs', type: 2, i: lists[kind].length });
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
    this.zero = new ort.Tensor(dtype === 'float16' ? 'float16' : 'float32', dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n), [1, 1, layout.hidden, layout.sites]);
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
    let B = 1;
    let S = 1;
    let R = 0;
    for (const [, t] of list) {
      const [b = 1, s = 1, h = 0, r = 0] = t.dims;
      if (t.dims.length !== 4 || h !== H || r < 1) throw new InvalidArgumentError(`low-rank feed must be [batch|1, seq|1, ${H}, r ≥ 1], got [${t.dims.join(', ')}]`);
      if (R !== 0 && r !== R) throw new InvalidArgumentError('low-rank feeds of one step must share a rank (pad with zero columns)');
      R = r;
      if (b !== 1) { if (B !== 1 && B !== b) throw new InvalidArgumentError('low-rank feeds disagree on the batch size'); B = b; }
      if (s !== 1) { if (S !== 1 && S !== s) throw new InvalidArgumentError('low-rank feeds disagree on the number of positions'); S = s; }
    }
    const width = this.layout.sites * R;
    const size = B * S * H * width;
    const view = zeroedView(this.buffers, kind, size, this.dtype);
    for (const [slot, t] of list) {
      const [b = 1, s = 1] = t.dims;
      const src = t.data as Float32Array | Uint16Array;
      for (let bi = 0; bi < B; bi++) {
        for (let si = 0; si < S; si++) {
          const from = ((b === 1 ? 0 : bi) * s + (s === 1 ? 0 : si)) * H * R;
          const to = (bi * S + si) * H * width + slot * R;
          for (let h = 0; h < H; h++) view.set(src.subarray(from + h * R, from + (h + 1) * R), to + h * width);
        }
      }
    }
    return new ort.Tensor(this.dtype === 'float16' ? 'float16' : 'float32', view as Float32Array, [B, S, H, width]);
  }
}
