/**
 * The default model: the TinyStories-656K checkpoint, built once into a
 * per-user cache. The checkpoint is looked up in this order:
 *   1. the ONNX_STEER_CHECKPOINT environment variable;
 *   2. ../shared/models/tinystories-656k beside the package;
 *   3. a download from the Hugging Face Hub (ONNX_STEER_HUB_URL overrides the
 *      endpoint), with a progress bar on a TTY.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../build/index.js';
import { FileNotFoundError } from '../errors.js';
import { manifestPath, readManifest } from '../hooks/manifest.js';
import { sha256Files } from '../util/fs.js';
import { removeOnInterrupt } from '../util/interrupt.js';
import { withFs } from '../validate/paths.js';
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

export function cacheDir(): string {
  if (process.env.ONNX_STEER_CACHE) return resolve(process.env.ONNX_STEER_CACHE);
  const base = process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'onnx-steer');
}

export interface ResolveOptions {
  /** Called with download progress (bytes). */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
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
  const checkpoint = await resolveDefaultCheckpoint(options);
  const files = ['config.json', 'model.safetensors'].map((f) => join(checkpoint, f));
  const key = sha256Files(files).slice(0, 16);
  const dir = join(cacheDir(), 'models', `tinystories-656k-${key}`);
  if (existsSync(manifestPath(dir))) {
    readManifest(dir);
    return dir;
  }
  withFs(dirname(dir), 'create the model cache', () => mkdirSync(dirname(dir), { recursive: true }));
  const tmp = `${dir}.${process.pid}.${Date.now()}.building`;
  const release = removeOnInterrupt(tmp);
  try {
    await buildModel(checkpoint, tmp, { force: true });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process finished the same build first: use theirs.
      if (!existsSync(manifestPath(dir))) throw err;
    }
  } finally {
    if (existsSync(tmp) && statSync(tmp).isDirectory()) rmSync(tmp, { recursive: true, force: true });
    release();
  }
  return dir;
}
