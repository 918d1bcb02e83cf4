/**
 * Analysis of a decoder graph: its residual stream, KV cache, inputs and
 * outputs, with a verdict on whether it can be instrumented and why not.
 * Nothing here modifies the graph.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GraphEditor } from '../onnx/graph.js';
import { AttributeType, type GraphProto, type NodeProto } from '../onnx/proto.js';
import { dtypeOfElemType } from '../hooks/insert.js';
import { parseSiteName, siteName } from '../hooks/sites.js';
import type { CacheLayout, FloatDtype } from '../hooks/manifest.js';
import { analyzeCache, type CacheInfo } from './cache-layout.js';
import { describeStart, findResidualAdds, longestChain, type ResidualAdd, type ResidualChain } from './detect.js';
import { DtypeInference } from './dtypes.js';
import { analyzeSignature, type GraphSignature } from './signature.js';
import { findAdapter, resolveArchitecture, type Json, type ResidualKind } from '../families/index.js';

export interface ResidualSiteReport { site: string; tensor: string; how: string }

export interface InstrumentReport {
  instrumentable: boolean;
  reason?: string;
  producer: string;
  architecture: string;
  numBlocks: number;
  hiddenSize?: number;
  dtype?: FloatDtype;
  residuals: ResidualSiteReport[];
  cache?: CacheLayout;
  inputs: Omit<GraphSignature, 'logits' | 'lastHidden' | 'vocabSize'>;
  outputs: { logits?: string; lastHidden?: string; vocabSize?: number };
}

/** Everything instrumentation needs, for a graph that passed analysis. */
export interface Analysis {
  chain: ResidualChain;
  cache: CacheInfo;
  signature: GraphSignature;
  hiddenSize: number;
  dtype: FloatDtype;
  numBlocks: number;
  /** Sequential blocks have two residual adds (mid, post); parallel blocks one (post). */
  residual: ResidualKind;
  /** Optimum's merged decoder: the `If` on use_cache_branch and each branch's own analysis (see merged.ts). */
  merged?: { node: NodeProto; condition: string; branches: { graph: GraphProto; analysis: Analysis }[] };
  /** The EmbedLayerNormalization node producing block 0's input, if any. */
  embedNode?: NodeProto;
  report: InstrumentReport;
}

/** A failed analysis; `dtypeProblem` when only the residual's element type is unsupported. */
export type AnalysisResult = { ok: true; analysis: Analysis } | { ok: false; report: InstrumentReport; dtypeProblem?: boolean };

/** Generation loops that hold the decoder as a graph attribute. */
const SUBGRAPH_GENERATORS = new Set(['BeamSearch', 'GreedySearch', 'Sampling', 'WhisperBeamSearch']);

const NOTABLE_OPS = [
  'EmbedLayerNormalization', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'SimplifiedLayerNormalization',
  'RMSNormalization', 'LayerNormalization', 'GroupQueryAttention', 'MultiHeadAttention', 'Attention', 'RotaryEmbedding',
  'MatMulNBits', 'MatMulInteger', 'TensorScatter', 'FastGelu', 'Gemm',
];

function count(n: number, what: string, words = false): string {
  const number = words && n === 1 ? 'one' : String(n);
  return `${number} ${what}${n === 1 ? '' : 's'}`;
}

