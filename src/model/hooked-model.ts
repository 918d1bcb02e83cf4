/**
 * HookedModel: the runtime noun. Opens a hooked model directory (session,
 * tokenizer, chat template) and offers generate(), stream(), score() and
 * capture() on text or token ids.
 */
import { captureActivations, type CaptureOptions, type CaptureResult } from '../generation/capture.js';
import { generate, generateStream, type GenerationEvent, type GenerationResult } from '../generation/generate.js';
import type { GenerateOptions } from '../generation/options.js';
import { scoreContinuations, type ScoreOptions, type ScoredContinuation } from '../generation/score.js';
import type { HooksManifest } from '../hooks/manifest.js';
import { InvalidArgumentError } from '../errors.js';
import { checkArray, checkObject, checkTokenIds, isRecord, shown } from '../validate/index.js';
import { ModelRunner, type RunnerOptions } from '../runtime/runner.js';
import { TextTokenizer, type ChatMessage } from '../runtime/tokenizer.js';

export type ModelInput = string | readonly ChatMessage[] | readonly number[];

export type LoadOptions = RunnerOptions;

export class HookedModel {
  readonly runner: ModelRunner;
  readonly tokenizer: TextTokenizer;

  private constructor(runner: ModelRunner, tokenizer: TextTokenizer) {
    this.runner = runner;
    this.tokenizer = tokenizer;
  }

  static async load(dir: string, options: LoadOptions = {}): Promise<HookedModel> {
    const runner = await ModelRunner.open(dir, options);
    const tokenizer = TextTokenizer.load(dir);
    return new HookedModel(runner, tokenizer);
  }

  get manifest(): HooksManifest { return this.runner.manifest; }
  get sites(): string[] { return this.runner.siteNames; }
  get dir(): string { return this.runner.dir; }

  /** Token ids for a prompt (special tokens added), chat messages (via the template) or ids. */
  encode(input: ModelInput): number[] {
    if (typeof input === 'string') return this.tokenizer.encode(input);
    if (!Array.isArray(input)) throw new InvalidArgumentError(`input must be a string, an array of token ids or an array of chat messages, got ${shown(input)}`);
    if (input.length === 0) return [];
    if (typeof input[0] === 'number') return [...checkTokenIds(input, 'input', this.manifest.vocabSize)];
    input.forEach((m: unknown, i) => {
      if (!isRecord(m) || typeof m.role !== 'string' || typeof m.content !== 'string') throw new InvalidArgumentError(`input[${i}] must be a chat message {role, content} with string fields`);
    });
    return this.tokenizer.encodeInput(input as readonly ChatMessage[]);
  }

  /** Ids of a continuation text (no special tokens). */
  encodeContinuation(text: string | readonly number[]): number[] {
    if (typeof text === 'string') return this.tokenizer.encode(text, { addSpecialTokens: false });
    return [...checkTokenIds(text, 'continuation', this.manifest.vocabSize)];
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids);
  }

  generate(input: ModelInput, options: GenerateOptions = {}): Promise<GenerationResult> {
    return generate(this.runner, this.tokenizer, this.encode(input), options);
  }

  /** Streams token and text deltas, ending with a `done` event that carries the result. */
  stream(input: ModelInput, options: GenerateOptions = {}): AsyncGenerator<GenerationEvent, GenerationResult> {
    return generateStream(this.runner, this.tokenizer, this.encode(input), options);
  }

  /** log π(y | x) per token and summed, for each continuation y of prompt x. */
  score(prompt: ModelInput, continuations: readonly (string | readonly number[])[], options: ScoreOptions = {}): Promise<ScoredContinuation[]> {
    checkArray(continuations, 'continuations');
    return scoreContinuations(this.runner, this.encode(prompt), continuations.map((c) => this.encodeContinuation(c)), options);
  }

  /** Activations at `sites` for each input, reduced by the position selector. */
  capture(inputs: readonly ModelInput[], sites: readonly string[], options: CaptureOptions = {}): Promise<CaptureResult> {
    checkArray(inputs, 'inputs');
    checkArray(sites, 'sites');
    checkObject(options, 'options');
    return captureActivations(this.runner, inputs.map((i) => this.encode(i)), sites, options);
  }

  async dispose(): Promise<void> {
    await this.runner.release();
  }
}
