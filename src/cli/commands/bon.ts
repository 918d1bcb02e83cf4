/**
 * `onnx-steer bon`: Best-of-N for one prompt. N candidates from one batched
 * generate() call (optionally steered), scored by a reward, a utility matrix
 * between them, and a selector (bon, mbr, mbr-bon, kl-bon, soft-kl,
 * length-bon). `--json` prints every candidate (text, reward, log-probs), the
 * utility matrix, the objective per candidate and the chosen index.
 */
import type { Command } from 'commander';
import { runBestOfN, type BestOfNResult } from '../../ab/bon.js';
import { vectorProbeLoader } from '../../ab/vector-probe.js';
import { BackendCapabilityError, OutputExistsError, UsageError } from '../../errors.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseReward } from '../../rewards/parse.js';
import { rewardUsages } from '../../rewards/registry.js';
import { hasSelector, selectorNames, selectorSpec } from '../../selection/registry.js';
import type { SelectorName } from '../../selection/selectors.js';
import { parseUtility } from '../../utilities/parse.js';
import { utilityUsages } from '../../utilities/registry.js';
import { hashOf } from '../../backends/journal.js';
import type { Journal } from '../../backends/journal.js';
import { atomicWriteFile } from '../../files/fs.js';
import { printJson } from '../common.js';
import { addBackendOptions, checkBackendOptions, openBackends, resumeNote, type BackendCliOptions } from '../backend-options.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';
import { addSteeringOptions, steeringFromOptions, type SteeringCliOptions } from './steering-options.js';
import { quantityOption } from '../../validate/index.js';

interface BonCliOptions extends ModelCliOptions, SteeringCliOptions, BackendCliOptions {
  output?: string;
  prompt?: string;
  n?: number;
  reward?: string;
  method?: string;
  beta?: number;
  utility?: string;
  seed?: number;
  temperature?: number;
  topP?: number;
  maxNewTokens?: number;
}

/** Checks the flags that need no model; returns the method. */
export function checkBonOptions(opts: BonCliOptions): SelectorName {
  if (opts.prompt === undefined) throw new UsageError('--prompt is required');
  if (opts.reward === undefined) throw new UsageError(`--reward is required (${rewardUsages().join(', ')})`);
  const n = opts.n ?? 16;
  if (n < 1) throw new UsageError(`--n must be ≥ 1, got ${n}`);
  if (opts.beta !== undefined && opts.beta < 0) throw new UsageError(`--beta must be ≥ 0, got ${opts.beta}`);
  const method = opts.method ?? (opts.beta !== undefined ? 'mbr-bon' : 'bon');
  if (!hasSelector(method)) throw new UsageError(`unknown --method "${method}"; methods: ${selectorNames().join(', ')}`);
  if (selectorSpec(method).needs.beta && opts.beta === undefined) throw new UsageError(`--method ${method} needs --beta`);
  return method;
}

function preview(text: string, width = 70): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function printText(r: BestOfNResult): void {
  const fmt = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));
  process.stdout.write(`${r.method}${r.beta !== null ? ` (β = ${r.beta})` : ''}, reward ${r.reward}${r.utility ? `, utility ${r.utility}` : ''}\n`);
  process.stdout.write('  #  reward    ū        objective  log-prob  text\n');
  for (const c of r.candidates) {
    const mark = c.index === r.chosen ? '*' : ' ';
    process.stdout.write(`${mark}${String(c.index).padStart(2)}  ${fmt(c.reward).padStart(7)}  ${fmt(c.meanUtility).padStart(7)}  ${fmt(c.objective).padStart(9)}  ${c.logprob.toFixed(1).padStart(8)}  ${preview(c.text)}\n`);
  }
  for (const inv of r.invalid) process.stderr.write(`onnx-steer: warning: ${inv.message}; candidate ${inv.candidate} left out\n`);
  process.stdout.write(`\nchosen: candidate ${r.chosen}\n${r.candidates[r.chosen]?.text ?? ''}\n`);
}

