/**
 * `onnx-steer demo`: the whole loop on the default model in under a minute.
 * Builds (once, cached) the TinyStories-656K hooked model, extracts the `joy`
 * vector from the shipped pairs, and prints unsteered and steered samples in
 * both directions with their VADER compound scores (an independent lexicon
 * judge), then the mean score and perplexity ratio per condition, and ends
 * with a compact A/B table: baseline, steering, Best-of-N and MBR-BoN, with
 * AFINN as the selection proxy and VADER as the gold judge.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { mean, perplexityOf } from '../../math/stats.js';
import type { HookedModel } from '../../model/hooked-model.js';
import { extractVector } from '../../vectors/extract.js';
import { loadPrompts } from '../../pairs/prompts.js';
import { vaderJudge } from '../../vectors/judges.js';
import { loadPairs } from '../../pairs/pairs.js';
import { parseReadPosition } from '../../vectors/positions.js';
import { l2norm } from '../../vectors/samples.js';
import { HELDOUT_PROMPTS, SHIPPED, shippedDir } from '../../vectors/shipped.js';
import { SteeringVector } from '../../vectors/vector.js';
import { runCompactAB } from '../../ab/compact.js';
import { printJson } from '../common.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';
import { quantityOption, numberOption } from '../../validate/index.js';

interface DemoCliOptions extends ModelCliOptions {
  prompts: number;
  show: number;
  samples: number;
  strength?: number;
  seed: number;
  maxNewTokens: number;
  ab: boolean;
}

interface Condition { label: string; strength: number; texts: string[][]; scores: number[][]; perplexity: number }

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] as number) * (b[i] as number);
  return d / (l2norm(a) * l2norm(b));
}

async function runCondition(model: HookedModel, vector: SteeringVector, label: string, strength: number, prompts: string[], o: DemoCliOptions): Promise<Condition> {
  const judge = vaderJudge();
  const texts: string[][] = [];
  const scores: number[][] = [];
  let logprob = 0;
  let tokens = 0;
  for (let i = 0; i < prompts.length; i++) {
    const out = await model.generate(prompts[i] as string, {
      n: o.samples, seed: o.seed + i, temperature: 0.8, maxNewTokens: o.maxNewTokens,
      ...(strength !== 0 ? { steering: vector.toPlan({ strength }) } : {}),
    });
    texts.push(out.rows.map((r) => r.text));
    scores.push(out.rows.map((r) => judge.score(r.text)));
    for (const s of await model.score(out.promptIds, out.rows.map((r) => r.ids))) { logprob += s.logprob; tokens += s.ids.length; }
  }
  return { label, strength, texts, scores, perplexity: perplexityOf(logprob, tokens) };
}

const meanOf = (xs: number[][]) => mean(xs.flat());

export function registerDemo(program: Command): void {
  const cmd = program.command('demo').description('extract the shipped "joy" vector on the default model and show steered samples judged by VADER');
  addModelOptions(cmd)
    .option('--prompts <n>', 'held-out prompts to sample (default 12)', numberOption('--prompts', { integer: true, min: 1 }), 12)
    .option('--show <n>', 'prompts whose samples are printed (default 3)', numberOption('--show', { integer: true, min: 1 }), 3)
    .option('--samples <n>', 'samples per prompt (default 2)', numberOption('--samples', { integer: true, min: 1 }), 2)
    .option('--strength <s>', `steering strength (default ${SHIPPED.joy?.demoStrength ?? 2}; applied as +s and −s)`, quantityOption('strength'))
    .option('--seed <s>', 'base seed (default 0)', quantityOption('seed'), 0)
    .option('--max-new-tokens <n>', 'tokens per sample (default 48)', quantityOption('maxNewTokens'), 48)
    .option('--no-ab', 'skip the closing A/B table (baseline, steering, BoN, MBR-BoN)')
    .option('--json', 'print one JSON document')
    .action(async (opts: DemoCliOptions) => {
      const recipe = SHIPPED.joy;
      if (!recipe) throw new UsageError('the joy recipe is missing');
      if (opts.prompts < 1 || opts.samples < 1 || opts.maxNewTokens < 1) throw new UsageError('--prompts, --samples and --max-new-tokens must be ≥ 1');
      const say = (s: string) => { if (!opts.json) process.stdout.write(`${s}\n`); };
      const dir = shippedDir();
      const allPrompts = loadPrompts(join(dir, HELDOUT_PROMPTS));
      if (opts.prompts > allPrompts.length) throw new UsageError(`--prompts: only ${allPrompts.length} held-out prompts ship`);
      const prompts = allPrompts.slice(0, opts.prompts);
      const t0 = performance.now();
      say('Loading the default model (TinyStories-656K; the first run builds it into the cache)…');
      const model = await loadModel(opts, progressFor('demo'));
      try {
        const tModel = performance.now();
        const pairsPath = join(dir, recipe.pairs);
        const dataset = loadPairs(pairsPath);
        const { vector } = await extractVector(model, dataset, {
          method: recipe.method, read: parseReadPosition(recipe.read), sites: recipe.sites, recommend: false, name: recipe.name, description: recipe.description,
        });
        const tExtract = performance.now();
        const site = recipe.sites[0] as string;
        const sep = vector.meta.sites[site]?.separability;
        say(`model ready in ${((tModel - t0) / 1000).toFixed(1)} s`);
        say(`extracted "joy" (${recipe.method}, read ${recipe.read}) from ${dataset.pairs.length} pairs in ${((tExtract - tModel) / 1000).toFixed(1)} s at ${site}` +
          (sep ? `: held-out accuracy ${sep.accuracy.toFixed(2)}, effect size ${sep.effectSize.toFixed(2)}` : ''));
        const shippedPath = join(dir, `${recipe.name}.json`);
        let shippedCosine: number | undefined;
        if (existsSync(shippedPath)) {
          const shipped = SteeringVector.load(shippedPath);
          if (shipped.meta.model.fingerprint === model.manifest.fingerprint && shipped.hasSite(site)) {
            shippedCosine = cosine(shipped.direction(site), vector.direction(site));
            say(`cosine with the shipped vectors/${recipe.name}.json: ${shippedCosine.toFixed(6)}`);
          }
        }
        const strength = opts.strength ?? recipe.demoStrength;
        const conditions: Condition[] = [];
        for (const [label, s] of [['unsteered', 0], ['toward joy', strength], ['toward sadness', -strength]] as const) {
          conditions.push(await runCondition(model, vector, label, s, prompts, opts));
        }
        const base = conditions[0] as Condition;
        if (!opts.json && opts.ab) say('\nRunning the compact A/B comparison (baseline, steering, BoN, MBR-BoN)…');
        const ab = opts.ab ? await runCompactAB(model, vector, { strength }) : undefined;
        if (opts.json) {
          printJson({
            model: model.dir, vector: { method: recipe.method, read: recipe.read, sites: recipe.sites, pairs: dataset.pairs.length, sha256: dataset.sha256, shippedCosine },
            judge: 'vader compound', temperature: 0.8, seed: opts.seed,
            conditions: conditions.map((c) => ({
              label: c.label, strength: c.strength, meanCompound: meanOf(c.scores), perplexity: c.perplexity, perplexityRatio: c.perplexity / base.perplexity,
              samples: prompts.map((p, i) => ({ prompt: p, texts: c.texts[i], compound: c.scores[i] })),
            })),
            ...(ab ? { ab: { proxy: ab.proxy, gold: ab.gold, rows: ab.rows } } : {}),
          });
          return;
        }
        prompts.slice(0, Math.max(0, opts.show)).forEach((p, i) => {
          say(`\n=== ${JSON.stringify(p.trim())}`);
          for (const c of conditions) {
            (c.texts[i] ?? []).forEach((t, k) => {
              say(`--- ${c.label} (strength ${c.strength}), sample ${k + 1}, VADER ${(c.scores[i]?.[k] ?? 0).toFixed(3)}`);
              say(t.replace(/<\|end_story\|>.*$/s, '').trim());
            });
          }
        });
        say(`\nMean VADER compound over ${prompts.length} prompts × ${opts.samples} samples (temperature 0.8, seeds from ${opts.seed}):`);
        for (const c of conditions) {
          say(`  ${c.label.padEnd(15)} ${meanOf(c.scores).toFixed(3).padStart(7)}   perplexity under the unsteered model ${c.perplexity.toFixed(2)} (×${(c.perplexity / base.perplexity).toFixed(2)})`);
        }
        if (ab) say(`\nA/B on ${ab.result.prompts.length} prompts (proxy ${ab.proxy} selects, gold ${ab.gold} judges):\n${ab.format()}`);
        say(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s. Steer your own prompt:\n  npx onnx-steer extract --pairs vectors/tinystories-656k/joy.pairs.jsonl --sites ${site} --read ${recipe.read} -o joy.json\n  npx onnx-steer generate --prompt "Once upon a time, " --vector joy.json=-${strength}`);
      } finally {
        await model.dispose();
      }
    });
}
