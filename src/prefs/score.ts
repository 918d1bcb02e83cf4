/**
 * scorePreferences(): DPO, RPO and MRPO of a policy (a model, or a model plus
 * a steering plan) against one or more reference models on preference pairs,
 * by forward passes only.
 *
 * Pairs follow the project's convention (src/pairs/encode.ts): one text is
 * the prompt, a space and the response, tokenized at once with BOS as the
 * tokenizer adds it; the response starts where the text's ids leave the
 * prompt's own ids. The policy's tokenizer encodes every pair once and every
 * model scores the same ids, so references must share the tokenizer (checked).
 * For every pair and model: the summed log π(y|x) of the chosen and of the
 * rejected response (score(), one batched call per pair and model).
 *
 * Policy and references are models or backends (backends/): on a server
 * (onnx-steer serve, vLLM) the same token ids are scored through its prompt
 * log-probs; the pairs are then encoded with `options.tokenizer` (the
 * tokenizer the server's model shares), and `concurrency` pairs are scored at
 * once.
 */
import { InvalidArgumentError, InvalidDataError } from '../errors.js';
import pLimit from 'p-limit';
import type { ScoredContinuation } from '../generation/score.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';
import { encodePairs, type EncodedPair } from '../pairs/encode.js';
import type { PairDataset } from '../pairs/pairs.js';
import { checkSameVocabulary } from './compat.js';
import {
  checkCriterionParams, DEFAULT_CRITERION_PARAMS, preferenceCriteria, type CriterionParams, type PolicyLogprobs, type SideLogprobs,
} from './criteria.js';

/** A policy's steering: a plan, or anything that makes one (a Steering, which a server matches by checksum). */
export type PolicySteering = readonly Intervention[] | { plan(): Intervention[] };

/**
 * What scoring needs of a backend; backends/ (local, openai, journaled)
 * satisfy it. Declared here so prefs does not depend on backends.
 */
export interface PairScorer {
  readonly info: { id: string; fingerprint: string | null };
  readonly model: HookedModel | undefined;
  prepare(needs: { scoring?: string; steering?: readonly PolicySteering[] }): Promise<void>;
  score(request: { prompt: string | readonly number[]; continuations: readonly (readonly number[])[]; steering?: PolicySteering }): Promise<ScoredContinuation[]>;
}

const scorers = new WeakMap<HookedModel, PairScorer>();

/** A model as a PairScorer (calls serialized: one onnxruntime session), or the scorer as it is. */
function asScorer(x: HookedModel | PairScorer): PairScorer {
  if ('score' in x && 'info' in x && 'prepare' in x) return x;
  const model = x;
  let s = scorers.get(model);
  if (!s) {
    const one = pLimit(1);
    s = {
      info: { id: `local:${model.dir}`, fingerprint: model.manifest.fingerprint },
      model,
      prepare: () => Promise.resolve(),
      score: (r) => one(() => {
        const plan = r.steering === undefined ? undefined : 'plan' in r.steering ? r.steering.plan() : [...r.steering];
        return model.score(r.prompt, r.continuations, plan && plan.length > 0 ? { steering: plan } : {});
      }),
    };
    scorers.set(model, s);
  }
  return s;
}

