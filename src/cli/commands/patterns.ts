/** `onnx-steer patterns`: RLVR reasoning-pattern selection with a verifier. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readPrompts } from '../../pairs/prompts.js';
import { MiniLMEmbedder } from '../../embed/minilm.js';
import { UsageError } from '../../errors.js';
import { writeDirectoryAtomically } from '../../files/directory.js';
import { formatPatterns } from '../../patterns/format.js';
import { runPatterns, type PatternReport } from '../../patterns/run.js';
import { parseReward } from '../../rewards/parse.js';
import { guardOutput } from '../../files/fs.js';
import { parseNumberListOption, parseNumberText, QUANTITIES } from '../../validate/index.js';
import { parseFloatOption, parseIntOption, printJson } from '../common.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';

interface PatternsCliOptions extends ModelCliOptions {
  prompts?: string;
  n: number;
  verifier?: string;
  clusters: string;
  method: string;
  utility: string;
  beta: number;
  site?: string;
  seed: number;
  temperature: number;
  maxNewTokens: number;
  strengths: string;
  output?: string;
  force?: boolean;
}

/** The `--json` document: the names the issue fixes, plus the steering and setup. */
export function patternsJson(r: PatternReport): Record<string, unknown> {
  return {
    patterns: r.patterns.map((p) => ({ id: p.id, size: p.size, refMass: p.refMass, success: p.success, ci: p.ci, examples: p.examples, share: p.share, heldOutSize: p.heldOutSize, heldOutSuccess: p.heldOutSuccess })),
    selectors: r.selectors,
    steering: r.steering,
    clustering: r.clustering,
    setup: r.setup,
  };
}

export function registerPatterns(program: Command): void {
  const cmd = program.command('patterns').description('cluster sampled responses into reasoning patterns, verify them, and compare pattern-aware selection and steering (RLVR)');
  addModelOptions(cmd)
    .option('--prompts <file>', 'prompts (JSONL of {prompt}); even lines fit the patterns, odd lines are held out')
    .option('--n <n>', 'samples per prompt', parseIntOption('--n'), 16)
    .option('--verifier <spec>', 'verifier: regex:<re>, keywords:<w,…>[@all], json-schema:<file>, names-again[:<tokens>], quoted-speech, or <module>#<export>')
    .option('--clusters <k|auto>', 'number of patterns over the pooled training candidates (training prompts × N, so k may exceed N), or auto (silhouette over 2…8)', 'auto')
    .option('--method <m>', 'clustering: kmeans or agglomerative (Ward)', 'kmeans')
    .option('--utility <u>', 'embedding: hidden (mean response residual) or minilm', 'hidden')
    .option('--beta <b>', 'β of the pattern-weighted selector: π_ref(r)·exp(p(r)/β)', parseFloatOption('--beta'), 0.1)
    .option('--site <site>', 'hook site for hidden embeddings and the steering vector (default: the last hook_resid_post)')
    .option('--seed <n>', 'base seed', parseIntOption('--seed'), 0)
    .option('--temperature <t>', 'sampling temperature', parseFloatOption('--temperature'), 1)
    .option('--max-new-tokens <n>', 'tokens per sample', parseIntOption('--max-new-tokens'), 48)
    .option('--strengths <list>', 'strengths of the best-pattern vector to measure', '1,2')
    .option('-o, --output <dir>', 'report directory (report.json, report.md)')
    .option('--force', 'replace the report directory')
    .option('--json', 'print one JSON document')
    .action(async (opts: PatternsCliOptions) => {
      if (!opts.prompts) throw new UsageError('--prompts <file> is required');
      if (!opts.verifier) throw new UsageError('--verifier <spec> is required');
      if (opts.n < 2) throw new UsageError(`--n must be ≥ 2, got ${opts.n}`);
      const k = opts.clusters === 'auto' ? undefined : parseNumberText(opts.clusters, true);
      if (opts.clusters !== 'auto' && (k === undefined || k < 1)) throw new UsageError(`--clusters must be auto or an integer ≥ 1, got "${opts.clusters}"`);
      const clusters = k ?? 'auto';
      if (opts.method !== 'kmeans' && opts.method !== 'agglomerative') throw new UsageError(`--method must be kmeans or agglomerative, got "${opts.method}"`);
      if (opts.utility !== 'hidden' && opts.utility !== 'minilm') throw new UsageError(`--utility must be hidden or minilm, got "${opts.utility}"`);
      if (opts.beta < 0) throw new UsageError(`--beta must be ≥ 0, got ${opts.beta}`);
      const strengths = parseNumberListOption('--strengths', opts.strengths, QUANTITIES.strength.rule);
      if (opts.output) guardOutput(opts.output, opts.force === true);
      const prompts = readPrompts(opts.prompts);
      // Patterns are clusters of the pooled training candidates (training prompts × N), so k may exceed N.
      const pooled = Math.ceil(prompts.length / 2) * opts.n;
      if (clusters !== 'auto' && pooled < clusters) {
        throw new UsageError(`--clusters ${clusters} is more than the ${pooled} pooled training candidates (${Math.ceil(prompts.length / 2)} training prompts × --n ${opts.n}); patterns are clustered over all training prompts' candidates together`);
      }
      const progress = progressFor('patterns');
      const model = await loadModel(opts, progress);
      try {
        const verifier = await parseReward(opts.verifier.startsWith('verifier:') ? opts.verifier : `verifier:${opts.verifier}`, { model });
        const embedder = opts.utility === 'minilm' ? await MiniLMEmbedder.load() : undefined;
        const report = await runPatterns(model, {
          prompts, n: opts.n, verifier, clusters, method: opts.method, utility: opts.utility, beta: opts.beta, seed: opts.seed,
          temperature: opts.temperature, maxNewTokens: opts.maxNewTokens, strengths,
          ...(opts.site ? { site: opts.site } : {}), ...(embedder ? { embedder } : {}), onProgress: (m: string) => progress.message(m),
        });
        const doc = patternsJson(report);
        const text = formatPatterns(report);
        if (opts.output) {
          await writeDirectoryAtomically(opts.output, { force: opts.force === true }, (tmp) => {
            writeFileSync(join(tmp, 'report.json'), `${JSON.stringify(doc, null, 2)}\n`);
            writeFileSync(join(tmp, 'report.md'), `${text}\n`);
            return Promise.resolve();
          });
        }
        if (opts.json) printJson(doc);
        else process.stdout.write(`${text}\n${opts.output ? `wrote ${opts.output}\n` : ''}`);
      } finally {
        await model.dispose();
      }
    });
}
