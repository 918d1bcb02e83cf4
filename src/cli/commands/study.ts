/**
 * `onnx-steer study`: the overoptimization study (see src/study/run.ts). A
 * ladder of proxies (`--proxy label=spec`, repeatable, in order of decreasing
 * quality) against one gold judge; BoN, MBR-BoN and KL-BoN (and, with
 * --vector, steering + each) at N = 1, 2, 4, …, N_max on one shared pool per
 * prompt. Writes results.json, report.md, report.html and SVG charts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readPrompts } from '../../pairs/prompts.js';
import { vectorProbeLoader } from '../../ab/vector-probe.js';
import { OutputExistsError, UsageError } from '../../errors.js';
import { parseReward } from '../../rewards/parse.js';
import { rewardUsages } from '../../rewards/registry.js';
import { runStudy, type LadderRung } from '../../study/run.js';
import { studySummary, writeStudyReport } from '../../study/report/write.js';
import { RELATIVE_BETA_GRID } from '../../study/calibrate.js';
import { parseUtility } from '../../utilities/parse.js';
import { utilityUsages } from '../../utilities/registry.js';
import { SteeringVector } from '../../vectors/vector.js';
import { numberListOption, numberOption, QUANTITIES, quantityOption } from '../../validate/index.js';
import { printJson } from '../common.js';
import { addPoolSamplingOptions } from './sampling-options.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';

interface StudyCliOptions extends ModelCliOptions {
  prompts?: string;
  devPrompts?: string;
  proxy?: string[];
  gold: string;
  nMax: number;
  vector?: string;
  strength?: number;
  utility: string;
  betaGrid?: number[];
  limit?: number;
  devLimit?: number;
  seed?: number;
  temperature?: number;
  topP?: number;
  maxNewTokens?: number;
  klResamples?: number;
  output?: string;
  force?: boolean;
}

/** `label=spec` of --proxy (the label is optional: the spec alone labels itself). */
export function parseProxyArg(arg: string): { label: string; spec: string } {
  const eq = arg.indexOf('=');
  const label = eq > 0 ? arg.slice(0, eq).trim() : '';
  const spec = (eq > 0 ? arg.slice(eq + 1) : arg).trim();
  if (!spec) throw new UsageError(`--proxy takes [label=]<reward spec>, got "${arg}"`);
  if (eq > 0 && !/^[A-Za-z0-9._-]+$/.test(label)) throw new UsageError(`--proxy labels use letters, digits, '.', '_' and '-'; got "${label}"`);
  return { label: label || spec, spec };
}

/** Checks the flags that need no model. */
export function checkStudyOptions(opts: StudyCliOptions): { label: string; spec: string }[] {
  if (!opts.prompts) throw new UsageError('--prompts <file.jsonl> is required');
  if (!opts.devPrompts) throw new UsageError('--dev-prompts <file.jsonl> is required (β is calibrated on them)');
  if (!opts.output) throw new UsageError('-o, --output <dir> is required');
  const proxies = (opts.proxy ?? []).map(parseProxyArg);
  if (proxies.length === 0) throw new UsageError('give at least one --proxy [label=]<spec>');
  const specs = [opts.gold.trim(), ...proxies.map((p) => p.spec)];
  if (new Set(specs).size !== specs.length) throw new UsageError(`--gold and every --proxy must differ (got ${specs.join(', ')})`);
  if (new Set(proxies.map((p) => p.label)).size !== proxies.length) throw new UsageError('two --proxy entries share a label');
  if (opts.strength !== undefined && !opts.vector) throw new UsageError('--strength needs --vector');
  return proxies;
}

