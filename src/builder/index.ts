/**
 * `buildModel`: a Hugging Face safetensors checkpoint (or a config.json with
 * random weights) → a directory holding a hooked ONNX decoder:
 * model.onnx, model.onnx.data, hooks.json and the tokenizer files.
 *
 * The output is assembled in a temp directory beside `outDir` and renamed
 * into place at the end, so a failed build leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { FileSystemError, InvalidArgumentError, OutputExistsError } from '../errors.js';
import { writeModel } from '../onnx/io.js';
import { selectSites, type SiteSelection } from '../hooks/sites.js';
import { addLowRankSites } from '../hooks/lowrank.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, writeManifest, type HooksManifest } from '../hooks/manifest.js';
import { beforeCommit, removeOnInterrupt } from '../files/interrupt.js';
import { withFs } from '../validate/paths.js';
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
  const staged = stageBuild(source, outDir, options);
  try {
    await beforeCommit(); // a signal received while the files were written ends the process here, output unmade
  } catch (err) {
    staged.abort();
    throw err;
  }
  staged.commit();
  return staged.manifest;
}

/** Synchronous form of {@link buildModel}. */
export function buildModelSync(source: string, outDir: string, options: BuildOptions = {}): HooksManifest {
  const staged = stageBuild(source, outDir, options);
  staged.commit();
  return staged.manifest;
}

interface StagedBuild { manifest: HooksManifest; commit(): void; abort(): void }

/** Writes the whole build into a temp directory beside `outDir`; `commit()` renames it into place. */
function stageBuild(source: string, outDir: string, options: BuildOptions): StagedBuild {
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
  guardOutputDir(out, resolved.dir, options.force === true);
  const tmp = join(dirname(out), `.${basename(out)}.build-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  withFs(out, 'create', () => { mkdirSync(dirname(out), { recursive: true }); mkdirSync(tmp); });
  const release = removeOnInterrupt(tmp);
  try {
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
    const abort = () => { rmSync(tmp, { recursive: true, force: true }); release(); };
    return {
      manifest,
      abort,
      commit: () => {
        try {
          withFs(out, 'write', () => moveIntoPlace(tmp, out));
        } catch (err) {
          abort();
          throw err;
        }
        release();
      },
    };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    release();
    throw err;
  }
}

/** Refuses a non-empty output without force, and outputs that would delete the source. */
function guardOutputDir(out: string, sourceDir: string, force: boolean): void {
  if (out === sourceDir || sourceDir.startsWith(out + sep)) {
    throw new InvalidArgumentError(`output directory ${out} would overwrite the checkpoint in ${sourceDir}`);
  }
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new FileSystemError(`cannot write output directory ${out}: it is a file, not a directory`, 'ENOTDIR', out);
  const nonEmpty = readdirSync(out).length > 0;
  if (nonEmpty && !force) throw new OutputExistsError(out);
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

/** Renames the finished temp directory to `out`, replacing what was there. */
function moveIntoPlace(tmp: string, out: string): void {
  if (!existsSync(out)) { renameSync(tmp, out); return; }
  const old = `${tmp}.old`;
  renameSync(out, old);
  try {
    renameSync(tmp, out);
  } catch (err) {
    renameSync(old, out);
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
}
