/**
 * The local backend: a HookedModel in this process. Calls are serialized (one
 * onnxruntime session), so a harness may issue them concurrently. Seeded runs
 * repeat exactly; the model's activations are available to utilities and
 * probe rewards.
 */
import pLimit from 'p-limit';
import { BackendCapabilityError } from '../errors.js';
import type { ScoredContinuation } from '../generation/score.js';
import type { HookedModel } from '../model/hooked-model.js';
import { Steering } from '../vectors/steering.js';
import type { Intervention } from '../steering/plan.js';
import type { Backend, BackendInfo, BackendNeeds, BackendSteering, DrawRequest, DrawResult, ScoreRequest } from './types.js';

export function planOf(steering: BackendSteering | undefined): Intervention[] | undefined {
  if (steering === undefined) return undefined;
  const plan = steering instanceof Steering ? steering.plan() : [...steering];
  return plan.length > 0 ? plan : undefined;
}

class LocalBackend implements Backend {
  readonly info: BackendInfo;
  readonly model: HookedModel;
  private readonly one = pLimit(1);

  constructor(model: HookedModel) {
    this.model = model;
    this.info = { kind: 'local', id: `local:${model.dir}`, model: model.dir, fingerprint: model.manifest.fingerprint, architecture: model.manifest.architecture };
  }

  prepare(needs: BackendNeeds): Promise<void> {
    for (const s of needs.steering ?? []) if (s instanceof Steering) s.check(this.model);
    return Promise.resolve();
  }

  draw(r: DrawRequest): Promise<DrawResult> {
    const steering = planOf(r.steering);
    return this.one(async () => {
      const out = await this.model.generate(r.prompt, {
        n: r.n, temperature: r.temperature, topP: r.topP, maxNewTokens: r.maxNewTokens, seed: r.seed,
        ...(r.topK !== undefined ? { topK: r.topK } : {}),
        ...(r.stop && r.stop.length > 0 ? { stop: r.stop } : {}),
        ...(steering ? { steering } : {}),
      });
      return {
        rows: out.rows.map((row) => ({ index: row.index, seed: row.seed, text: row.text, ids: row.ids, finishReason: row.finishReason, logprobs: row.logprobs })),
        timing: { totalMs: out.timing.totalMs, generatedTokens: out.timing.generatedTokens, forwardPasses: out.timing.forwardPasses },
      };
    });
  }

  score(r: ScoreRequest): Promise<ScoredContinuation[]> {
    const steering = planOf(r.steering);
    return this.one(() => this.model.score(r.prompt, r.continuations.map((c) => [...c]), steering ? { steering } : {}));
  }
}

const backends = new WeakMap<HookedModel, Backend>();

/** The local backend of a model (one per model, so its calls share one queue). */
export function localBackend(model: HookedModel): Backend {
  let b = backends.get(model);
  if (!b) { b = new LocalBackend(model); backends.set(model, b); }
  return b;
}

/** A backend, or the local backend of a model. */
export function asBackend(x: HookedModel | Backend): Backend {
  return 'draw' in x && 'info' in x ? x : localBackend(x);
}

/** Refuses, with a typed error, a run that needs activations on a backend without a local model. */
export function requireActivations(backend: Backend, what: string): HookedModel {
  if (backend.model) return backend.model;
  throw new BackendCapabilityError('activations', `${what} needs the model's activations, which ${backend.info.id} does not return: use it with --backend local, or pick a text utility/reward (minilm, rouge-l, chrf, vader, afinn, verifiers)`);
}
