/** Resolving `--model` (or the default model) and session options for CLI commands. */
import type { Command } from 'commander';
import { HookedModel } from '../model/hooked-model.js';
import { defaultModelDir } from '../model/default-model.js';
import { UsageError } from '../errors.js';
import { quantityOption, listOption } from '../validate/index.js';
import { progressFor, type Progress } from './progress.js';

export interface ModelCliOptions {
  model?: string;
  threads?: number;
  ep?: string[];
  json?: boolean;
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'hooked model directory (default: the TinyStories-656K model, built once and cached)')
    .option('--threads <n>', 'intra-op threads for onnxruntime', quantityOption('threads'))
    .option('--ep <list>', 'execution providers in priority order, e.g. cpu', listOption('--ep', { unique: true }));
}

/**
 * `--model`, or the default model: downloaded and built on first use, with
 * progress on `progress` (the command's reporter).
 */
export async function resolveModelDir(opts: ModelCliOptions, progress: Progress = progressFor('download')): Promise<string> {
  if (opts.model) return opts.model;
  try {
    return await defaultModelDir({
      onProgress: (file, received, total) => progress.bytes(file, received, total),
      onBuildProgress: (done, total) => progress.count('building the default model (first use)', done, total, 'tensors'),
    });
  } finally {
    progress.stop();
  }
}

/** Progress of a checkpoint directory built into the cache on first use (see hookedModelDir). */
export function checkpointBuildProgress(progress: Progress, dir: string): { onProgress: (done: number, total: number) => void } {
  return { onProgress: (done, total) => progress.count(`building ${dir} (first use)`, done, total, 'tensors') };
}

/** onnxruntime session options from --threads and --ep, for every model a command opens. */
export function sessionOptions(opts: Pick<ModelCliOptions, 'threads' | 'ep'>): { intraOpNumThreads?: number; executionProviders?: string[] } {
  return {
    ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    ...(opts.ep ? { executionProviders: opts.ep } : {}),
  };
}

export async function loadModel(opts: ModelCliOptions, progress?: Progress): Promise<HookedModel> {
  if (opts.threads !== undefined && opts.threads < 1) throw new UsageError('--threads must be ≥ 1');
  const dir = await resolveModelDir(opts, progress);
  return HookedModel.load(dir, sessionOptions(opts));
}
