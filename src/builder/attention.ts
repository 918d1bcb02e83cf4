/**
 * The two attention implementations a built decoder can use. Both read the
 * packed q|k|v projection and write `present.{i}.key/value` in BNSH layout.
 *
 * - `standard`: MatMul/Softmax attention in default-domain ops. One additive
 *   mask [batch, 1, group·seq, total] is computed per run from attention_mask
 *   (any padding, including left) and causality; RoPE gathers precomputed
 *   cos/sin rows by position_ids. Query heads sharing a KV head are folded
 *   into the sequence axis, so K/V are never repeated.
 * - `gqa`: com.microsoft GroupQueryAttention, with seqlens_k =
 *   ReduceSum(attention_mask) − 1 and total_sequence_length as int32, RoPE
 *   fused in the kernel (do_rotary with cos/sin caches, positions derived
 *   from the lengths; position_ids unused) when the head size allows it
 *   (multiple of 16), else applied with the same ops as `standard`.
 *   GroupQueryAttention derives key validity from per-row lengths, so batched
 *   prompts must be right-padded, and the kernel rejects batch > 1 with more
 *   than one new token over a non-empty cache.
 *
 * Models with learned positions (GPT-2) skip RoPE in both variants. Sliding
 * windows (Mistral, Qwen2 layer types) give each query the last `window`
 * keys, as in transformers.
 *
 * The softmax scale is folded into the q projection weights (or, for
 * families that norm q and k per head, into the q norm weight) by the
 * adapters, so both variants use scale 1. Per-head q/k RMSNorms (Qwen3) are
 * applied to the packed projection before rotary; attention-logit
 * soft-capping (Gemma2) is cap·tanh(scores/cap) before the mask, or the
 * kernel's `softcap` attribute.
 */
import { DataType } from '../onnx/proto.js';
import { UnsupportedArchitectureError } from '../errors.js';
import type { DecoderConfig } from '../families/index.js';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { ropeTables } from './rope.js';

export type AttentionKind = 'standard' | 'gqa';

export interface AttentionInputs { inputIds: string; attentionMask: string; positionIds: string }

export interface LayerAttention {
  layer: number;
  /** Normalised hidden states [batch, seq, hidden]. */
  x: string;
  qkvWeight: string;
  qkvBias?: string;
  outWeight: string;
  outBias?: string;
  /** Per-head RMSNorm weights [head_dim] on q (scale folded in) and k. */
  qNorm?: string;
  kNorm?: string;
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
}

const MASK_MIN = -3.4028234663852886e38;
const MS_DOMAIN = 'com.microsoft';

export function gqaSupported(cfg: DecoderConfig): boolean {
  return cfg.headDim % 8 === 0;
}

export class AttentionBuilder {
  private readonly b: GraphBuilder;
  private readonly cfg: DecoderConfig;
  readonly kind: AttentionKind;
  private readonly io: AttentionInputs;
  private readonly masks = new Map<number, string>();
  private rope?: { cos: string; sin: string };
  private gqaCaches?: { cos: string; sin: string };
  private lengths?: { seqlensK: string; total: string };
  private shapes?: { total: string; past: string; totalScalar: string; pastScalar: string };

  constructor(b: GraphBuilder, cfg: DecoderConfig, kind: AttentionKind, io: AttentionInputs) {
    if (kind === 'gqa' && !gqaSupported(cfg)) {
      throw new UnsupportedArchitectureError(`attention=gqa needs a head size that is a multiple of 8 (this model has ${cfg.headDim}); use attention=standard`);
    }
    this.b = b;
    this.cfg = cfg;
    this.kind = kind;
    this.io = io;
    if (kind === 'gqa') b.editor.ensureOpset(MS_DOMAIN, 1);
  }

