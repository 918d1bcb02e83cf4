/**
 * `onnx-steer prefs`: DPO, RPO and MRPO of a policy (a model, optionally
 * steered) against one or more references on preference pairs, by forward
 * passes. `--policy` and `--reference` take hooked model directories or
 * Hugging Face checkpoints (built once into the cache); both default to the
 * default model.
 *
 * `--backend openai:<url>` scores the policy on a server (its prompt
 * log-probs; `--policy` then only names the tokenizer the server's model
 * shares, which encodes the pairs); `--reference-backend` scores the
 * reference there too (default: the policy's server when --backend is one
 * and no --reference is given). With `-o`, prefs.json is written there and
 * every score goes to a journal, so an interrupted run resumes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { journaled } from '../../backends/journaled.js';
import { hashOf, type Journal } from '../../backends/journal.js';
import { localBackend } from '../../backends/local.js';
import type { Backend } from '../../backends/types.js';
import { OutputExistsError, UsageError } from '../../errors.js';
import { atomicWriteFile } from '../../files/fs.js';
import { TextTokenizer } from '../../runtime/tokenizer.js';
import { checkSameVocabularyDirs } from '../../prefs/compat.js';
import { formatPreferences, scorePreferences } from '../../prefs/score.js';
import { HookedModel } from '../../model/hooked-model.js';
import { hookedModelDir } from '../../model/checkpoint-cache.js';
import { loadPairs } from '../../pairs/pairs.js';
import { parseFloatOption, parseIntOption, parseListOptionFor, printJson } from '../common.js';
import { checkpointBuildProgress, resolveModelDir, sessionOptions } from '../model-option.js';
import { progressFor, type Progress } from '../progress.js';
import { addBackendOptions, checkBackendOptions, openBackends, resumeNote, type BackendCliOptions, type BackendSpec } from '../backend-options.js';
import { addSteeringOptions, steeringFromOptions, type SteeringCliOptions } from './steering-options.js';

interface PrefsCliOptions extends SteeringCliOptions, BackendCliOptions {
  output?: string;
  force?: boolean;
  pairs?: string;
  policy?: string;
  reference?: string[];
  beta?: number;
  eta?: number;
  epsilon?: number;
  limit?: number;
  threads?: number;
  ep?: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Checks the flags that need no model. */
export function checkPrefsOptions(opts: PrefsCliOptions): void {
  if (!opts.pairs) throw new UsageError('--pairs <file.jsonl> is required');
  if (opts.beta !== undefined && !(opts.beta > 0)) throw new UsageError(`--beta must be > 0, got ${opts.beta}`);
  if (opts.eta !== undefined && !(opts.eta >= 0)) throw new UsageError(`--eta must be ≥ 0, got ${opts.eta}`);
  if (opts.epsilon !== undefined && !(opts.epsilon > 0 && opts.epsilon < 1)) throw new UsageError(`--epsilon must lie in (0, 1), got ${opts.epsilon}`);
  if (opts.epsilon !== undefined && (opts.reference?.length ?? 0) < 2) {
    throw new UsageError('--epsilon is MRPO\'s clipping, and MRPO needs two --reference models (the initial policy, then the external reference)');
  }
  if (opts.limit !== undefined && opts.limit < 1) throw new UsageError(`--limit must be ≥ 1, got ${opts.limit}`);
  if (opts.threads !== undefined && opts.threads < 1) throw new UsageError('--threads must be ≥ 1');
}

/** Where the references are scored: the --reference-backend, else the policy's server when it is one and no --reference is given, else locally. */
export function prefsReferenceSpec(opts: PrefsCliOptions): BackendSpec {
  const specs = checkBackendOptions(opts);
  const spec = specs.reference ?? (specs.policy.kind === 'openai' && !opts.reference ? specs.policy : { kind: 'local' as const });
  if (spec.kind === 'openai' && opts.reference) throw new UsageError('--reference <dir> models are scored locally, and --reference-backend openai:… scores the server\'s model: give one or the other');
  return spec;
}

/** Opens each distinct directory once (the same model may be policy and reference). */
export class ModelSet {
  private readonly open = new Map<string, Promise<HookedModel>>();
  constructor(private readonly options: { threads?: number; ep?: string[] }) {}

  /** The hooked directory for a user's argument (building a checkpoint into the cache once). */
  static resolve(dir: string | undefined, progress?: Progress): Promise<string> {
    if (dir === undefined) return resolveModelDir({}, progress);
    return hookedModelDir(dir, progress ? checkpointBuildProgress(progress, dir) : {});
  }

  async get(resolved: string): Promise<HookedModel> {
    let m = this.open.get(resolved);
    if (!m) {
      m = HookedModel.load(resolved, sessionOptions(this.options));
      this.open.set(resolved, m);
    }
    return m;
  }

  async dispose(): Promise<void> {
    const all = await Promise.allSettled([...this.open.values()]);
    for (const r of all) if (r.status === 'fulfilled') await r.value.dispose();
  }
}

