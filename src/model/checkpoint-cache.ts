/**
 * A model directory given by the user may be a hooked model (hooks.json
 * beside model.onnx) or a Hugging Face checkpoint (config.json and
 * model.safetensors). Checkpoints are built once into the per-user cache,
 * keyed by the sha256 of their config and weights, the way the default model
 * is: a changed checkpoint rebuilds, an unchanged one is reused.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { buildModel } from '../builder/index.js';
import { FileNotFoundError } from '../errors.js';
import { manifestPath, readManifest } from '../hooks/manifest.js';
import { sha256Files } from '../files/fs.js';

/** The per-user cache folder (ONNX_STEER_CACHE, else $XDG_CACHE_HOME/onnx-steer or ~/.cache/onnx-steer). */
export function cacheDir(): string {
  if (process.env.ONNX_STEER_CACHE) return resolve(process.env.ONNX_STEER_CACHE);
  const base = process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'onnx-steer');
}

export interface CheckpointBuildOptions {
  /** Cache folder name prefix (default: the checkpoint folder's name). */
  name?: string;
  /** Called after each weight tensor of a first-use build. */
  onProgress?: (done: number, total: number) => void;
}

/** Whether `dir` holds a safetensors checkpoint (config.json + model.safetensors). */
export function isCheckpointDir(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors'));
}

/** The hooked build of a checkpoint in the cache, building it on first use. */
export async function cachedCheckpointBuild(checkpoint: string, options: CheckpointBuildOptions = {}): Promise<string> {
  const src = resolve(checkpoint);
  const files = ['config.json', 'model.safetensors'].map((f) => join(src, f));
  const key = sha256Files(files).slice(0, 16);
  const name = (options.name ?? basename(src)).replace(/[^A-Za-z0-9._-]+/g, '_');
  const dir = join(cacheDir(), 'models', `${name}-${key}`);
  if (existsSync(manifestPath(dir))) {
    readManifest(dir);
    return dir;
  }
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.${process.pid}.${Date.now()}.building`;
  try {
    await buildModel(src, tmp, { force: true, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process finished the same build first: use theirs.
      if (!existsSync(manifestPath(dir))) throw err;
    }
  } finally {
    if (existsSync(tmp) && statSync(tmp).isDirectory()) rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** A hooked model directory for `dir`: itself when hooked, its cached build when a checkpoint. */
export async function hookedModelDir(dir: string, options: Pick<CheckpointBuildOptions, 'onProgress'> = {}): Promise<string> {
  if (existsSync(manifestPath(dir))) return dir;
  if (isCheckpointDir(dir)) return cachedCheckpointBuild(dir, options);
  if (!existsSync(dir)) throw new FileNotFoundError(dir, 'model directory');
  throw new FileNotFoundError(manifestPath(dir), 'hooks.json or config.json + model.safetensors (neither a hooked model nor a checkpoint)');
}
