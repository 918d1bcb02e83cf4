/**
 * Assembles the decoder graph (Optimum / transformers.js I/O convention) from
 * a normalised config, its family adapter and a weight source, streaming
 * weights to disk as each block is built, then inserts the hook sites on the
 * residual stream. Everything family-specific is read from the adapter's
 * block structure (`cfg.block`):
 *
 *   input_ids → Gather(embed) [· embeddingScale] [+ Gather(positions)] ─ resid_pre_0
 *   sequential: h_mid = h + [Norm ∘] Attn(Norm(h))          (Add: resid_mid_i)
 *               h_out = h_mid + [Norm ∘] MLP(Norm(h_mid))    (Add_1: resid_post_i)
 *   parallel:   h_out = h + (Attn(Norm(h)) + MLP(Norm'(h)))  (Add_1: resid_post_i; no resid_mid)
 *   Norm → Gemm(embed or lm_head, transB) [+ bias] [soft-cap] → logits
 *
 * The bracketed norms are Gemma2's sandwich norms; Norm' is the attention
 * norm itself unless the family has a separate MLP norm (NeoX).
 */
import { GraphEditor, makeValueInfo, emptyModel } from '../onnx/graph.js';
import { DataType, type ModelProto } from '../onnx/proto.js';
import { insertHookSite } from '../hooks/insert.js';
import { selectSites, siteName, type SiteSelection } from '../hooks/sites.js';
import type { CacheLayerNames, HookSiteInfo } from '../hooks/manifest.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import type { BlockTensors, DecoderConfig, FamilyAdapter, NormTensors, Tensor } from '../families/index.js';
import { AttentionBuilder, type AttentionKind } from './attention.js';
import type { WeightSource } from './checkpoint.js';
import type { EmbeddingPlan, ModelNames } from './layout.js';
import { GraphBuilder } from '../onnx/graph-builder.js';
import type { WeightWriter } from './weights.js';