function opLabel(n: NodeProto): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType ?? '?'}` : (n.opType ?? '?');
}

function opSummary(editor: GraphEditor, limit = 6): string {
  const counts = new Map<string, number>();
  for (const n of editor.graph.node) counts.set(opLabel(n), (counts.get(opLabel(n)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([k, v]) => `${k}×${v}`).join(', ');
}

function subgraphReason(editor: GraphEditor): string | undefined {
  const holders = editor.graph.node.filter((n) => n.attribute.some((a) => a.type === AttributeType.GRAPH || a.type === AttributeType.GRAPHS || !!a.g));
  if (holders.length === 0) return undefined;
  const generators = holders.filter((n) => SUBGRAPH_GENERATORS.has(n.opType ?? ''));
  const list = generators.length > 0 ? generators : holders;
  const first = list[0] as NodeProto;
  const attrs = first.attribute.filter((a) => a.g || (a.graphs && a.graphs.length > 0)).map((a) => `"${a.name ?? ''}"`).join(', ');
  const kinds = [...new Set(list.map(opLabel))].join('/');
  const role = generators.length > 0 ? 'whose decoder is a subgraph' : 'holding subgraphs';
  return `found ${count(list.length, `${kinds} node`, true)} ${role} (graph attribute ${attrs}) and no residual stream in the main graph; ` +
    'subgraphs are not instrumented: export the decoder as a standalone graph with a KV cache and instrument that';
}

/** Hidden size from the embedding table behind `tensor`, or from a fused norm's gamma. */
function hiddenSizeOf(editor: GraphEditor, tensor: string, chain: readonly ResidualAdd[], depth = 4): number | undefined {
  const p = editor.producer(tensor);
  if (p && depth > 0) {
    const op = p.opType ?? '';
    const table = (name: string | undefined): number | undefined => {
      const t = name ? editor.initializer(name) : undefined;
      const d = t && t.dims.length === 2 ? Number(t.dims[1]) : undefined;
      return d && d > 0 ? d : undefined;
    };
    if (op === 'Gather') { const d = table(p.input[0]); if (d) return d; }
    if (op === 'EmbedLayerNormalization') { const d = table(p.input[2]); if (d) return d; }
    if (['DequantizeLinear', 'Cast', 'Identity', 'Add', 'Mul'].includes(op)) {
      for (const input of p.input) { const d = input ? hiddenSizeOf(editor, input, [], depth - 1) : undefined; if (d) return d; }
    }
  }
  for (const r of chain) {
    if (r.kind !== 'skip') continue;
    const gamma = editor.initializer(r.node.input[2] ?? '');
    if (gamma && gamma.dims.length === 1) return Number(gamma.dims[0]);
  }
  return undefined;
}

/** config.json beside the graph (or one level up), if readable. */
function readConfig(modelPath: string): Json | undefined {
  for (const dir of [dirname(modelPath), dirname(dirname(modelPath))]) {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) continue;
    try {
      const cfg: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof cfg === 'object' && cfg !== null && !Array.isArray(cfg)) return cfg as Json;
    } catch { /* an unreadable config only loses the name */ }
  }
  return undefined;
}

function configArchitecture(cfg: Json | undefined): string | undefined {
  const arch: unknown = cfg && Array.isArray(cfg.architectures) ? (cfg.architectures as unknown[])[0] : undefined;
  return typeof arch === 'string' && arch ? arch : undefined;
}

/**
 * The residual wiring the export must show: the family adapter's, when
 * config.json names a family onnx-steer knows; otherwise what the chain
 * length says (one add per block: parallel; two: sequential).
 */
function expectedResidual(cfg: Json | undefined, adds: number, numBlocks: number): { kind: ResidualKind | undefined; from: string } {
  const arch = cfg ? resolveArchitecture(cfg) : undefined;
  const adapter = findAdapter(arch);
  if (cfg && adapter) return { kind: adapter.residual(cfg), from: `the ${arch ?? ''} adapter` };
  if (adds === numBlocks) return { kind: 'parallel', from: 'the graph structure' };
  if (adds === 2 * numBlocks) return { kind: 'sequential', from: 'the graph structure' };
  return { kind: undefined, from: 'the graph structure' };
}

/** e.g. `llama-like (SkipSimplifiedLayerNormalization, GroupQueryAttention)`. */
export function structuralArchitecture(editor: GraphEditor, startHow: string): string {
  const ops = new Set(editor.graph.node.map((n) => n.opType ?? ''));
  const notable = NOTABLE_OPS.filter((o) => ops.has(o));
  if (!notable.some((o) => o.includes('Normalization')) && ops.has('ReduceMean')) notable.unshift('decomposed norms');
  const rotary = ops.has('RotaryEmbedding') || (ops.has('Sin') && ops.has('Cos'))
    || editor.graph.node.some((n) => n.opType === 'GroupQueryAttention' && !!n.input[7]);
  const learned = /position|EmbedLayerNormalization/.test(startHow);
  const family = learned ? 'gpt2-like' : rotary ? 'llama-like' : 'decoder';
  return notable.length > 0 ? `${family} (${notable.join(', ')})` : family;
}

function sumLabel(r: ResidualAdd): { tensor: string; how: string } {
  const name = r.node.name ? ` "${r.node.name}"` : '';
  if (r.kind === 'add') return { tensor: r.sum, how: `Add x + f(x)${name}` };
  if (r.sum) return { tensor: r.sum, how: `${r.node.opType ?? ''}${name} output 3 (residual sum)` };
  return { tensor: '', how: `${r.node.opType ?? ''}${name} residual sum, not exposed (the node is split into Add + norm)` };
}

function residualReport(chain: ResidualChain, numBlocks: number, startHow: string, residual: ResidualKind): ResidualSiteReport[] {
  const out: ResidualSiteReport[] = [{ site: siteName(0, 'hook_resid_pre'), tensor: chain.start, how: startHow }];
  if (residual === 'parallel') {
    for (let b = 0; b < numBlocks; b++) {
      const post = chain.adds[b];
      if (!post) break;
      if (b > 0) out.push({ site: siteName(b, 'hook_resid_pre'), tensor: sumLabel(chain.adds[b - 1] as ResidualAdd).tensor, how: `same tensor as ${siteName(b - 1, 'hook_resid_post')}` });
      out.push({ site: siteName(b, 'hook_resid_post'), ...sumLabel(post), how: `${sumLabel(post).how}, parallel block: x + (attn + mlp)` });
    }
    return out;
  }
  for (let b = 0; b < numBlocks; b++) {
    const mid = chain.adds[2 * b];
    const post = chain.adds[2 * b + 1];
    if (!mid || !post) break;
    if (b > 0) out.push({ site: siteName(b, 'hook_resid_pre'), tensor: sumLabel(chain.adds[2 * b - 1] as ResidualAdd).tensor, how: `same tensor as ${siteName(b - 1, 'hook_resid_post')}` });
    out.push({ site: siteName(b, 'hook_resid_mid'), ...sumLabel(mid) });
    out.push({ site: siteName(b, 'hook_resid_post'), ...sumLabel(post) });
  }
  return out;
}

/** Analyses a loaded graph. `modelPath` locates config.json for the architecture name. */
export function analyzeGraph(editor: GraphEditor, modelPath: string, body: GraphEditor = editor): AnalysisResult {
  // `body` holds the decoder's nodes: the graph itself, or one branch of a merged decoder (see merged.ts),
  // whose inputs, cache and outputs are the outer graph's.
  const model = editor.model;
  const producer = `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim() || 'unknown';
  const dtypes = new DtypeInference(body);
  const adds = findResidualAdds(body, dtypes);
  const chain = longestChain(body, dtypes, adds);
  const cacheResult = analyzeCache(editor);
  const cache = cacheResult.ok ? cacheResult.cache : undefined;
  const startHow = chain ? describeStart(body, chain.start) : '';
  const hiddenSize = chain ? hiddenSizeOf(body, chain.start, chain.adds) : undefined;
  const signature = analyzeSignature(editor, cache, hiddenSize);
  const elemType = chain ? dtypes.of(chain.start) : 0;
  const numBlocks = cache?.layout.numLayers ?? 0;
  const config = readConfig(modelPath);

  const { logits, lastHidden, vocabSize, ...inputs } = signature;
  const report: InstrumentReport = {
    instrumentable: false, producer,
    architecture: configArchitecture(config) ?? structuralArchitecture(body, startHow),
    numBlocks, residuals: [], inputs, outputs: {},
  };
  if (logits) report.outputs.logits = logits;
  if (lastHidden) report.outputs.lastHidden = lastHidden;
  if (vocabSize) report.outputs.vocabSize = vocabSize;
  if (hiddenSize) report.hiddenSize = hiddenSize;
  if (cache) report.cache = cache.layout;
  const fail = (reason: string, dtypeProblem = false): AnalysisResult => (dtypeProblem
    ? { ok: false, report: { ...report, reason }, dtypeProblem }
    : { ok: false, report: { ...report, reason } });

  const hooked = editor.graph.input.map((v) => v.name ?? '').filter((n) => n.endsWith('.steer') && parseSiteName(n.slice(0, -'.steer'.length)));
  if (hooked.length > 0) return fail(`already instrumented by onnx-steer (hook inputs ${hooked.slice(0, 3).join(', ')}${hooked.length > 3 ? ', …' : ''}); instrument the original graph instead`);
  const subgraphs = body === editor ? subgraphReason(editor) : undefined;
  if (!chain || chain.adds.length === 0) {
    return fail(subgraphs ?? `no residual stream: found no Add x + f(x) with a weight op on the branch among ${editor.graph.node.length} nodes (${opSummary(editor)})`);
  }
  const found = adds.length === chain.adds.length
    ? `found a chain of ${count(chain.adds.length, 'residual add')} (x + f(x)) starting at ${startHow}`
    : `found ${count(adds.length, 'residual add')} (x + f(x)); the longest chain has ${chain.adds.length}, starting at ${startHow}`;
  if (!cacheResult.ok) {
    return fail(`${found}, but ${cacheResult.reason}: this is not a causal decoder with a KV cache ` +
      '(encoder-only graphs and decoders exported without a cache cannot be instrumented)');
  }
  const expected = expectedResidual(config, chain.adds.length, numBlocks);
  const residual = expected.kind;
  const perBlock = residual === 'parallel' ? 1 : 2;
  if (!residual || chain.adds.length !== perBlock * numBlocks) {
    const want = residual === 'parallel'
      ? `${expected.from} says the blocks are parallel (x + attn(ln x) + mlp(ln x)): one residual add per block, i.e. ${numBlocks}`
      : residual === 'sequential'
        ? `${expected.from} says the blocks are sequential: 2 residual adds per block (after attention and after the MLP), i.e. ${2 * numBlocks}`
        : `expected 2 residual adds per block (after attention and after the MLP), i.e. ${2 * numBlocks}, or one per block for parallel-residual blocks, i.e. ${numBlocks}`;
    return fail(`${found}, but the KV cache has ${count(numBlocks, 'layer')}; ${want}; partial exports are not supported`);
  }
  if (!hiddenSize) return fail(`${found}, but the hidden size could not be determined (no embedding table or norm weight)`);
  let dtype: FloatDtype;
  try {
    dtype = dtypeOfElemType(elemType);
  } catch (err) {
    return fail(`${found}, but ${(err as Error).message}`, true);
  }
  if (!signature.inputIds) return fail(`${found}, but no integer token-id input reaching the embedding table`);
  if (!logits && !lastHidden) return fail(`${found}, but no float logits or hidden-state output`);

  report.instrumentable = true;
  report.dtype = dtype;
  report.residuals = residualReport(chain, numBlocks, startHow, residual);
  const embed = body.producer(chain.start);
  const analysis: Analysis = { chain, cache: cache as CacheInfo, signature, hiddenSize, dtype, numBlocks, residual, report };
  if (embed?.opType === 'EmbedLayerNormalization') analysis.embedNode = embed;
  return { ok: true, analysis };
}
