/**
 * `buildModel`: a Hugging Face safetensors checkpoint (or a config.json with
 * random weights) → a directory holding a hooked ONNX decoder:
 * model.onnx, model.onnx.data, hooks.json and the tokenizer files.
 *
 * The output is assembled in a temp directory beside `outDir` and renamed
 * into place at the end, so a failed build leaves nothing behind.
 */
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { writeModel } from '../onnx/io.js';
import { selectSites, type SiteSelection } from '../hooks/sites.js';
import { addLowRankSites } from '../hooks/lowrank.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, writeManifest, type HooksManifest } from '../hooks/manifest.js';
import { writeDirectoryAtomically, writeDirectoryAtomicallySync, type DirectoryOutputOptions } from '../files/directory.js';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.js';
import { gqaSupported, type AttentionKind } from './attention.js';
import { RandomWeights, SafetensorsCheckpoint, resolveSource, type WeightSource } from './checkpoint.js';
import { parseConfig } from './config.js';
import { IO, buildDecoder } from './decoder.js';
import { checkSource, modelSpecs, planEmbeddings } from './layout.js';
import { WeightWriter } from './weights.js';
import { parseQuantization, quantizeWeights, type Quantization } from '../quantize/weights.js';

export type { AttentionKind } from './attention.js';
export { SUPPORTED_ARCHITECTURES, parseDecoderConfig, type DecoderConfig } from './config.js';
export { SafetensorsFile, type TensorEntry } from '../files/safetensors.js';

export interface BuildOptions {
  /** Overwrite an existing, non-empty output directory. */
  force?: boolean;
  /** Build from config.json alone, with seeded random weights. */
  randomInit?: { seed: number };
  /** Hook sites to insert (default 'all'). */
  sites?: SiteSelection;
  /** Give every site the norm-preserving gate input (default false). */
  normPreserving?: boolean;
  /** Quantize the weights of every linear layer (hook sites, norms and embeddings stay fp32). */
  quantize?: Quantization;
  /** Give every site the low-rank map input pair V, U (default false; see hooks/lowrank.ts). */
  lowRank?: boolean;
  /** Attention implementation (default: {@link DEFAULT_ATTENTION} when the head size allows it). */
  attention?: AttentionKind;
  /** Called after each weight tensor is written. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Default attention. Measured on onnxruntime-node 1.30 CPU with a random-init
 * SmolLM2-135M-shaped model (interleaved decode steps, paired medians),
 * GroupQueryAttention decodes about 5–15% faster at batch 1 and the same at
 * batch 8. It is not the default because it fails or cannot express cases
 * the standard graph handles: a batch of several rows continuing with more
 * than one token over a cache is rejected by the kernel, and key validity
 * comes from per-row lengths, so prompts must be right-padded (and the fused
 * rotary path ignores position_ids). Pass `attention: 'gqa'` to opt in.
 */
export const DEFAULT_ATTENTION: AttentionKind = 'standard';

/** Files copied from the checkpoint directory when present. */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'config.json',
  'vocab.json', 'merges.txt', 'tokenizer.model', 'added_tokens.json', 'chat_template.jinja',
] as const;

export async function buildModel(source: string, outDir: string, options: BuildOptions = {}): Promise<HooksManifest> {
  await Promise.resolve();
  const build = prepareBuild(source, outDir, options);
  return writeDirectoryAtomically(build.out, build.output, build.write);
}

/** Synchronous form of {@link buildModel}. */
export function buildModelSync(source: string, outDir: string, options: BuildOptions = {}): HooksManifest {
  const build = prepareBuild(source, outDir, options);
  return writeDirectoryAtomicallySync(build.out, build.output, build.write);
}

interface PreparedBuild { out: string; output: DirectoryOutputOptions; write: (tmp: string) => HooksManifest }

