/** Resolving `--model` (or the default model) and session options for CLI commands. */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { HookedModel } from '../model/hooked-model.js';
import { defaultModelDir } from '../model/default-model.js';
import { UsageError } from '../errors.js';
import { quantityOption, listOption } from '../validate/index.js';


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

/** Whether progress may be drawn: a TTY on stderr and no --json. */
export function showProgress(json: boolean | undefined): boolean {
  return !json && process.stderr.isTTY === true;
}

export async function resolveModelDir(opts: ModelCliOptions): Promise<string> {
  if (opts.model) return opts.model;
  let bar: cliProgress.SingleBar | undefined;
  try {
    return await defaultModelDir({
      onProgress: showProgress(opts.json)
        ? (file, received, total) => {
            if (!bar) {
              bar = new cliProgress.SingleBar({ format: `downloading ${file} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr }, cliProgress.Presets.shades_classic);
              bar.start(total ?? 0, 0);
            }
            bar.update(received);
          }
        : undefined,
    });
  } finally {
    bar?.stop();
  }
}

/** onnxruntime session options from --threads and --ep, for every model a command opens. */
export function sessionOptions(opts: Pick<ModelCliOptions, 'threads' | 'ep'>): { intraOpNumThreads?: number; executionProviders?: string[] } {
  return {
    ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    ...(opts.ep ? { executionProviders: opts.ep } : {}),
  };
}

export async function loadModel(opts: ModelCliOptions): Promise<HookedModel> {
  if (opts.threads !== undefined && opts.threads < 1) throw new UsageError('--threads must be ≥ 1');
  const dir = await resolveModelDir(opts);
  return HookedModel.load(dir, sessionOptions(opts));
}