export function registerStudy(program: Command): void {
  const cmd = program.command('study').description('overoptimization study: BoN, MBR-BoN, KL-BoN (and steering + each) over a ladder of proxies against one gold judge');
  addModelOptions(cmd)
    .option('--prompts <file>', 'test prompts, JSONL with {"prompt": "..."} per line')
    .option('--dev-prompts <file>', 'separate prompts to calibrate β on (JSONL)')
    .option('--proxy <label=spec>', `a proxy reward of the ladder, repeatable, best first: ${rewardUsages().join(', ')}`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--gold <spec>', 'the gold judge (never selects)', 'vader')
    .option('--n-max <n>', 'candidates per pool; N runs over 1, 2, 4, …, N_max (default 64)', numberOption('--n-max', { ...QUANTITIES.n.rule }), 64)
    .option('--vector <file>', 'steering vector: adds a steered pool per prompt and steering + each selector')
    .option('--strength <s>', 'steering strength (default 1)', quantityOption('strength'))
    .option('--utility <spec>', `MBR utility: ${utilityUsages().join(', ')}`, 'hidden')
    .option('--beta-grid <list>', `relative β multiples c (β = c·s), comma-separated (default ${RELATIVE_BETA_GRID.join(',')})`, numberListOption('--beta-grid', { min: 0 }, { unique: true }))
    .option('--limit <k>', 'use only the first k test prompts', quantityOption('limit'))
    .option('--dev-limit <k>', 'use only the first k dev prompts', numberOption('--dev-limit', { integer: true, min: 1 }));
  addPoolSamplingOptions(cmd)
    .option('--kl-resamples <r>', 'subsets per pool for the plug-in KL (default 300)', quantityOption('klResamples'))
    .option('-o, --output <dir>', 'report directory')
    .option('--force', 'overwrite an existing report in the directory')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (opts: StudyCliOptions) => {
      const ladder = checkStudyOptions(opts);
      const out = opts.output as string;
      if (existsSync(join(out, 'results.json')) && !opts.force) throw new OutputExistsError(join(out, 'results.json'));
      let prompts = readPrompts(opts.prompts as string);
      if (opts.limit !== undefined) prompts = prompts.slice(0, opts.limit);
      let devPrompts = readPrompts(opts.devPrompts as string);
      if (opts.devLimit !== undefined) devPrompts = devPrompts.slice(0, opts.devLimit);
      const progress = progressFor('study');
      const model = await loadModel(opts, progress);
      try {
        const ctx = { model, loadVector: vectorProbeLoader(model) };
        const gold = await parseReward(opts.gold, ctx);
        const proxies: LadderRung[] = [];
        for (const p of ladder) proxies.push({ label: p.label, reward: await parseReward(p.spec, ctx) });
        const utility = parseUtility(opts.utility, { model });
        const vector = opts.vector ? SteeringVector.load(opts.vector, { model }) : undefined;
        const strength = opts.strength ?? 1;
        const result = await runStudy(model, {
          prompts, devPrompts, nMax: opts.nMax, gold, proxies, utility,
          ...(vector ? { steering: { plan: vector.toPlan({ strength }), strength, name: vector.name } } : {}),
          ...(opts.betaGrid ? { relativeGrid: opts.betaGrid } : {}),
          ...(opts.klResamples !== undefined ? { klResamples: opts.klResamples } : {}),
          sampling: {
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
            ...(opts.topP !== undefined ? { topP: opts.topP } : {}),
            ...(opts.maxNewTokens !== undefined ? { maxNewTokens: opts.maxNewTokens } : {}),
          },
          onProgress: (stage, done, total) => {
            if (stage === 'dev') progress.count('calibrating β on', done, total, 'dev prompts');
            else if (stage === 'prompts') progress.count('sampling', done, total, 'prompts');
            else progress.count('analysing', done, total, 'proxies');
          },
        });
        progress.stop();
        const files = await writeStudyReport(out, result);
        if (opts.json) printJson({ output: out, files, config: result.config, correlations: result.correlations, verdicts: result.verdicts, timing: result.timing });
        else process.stdout.write(`${studySummary(result)}\nreport: ${join(out, 'report.md')}, ${join(out, 'report.html')}\n`);
      } finally {
        progress.stop();
        await model.dispose();
      }
    });
}
