/**
 * `onnx-steer ab`: the A/B harness. Baseline, steering over a strength sweep,
 * BoN(N) and MBR-BoN(N, β) for each N, and steering + MBR-BoN, on a prompt
 * set; selected with the proxy reward (--reward), judged with the gold reward
 * (--gold). Writes results.json, report.md, report.html and SVG charts to the
 * output directory.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { AB_BETA_GRID, runAB, type PolicyArm, type ProgressEvent } from '../../ab/harness.js';
import type { ReferenceModel } from '../../ab/references.js';
import { checkSameVocabularyDirs } from '../../prefs/compat.js';
import { hookedModelDir } from '../../model/checkpoint-cache.js';
import { HookedModel } from '../../model/hooked-model.js';
import { readPrompts } from '../../pairs/prompts.js';
import { compactArmsTable, tableToMarkdown } from '../../ab/report/tables.js';
import { writeReport } from '../../ab/report/write.js';
import { vectorProbeLoader } from '../../ab/vector-probe.js';
import { BackendCapabilityError, OutputExistsError, UsageError } from '../../errors.js';
import { parseReward } from '../../rewards/parse.js';
import { rewardUsages } from '../../rewards/registry.js';
import { hasSelector, selectorNames } from '../../selection/registry.js';
import { parseUtility } from '../../utilities/parse.js';
import { utilityUsages } from '../../utilities/registry.js';
import { SteeringVector } from '../../vectors/vector.js';
import type { Journal } from '../../backends/journal.js';
import { hashOf } from '../../backends/journal.js';
import { checksumOf } from '../../vectors/checksum.js';
import { printJson } from '../common.js';
import { addBackendOptions, checkBackendOptions, openBackends, resumeNote, type BackendCliOptions } from '../backend-options.js';
import { addPoolSamplingOptions } from './sampling-options.js';
import { addModelOptions, checkpointBuildProgress, loadModel, sessionOptions, type ModelCliOptions } from '../model-option.js';
import { progressFor, type Progress } from '../progress.js';
import { listOption, numberListOption, numberOption, QUANTITIES, quantityOption } from '../../validate/index.js';

interface AbCliOptions extends ModelCliOptions, BackendCliOptions {
  prompts?: string;
  devPrompts?: string;
  vector?: string;
  strengths?: number[];
  n?: number[];
  reward?: string;
  gold?: string;
  beta?: number[];
  utility?: string;
  comboN?: number;
  limit?: number;
  seed?: number;
  temperature?: number;
  topP?: number;
  maxNewTokens?: number;
  klResamples?: number;
  selectors?: string[];
  output?: string;
  force?: boolean;
  policyArm?: string[];
  reference?: string[];
  epsilon?: number;
}

/** `name=<model-dir>` of --policy-arm. */
export function parsePolicyArm(arg: string): { name: string; dir: string } {
  const at = arg.indexOf('=');
  const name = at > 0 ? arg.slice(0, at).trim() : '';
  const dir = at > 0 ? arg.slice(at + 1).trim() : '';
  if (!name || !dir) throw new UsageError(`--policy-arm takes name=<model-dir>, got "${arg}"`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError(`--policy-arm names use letters, digits, '.', '_' and '-'; got "${name}"`);
  return { name, dir };
}

export interface AbPlan {
  ns: number[];
  strengths: number[];
  beta?: number;
  betaGrid?: number[];
}

/** Checks the flags that need no model. */
export function checkAbOptions(opts: AbCliOptions): AbPlan {
  if (!opts.prompts) throw new UsageError('--prompts <file.jsonl> is required');
  if (!opts.output) throw new UsageError('-o, --output <dir> is required');
  if (!opts.reward) throw new UsageError('--reward <proxy> is required (the reward used for selection)');
  if (!opts.gold) throw new UsageError('--gold <gold> is required (the reward that judges every arm)');
  if (opts.reward.trim() === opts.gold.trim()) throw new UsageError(`--gold must differ from --reward (both are "${opts.gold}")`);
  const ns = opts.n ?? [4, 8, 16];
  const strengths = opts.strengths ?? [];
  if (strengths.length > 0 && !opts.vector) throw new UsageError('--strengths needs --vector');
  const betas = opts.beta ?? [];
  if (betas.length > 1 && !opts.devPrompts) throw new UsageError('several --beta values form a calibration grid: give --dev-prompts');
  if (betas.length === 0 && !opts.devPrompts) throw new UsageError('give --beta <b> or --dev-prompts <file.jsonl> to calibrate β on');
  if (opts.limit !== undefined && opts.limit < 1) throw new UsageError(`--limit must be ≥ 1, got ${opts.limit}`);
  for (const name of opts.selectors ?? []) if (!hasSelector(name)) throw new UsageError(`unknown selector "${name}" in --selectors; selectors: ${selectorNames().join(', ')}`);
  if (opts.epsilon !== undefined && (opts.reference?.length ?? 0) < 2) throw new UsageError('--epsilon is MRPO\'s clipping of several references: give two or more --reference');
  if (opts.comboN !== undefined && (opts.comboN < 1 || opts.comboN > Math.max(...ns))) throw new UsageError(`--combo-n must be in [1, ${Math.max(...ns)}]`);
  return {
    ns, strengths,
    ...(betas.length === 1 ? { beta: betas[0] } : {}),
    ...(betas.length > 1 ? { betaGrid: betas } : {}),
  };
}

/** runAB's progress events as the command's progress lines. */
export function abProgress(progress: Progress): (e: ProgressEvent) => void {
  return (e) => {
    if (e.stage === 'dev') progress.count('calibrating β on', e.done, e.total, 'dev prompts');
    else if (e.stage === 'prompts') progress.count('generating', e.done, e.total, 'prompts');
    else progress.count('evaluating', e.done, e.total, 'arms');
  };
}

export function registerAb(program: Command): void {
  const cmd = program.command('ab').description('A/B harness: baseline vs steering vs BoN vs MBR-BoN vs steering + MBR-BoN, with a report');
  addModelOptions(cmd)
    .option('--prompts <file>', 'prompts, JSONL with {"prompt": "..."} per line')
    .option('--dev-prompts <file>', 'held-out prompts to calibrate β on (JSONL)')
    .option('--vector <file>', 'steering vector file')
    .option('--strengths <list>', 'steering strengths to sweep, comma-separated', numberListOption('--strengths', QUANTITIES.strength.rule, { unique: true }))
    .option('--n <list>', 'N values for BoN and MBR-BoN, comma-separated (default 4,8,16)', numberListOption('--n', QUANTITIES.n.rule, { unique: true }))
    .option('--reward <spec>', `proxy reward, used for selection: ${rewardUsages().join(', ')}`)
    .option('--gold <spec>', 'gold reward, used only to judge (e.g. vader); must differ from --reward')
    .option('--beta <list>', 'a fixed β, or a comma-separated grid to calibrate on --dev-prompts', numberListOption('--beta', QUANTITIES.beta.rule, { unique: true }))
    .option('--utility <spec>', `MBR utility: ${utilityUsages().join(', ')} (default hidden)`)
    .option('--combo-n <n>', 'N of the steering + MBR-BoN arms (default: the largest N)', numberOption('--combo-n', { integer: true, min: 1 }))
    .option('--limit <k>', 'use only the first k prompts', quantityOption('limit'));
  addPoolSamplingOptions(cmd)
    .option('--selectors <list>', `selector arms, each at every N: ${selectorNames().join(', ')} (default bon,mbr-bon)`, listOption('--selectors', { unique: true }))
    .option('--kl-resamples <r>', 'subsets per pool for the plug-in KL of selection arms (default 1000)', quantityOption('klResamples'))
    .option('--policy-arm <name=dir>', 'an arm that samples another model with the same tokenizer (a trained policy: hooked model or checkpoint directory); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--reference <dir>', 'a reference model of KL-BoN and the KL columns (hooked model or checkpoint directory; repeatable; the first is MRPO\'s anchor; with two or more, KL-BoN uses MRPO\'s combined reference); default: --model', (v: string, prev: string[] = []) => [...prev, v])
    .option('--epsilon <ε>', 'MRPO clipping of several --reference, in (0, 1) (default 0.1)', numberOption('--epsilon', { above: 0, below: 1 }))
    .option('-o, --output <dir>', 'report directory (also holds the journal that makes an interrupted run resumable)')
    .option('--force', 'overwrite an existing report in the directory')
    .option('--json', 'print a JSON summary on stdout');
  addBackendOptions(cmd)
    .action(async (opts: AbCliOptions) => {
      const plan = checkAbOptions(opts);
      const out = opts.output as string;
      if (existsSync(join(out, 'results.json')) && !opts.force) throw new OutputExistsError(join(out, 'results.json'));
      let prompts = readPrompts(opts.prompts as string);
      if (opts.limit !== undefined) prompts = prompts.slice(0, opts.limit);
      const devPrompts = opts.devPrompts ? readPrompts(opts.devPrompts) : [];
      const arms = (opts.policyArm ?? []).map(parsePolicyArm);
      if (new Set(arms.map((a) => a.name)).size !== arms.length) throw new UsageError('two --policy-arm entries share a name');
      const specs = checkBackendOptions(opts);
      if (arms.length > 0 && !specs.needsLocal && !opts.model) throw new UsageError('--policy-arm needs the reference model locally (--model, or --reference-backend local)');
      const progress = progressFor('ab');
      const model = specs.needsLocal || opts.model || arms.length > 0 ? await loadModel(opts, progress) : undefined;
      const policies: PolicyArm[] = [];
      const references: ReferenceModel[] = [];
      const opened: HookedModel[] = [];
      let journal: Journal | undefined;
      try {
        for (const a of arms) {
          const dir = await hookedModelDir(a.dir, checkpointBuildProgress(progress, a.dir));
          checkSameVocabularyDirs((model as HookedModel).dir, dir, ['reference model', `policy arm ${a.name}`]);
          policies.push({ name: a.name, model: await HookedModel.load(dir, sessionOptions(opts)) });
        }
        if ((opts.reference ?? []).length > 0 && !model) throw new UsageError('--reference models are scored locally: give --model with them');
        const local = model;
        if (local) {
          for (const [k, arg] of (opts.reference ?? []).entries()) {
            const dir = await hookedModelDir(arg, checkpointBuildProgress(progress, arg));
            const anchor = references[0];
            if (k === 0 || !anchor) checkSameVocabularyDirs(local.dir, dir, ['model', `reference ${arg}`]);
            else checkSameVocabularyDirs(anchor.model.dir, dir, [`reference ${opts.reference?.[0]}`, `reference ${arg}`]);
            const same = dir === local.dir ? local : opened.find((m) => m.dir === dir);
            const ref = same ?? await HookedModel.load(dir, sessionOptions(opts));
            if (!same) opened.push(ref);
            references.push({ name: basename(arg.replace(/[/\\]+$/, '')) || arg, model: ref });
          }
        }
        const vector = opts.vector ? SteeringVector.load(opts.vector, model ? { model } : {}) : undefined;
        const args = {
          command: 'ab', model: specs.needsLocal ? model?.dir : null, prompts: hashOf(prompts), devPrompts: hashOf(devPrompts), ns: plan.ns, strengths: plan.strengths,
          vector: vector ? checksumOf(vector) : null, reward: opts.reward, gold: opts.gold, utility: opts.utility ?? 'hidden', beta: opts.beta ?? null, comboN: opts.comboN ?? null,
          seed: opts.seed ?? 0, temperature: opts.temperature ?? 1, topP: opts.topP ?? 1, maxNewTokens: opts.maxNewTokens ?? 64, selectors: opts.selectors ?? null,
          klResamples: opts.klResamples ?? null, policyArms: arms, references: opts.reference ?? [], epsilon: opts.epsilon ?? null,
        };
        const ctx = { ...(model ? { model } : {}), ...(model ? { loadVector: vectorProbeLoader(model) } : {}) };
        const proxy = await parseReward(opts.reward as string, ctx);
        const gold = await parseReward(opts.gold as string, ctx);
        const utilitySpec = opts.utility ?? 'hidden';
        if (!model && utilitySpec.startsWith('hidden')) throw new BackendCapabilityError('activations', `--utility ${utilitySpec}${opts.utility ? '' : ' (the default)'} needs the model's activations, which a server does not return: pick --utility minilm, rouge-l or chrf, or use --backend local`);
        const utility = parseUtility(utilitySpec, model ? { model } : {});
        const backends = await openBackends(opts, model, { dir: out, args });
        journal = backends.journal;
        const note = resumeNote(journal);
        if (note) process.stderr.write(note);
        const result = await runAB(backends.policy, {
          referenceBackend: backends.reference, concurrency: backends.concurrency,
          prompts, devPrompts, ns: plan.ns, strengths: plan.strengths, proxy, gold, utility,
          ...(vector ? { vector } : {}),
          ...(policies.length > 0 ? { policies } : {}),
          ...(references.length > 0 ? { references } : {}),
          ...(opts.epsilon !== undefined ? { epsilon: opts.epsilon } : {}),
          ...(plan.beta !== undefined ? { beta: plan.beta } : {}),
          betaGrid: plan.betaGrid ?? AB_BETA_GRID,
          ...(opts.comboN !== undefined ? { comboN: opts.comboN } : {}),
          ...(opts.klResamples !== undefined ? { klResamples: opts.klResamples } : {}),
          ...(opts.selectors ? { selectors: opts.selectors } : {}),
          sampling: {
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
            ...(opts.topP !== undefined ? { topP: opts.topP } : {}),
            ...(opts.maxNewTokens !== undefined ? { maxNewTokens: opts.maxNewTokens } : {}),
          },
          onProgress: abProgress(progress),
        });
        progress.stop();
        const written = await writeReport(out, result);
        if (opts.json) {
          printJson({ output: out, files: written.files, config: result.config, beta: result.beta, arms: result.arms, calibration: result.calibration, overoptimization: result.overoptimization.points, findings: result.findings });
        } else {
          process.stdout.write(`${tableToMarkdown(compactArmsTable(result.arms))}\n\n${result.findings.map((f) => `- ${f}`).join('\n')}\n\nreport: ${join(out, 'report.md')}, ${join(out, 'report.html')}\n`);
        }
      } finally {
        progress.stop();
        journal?.close();
        for (const p of policies) await (p.model as HookedModel).dispose();
        for (const m of opened) await m.dispose();
        await model?.dispose();
      }
    });
}