export interface PreferenceScoreOptions extends Partial<CriterionParams> {
  /** Steering applied to the policy only (references are always unsteered). */
  steering?: PolicySteering;
  /** The tokenizer that encodes the pairs when the policy is a server (default: the policy's model). */
  tokenizer?: Pick<HookedModel, 'tokenizer'>;
  /** Pairs scored at once (default 1; a server takes several). */
  concurrency?: number;
  /** A label for the steering in the report, e.g. `joy × 1.5`. */
  steeringLabel?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface PairPreferenceScore {
  /** 0-based index of the pair in the dataset. */
  index: number;
  /** Line of the pair in its file. */
  line: number;
  policy: PolicyLogprobs;
  /** One entry per reference, in order. */
  references: SideLogprobs[];
}

export interface ModelRef {
  /** The model directory, or the backend's id (`openai:<url>#<model>`). */
  dir: string;
  /** null for a server's model. */
  fingerprint: string | null;
}

export interface PreferenceReport {
  beta: number;
  eta: number;
  epsilon: number;
  policy: ModelRef & { steering: string | null };
  references: ModelRef[];
  dataset: { source: string; sha256: string; pairs: number };
  pairs: PairPreferenceScore[];
  dpo: { loss: number; accuracy: number; margin: number };
  rpo: { loss: number; nll: number; lossPerToken: number; nllPerToken: number };
  /** null with a single reference. */
  mrpo: { loss: number; accuracy: number; margin: number; alpha: number[]; weights: number[][] } | null;
  /** Mean over pairs of log π(y_w) − log π_ref(y_w), against the first reference. */
  chosenShift: number;
  rejectedShift: number;
  /** The overoptimization symptom DPO can show and RPO guards against: the chosen log-prob fell. */
  chosenFell: boolean;
  findings: string[];
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Summed log-probs of both responses of every pair under one model or backend (optionally steered), `concurrency` pairs at once. */
export async function pairLogprobs(target: HookedModel | PairScorer, pairs: readonly EncodedPair[], steering?: PolicySteering, onPair?: () => void, concurrency = 1): Promise<PolicyLogprobs[]> {
  const backend = asScorer(target);
  const opts = steering ? { steering } : {};
  const limit = pLimit(concurrency);
  return Promise.all(pairs.map((p) => limit(async () => {
    let chosen: number; let rejected: number;
    if (sameIds(p.prompt.pos, p.prompt.neg)) {
      const [a, b] = await backend.score({ prompt: p.prompt.pos, continuations: [p.continuation.pos, p.continuation.neg], ...opts });
      chosen = a?.logprob ?? NaN; rejected = b?.logprob ?? NaN;
    } else {
      // The boundary token differs between the two texts: each side has its own prompt ids.
      const [a] = await backend.score({ prompt: p.prompt.pos, continuations: [p.continuation.pos], ...opts });
      const [b] = await backend.score({ prompt: p.prompt.neg, continuations: [p.continuation.neg], ...opts });
      chosen = a?.logprob ?? NaN; rejected = b?.logprob ?? NaN;
    }
    onPair?.();
    return { chosen, rejected, chosenTokens: p.continuation.pos.length, rejectedTokens: p.continuation.neg.length };
  })));
}

/** Encodes a dataset of response pairs for preference scoring (instruction contrasts are refused). */
export function encodePreferencePairs(model: Pick<HookedModel, 'tokenizer'>, dataset: PairDataset): EncodedPair[] {
  if (dataset.kind !== 'responses') {
    throw new InvalidDataError(`${dataset.source}: preference criteria need chosen/rejected responses; this file holds instruction contrasts ("response" lines)`);
  }
  for (const p of dataset.pairs) {
    for (const [side, text] of [['chosen', p.chosen], ['rejected', p.rejected]] as const) {
      if (model.tokenizer.encode(text, { addSpecialTokens: false }).length === 0) {
        throw new InvalidDataError(`${dataset.source}:${p.line}: the ${side} response tokenizes to nothing: ${JSON.stringify(text)}`);
      }
    }
  }
  try {
    return encodePairs(model, dataset);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new InvalidDataError(err.message, { cause: err });
    throw err;
  }
}

function describeFindings(r: Omit<PreferenceReport, 'findings'>): string[] {
  const f: string[] = [];
  const nats = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} nats`;
  f.push(`chosen log-prob ${nats(r.chosenShift)}, rejected ${nats(r.rejectedShift)} relative to the first reference (mean over ${r.pairs.length} pairs)`);
  if (r.chosenFell) {
    f.push(r.dpo.margin > 0
      ? 'the chosen log-prob fell while the DPO margin is positive: the policy wins pairs mostly by lowering the rejected response (the overoptimization symptom that RPO\'s SFT term guards against)'
      : 'the chosen log-prob fell');
  }
  return f;
}

/** The criteria from per-pair log-probs (pure): the report's numbers without the model identities. */
export function summarizePreferences(policy: readonly PolicyLogprobs[], references: readonly (readonly SideLogprobs[])[], params: CriterionParams) {
  const c = preferenceCriteria(policy, references, params);
  return {
    dpo: { loss: c.dpo.loss, accuracy: c.dpo.accuracy, margin: c.dpo.margin },
    rpo: { loss: c.rpo.loss, nll: c.rpo.nll, lossPerToken: c.rpo.lossPerToken, nllPerToken: c.rpo.nllPerToken },
    mrpo: c.mrpo ? { loss: c.mrpo.loss, accuracy: c.mrpo.accuracy, margin: c.mrpo.margin, alpha: c.mrpo.alpha, weights: c.mrpo.weights } : null,
    chosenShift: c.chosenShift,
    rejectedShift: c.rejectedShift,
    chosenFell: c.chosenFell,
  };
}

function refOf(b: PairScorer): ModelRef {
  return b.model ? { dir: b.model.dir, fingerprint: b.model.manifest.fingerprint } : { dir: b.info.id, fingerprint: b.info.fingerprint };
}

export async function scorePreferences(policyTarget: HookedModel | PairScorer, referenceTargets: readonly (HookedModel | PairScorer)[], dataset: PairDataset, options: PreferenceScoreOptions = {}): Promise<PreferenceReport> {
  const policy = asScorer(policyTarget);
  const references = referenceTargets.map(asScorer);
  const params: CriterionParams = {
    beta: options.beta ?? DEFAULT_CRITERION_PARAMS.beta,
    eta: options.eta ?? DEFAULT_CRITERION_PARAMS.eta,
    epsilon: options.epsilon ?? DEFAULT_CRITERION_PARAMS.epsilon,
  };
  checkCriterionParams(params);
  if (references.length === 0) throw new InvalidArgumentError('give at least one reference model');
  for (const ref of references) if (policy.model && ref.model) checkSameVocabulary(policy.model, ref.model);
  const tokenizer = policy.model ?? options.tokenizer;
  if (!tokenizer) throw new InvalidArgumentError(`the policy ${policy.info.id} is a server: give the tokenizer its model shares (options.tokenizer) to encode the pairs`);
  const pairs = encodePreferencePairs(tokenizer, dataset);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  const why = 'DPO/RPO/MRPO (log π(y | x) of every response)';
  await policy.prepare({ scoring: why, ...(options.steering ? { steering: [options.steering] } : {}) });
  for (const ref of references) if (ref !== policy) await ref.prepare({ scoring: why });
  const total = pairs.length * (1 + references.length);
  let done = 0;
  const tick = () => { done++; options.onProgress?.(done, total); };
  const policyScores = await pairLogprobs(policy, pairs, options.steering, tick, concurrency);
  const refScores: PolicyLogprobs[][] = [];
  for (const ref of references) refScores.push(await pairLogprobs(ref, pairs, undefined, tick, concurrency));
  const summary = summarizePreferences(policyScores, refScores, params);
  const report: Omit<PreferenceReport, 'findings'> = {
    ...params,
    policy: { ...refOf(policy), steering: options.steering ? (options.steeringLabel ?? 'steered') : null },
    references: references.map(refOf),
    dataset: { source: dataset.source, sha256: dataset.sha256, pairs: pairs.length },
    pairs: pairs.map((p, i) => ({
      index: i, line: p.line,
      policy: policyScores[i] as PolicyLogprobs,
      references: refScores.map((r) => ({ chosen: (r[i] as SideLogprobs).chosen, rejected: (r[i] as SideLogprobs).rejected })),
    })),
    ...summary,
  };
  return { ...report, findings: describeFindings(report) };
}

/** A plain-text summary of a report. */
export function formatPreferences(r: PreferenceReport): string {
  const f = (x: number, d = 4) => x.toFixed(d);
  const lines = [
    `policy ${r.policy.dir}${r.policy.steering ? ` steered by ${r.policy.steering}` : ''}`,
    ...r.references.map((ref, k) => `reference ${k + 1}${k === 0 && r.references.length > 1 ? ' (initial policy)' : ''}: ${ref.dir}`),
    `${r.dataset.pairs} pairs from ${r.dataset.source}; β = ${r.beta}, η = ${r.eta}${r.mrpo ? `, ε = ${r.epsilon}` : ''}`,
    '',
    'criterion  loss      accuracy  margin',
    `DPO        ${f(r.dpo.loss)}    ${f(r.dpo.accuracy, 3)}     ${f(r.dpo.margin)}`,
    `RPO        ${f(r.rpo.loss)}    (NLL of chosen ${f(r.rpo.nll, 2)} nats summed; per-token variant: loss ${f(r.rpo.lossPerToken)}, NLL ${f(r.rpo.nllPerToken, 3)})`,
  ];
  if (r.mrpo) {
    const a = r.mrpo.alpha;
    const meanAlpha = a.reduce((x, y) => x + y, 0) / a.length;
    lines.push(`MRPO       ${f(r.mrpo.loss)}    ${f(r.mrpo.accuracy, 3)}     ${f(r.mrpo.margin)}   (mean α ${f(meanAlpha, 3)})`);
  }
  lines.push('', ...r.findings);
  return lines.join('\n');
}
