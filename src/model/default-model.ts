/**
 * The default model: the TinyStories-656K checkpoint, built once into a
 * per-user cache. The checkpoint is looked up in this order:
 *   1. the ONNX_STEER_CHECKPOINT environment variable;
 *   2. ../shared/models/tinystories-656k beside the package;
 *   3. a download from the Hugging Face Hub (ONNX_STEER_HUB_URL overrides the
 *      endpoint), reporting progress through `onProgress`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileNotFoundError } from '../errors.js';
import { cacheDir, cachedCheckpointBuild } from './checkpoint-cache.js';
import { downloadFiles } from './download.js';

export const DEFAULT_REPO = 'raincandy-u/TinyStories-656K';
export const DEFAULT_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'];

/** The package root (the folder holding package.json), from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export { cacheDir } from './checkpoint-cache.js';

export interface ResolveOptions {
  /** Called with download progress (bytes). */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
  /** Called after each weight tensor while the checkpoint is built on first use. */
  onBuildProgress?: (done: number, total: number) => void;
  hubUrl?: string;
  /** Where to look for the shared checkpoint (default: ../shared/models/tinystories-656k beside the package). */
  sharedDir?: string;
}

/** Finds (or downloads) the default checkpoint directory. */
export async function resolveDefaultCheckpoint(options: ResolveOptions = {}): Promise<string> {
  const fromEnv = process.env.ONNX_STEER_CHECKPOINT;
  if (fromEnv) {
    const dir = resolve(fromEnv);
    if (!existsSync(join(dir, 'config.json'))) throw new FileNotFoundError(join(dir, 'config.json'), 'ONNX_STEER_CHECKPOINT checkpoint');
    return dir;
  }
  const shared = options.sharedDir ?? resolve(packageRoot(), '..', 'shared', 'models', 'tinystories-656k');
  if (existsSync(join(shared, 'config.json')) && existsSync(join(shared, 'model.safetensors'))) return shared;
  const target = join(cacheDir(), 'checkpoints', DEFAULT_REPO.replace('/', '--'));
  if (DEFAULT_FILES.every((f) => existsSync(join(target, f)))) return target;
  const hub = options.hubUrl ?? process.env.ONNX_STEER_HUB_URL ?? 'https://huggingface.co';
  await downloadFiles(`${hub.replace(/\/$/, '')}/${DEFAULT_REPO}/resolve/main`, DEFAULT_FILES, target, options.onProgress);
  return target;
}

/**
 * The hooked default model directory, building it on first use. The build is
 * keyed by the checkpoint's fingerprint, so a changed checkpoint rebuilds.
 */
export async function defaultModelDir(options: ResolveOptions = {}): Promise<string> {
  return cachedCheckpointBuild(await resolveDefaultCheckpoint(options), { name: 'tinystories-656k', ...(options.onBuildProgress ? { onProgress: options.onBuildProgress } : {}) });
}
