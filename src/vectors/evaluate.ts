/**
 * Measured steering effect on generated text: for each strength, sample
 * `samples` continuations of every held-out prompt with fixed seeds (the same
 * seeds at every strength), score them with independent judges, and measure
 * their perplexity under the unsteered model (token-weighted over all
 * samples). Strength 0 is the unsteered baseline.
 */
import { readFileSync } from 'node:fs';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import { mustExist } from '../files/fs.js';
import type { Judge } from './judges.js';
import type { ToPlanOptions, SteeringVector } from './vector.js';

export interface EvaluateOptions {
  prompts: readonly string[];
  /** Strengths to measure; 0 (unsteered) is always added. */
  strengths: readonly number[];
  judges: readonly Judge[];
  /** Samples per prompt (default 4). */
  samples?: number;
  /** Base seed; prompt i uses seed + i, its sample k rowSeed(seed + i, k). Default 0. */
  seed?: number;
  /** Default 0.8. */
  temperature?: number;
  /** Default 48. */
  maxNewTokens?: number;
  /** Plan options other than the strength (sites, operator, positions, schedule). */
  plan?: Omit<ToPlanOptions, 'strength'>;
  /** Keep the generated texts in the report (default false). */
  keepTexts?: boolean;
  onStrength?: (strength: number) => void;
}

export interface JudgeSummary { mean: number; sd: number }

export interface EvaluationPoint {
  strength: number;
  judges: Record<string, JudgeSummary>;
  /** exp(−mean log-prob per token) of the samples under the unsteered model. */
  perplexity: number;
  /** perplexity ÷ the unsteered samples' perplexity. */
  perplexityRatio: number;
  /** Mean generated tokens per sample. */
  meanTokens: number;
  texts?: string[][];
}

export interface EvaluationReport {
  vector: string;
  prompts: number;
  samples: number;
  seed: number;
  temperature: number;
  maxNewTokens: number;
  judges: { name: string; description: string }[];
  points: EvaluationPoint[];
}

/**
 * Prompts from a file: a JSON array of strings (kept exactly, so trailing
 * spaces survive: with tokens that end in a space, a prompt should end with
 * one), or plain text with one prompt per non-empty line.
 */
export function loadPrompts(path: string): string[] {
  mustExist(path, 'prompts file');
  const text = readFileSync(path, 'utf8');
  let prompts: string[];
  if (path.endsWith('.json')) {
    let raw: unknown;
    try { raw = JSON.parse(text); } catch (err) { throw new CorruptFileError(path, `invalid JSON (${(err as Error).message})`); }
    if (!Array.isArray(raw) || !raw.every((p) => typeof p === 'string')) throw new CorruptFileError(path, 'expected a JSON array of strings');
    prompts = raw.filter((p: string) => p.trim().length > 0);
  } else {
    prompts = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  }
  if (prompts.length === 0) throw new InvalidArgumentError(`${path}: no prompts`);
  return prompts;
}

function summary(xs: readonly number[]): JudgeSummary {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd };
}

interface Measured { scores: Record<string, number[]>; logprob: number; tokens: number; texts: string[][] }

async function measure(model: HookedModel, steering: Intervention[] | undefined, o: Required<Pick<EvaluateOptions, 'samples' | 'seed' | 'temperature' | 'maxNewTokens'>> & EvaluateOptions): Promise<Measured> {
  const scores: Record<string, number[]> = Object.fromEntries(o.judges.map((j) => [j.name, []]));
  let logprob = 0;
  let tokens = 0;
  const texts: string[][] = [];
  for (let i = 0; i < o.prompts.length; i++) {
    const prompt = o.prompts[i] as string;
    const out = await model.generate(prompt, {
      n: o.samples, seed: o.seed + i, temperature: o.temperature, maxNewTokens: o.maxNewTokens,
      ...(steering ? { steering } : {}),
    });
    const scored = await model.score(out.promptIds, out.rows.map((r) => r.ids));
    for (const s of scored) { logprob += s.logprob; tokens += s.ids.length; }
    for (const r of out.rows) for (const j of o.judges) (scores[j.name] as number[]).push(j.score(r.text));
    texts.push(out.rows.map((r) => r.text));
  }
  return { scores, logprob, tokens, texts };
}

/** The strength curve of `vector` on held-out prompts. */
export async function evaluateSteering(model: HookedModel, vector: SteeringVector, options: EvaluateOptions): Promise<EvaluationReport> {
  if (options.prompts.length === 0) throw new InvalidArgumentError('evaluation needs at least one prompt');
  if (options.judges.length === 0) throw new InvalidArgumentError('evaluation needs at least one judge');
  vector.check(model);
  const o = { samples: 4, seed: 0, temperature: 0.8, maxNewTokens: 48, ...options };
  const strengths = [...new Set([0, ...options.strengths])].sort((a, b) => a - b);
  const measured = new Map<number, Measured>();
  for (const s of strengths) {
    options.onStrength?.(s);
    const plan = s === 0 ? undefined : vector.toPlan({ ...(options.plan ?? {}), strength: s });
    measured.set(s, await measure(model, plan, o));
  }
  const ppl = (m: Measured) => Math.exp(-m.logprob / m.tokens);
  const base = ppl(measured.get(0) as Measured);
  const points = strengths.map((strength) => {
    const m = measured.get(strength) as Measured;
    const point: EvaluationPoint = {
      strength,
      judges: Object.fromEntries(Object.entries(m.scores).map(([k, xs]) => [k, summary(xs)])),
      perplexity: ppl(m),
      perplexityRatio: ppl(m) / base,
      meanTokens: m.tokens / (o.prompts.length * o.samples),
    };
    if (o.keepTexts) point.texts = m.texts;
    return point;
  });
  return {
    vector: vector.name, prompts: o.prompts.length, samples: o.samples, seed: o.seed, temperature: o.temperature, maxNewTokens: o.maxNewTokens,
    judges: o.judges.map((j) => ({ name: j.name, description: j.description })), points,
  };
}

/** A plain-text table of an evaluation. */
export function formatEvaluation(report: EvaluationReport): string {
  const names = report.judges.map((j) => j.name);
  const lines = [
    `${report.vector}: ${report.prompts} held-out prompts × ${report.samples} samples, seed ${report.seed}, temperature ${report.temperature}, ${report.maxNewTokens} new tokens`,
    `strength  ${names.map((n) => `${n} mean (sd)`.padStart(18)).join('')}  perplexity  ratio  tokens`,
  ];
  for (const p of report.points) {
    const js = names.map((n) => { const j = p.judges[n] as JudgeSummary; return `${j.mean.toFixed(3)} (${j.sd.toFixed(2)})`.padStart(18); }).join('');
    lines.push(`${p.strength.toFixed(2).padStart(8)}  ${js}  ${p.perplexity.toFixed(2).padStart(10)}  ${p.perplexityRatio.toFixed(2).padStart(5)}  ${p.meanTokens.toFixed(1).padStart(6)}`);
  }
  return lines.join('\n');
}