/** Checks the source and options; `write` writes the whole build into a directory. */
function prepareBuild(source: string, outDir: string, options: BuildOptions): PreparedBuild {
  const random = options.randomInit;
  if (random && !Number.isInteger(random.seed)) throw new InvalidArgumentError(`random-init seed must be an integer, got ${random.seed}`);
  if (options.attention !== undefined && options.attention !== 'standard' && options.attention !== 'gqa') {
    throw new InvalidArgumentError(`attention must be "standard" or "gqa", got "${String(options.attention)}"`);
  }
  const resolved = resolveSource(source, random !== undefined);
  const { cfg, adapter } = parseConfig(resolved.config, resolved.configPath);
  const attention: AttentionKind = options.attention ?? (DEFAULT_ATTENTION === 'gqa' && !gqaSupported(cfg) ? 'standard' : DEFAULT_ATTENTION);
  const sites = options.sites ?? 'all';
  selectSites(cfg.numLayers, cfg.block.residual === 'sequential', sites);

  let src: WeightSource;
  let fingerprint: () => string;
  if (random) {
    src = new RandomWeights(modelSpecs(cfg, adapter), random.seed, cfg.initializerRange);
    fingerprint = () => RandomWeights.fingerprint(resolved.configText, random.seed);
  } else {
    const ckpt = new SafetensorsCheckpoint(resolved.dir);
    src = ckpt;
    fingerprint = () => ckpt.fingerprint(resolved.configPath);
  }
  const names = adapter.names(cfg, (n) => src.has(n));
  const plan = planEmbeddings(cfg, src, names);
  checkSource(cfg, adapter, src, names, plan);

  const out = resolve(outDir);
  if (out === resolved.dir || resolved.dir.startsWith(out + sep)) {
    throw new InvalidArgumentError(`output directory ${out} would overwrite the checkpoint in ${resolved.dir}`);
  }
  const write = (tmp: string): HooksManifest => {
    const writer = new WeightWriter(join(tmp, '.weights.staging'));
    let graph;
    try {
      graph = buildDecoder(cfg, adapter, src, names, plan, writer, { attention, sites, normPreserving: options.normPreserving ?? false, onProgress: options.onProgress });
      if (options.lowRank) graph.sites = addLowRankSites(graph.model, graph.sites, cfg.hiddenSize, 'float32');
      writer.close();
      if (options.quantize) quantizeWeights(graph.model, tmp, parseQuantization(options.quantize));
      writeModel(graph.model, join(tmp, 'model.onnx'), { externalData: 'always', sourceDir: tmp });
    } finally {
      writer.remove();
    }
    const files = copyTokenizerFiles(resolved.dir, resolved.configPath, tmp);
    const manifest: HooksManifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      architecture: cfg.architecture,
      origin: {
        kind: 'build',
        producer: `${LIBRARY_NAME} build (attention=${attention}${options.quantize ? `, weights=${options.quantize}` : ''})`,
        source: random ? `${resolved.configPath} (random-init seed ${random.seed})` : resolved.dir,
      },
      model: 'model.onnx',
      numBlocks: cfg.numLayers,
      hiddenSize: cfg.hiddenSize,
      vocabSize: cfg.vocabSize,
      dtype: 'float32',
      inputs: {
        inputIds: { name: IO.inputIds, dtype: 'int64' },
        attentionMask: { name: IO.attentionMask, dtype: 'int64' },
        positionIds: { name: IO.positionIds, dtype: 'int64' },
        padding: attention === 'gqa' ? 'right' : 'left',
      },
      outputs: { logits: IO.logits },
      sites: graph.sites,
      cache: {
        kind: 'bnsh',
        dtype: 'float32',
        numLayers: cfg.numLayers,
        numKvHeads: cfg.numKvHeads,
        headDim: cfg.headDim,
        past: graph.past,
        present: graph.present,
      },
      fingerprint: fingerprint(),
      maxPositions: cfg.maxPositions,
      tokenizer: { files },
      library: { name: LIBRARY_NAME, version: LIBRARY_VERSION },
    };
    writeManifest(tmp, manifest);
    return manifest;
  };
  return { out, output: { force: options.force === true, replaceEmpty: true }, write };
}

function copyTokenizerFiles(dir: string, configPath: string, to: string): string[] {
  const copied: string[] = [];
  for (const name of TOKENIZER_FILES) {
    const from = name === 'config.json' ? configPath : join(dir, name);
    if (!existsSync(from) || !statSync(from).isFile()) continue;
    copyFileSync(from, join(to, name));
    copied.push(name);
  }
  return copied;
}