export function registerBon(program: Command): void {
  const cmd = program.command('bon').description('Best-of-N for one prompt: sample N candidates, score them, select one (BoN, MBR, MBR-BoN, KL-BoN, …)');
  addModelOptions(cmd)
    .option('--prompt <text>', 'prompt text')
    .option('--n <n>', 'number of candidates, drawn as one batch (default 16)', quantityOption('n'))
    .option('--reward <spec>', `reward: ${rewardUsages().join(', ')}`)
    .option('--method <name>', `selector: ${selectorNames().join(', ')} (default bon, or mbr-bon when --beta is given)`)
    .option('--beta <b>', 'regularisation strength β ≥ 0 (mbr-bon, kl-bon, soft-kl, length-bon)', quantityOption('beta'))
    .option('--utility <spec>', `MBR utility: ${utilityUsages().join(', ')} (default hidden)`)
    .option('--seed <s>', 'random seed (default 0)', quantityOption('seed'))
    .option('--temperature <t>', 'sampling temperature (default 1)', quantityOption('temperature'))
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1] (default 1)', quantityOption('topP'))
    .option('--max-new-tokens <n>', 'tokens per candidate (default 64)', quantityOption('maxNewTokens'));
  addSteeringOptions(cmd)
    .option('-o, --output <dir>', 'write bon.json here, with a journal that makes an interrupted run resumable')
    .option('--json', 'print one JSON document');
  addBackendOptions(cmd)
    .action(async (opts: BonCliOptions) => {
      const method = checkBonOptions(opts);
      const specs = checkBackendOptions(opts);
      if (opts.output && existsSync(join(opts.output, 'bon.json'))) throw new OutputExistsError(join(opts.output, 'bon.json'));
      const progress = progressFor('bon');
      const model = specs.needsLocal || opts.model ? await loadModel(opts, progress) : undefined;
      let journal: Journal | undefined;
      try {
        const steering = steeringFromOptions(opts, model);
        const ctx = model ? { model, loadVector: vectorProbeLoader(model) } : {};
        const reward = await parseReward(opts.reward as string, ctx);
        const utilitySpec = opts.utility ?? 'hidden';
        if (!model && utilitySpec.startsWith('hidden')) throw new BackendCapabilityError('activations', `--utility ${utilitySpec}${opts.utility ? '' : ' (the default)'} needs the model's activations, which a server does not return: pick --utility minilm, rouge-l or chrf, or use --backend local`);
        const utility = parseUtility(utilitySpec, model ? { model } : {});
        const sampling = {
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
          ...(opts.topP !== undefined ? { topP: opts.topP } : {}),
          ...(opts.maxNewTokens !== undefined ? { maxNewTokens: opts.maxNewTokens } : {}),
        };
        const args = {
          command: 'bon', model: specs.needsLocal ? model?.dir : null, prompt: opts.prompt, n: opts.n ?? 16, method, beta: opts.beta ?? null,
          reward: opts.reward, utility: utilitySpec, steering: steering.describe(), vectors: hashOf(steering.terms.map((t) => t.vector.toJSON())), sampling,
        };
        const backends = await openBackends(opts, model, opts.output ? { dir: opts.output, args } : undefined);
        journal = backends.journal;
        const note = resumeNote(journal);
        if (note) process.stderr.write(note);
        const result = await runBestOfN(backends.policy, opts.prompt as string, {
          n: opts.n ?? 16, method, ...(opts.beta !== undefined ? { beta: opts.beta } : {}), reward, utility,
          referenceBackend: backends.reference,
          onProgress: (m) => progress.message(m),
          ...(steering.empty ? {} : { steering }),
          sampling,
        });
        const doc = { model: backends.policy.info.model, backend: backends.policy.info.id, referenceBackend: backends.reference.info.id, steered: !steering.empty, ...result };
        if (opts.output) atomicWriteFile(join(opts.output, 'bon.json'), `${JSON.stringify(doc, null, 2)}\n`);
        if (opts.json) printJson(doc);
        else printText(result);
      } finally {
        journal?.close();
        await model?.dispose();
      }
    });
}