  /** Attention output after o_proj, [batch, seq, hidden]. */
  layer(spec: LayerAttention): string {
    const p = `/model/layers.${spec.layer}/self_attn`;
    let qkv = this.b.linear(spec.x, spec.qkvWeight, spec.qkvBias, `${p}/qkv_proj`);
    if (spec.qNorm && spec.kNorm) qkv = this.normQk(qkv, spec.qNorm, spec.kNorm, p);
    const ctx = this.kind === 'gqa' ? this.gqa(spec, qkv, p) : this.standard(spec, qkv, p);
    return this.b.linear(ctx, spec.outWeight, spec.outBias, `${p}/o_proj`);
  }

  /** RMSNorm over each q and k head of the packed projection; returns the packed [batch, seq, width] again. */
  private normQk(qkv: string, qNorm: string, kNorm: string, p: string): string {
    const { numHeads: nH, numKvHeads: nKV, headDim: hd, normEps } = this.cfg;
    const qkv4 = this.b.op('Reshape', [qkv, this.b.i64([0, 0, nH + 2 * nKV, hd])], `${p}/qkv_heads`);
    const [q, k, v] = this.b.split(qkv4, [nH, nKV, nKV], 2, `${p}/qk_norm`, ['q', 'k', 'v']) as [string, string, string];
    const qn = this.b.rmsNorm(q, qNorm, normEps, `${p}/q_norm`);
    const kn = this.b.rmsNorm(k, kNorm, normEps, `${p}/k_norm`);
    const joined = this.b.op('Concat', [qn, kn, v], `${p}/qkv_normed`, { axis: 2 });
    return this.b.op('Reshape', [joined, this.b.i64([0, 0, -1])], `${p}/qkv_normed_flat`);
  }

  private get usesFusedRotary(): boolean {
    return this.kind === 'gqa' && this.cfg.rope !== undefined && this.cfg.headDim % 16 === 0;
  }

  /** [batch, seq, nH+2nKV, hd] → rotary (if the model uses it) on the q|k heads; returns [qk, v]. */
  private rotaryQk(qkv: string, p: string): [string, string] {
    const { numHeads: nH, numKvHeads: nKV, headDim: hd } = this.cfg;
    const qkv4 = this.b.op('Reshape', [qkv, this.b.i64([0, 0, nH + 2 * nKV, hd])], `${p}/qkv4`);
    const [qk, v] = this.b.split(qkv4, [nH + nKV, nKV], 2, p, ['qk', 'v']) as [string, string];
    if (!this.cfg.rope) return [qk, v];
    const { cos, sin } = this.ropeRows();
    return [this.b.rotary(qk, cos, sin, hd, `${p}/rotary`), v];
  }

  private standard(spec: LayerAttention, qkv: string, p: string): string {
    const { numHeads: nH, numKvHeads: nKV, headDim: hd } = this.cfg;
    const group = nH / nKV;
    const [qk, v] = this.rotaryQk(qkv, p);
    const [q, k] = this.b.split(qk, [nH, nKV], 2, p, ['q', 'k']) as [string, string];
    const perm = { ints: [0, 2, 1, 3] };
    const qT = this.b.op('Transpose', [q], `${p}/q_bnsh`, { perm });
    const kT = this.b.op('Transpose', [k], `${p}/k_bnsh`, { perm });
    const vT = this.b.op('Transpose', [v], `${p}/v_bnsh`, { perm });
    const e = this.b.editor;
    e.addNode('Concat', [spec.pastKey, kT], [spec.presentKey], { axis: 2 }, { name: `${p}/present_key` });
    e.addNode('Concat', [spec.pastValue, vT], [spec.presentValue], { axis: 2 }, { name: `${p}/present_value` });
    const qG = group > 1 ? this.b.op('Reshape', [qT, this.b.i64([0, nKV, -1, hd])], `${p}/q_grouped`) : qT;
    const kTT = this.b.op('Transpose', [spec.presentKey], `${p}/k_t`, { perm: { ints: [0, 1, 3, 2] } });
    const scores = this.b.op('MatMul', [qG, kTT], `${p}/scores`);
    const capped = this.cfg.block.attnSoftcap !== undefined ? this.b.softcap(scores, this.cfg.block.attnSoftcap, `${p}/softcap`) : scores;
    const masked = this.b.op('Add', [capped, this.mask(this.cfg.slidingWindow[spec.layer])], `${p}/masked`);
    const probs = this.b.op('Softmax', [masked], `${p}/probs`, { axis: -1 });
    const ctx = this.b.op('MatMul', [probs, spec.presentValue], `${p}/context`);
    const ctx4 = group > 1 ? this.b.op('Reshape', [ctx, this.b.i64([0, nH, -1, hd])], `${p}/context_heads`) : ctx;
    const ctxT = this.b.op('Transpose', [ctx4], `${p}/context_bsnh`, { perm });
    return this.b.op('Reshape', [ctxT, this.b.i64([0, 0, nH * hd])], `${p}/context_flat`);
  }

