/**
 * `instrument`: adding residual-stream hooks to a decoder graph exported by
 * another tool (torch.onnx, onnxruntime-genai model builder, the onnxruntime
 * transformers optimizer, quantizers, mobius, …), and `analyzeModel`, the
 * read-only report behind `inspect` on raw ONNX files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NoResidualStreamError, UnsupportedArchitectureError, UnsupportedDtypeError } from '../errors.js';
import { GraphEditor } from '../onnx/graph.js';
import { readModel, writeModel } from '../onnx/io.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, writeManifest, type HooksManifest } from '../hooks/manifest.js';
import { addLowRankSites } from '../hooks/lowrank.js';
import { selectSites, type SiteSelection } from '../hooks/sites.js';
import { guardOutput, sha256Files } from '../files/fs.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import { analyzeGraph, type Analysis, type InstrumentReport } from './analyze.js';
import { companionFiles, locateOnnx } from './locate.js';
import { writeDirectoryAtomically } from '../files/directory.js';
import { analyzeMerged, applyMergedHooks, findMergedDecoder } from './merged.js';
import { applyHooks } from './rewrite.js';
import { quantizeWeights, type Quantization } from '../quantize/weights.js';

export type { InstrumentReport, ResidualSiteReport } from './analyze.js';
export { locateOnnx } from './locate.js';

export interface InstrumentOptions {
  /** Replace an existing output directory. */
  force?: boolean;
  /** Which hook sites to add (default: pre, mid and post of every block). */
  sites?: SiteSelection;
  /** Give every site the norm-preserving gate input (default false). */
  normPreserving?: boolean;
  /** Give every site the low-rank map input pair V, U (default false; see hooks/lowrank.ts). */
  lowRank?: boolean;
  /**
   * Quantize the constant fp32 weights of the linear layers (src/quantize):
   * int8 (DynamicQuantizeMatMul) or int4 (MatMulNBits, block 32, zero points). Hook sites,
   * norms, attention and embeddings stay in the model's dtype. The manifest
   * keeps the source's fingerprint, so vectors made on the fp32 export apply.
   */
  quantize?: Quantization;
  /** Called at each stage (reading, hooking, quantizing, writing). */
  onProgress?: (message: string) => void;
}

export const INSTRUMENTED_MODEL_FILE = 'model.onnx';

function load(input: string): { modelPath: string; loaded: ReturnType<typeof readModel>; editor: GraphEditor } {
  const modelPath = locateOnnx(input);
  const loaded = readModel(modelPath);
  return { modelPath, loaded, editor: new GraphEditor(loaded.model) };
}

/** Reports whether and how the graph at `input` can be instrumented. Writes nothing. */
/** The decoder analysis, for a plain graph or an Optimum merged decoder. */
function analyze(editor: GraphEditor, modelPath: string): ReturnType<typeof analyzeGraph> {
  const merged = findMergedDecoder(editor);
  return merged ? analyzeMerged(editor, modelPath, merged) : analyzeGraph(editor, modelPath);
}

export function analyzeModel(input: string): InstrumentReport {
  const { modelPath, editor } = load(input);
  const result = analyze(editor, modelPath);
  return result.ok ? result.analysis.report : result.report;
}

function requireAnalysis(editor: GraphEditor, modelPath: string): Analysis {
  const result = analyze(editor, modelPath);
  if (result.ok) return result.analysis;
  const reason = result.report.reason ?? 'not instrumentable';
  if (result.dtypeProblem) throw new UnsupportedDtypeError(`${modelPath}: ${reason}`);
  throw new NoResidualStreamError(`${modelPath}: ${reason}`);
}

/** Quantizes an fp32 export's linear weights in place; refuses what the quantizer cannot do honestly. */
function quantizeExport(model: ReturnType<typeof readModel>['model'], dir: string, modelPath: string, analysis: Analysis, scheme: Quantization): void {
  if (analysis.merged) throw new UnsupportedArchitectureError(`${modelPath}: --quantize does not support merged decoders (weights used inside If branches); instrument decoder_with_past_model.onnx instead`);
  if (analysis.dtype !== 'float32') throw new UnsupportedDtypeError(`${modelPath}: --quantize needs an fp32 export, this one is ${analysis.dtype}`);
  const report = quantizeWeights(model, dir, scheme);
  if (report.weights === 0) throw new UnsupportedDtypeError(`${modelPath}: --quantize found no fp32 MatMul/Gemm weight to quantize (already quantized?)`);
}

