/**
 * `onnx-steer patterns`: RLVR reasoning-pattern selection with a verifier.
 * Samples come from `--backend` (local, or an OpenAI-compatible server);
 * hidden embeddings and the steering toward a pattern need the local model
 * (on a server: `--utility minilm --strengths none`). With `-o`, every draw
 * goes to a journal in the folder, so an interrupted run resumes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readPrompts } from '../../pairs/prompts.js';
import { MiniLMEmbedder } from '../../embed/minilm.js';
import { BackendCapabilityError, OutputExistsError, UsageError } from '../../errors.js';
import type { Journal } from '../../backends/journal.js';
import { hashOf } from '../../backends/journal.js';
import { writeFilesInterruptibly } from '../../files/fs.js';
import { formatPatterns } from '../../patterns/format.js';
import { runPatterns, type PatternReport } from '../../patterns/run.js';
import { parseReward } from '../../rewards/parse.js';
import { parseNumberListOption, parseNumberText, QUANTITIES } from '../../validate/index.js';
import { parseFloatOption, parseIntOption, printJson } from '../common.js';
import { addBackendOptions, checkBackendOptions, openBackends, resumeNote, type BackendCliOptions } from '../backend-options.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';

interface PatternsCliOptions extends ModelCliOptions, BackendCliOptions {
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
    .option('--strengths <list>', 'strengths of the best-pattern vector to measure, or none (needs the local model)', '1,2')
    .option('-o, --output <dir>', 'report directory (report.json, report.md, and the journal that makes an interrupted run resumable)')
    .option('--force', 'overwrite an existing report in the directory')
    .option('--json', 'print one JSON document');
  addBackendOptions(cmd)
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
      const strengths = opts.strengths.trim() === 'none' ? [] : parseNumberListOption('--strengths', opts.strengths, QUANTITIES.strength.rule);
      const specs = checkBackendOptions(opts);
      if (specs.policy.kind === 'openai' && opts.utility === 'hidden') throw new BackendCapabilityError('activations', `--utility hidden${cmd.getOptionValueSource('utility') === 'default' ? ' (the default)' : ''} needs the model's activations, which a server does not return: give --utility minilm, or use --backend local`);
      if (specs.policy.kind === 'openai' && strengths.length > 0) throw new BackendCapabilityError('activations', 'steering toward a pattern extracts a vector from the model\'s activations, which a server does not return: give --strengths none, or use --backend local');
      if (specs.policy.kind === 'openai' && opts.site !== undefined) throw new UsageError('--site names a hook site of the local model; with --backend openai:… no activations are read');
      if (opts.referenceBackend !== undefined) throw new UsageError('patterns reads π_ref from the draws themselves (their log-probs): --reference-backend does not apply; give --backend');
      const report = opts.output ? join(opts.output, 'report.json') : undefined;
      if (report && existsSync(report) && opts.force !== true) throw new OutputExistsError(report);
      const prompts = readPrompts(opts.prompts);
      // Patterns are clusters of the pooled training candidates (training prompts × N), so k may exceed N.
      const pooled = Math.ceil(prompts.length / 2) * opts.n;
      if (clusters !== 'auto' && pooled < clusters) {
        throw new UsageError(`--clusters ${clusters} is more than the ${pooled} pooled training candidates (${Math.ceil(prompts.length / 2)} training prompts × --n ${opts.n}); patterns are clustered over all training prompts' candidates together`);
      }
      const progress = progressFor('patterns');
      const model = specs.needsLocal || opts.model ? await loadModel(opts, progress) : undefined;
      let journal: Journal | undefined;
      try {
        const verifier = await parseReward(opts.verifier.startsWith('verifier:') ? opts.verifier : `verifier:${opts.verifier}`, model ? { model } : {});
        const args = {
          command: 'patterns', model: specs.needsLocal ? model?.dir : null, prompts: hashOf(prompts), n: opts.n, verifier: opts.verifier, clusters, method: opts.method, utility: opts.utility,
          beta: opts.beta, site: opts.site ?? null, seed: opts.seed, temperature: opts.temperature, maxNewTokens: opts.maxNewTokens, strengths,
        };
        const backends = await openBackends(opts, model, opts.output ? { dir: opts.output, args } : undefined);
        journal = backends.journal;
        const note = resumeNote(journal);
        if (note) process.stderr.write(note);
        const embedder = opts.utility === 'minilm' ? await MiniLMEmbedder.load() : undefined;
        const result = await runPatterns(backends.policy, {
          prompts, n: opts.n, verifier, clusters, method: opts.method, utility: opts.utility, beta: opts.beta, seed: opts.seed,
          temperature: opts.temperature, maxNewTokens: opts.maxNewTokens, strengths, concurrency: backends.concurrency,
          ...(opts.site ? { site: opts.site } : {}), ...(embedder ? { embedder } : {}), onProgress: (m: string) => progress.message(m),
        });
        const doc = { ...patternsJson(result), backend: backends.policy.info.id };
        const text = formatPatterns(result);
        if (opts.output) await writeFilesInterruptibly([[join(opts.output, 'report.json'), `${JSON.stringify(doc, null, 2)}\n`], [join(opts.output, 'report.md'), `${text}\n`]]);
        if (opts.json) printJson(doc);
        else process.stdout.write(`${text}\n${opts.output ? `wrote ${opts.output}\n` : ''}`);
      } finally {
        progress.stop();
        journal?.close();
        await model?.dispose();
      }
    });
}