export function registerPrefs(program: Command): void {
  const cmd = program.command('prefs').description('DPO, RPO and MRPO of a policy (optionally steered) against reference models on preference pairs, by forward passes');
  cmd
    .option('--pairs <file>', 'preference pairs (JSONL: prompt, chosen, rejected)')
    .option('--policy <dir>', 'policy: hooked model or Hugging Face checkpoint directory (default: the default model)')
    .option('--reference <dir>', 'reference model (repeatable; the first is the initial policy, the second MRPO\'s external reference; default: the default model)', collect);
  addSteeringOptions(cmd)
    .option('--beta <b>', 'DPO β > 0 (default 0.1)', parseFloatOption('--beta'))
    .option('--eta <η>', 'RPO weight of the chosen NLL, ≥ 0 (default 0.005)', parseFloatOption('--eta'))
    .option('--epsilon <ε>', 'MRPO clipping in (0, 1) (default 0.1; needs two --reference)', parseFloatOption('--epsilon'))
    .option('--limit <k>', 'use only the first k pairs', parseIntOption('--limit'))
    .option('--threads <n>', 'intra-op threads for onnxruntime', parseIntOption('--threads'))
    .option('--ep <list>', 'execution providers in priority order, e.g. cpu', parseListOptionFor('--ep'))
    .option('-o, --output <dir>', 'write prefs.json here, with a journal that makes an interrupted run resumable')
    .option('--force', 'overwrite an existing prefs.json')
    .option('--json', 'print the report as JSON');
  addBackendOptions(cmd)
    .action(async (opts: PrefsCliOptions) => {
      checkPrefsOptions(opts);
      const specs = checkBackendOptions(opts);
      const refSpec = prefsReferenceSpec(opts);
      const remotePolicy = specs.policy.kind === 'openai';
      const out = opts.output ? join(opts.output, 'prefs.json') : undefined;
      if (out && existsSync(out) && opts.force !== true) throw new OutputExistsError(out);
      const dataset = loadPairs(opts.pairs as string);
      if (opts.limit !== undefined) dataset.pairs = dataset.pairs.slice(0, opts.limit);
      const models = new ModelSet({ ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(opts.ep ? { ep: opts.ep } : {}) });
      const progress = progressFor('prefs');
      let journal: Journal | undefined;
      try {
        // With a server as policy, --policy names the tokenizer that encodes the pairs (the server's model must share it).
        const policyDir = await ModelSet.resolve(opts.policy, progress);
        const referenceDirs: string[] = [];
        if (refSpec.kind === 'local') for (const dir of opts.reference ?? [undefined]) referenceDirs.push(await ModelSet.resolve(dir, progress));
        for (const dir of referenceDirs) checkSameVocabularyDirs(policyDir, dir);
        const policyModel = remotePolicy ? undefined : await models.get(policyDir);
        const refModels = [];
        for (const dir of referenceDirs) refModels.push(await models.get(dir));
        const steering = steeringFromOptions(opts, policyModel);
        const args = {
          command: 'prefs', policy: remotePolicy ? null : policyDir, tokenizer: policyDir, pairs: dataset.sha256, limit: opts.limit ?? null,
          references: refSpec.kind === 'local' ? referenceDirs : null, steering: steering.describe(), vectors: hashOf(steering.terms.map((t) => t.vector.toJSON())),
        };
        const backends = await openBackends({ ...opts, referenceBackend: refSpec.kind === 'openai' ? (opts.referenceBackend ?? opts.backend) : undefined }, policyModel, out ? { dir: opts.output as string, args } : undefined);
        journal = backends.journal;
        const note = resumeNote(journal);
        if (note) process.stderr.write(note);
        const wrap = (b: Backend): Backend => (journal ? journaled(b, journal) : b);
        const references = refSpec.kind === 'openai' ? [backends.reference] : refModels.map((m) => (m === policyModel ? backends.policy : wrap(localBackend(m))));
        const passes = dataset.pairs.length * (1 + references.length);
        progress.message(`scoring ${dataset.pairs.length} pairs under the policy and ${references.length} reference(s): ${passes} passes`);
        const report = await scorePreferences(backends.policy, references, dataset, {
          ...(policyModel ? {} : { tokenizer: { tokenizer: TextTokenizer.load(policyDir) } }),
          concurrency: backends.concurrency,
          ...(opts.beta !== undefined ? { beta: opts.beta } : {}),
          ...(opts.eta !== undefined ? { eta: opts.eta } : {}),
          ...(opts.epsilon !== undefined ? { epsilon: opts.epsilon } : {}),
          ...(steering.empty ? {} : { steering, steeringLabel: steering.describe().split('\n').join('; ') }),
          onProgress: (done: number, total: number) => progress.count('scored', done, total, 'passes'),
        });
        progress.stop();
        if (out) atomicWriteFile(out, `${JSON.stringify(report, null, 2)}\n`);
        if (opts.json) printJson(report);
        else process.stdout.write(`${formatPreferences(report)}\n`);
      } finally {
        progress.stop();
        journal?.close();
        await models.dispose();
      }
    });
}
