/**
 * One row of the serving batch: its sampler and seeded generator, logits
 * processors, stopping criteria and the text it has released. Token choice is
 * the same code path as generate(), so a row seeded with s reproduces
 * generate({ seed: s }) token for token.
 *
 * Streaming text is held back while it could still be the start of a stop
 * string, so a stop string never reaches the client, not even in part.
 */
import { repetitionPenalty, temperature, type LogitsProcessor } from '../generation/processors.js';
import { Rng } from '../math/rng.js';
import { Sampler, logSoftmaxAt } from '../generation/sampler.js';
import { IncrementalDecoder } from '../generation/streamer.js';
import { truncateAtStop } from '../generation/stopping.js';

export type RowFinish = 'eos' | 'stop' | 'length' | 'cancelled';

export interface SamplingSpec {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repetitionPenalty: number;
}

export interface TopLogprob { id: number; logprob: number }

export interface TokenInfo {
  id: number;
  /** log π(token | prefix) from the raw logits (before temperature and penalties). */
  logprob: number;
  /** The most likely alternatives, when requested. */
  top?: TopLogprob[];
}

export interface RowSpec {
  sampling: SamplingSpec;
  seed: number;
  maxTokens: number;
  stop: readonly string[];
  /** Token ids that end the row (EOS unless ignored). */
  stopIds: ReadonlySet<number>;
  /** Model context: the row stops with `length` when it is full. */
  context: number | undefined;
  /** Top alternatives per token (0 = chosen token only; undefined = no logprobs kept). */
  topLogprobs: number | undefined;
}

/** The k largest log-probabilities of a row of logits, best first (ties by index). */
export function topLogprobs(logits: Float32Array, k: number, logZ?: number): TopLogprob[] {
  if (k <= 0) return [];
  let z = logZ;
  if (z === undefined || Number.isNaN(z)) {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) if ((logits[i] as number) > max) max = logits[i] as number;
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
    z = max + Math.log(sum);
  }
  const best: TopLogprob[] = [];
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (best.length === k && v <= (best[k - 1] as TopLogprob).logprob) continue;
    let j = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push({ id: i, logprob: v });
    while (j > 0 && (best[j - 1] as TopLogprob).logprob < v) { best[j] = best[j - 1] as TopLogprob; j--; }
    best[j] = { id: i, logprob: v };
  }
  for (const b of best) b.logprob -= z;
  return best;
}

export class RowState {
  readonly spec: RowSpec;
  readonly index: number;
  readonly tokens: number[];
  readonly promptLength: number;
  readonly generated: number[] = [];
  readonly infos: TokenInfo[] = [];
  finish: RowFinish | undefined;
  private readonly rng: Rng;
  private readonly sampler: Sampler;
  private readonly processors: LogitsProcessor[] = [];
  private readonly decoder: IncrementalDecoder;
  private readonly scratch: Float32Array;
  private released = 0;

  constructor(index: number, promptIds: readonly number[], spec: RowSpec, vocab: number, decode: (ids: readonly number[]) => string) {
    this.index = index;
    this.spec = spec;
    this.tokens = [...promptIds];
    this.promptLength = promptIds.length;
    const s = spec.sampling;
    if (s.repetitionPenalty !== 1) this.processors.push(repetitionPenalty(s.repetitionPenalty));
    if (s.temperature > 0 && s.temperature !== 1) this.processors.push(temperature(s.temperature));
    this.sampler = new Sampler(vocab, { temperature: s.temperature, topK: s.topK, topP: s.topP, minP: s.minP });
    this.rng = new Rng(spec.seed);
    this.decoder = new IncrementalDecoder(decode);
    this.scratch = this.processors.length > 0 ? new Float32Array(vocab) : new Float32Array(0);
  }

  /** The token the next forward step feeds. */
  get last(): number { return this.tokens[this.tokens.length - 1] as number; }

  /** Picks the next token from the row's raw logits and updates the stopping state. */
  advance(raw: Float32Array): TokenInfo {
    let id: number;
    if (this.processors.length === 0) {
      id = this.sampler.sample(raw, this.rng);
    } else {
      this.scratch.set(raw);
      const ctx = { tokens: this.tokens, generated: this.generated.length };
      for (const p of this.processors) p(this.scratch, ctx);
      id = this.sampler.sample(this.scratch, this.rng);
    }
    const logZ = this.processors.length === 0 ? this.sampler.lastLogPartition : Number.NaN;
    const logprob = Number.isNaN(logZ) ? logSoftmaxAt(raw, id) : (raw[id] as number) - logZ;
    const info: TokenInfo = { id, logprob };
    if (this.spec.topLogprobs !== undefined && this.spec.topLogprobs > 0) info.top = topLogprobs(raw, this.spec.topLogprobs, logZ);
    this.tokens.push(id);
    this.generated.push(id);
    this.infos.push(info);
    this.decoder.push(id);
    const spec = this.spec;
    if (spec.stopIds.has(id)) this.finish = 'eos';
    else if (spec.stop.length > 0 && spec.stop.some((s) => this.decoder.text.includes(s))) this.finish = 'stop';
    else if (this.generated.length >= spec.maxTokens) this.finish = 'length';
    else if (spec.context !== undefined && this.tokens.length >= spec.context) this.finish = 'length';
    return info;
  }

  /** Ends the row without another token. */
  cancel(): void {
    if (!this.finish) this.finish = 'cancelled';
  }

  /** The row's text so far, cut before a stop string once one appears. */
  get text(): string {
    if (this.finish) this.decoder.flush();
    const t = this.decoder.text;
    return this.spec.stop.length > 0 ? truncateAtStop(t, this.spec.stop) : t;
  }

  /**
   * Text that is now safe to show and was not shown before. While the row
   * runs, a tail that could begin a stop string is held back.
   */
  release(): string {
    let t = this.text;
    if (!this.finish) {
      let hold = 0;
      for (const s of this.spec.stop) {
        for (let k = Math.min(s.length - 1, t.length); k > hold; k--) {
          if (t.endsWith(s.slice(0, k))) { hold = k; break; }
        }
      }
      t = t.slice(0, t.length - hold);
    }
    if (t.length <= this.released) return '';
    const delta = t.slice(this.released);
    this.released = t.length;
    return delta;
  }
}
