/**
 * Assembles the decoder graph (Optimum / transformers.js I/O convention) from
 * a normalised config and a weight source, streaming weights to disk as each
 * block is built, then inserts the hook sites on the residual stream.
 *
 *   input_ids → Gather(embed) [+ Gather(positions)] ─ resid_pre_0
 *   per block: h_mid = h + Attn(Norm(h))       (Add: resid_mid_i)
 *              h_out = h_mid + MLP(Norm(h_mid)) (Add: resid_post_i)
 *   Norm → Gemm(embed or lm_head, transB) → logits
 *
 * Norm is RMSNorm (llama family) or LayerNorm (gpt2); the MLP is SwiGLU or GELU.
 */
import { GraphEditor, makeValueInfo, emptyModel } from '../onnx/graph.js';
import { DataType, type ModelProto } from '../onnx/proto.js';
import { insertHookSite } from '../hooks/insert.js';
import { selectSites, siteName, type SiteSelection } from '../hooks/sites.js';
import type { CacheLayerNames, HookSiteInfo } from '../hooks/manifest.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import { AttentionBuilder, type AttentionKind } from './attention.js';
import type { WeightSource } from './checkpoint.js';
import type { DecoderConfig } from './config.js';
import type { NormWeights } from './family.js';
import { GPT2_BLOCK_TENSORS, gpt2Block } from './gpt2.js';
import type { EmbeddingPlan, ModelNames } from './layout.js';
import { llamaBlock, llamaBlockTensorCount } from './llama.js';
import { GraphBuilder } from './ops.js';
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

/** Number of weight tensors the build writes (for progress). */
function weightCount(cfg: DecoderConfig, names: ModelNames, plan: EmbeddingPlan): number {
  const perBlock = cfg.family === 'gpt2' ? GPT2_BLOCK_TENSORS : llamaBlockTensorCount(cfg);
  const globals = 1 + (names.positions ? 1 : 0) + 1 + (names.finalNormBias ? 1 : 0) + (plan.tied ? 0 : 1);
  const ropeTables = cfg.rope ? 2 : 0;
  return cfg.numLayers * perBlock + globals + ropeTables;
}

export function buildDecoder(cfg: DecoderConfig, src: WeightSource, names: ModelNames, plan: EmbeddingPlan, writer: WeightWriter, options: DecoderBuildOptions): DecoderGraph {
  const model = emptyModel('onnx_steer_decoder', { name: LIBRARY_NAME, version: LIBRARY_VERSION });
  const editor = new GraphEditor(model);
  const total = weightCount(cfg, names, plan);
  let done = 0;
  const b = new GraphBuilder(editor, writer, () => options.onProgress?.(++done, total));
  const { hiddenSize: H, numKvHeads: nKV, headDim: hd, vocabSize: V } = cfg;

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

  const embedding = b.weight(plan.embedding, [V, H], src.read(plan.embedding));
  let embeds = b.op('Gather', [embedding, IO.inputIds], '/model/embed_tokens/Gather', { axis: 0 });
  if (names.positions) {
    const table = b.weight(names.positions, [cfg.maxPositions, H], src.read(names.positions));
    const pos = b.op('Gather', [table, IO.positionIds], '/model/embed_positions/Gather', { axis: 0 });
    embeds = b.op('Add', [embeds, pos], '/model/embed/Add');
  }
  const attention = new AttentionBuilder(b, cfg, options.attention, IO);
  const norm = (x: string, w: NormWeights, hint: string): string =>
    cfg.family === 'gpt2' ? b.layerNorm(x, w.weight, w.bias, cfg.normEps, hint) : b.rmsNorm(x, w.weight, cfg.normEps, hint);

  const mids: string[] = [];
  const posts: string[] = [];
  let residual = embeds;
  for (let i = 0; i < cfg.numLayers; i++) {
    const w = cfg.family === 'gpt2' ? gpt2Block(cfg, src, names, b, i) : llamaBlock(cfg, src, names, b, i);
    const p = `/model/layers.${i}`;
    const x = norm(residual, w.norm1, `${p}/input_layernorm`);
    const attn = attention.layer({
      layer: i, x, qkvWeight: w.qkv, qkvBias: w.qkvBias, outWeight: w.out, outBias: w.outBias,
      pastKey: past[i]?.key ?? '', pastValue: past[i]?.value ?? '', presentKey: present[i]?.key ?? '', presentValue: present[i]?.value ?? '',
    });
    const mid = b.op('Add', [residual, attn], `${p}/Add`);
    const y = norm(mid, w.norm2, `${p}/post_attention_layernorm`);
    const hidden = b.linear(y, w.mlpIn, w.mlpInBias, `${p}/mlp/in_proj`);
    const act = cfg.activation === 'silu' ? b.swiglu(hidden, cfg.intermediateSize, `${p}/mlp/act`) : b.gelu(hidden, cfg.activation === 'gelu_tanh', `${p}/mlp/act`);
    const down = b.linear(act, w.mlpOut, w.mlpOutBias, `${p}/mlp/out_proj`);
    residual = b.op('Add', [mid, down], `${p}/Add_1`);
    mids.push(mid);
    posts.push(residual);
  }

  const finalNorm: NormWeights = { weight: b.weight(names.finalNorm, [H], src.read(names.finalNorm)) };
  if (names.finalNormBias) finalNorm.bias = b.weight(names.finalNormBias, [H], src.read(names.finalNormBias));
  const normed = norm(residual, finalNorm, '/model/norm');
  const head = plan.tied ? embedding : b.weight(plan.head, [V, H], src.read(plan.head));
  const flat = b.op('Reshape', [normed, b.i64([-1, H])], '/lm_head/flatten');
  const logits2d = b.op('Gemm', [flat, head], '/lm_head/Gemm', { transB: 1 });
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
  const wanted = new Set(selectSites(cfg.numLayers, true, selection));
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
    add(mids[i] ?? '', i, siteName(i, 'hook_resid_mid'));
    const post = add(posts[i] ?? '', i, siteName(i, 'hook_resid_post'));
    if (i + 1 < cfg.numLayers) add(post, i + 1, siteName(i + 1, 'hook_resid_pre'));
  }
  return selectSites(cfg.numLayers, true, selection).map((s) => inserted.get(s)).filter((s): s is HookSiteInfo => s !== undefined);
}