  private gqa(spec: LayerAttention, qkv: string, p: string): string {
    const { numHeads: nH, numKvHeads: nKV } = this.cfg;
    const { seqlensK, total } = this.seqLengths();
    let packed = qkv;
    let cos = '';
    let sin = '';
    if (this.usesFusedRotary) {
      ({ cos, sin } = this.cosSinCaches());
    } else if (this.cfg.rope) {
      const [qkr, v] = this.rotaryQk(qkv, p);
      const joined = this.b.op('Concat', [qkr, v], `${p}/qkv_rotated`, { axis: 2 });
      packed = this.b.op('Reshape', [joined, this.b.i64([0, 0, -1])], `${p}/qkv_packed`);
    }
    const out = this.b.editor.uniqueName(`${p}/gqa_output`);
    const window = this.cfg.slidingWindow[spec.layer];
    this.b.editor.addNode(
      'GroupQueryAttention',
      [packed, '', '', spec.pastKey, spec.pastValue, seqlensK, total, cos, sin],
      [out, spec.presentKey, spec.presentValue],
      {
        num_heads: nH,
        kv_num_heads: nKV,
        scale: { float: 1 },
        do_rotary: this.usesFusedRotary ? 1 : 0,
        rotary_interleaved: 0,
        ...(window !== undefined ? { local_window_size: window } : {}),
        ...(this.cfg.block.attnSoftcap !== undefined ? { softcap: { float: this.cfg.block.attnSoftcap } } : {}),
      },
      { domain: MS_DOMAIN, name: `${p}/GroupQueryAttention` },
    );
    return out;
  }

  /** total and past lengths as [1] vectors and scalars, computed once. */
  private lengthsFromShapes(): { total: string; past: string; totalScalar: string; pastScalar: string } {
    if (this.shapes) return this.shapes;
    const b = this.b;
    const total = b.op('Shape', [this.io.attentionMask], '/model/total_length', { start: 1, end: 2 });
    const seq = b.op('Shape', [this.io.inputIds], '/model/sequence_length', { start: 1, end: 2 });
    const past = b.op('Sub', [total, seq], '/model/past_length');
    const axes0 = b.i64([0]);
    const totalScalar = b.op('Squeeze', [total, axes0], '/model/total_length_scalar');
    const pastScalar = b.op('Squeeze', [past, axes0], '/model/past_length_scalar');
    this.shapes = { total, past, totalScalar, pastScalar };
    return this.shapes;
  }

