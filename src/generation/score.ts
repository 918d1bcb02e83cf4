/**
 * Scoring: per-token and summed log π(y | x) of continuations y after a
 * prompt x, batched. The prompt is prefilled once (or per row when rows steer
 * the prompt differently); continuations run as one right-padded batch on the
 * expanded cache. Padding repeats the row's last token after its end and is
 * left unmasked: causal attention never lets a position see later ones, so
 * padding cannot change any scored token, in any attention implementation.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ModelRunner } from '../runtime/runner.js';
import { selectCacheRows } from '../runtime/cache.js';
import { CompiledPlan } from '../steering/compile.js';
import { planRowCount, validatePlan, type SteeringPlan } from '../steering/plan.js';
import { logSoftmaxAt } from './sampler.js';

export interface ScoreOptions {
  steering?: SteeringPlan;
}

export interface ScoredContinuation {
  ids: number[];
  /** log π(y_t | x, y_<t) per token. */
  tokenLogprobs: number[];
  /** Sum of tokenLogprobs. */
  logprob: number;
}

export async function scoreContinuations(
  runner: ModelRunner,
  promptIds: readonly number[],
  continuations: readonly (readonly number[])[],
  options: ScoreOptions = {},
): Promise<ScoredContinuation[]> {
  const n = continuations.length;
  if (n === 0) return [];
  if (promptIds.length === 0) throw new InvalidArgumentError('score() needs a non-empty prompt');
  const manifest = runner.manifest;
  if ((manifest.inputs.maxSequence ?? Infinity) < Math.max(promptIds.length, ...continuations.map((c) => c.length))) {
    throw new InvalidArgumentError('this graph processes one token per step; score() needs multi-token steps');
  }
  const planRows = planRowCount(options.steering);
  if (planRows !== undefined && planRows !== n) throw new InvalidArgumentError(`the steering plan has ${planRows} rows for ${n} continuations`);
  validatePlan(options.steering, manifest.hiddenSize, (s) => runner.site(s));
  const plan = new CompiledPlan(options.steering, manifest.sites, manifest.hiddenSize, manifest.dtype);
  const P = promptIds.length;
  const perRow = planRows !== undefined && !plan.empty;
  const prefillRows = perRow ? n : 1;
  const ids: number[] = [];
  for (let r = 0; r < prefillRows; r++) ids.push(...promptIds);
  const pre = await runner.forward({
    ids, batch: prefillRows, seqLen: P, cache: runner.emptyCache(prefillRows),
    hookFeeds: plan.feeds({ starts: new Array<number>(prefillRows).fill(0), promptLengths: new Array<number>(prefillRows).fill(P), seqLen: P }),
  });
  const preLogits = pre.logits;
  if (!preLogits) throw new InvalidArgumentError('this model has no logits output; it cannot score');
  const V = preLogits.dims[2] ?? 0;
  const lastOf = (r: number) => ((perRow ? r : 0) * P + P - 1) * V;

  const L = Math.max(...continuations.map((c) => c.length));
  const results: ScoredContinuation[] = continuations.map((c) => ({ ids: [...c], tokenLogprobs: [], logprob: 0 }));
  for (let r = 0; r < n; r++) {
    const first = continuations[r]?.[0];
    if (first === undefined) continue;
    (results[r] as ScoredContinuation).tokenLogprobs.push(logSoftmaxAt(preLogits.data, first, lastOf(r), V));
  }
  if (L > 1) {
    const cache = selectCacheRows(manifest.cache, pre.cache, Array.from({ length: n }, (_, r) => (perRow ? r : 0)));
    const steps = L - 1;
    const stepIds = new Array<number>(n * steps).fill(0);
    for (let r = 0; r < n; r++) {
      const c = continuations[r] as readonly number[];
      for (let s = 0; s < steps; s++) {
        if (s < c.length - 1) stepIds[r * steps + s] = c[s] as number;
        else stepIds[r * steps + s] = c[c.length - 1] ?? 0;
      }
    }
    const out = await runner.forward({
      ids: stepIds, batch: n, seqLen: steps, cache,
      hookFeeds: plan.feeds({ starts: new Array<number>(n).fill(P), promptLengths: new Array<number>(n).fill(P), seqLen: steps }),
    });
    const logits = out.logits?.data as Float32Array;
    for (let r = 0; r < n; r++) {
      const c = continuations[r] as readonly number[];
      for (let t = 1; t < c.length; t++) {
        (results[r] as ScoredContinuation).tokenLogprobs.push(logSoftmaxAt(logits, c[t] as number, (r * steps + t - 1) * V, V));
      }
    }
  }
  for (const r of results) r.logprob = r.tokenLogprobs.reduce((a, b) => a + b, 0);
  return results;
}
