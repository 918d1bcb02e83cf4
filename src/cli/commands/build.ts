/** `onnx-steer build`: Hugging Face safetensors checkpoint → hooked ONNX decoder directory. */
import type { Command } from 'commander';
import { buildModel, type BuildOptions } from '../../builder/index.js';
import { UsageError } from '../../errors.js';
import type { HooksManifest } from '../../hooks/manifest.js';
import { printJson } from '../common.js';
import { quantityOption, listOption } from '../../validate/index.js';
import { progressFor } from '../progress.js';

interface BuildCliOptions {
  output: string;
  randomInit?: boolean;
  seed?: number;
  sites?: string[];
  attention?: string;
  force?: boolean;
  normPreserving?: boolean;
  quantize?: string;
  lowRank?: boolean;
  json?: boolean;
}

/** The fields of a manifest worth printing after a build. */
export function buildSummary(outDir: string, m: HooksManifest): Record<string, unknown> {
  return {
    output: outDir,
    architecture: m.architecture,
    producer: m.origin.producer,
    numBlocks: m.numBlocks,
    hiddenSize: m.hiddenSize,
    vocabSize: m.vocabSize,
    dtype: m.dtype,
    padding: m.inputs.padding,
    sites: m.sites.length,
    fingerprint: m.fingerprint,
    tokenizer: m.tokenizer?.files ?? [],
  };
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build a hooked ONNX decoder from a Hugging Face safetensors checkpoint (Llama, Mistral, Qwen2, Phi3, GPT-2)')
    .argument('<checkpoint>', 'checkpoint directory (config.json + model.safetensors or sharded safetensors), or a config.json with --random-init')
    .requiredOption('-o, --output <dir>', 'output directory (model.onnx, model.onnx.data, hooks.json, tokenizer files)')
    .option('--random-init', 'ignore weights and build from config.json with seeded random weights')
    .option('--seed <n>', 'seed for --random-init (default 0)', quantityOption('seed'))
    .option('--sites <list>', 'comma-separated hook sites: kinds (hook_resid_pre,hook_resid_mid,hook_resid_post) or names (blocks.3.hook_resid_post); default all', listOption('--sites', { unique: true }))
    .option('--attention <kind>', 'attention implementation: standard (left padding) or gqa (com.microsoft GroupQueryAttention, right padding)')
    .option('--norm-preserving', 'give every hook site a gate that can keep the residual norm when steering')
    .option('--quantize <scheme>', 'quantize linear-layer weights: int8 (dynamic, per-column) or int4 (MatMulNBits, blocks of 32 with zero points); hook sites stay fp32')
    .option('--low-rank', 'give every hook site the low-rank map inputs V, U (h + α(hV)Uᵀ; unfed, the graph computes what it did without them)')
    .option('--force', 'replace an existing non-empty output directory')
    .option('--json', 'print the build summary as JSON')
    .action(async (checkpoint: string, opts: BuildCliOptions) => {
      if (opts.attention !== undefined && opts.attention !== 'standard' && opts.attention !== 'gqa') {
        throw new UsageError(`--attention must be "standard" or "gqa", got "${opts.attention}"`);
      }
      if (opts.seed !== undefined && !opts.randomInit) throw new UsageError('--seed needs --random-init');
      if (opts.sites !== undefined && opts.sites.length === 0) throw new UsageError('--sites needs at least one site');
      const options: BuildOptions = { force: opts.force === true };
      if (opts.randomInit) options.randomInit = { seed: opts.seed ?? 0 };
      if (opts.sites) options.sites = opts.sites;
      if (opts.attention) options.attention = opts.attention;
      if (opts.normPreserving) options.normPreserving = true;
      if (opts.quantize !== undefined) {
        if (opts.quantize !== 'int8' && opts.quantize !== 'int4') throw new UsageError(`--quantize must be "int8" or "int4", got "${opts.quantize}"`);
        options.quantize = opts.quantize;
      }
      if (opts.lowRank) options.lowRank = true;
      const progress = progressFor('build');
      options.onProgress = (done, total) => progress.count('writing', done, total, 'tensors');
      let manifest: HooksManifest;
      try {
        manifest = await buildModel(checkpoint, opts.output, options);
      } finally {
        progress.stop();
      }
      const summary = buildSummary(opts.output, manifest);
      if (opts.json) {
        printJson(summary);
        return;
      }
      process.stdout.write(
        `built ${manifest.architecture} (${manifest.numBlocks} blocks, hidden ${manifest.hiddenSize}, vocab ${manifest.vocabSize ?? '?'}) → ${opts.output}\n`
        + `  ${manifest.origin.producer ?? ''}, ${manifest.sites.length} hook sites, ${manifest.inputs.padding ?? 'left'} padding\n`
        + `  fingerprint ${manifest.fingerprint}\n`,
      );
    });
}