export interface DecoderBuildOptions {
  attention: AttentionKind;
  sites: SiteSelection;
  normPreserving?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface DecoderGraph {
  model: ModelProto;
  sites: HookSiteInfo[];
  past: CacheLayerNames[];
  present: CacheLayerNames[];
}

export const IO = { inputIds: 'input_ids', attentionMask: 'attention_mask', positionIds: 'position_ids', logits: 'logits' } as const;

function tensorCount(t: BlockTensors): number {
  let n = 0;
  for (const v of Object.values(t) as (Tensor | NormTensors | undefined)[]) {
    if (!v) continue;
    n += 'data' in v ? 1 : 1 + (v.bias ? 1 : 0);
  }
  return n;
}

/** Number of weight tensors the build writes (for progress), given block 0's tensors. */
function weightCount(cfg: DecoderConfig, names: ModelNames, plan: EmbeddingPlan, first: BlockTensors): number {
  const globals = 1 + (names.positions ? 1 : 0) + 1 + (names.finalNormBias ? 1 : 0) + (plan.tied ? 0 : 1) + (names.headBias ? 1 : 0);
  const ropeTables = cfg.rope ? 2 : 0;
  return cfg.numLayers * tensorCount(first) + globals + ropeTables;
}

export function buildDecoder(cfg: DecoderConfig, adapter: FamilyAdapter, src: WeightSource, names: ModelNames, plan: EmbeddingPlan, writer: WeightWriter, options: DecoderBuildOptions): DecoderGraph {
  const model = emptyModel('onnx_steer_decoder', { name: LIBRARY_NAME, version: LIBRARY_VERSION });
  const editor = new GraphEditor(model);
  const first = adapter.blockTensors(cfg, src, names, 0);
  const total = weightCount(cfg, names, plan, first);
  let done = 0;
  const b = new GraphBuilder(editor, { weights: (name, dims, data) => writer.float(name, dims, data), onWeight: () => options.onProgress?.(++done, total) });
  const { hiddenSize: H, numKvHeads: nKV, headDim: hd, vocabSize: V, block } = cfg;

  editor.addInput(makeValueInfo(IO.inputIds, DataType.INT64, ['batch', 'sequence']));
  editor.addInput(makeValueInfo(IO.attentionMask, DataType.INT64, ['batch', 'total_sequence']));
  editor.addInput(makeValueInfo(IO.positionIds, DataType.INT64, ['batch', 'sequence']));
  const past: CacheLayerNames[] = [];
  const present: CacheLayerNames[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    past.push({ key: `past_key_values.${i}.key`, value: `past_key_values.${i}.value` });
    present.push({ key: `present.${i}.key`, value: `present.${i}.value` });
    for (const name of [`past_key_values.${i}.key`, `past_key_values.${i}.value`]) {
      editor.addInput(makeValueInfo(name, DataType.FLOAT, ['batch', nKV, 'past_sequence', hd]));
    }
  }
  editor.addOutput(makeValueInfo(IO.logits, DataType.FLOAT, ['batch', 'sequence', V]));
  for (const p of present) {
    editor.addOutput(makeValueInfo(p.key, DataType.FLOAT, ['batch', nKV, 'total_sequence', hd]));
    editor.addOutput(makeValueInfo(p.value, DataType.FLOAT, ['batch', nKV, 'total_sequence', hd]));
  }

  const weight = (t: Tensor): string => b.weight(t.name, t.dims, t.data);
  const normWeights = (n: NormTensors): { weight: string; bias?: string } => (n.bias ? { weight: weight(n.weight), bias: weight(n.bias) } : { weight: weight(n.weight) });
  const embedding = b.weight(plan.embedding, [V, H], src.read(plan.embedding));
  let embeds = b.op('Gather', [embedding, IO.inputIds], '/model/embed_tokens/Gather', { axis: 0 });
  if (block.embeddingScale !== 1) embeds = b.op('Mul', [embeds, b.f32(block.embeddingScale)], '/model/embed_tokens/Mul');
  if (names.positions) {
    const table = b.weight(names.positions, [cfg.maxPositions, H], src.read(names.positions));
    const pos = b.op('Gather', [table, IO.positionIds], '/model/embed_positions/Gather', { axis: 0 });
    embeds = b.op('Add', [embeds, pos], '/model/embed/Add');
  }
  const attention = new AttentionBuilder(b, cfg, options.attention, IO);
  const norm = (x: string, w: { weight: string; bias?: string }, hint: string): string =>
    block.norm === 'layer' ? b.layerNorm(x, w.weight, w.bias, cfg.normEps, hint) : b.rmsNorm(x, w.weight, cfg.normEps, hint);
  const mlp = (y: string, w: BlockTensors, p: string): string => {
    const hidden = b.linear(y, weight(w.mlpIn), w.mlpInBias && weight(w.mlpInBias), `${p}/mlp/in_proj`);
    const act = block.mlp === 'gated' ? b.gated(hidden, cfg.intermediateSize, block.activation, `${p}/mlp/act`) : b.activation(hidden, block.activation, `${p}/mlp/act`);
    return b.linear(act, weight(w.mlpOut), w.mlpOutBias && weight(w.mlpOutBias), `${p}/mlp/out_proj`);
  };

  const mids: string[] = [];
  const posts: string[] = [];
  let residual = embeds;
  for (let i = 0; i < cfg.numLayers; i++) {
    const w = i === 0 ? first : adapter.blockTensors(cfg, src, names, i);
    const p = `/model/layers.${i}`;
    const x = norm(residual, normWeights(w.attnNorm), `${p}/input_layernorm`);
    let attn = attention.layer({
      layer: i, x, qkvWeight: weight(w.qkv), qkvBias: w.qkvBias && weight(w.qkvBias), outWeight: weight(w.out), outBias: w.outBias && weight(w.outBias),
      qNorm: w.qNorm && weight(w.qNorm.weight), kNorm: w.kNorm && weight(w.kNorm.weight),
      pastKey: past[i]?.key ?? '', pastValue: past[i]?.value ?? '', presentKey: present[i]?.key ?? '', presentValue: present[i]?.value ?? '',
    });
    if (w.postAttnNorm) attn = norm(attn, normWeights(w.postAttnNorm), `${p}/post_attention_layernorm`);
    if (block.residual === 'parallel') {
      const y = w.mlpNorm ? norm(residual, normWeights(w.mlpNorm), `${p}/post_attention_layernorm`) : x;
      const both = b.op('Add', [attn, mlp(y, w, p)], `${p}/Add`);
      residual = b.op('Add', [residual, both], `${p}/Add_1`);
    } else {
      const mid = b.op('Add', [residual, attn], `${p}/Add`);
      const y = norm(mid, normWeights(w.mlpNorm ?? w.attnNorm), w.postMlpNorm ? `${p}/pre_feedforward_layernorm` : `${p}/post_attention_layernorm`);
      let down = mlp(y, w, p);
      if (w.postMlpNorm) down = norm(down, normWeights(w.postMlpNorm), `${p}/post_feedforward_layernorm`);
      residual = b.op('Add', [mid, down], `${p}/Add_1`);
      mids.push(mid);
    }
    posts.push(residual);
  }

  const finalData = src.read(names.finalNorm);
  if (block.normUnitOffset) for (let j = 0; j < finalData.length; j++) finalData[j] = (finalData[j] as number) + 1;
  const finalNorm: { weight: string; bias?: string } = { weight: b.weight(block.normUnitOffset ? `${names.finalNorm}_folded` : names.finalNorm, [H], finalData) };
  if (names.finalNormBias) finalNorm.bias = b.weight(names.finalNormBias, [H], src.read(names.finalNormBias));
  const normed = norm(residual, finalNorm, '/model/norm');
  const head = plan.tied ? embedding : b.weight(plan.head, [V, H], src.read(plan.head));
  const flat = b.op('Reshape', [normed, b.i64([-1, H])], '/lm_head/flatten');
  const gemmInputs = [flat, head];
  if (names.headBias) gemmInputs.push(b.weight(names.headBias, [V], src.read(names.headBias)));
  let logits2d = b.op('Gemm', gemmInputs, '/lm_head/Gemm', { transB: 1 });
  if (block.finalSoftcap !== undefined) logits2d = b.softcap(logits2d, block.finalSoftcap, '/lm_head/softcap');
  const batchSeq = b.op('Shape', [IO.inputIds], '/lm_head/batch_sequence');
  const logitsShape = b.op('Concat', [batchSeq, b.i64([V])], '/lm_head/shape', { axis: 0 });
  editor.addNode('Reshape', [logits2d, logitsShape], [IO.logits], {}, { name: '/lm_head/Reshape' });

  const sites = insertSites(editor, cfg, embeds, mids, posts, options.sites, options.normPreserving ?? false);
  editor.topologicalSort();
  return { model, sites, past, present };
}

/**
 * Inserts the selected hook sites. resid_pre of block i > 0 is the same
 * tensor as resid_post of block i − 1: the post hook goes in first and the
 * pre hook is attached to its capture, so both exist and chain.
 */
function insertSites(editor: GraphEditor, cfg: DecoderConfig, embeds: string, mids: string[], posts: string[], selection: SiteSelection, normPreserving: boolean): HookSiteInfo[] {
  const hasMid = cfg.block.residual === 'sequential';
  const wanted = new Set(selectSites(cfg.numLayers, hasMid, selection));
  const opts = (block: number) => ({ hiddenSize: cfg.hiddenSize, dtype: 'float32' as const, block, normPreserving });
  const inserted = new Map<string, HookSiteInfo>();
  const add = (tensor: string, block: number, site: string): string => {
    if (!wanted.has(site)) return tensor;
    const info = insertHookSite(editor, tensor, site, opts(block));
    inserted.set(site, info);
    return info.capture;
  };
  add(embeds, 0, siteName(0, 'hook_resid_pre'));
  for (let i = 0; i < cfg.numLayers; i++) {
    if (hasMid) add(mids[i] ?? '', i, siteName(i, 'hook_resid_mid'));
    const post = add(posts[i] ?? '', i, siteName(i, 'hook_resid_post'));
    if (i + 1 < cfg.numLayers) add(post, i + 1, siteName(i + 1, 'hook_resid_pre'));
  }
  return selectSites(cfg.numLayers, hasMid, selection).map((s) => inserted.get(s)).filter((s): s is HookSiteInfo => s !== undefined);
}
