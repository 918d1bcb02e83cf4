/** `onnx-steer instrument`: add residual-stream hooks to an ONNX decoder exported by another tool. */
import type { Command } from 'commander';
import { InvalidArgumentError, UsageError } from '../../errors.js';
import { instrumentModel } from '../../instrument/index.js';
import type { HooksManifest } from '../../hooks/manifest.js';
import { printJson } from '../common.js';
import { listOption } from '../../validate/index.js';
import { progressFor } from '../progress.js';

interface InstrumentCliOptions {
  output: string;
  sites?: string[];
  force?: boolean;
  normPreserving?: boolean;
  lowRank?: boolean;
  quantize?: string;
  json?: boolean;
}

export function summarizeManifest(m: HooksManifest, outDir: string): string {
  const cache = m.cache;
  const lines = [
    `hooked model written to ${outDir}`,
    `  architecture  ${m.architecture} (${m.origin.producer ?? 'unknown producer'})`,
    `  blocks        ${m.numBlocks}, hidden ${m.hiddenSize}, ${m.dtype}${m.vocabSize ? `, vocab ${m.vocabSize}` : ''}`,
    `  sites         ${m.sites.length}: ${m.sites.map((s) => s.name).join(', ')}`,
    `  cache         ${cache.kind}, ${cache.numLayers} layers × ${cache.numKvHeads} kv heads × ${cache.headDim}, ${cache.dtype}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function registerInstrument(program: Command): void {
  program
    .command('instrument')
    .description('add residual-stream hook sites (capture, steer, ablate) to an ONNX decoder exported by another tool')
    .argument('<onnx-file-or-dir>', 'an .onnx decoder graph, or a directory holding one (also <dir>/onnx/)')
    .requiredOption('-o, --output <dir>', 'output directory for model.onnx, hooks.json and tokenizer files')
    .option('--sites <list>', 'comma-separated sites or kinds (hook_resid_pre, hook_resid_mid, hook_resid_post, blocks.3.hook_resid_post); default: all', listOption('--sites', { unique: true }))
    .option('--norm-preserving', 'give every hook site a gate that can keep the residual norm when steering')
    .option('--low-rank', 'give every hook site the low-rank map inputs V, U (h + α(hV)Uᵀ; unfed, the graph computes what it did without them)')
    .option('--quantize <scheme>', 'quantize the fp32 linear-layer weights: int8 (dynamic, per-column) or int4 (MatMulNBits, blocks of 32 with zero points); hook sites stay fp32')
    .option('--force', 'replace an existing output directory')
    .option('--json', 'print the manifest as JSON')
    .action(async (input: string, opts: InstrumentCliOptions) => {
      if (opts.quantize !== undefined && opts.quantize !== 'int8' && opts.quantize !== 'int4') throw new UsageError(`--quantize must be "int8" or "int4", got "${opts.quantize}"`);
      let manifest: HooksManifest;
      const progress = progressFor('instrument');
      try {
        manifest = await instrumentModel(input, opts.output, {
          onProgress: (m) => progress.message(m),
          force: opts.force ?? false,
          normPreserving: opts.normPreserving ?? false,
          ...(opts.lowRank ? { lowRank: true } : {}),
          ...(opts.quantize === 'int8' || opts.quantize === 'int4' ? { quantize: opts.quantize } : {}),
          ...(opts.sites && opts.sites.length > 0 ? { sites: opts.sites } : {}),
        });
      } catch (err) {
        // Bad --sites values and ambiguous inputs are usage errors on the command line.
        if (err instanceof InvalidArgumentError) throw new UsageError(err.message, { cause: err });
        throw err;
      }
      if (opts.json) printJson(manifest);
      else process.stdout.write(summarizeManifest(manifest, opts.output));
    });
}