function maxPositions(modelPath: string, analysis: Analysis): number | undefined {
  for (const dir of [dirname(modelPath), dirname(dirname(modelPath))]) {
    const path = join(dir, 'config.json');
    if (!existsSync(path)) continue;
    try {
      const cfg = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      const n = cfg.max_position_embeddings ?? cfg.n_positions;
      if (typeof n === 'number' && n > 0) return n;
    } catch { /* optional information */ }
  }
  return analysis.cache.layout.maxLength;
}

/**
 * Instruments the decoder at `input` (an .onnx file or a directory holding
 * one) into `outDir`: `model.onnx` (+ `model.onnx.data` when the source used
 * external data), `hooks.json`, and the tokenizer/config files found beside
 * the source. The directory appears complete or not at all.
 */
export async function instrumentModel(input: string, outDir: string, options: InstrumentOptions = {}): Promise<HooksManifest> {
  const force = options.force ?? false;
  guardOutput(outDir, force);
  options.onProgress?.(`reading ${input}`);
  const { modelPath, loaded, editor } = load(input);
  const analysis = requireAnalysis(editor, modelPath);
  const sites = selectSites(analysis.numBlocks, analysis.residual === 'sequential', options.sites ?? 'all');
  const fingerprint = sha256Files([modelPath, ...loaded.externalFiles]);
  if (analysis.merged && options.lowRank) {
    throw new UnsupportedArchitectureError(`${modelPath}: low-rank sites are not supported on merged decoders yet; instrument the decoder with past (decoder_with_past_model.onnx) instead`);
  }
  options.onProgress?.(`adding ${sites.length} hook sites to ${analysis.numBlocks} blocks`);
  const hooked = analysis.merged
    ? applyMergedHooks(editor, analysis, sites, options.normPreserving ?? false)
    : applyHooks(editor, analysis, sites, options.normPreserving ?? false);
  if (options.quantize) options.onProgress?.(`quantizing the linear-layer weights to ${options.quantize}`);
  if (options.quantize) quantizeExport(loaded.model, loaded.dir, modelPath, analysis, options.quantize);
  const hookSites = options.lowRank ? addLowRankSites(loaded.model, hooked, analysis.hiddenSize, analysis.dtype) : hooked;
  const companions = companionFiles(modelPath);
  const { signature, report } = analysis;

  const manifest: HooksManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    architecture: report.architecture,
    origin: { kind: 'instrument', producer: options.quantize ? `${report.producer ?? 'unknown producer'} (weights=${options.quantize})` : report.producer, source: modelPath },
    model: INSTRUMENTED_MODEL_FILE,
    numBlocks: analysis.numBlocks,
    hiddenSize: analysis.hiddenSize,
    dtype: analysis.dtype,
    inputs: { inputIds: signature.inputIds as NonNullable<typeof signature.inputIds>, padding: signature.padding },
    outputs: {},
    sites: hookSites,
    cache: analysis.cache.layout,
    fingerprint,
    library: { name: LIBRARY_NAME, version: LIBRARY_VERSION },
  };
  if (signature.attentionMask) manifest.inputs.attentionMask = signature.attentionMask;
  if (signature.positionIds) manifest.inputs.positionIds = signature.positionIds;
  if (signature.maxSequence) manifest.inputs.maxSequence = signature.maxSequence;
  if (analysis.merged) manifest.inputs.useCacheBranch = analysis.merged.condition;
  if (signature.logits) manifest.outputs.logits = signature.logits;
  if (signature.lastHidden) manifest.outputs.lastHidden = signature.lastHidden;
  if (signature.vocabSize) manifest.vocabSize = signature.vocabSize;
  const positions = maxPositions(modelPath, analysis);
  if (positions) manifest.maxPositions = positions;
  if (companions.size > 0) manifest.tokenizer = { files: [...companions.keys()] };

  options.onProgress?.(`writing ${outDir}`);
  await writeDirectoryAtomically(outDir, { force }, async (tmp) => {
    writeModel(loaded.model, join(tmp, INSTRUMENTED_MODEL_FILE), { sourceDir: loaded.dir });
    for (const [name, path] of companions) await copyFile(path, join(tmp, basename(name)));
    writeManifest(tmp, manifest);
  });
  return manifest;
}