  /** Additive float mask [batch, 1, group·seq, total]: 0 where visible, float min elsewhere. */
  private mask(window: number | undefined): string {
    const key = window ?? 0;
    const hit = this.masks.get(key);
    if (hit) return hit;
    const b = this.b;
    const tag = window === undefined ? '' : `_window${window}`;
    const { totalScalar, pastScalar } = this.lengthsFromShapes();
    const zero = b.i64([0], []);
    const one = b.i64([1], []);
    const kpos = b.op('Range', [zero, totalScalar, one], '/model/mask/key_positions');
    const qpos = b.op('Range', [pastScalar, totalScalar, one], '/model/mask/query_positions');
    const kRow = b.op('Unsqueeze', [kpos, b.i64([0])], '/model/mask/key_row');
    const qCol = b.op('Unsqueeze', [qpos, b.i64([1])], '/model/mask/query_col');
    let allowed = b.op('LessOrEqual', [kRow, qCol], `/model/mask/causal${tag}`);
    if (window !== undefined) {
      const lowest = b.op('Sub', [qCol, b.i64([window], [])], `/model/mask/window_start${tag}`);
      const inWindow = b.op('Greater', [kRow, lowest], `/model/mask/in_window${tag}`);
      allowed = b.op('And', [allowed, inWindow], `/model/mask/sliding${tag}`);
    }
    const padBool = b.op('Cast', [this.io.attentionMask], `/model/mask/padding_bool${tag}`, { to: DataType.BOOL });
    const pad4 = b.op('Unsqueeze', [padBool, b.i64([1, 2])], `/model/mask/padding${tag}`);
    const both = b.op('And', [allowed, pad4], `/model/mask/allowed${tag}`);
    let additive = b.op('Where', [both, b.f32(0), b.f32(MASK_MIN)], `/model/mask/additive${tag}`);
    const group = this.cfg.numHeads / this.cfg.numKvHeads;
    if (group > 1) additive = b.op('Tile', [additive, b.i64([1, 1, group, 1])], `/model/mask/grouped${tag}`);
    this.masks.set(key, additive);
    return additive;
  }

  /** cos and signed sin rows for position_ids, [batch, seq, 1, head_dim]. */
  private ropeRows(): { cos: string; sin: string } {
    if (this.rope) return this.rope;
    const { headDim: hd, maxPositions, rope } = this.cfg;
    if (!rope) throw new UnsupportedArchitectureError('this attention needs rotary embeddings, and the model config declares none');
    const t = ropeTables(rope, hd, maxPositions, { half: false, full: true });
    const b = this.b;
    const cosTable = b.weight('model.rotary_emb.cos', [maxPositions, hd], t.cosFull as Float32Array);
    const sinTable = b.weight('model.rotary_emb.sin_signed', [maxPositions, hd], t.sinSigned as Float32Array);
    const axes = b.i64([2]);
    const cos = b.op('Unsqueeze', [b.op('Gather', [cosTable, this.io.positionIds], '/model/rotary_emb/cos_rows', { axis: 0 }), axes], '/model/rotary_emb/cos');
    const sin = b.op('Unsqueeze', [b.op('Gather', [sinTable, this.io.positionIds], '/model/rotary_emb/sin_rows', { axis: 0 }), axes], '/model/rotary_emb/sin');
    this.rope = { cos, sin };
    return this.rope;
  }

  /** GroupQueryAttention cos/sin caches, [max_positions, head_dim/2]. */
  private cosSinCaches(): { cos: string; sin: string } {
    if (this.gqaCaches) return this.gqaCaches;
    const { headDim: hd, maxPositions, rope } = this.cfg;
    if (!rope) throw new UnsupportedArchitectureError('this attention needs rotary embeddings, and the model config declares none');
    const t = ropeTables(rope, hd, maxPositions, { half: true, full: false });
    const cos = this.b.weight('model.rotary_emb.cos_cache', [maxPositions, hd / 2], t.cosHalf as Float32Array);
    const sin = this.b.weight('model.rotary_emb.sin_cache', [maxPositions, hd / 2], t.sinHalf as Float32Array);
    this.gqaCaches = { cos, sin };
    return this.gqaCaches;
  }

  /** seqlens_k (int32 [batch]) and total_sequence_length (int32 scalar) for GroupQueryAttention. */
  private seqLengths(): { seqlensK: string; total: string } {
    if (this.lengths) return this.lengths;
    const b = this.b;
    const sum = b.op('ReduceSum', [this.io.attentionMask, b.i64([1])], '/model/gqa/valid_lengths', { keepdims: 0 });
    const last = b.op('Sub', [sum, b.i64([1], [])], '/model/gqa/seqlens_k_i64');
    const seqlensK = b.op('Cast', [last], '/model/gqa/seqlens_k', { to: DataType.INT32 });
    const total = b.op('Cast', [this.lengthsFromShapes().totalScalar], '/model/gqa/total_sequence_length', { to: DataType.INT32 });
    this.lengths = { seqlensK, total };
    return this.lengths;
  }
}
