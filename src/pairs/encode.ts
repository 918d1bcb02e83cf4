/**
 * Turning contrast pairs into token sequences with a known response span.
 *
 * The context (system, prompt, and for instruction contrasts the
 * instruction) is rendered through the chat template when the model has one
 * (a system and a user message, with the generation prompt), else joined as
 * plain text (lines) with the tokenizer's special tokens (BOS). The response
 * follows the context (after a space when neither side has one at the
 * boundary) and the whole text is tokenized at once, as the model saw text in
 * training. The response starts at the first token where the whole text's
 * ids leave the context's own ids, so a token that straddles the boundary
 * (tokenizers whose tokens span words, like TinyStories') counts as response.
 */
import { InvalidArgumentError } from '../errors.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { ChatMessage } from '../runtime/tokenizer.js';
import type { ContrastPair, PairDataset } from './pairs.js';

export interface EncodedText {
  /** Full token ids: context then response. */
  ids: number[];
  /** Index of the first response token in `ids`. */
  responseStart: number;
}

export interface EncodedPair {
  /** Preferred side (chosen response, or the response under the good instruction). */
  pos: EncodedText;
  neg: EncodedText;
  /** Context ids and the two responses as continuations, for score(). */
  prompt: { pos: number[]; neg: number[] };
  continuation: { pos: number[]; neg: number[] };
  line: number;
}

interface Context { text: string; chat: boolean }

/** What encoding needs of a model: its tokenizer (a HookedModel, or a tokenizer loaded alone). */
export type Encoder = Pick<HookedModel, 'tokenizer'>;

function contextOf(model: Encoder, parts: { system?: string; instruction?: string; prompt?: string }): Context {
  const { system, instruction, prompt } = parts;
  if (model.tokenizer.hasChatTemplate) {
    const sys = [system, instruction].filter((s): s is string => s !== undefined && s.length > 0).join('\n');
    const messages: ChatMessage[] = [];
    if (sys.length > 0) messages.push({ role: 'system', content: sys });
    messages.push({ role: 'user', content: prompt ?? '' });
    return { text: model.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), chat: true };
  }
  return { text: [system, instruction, prompt].filter((s): s is string => s !== undefined && s.length > 0).join('\n'), chat: false };
}

function encodeText(model: Encoder, text: string, chat: boolean): number[] {
  return model.tokenizer.encode(text, { addSpecialTokens: !chat });
}

function encodeSide(model: Encoder, ctx: Context, response: string): { text: EncodedText; prompt: number[]; continuation: number[] } {
  const sep = ctx.chat || ctx.text.length === 0 || /\s$/.test(ctx.text) || /^\s/.test(response) ? '' : ' ';
  const ids = encodeText(model, ctx.text + sep + response, ctx.chat);
  const ctxIds = encodeText(model, ctx.text, ctx.chat);
  let start = 0;
  while (start < ctxIds.length && start < ids.length && ids[start] === ctxIds[start]) start++;
  if (start === 0) {
    // Nothing precedes the response (no context, no BOS): the model needs one token to read from.
    if (ids.length < 2) throw new InvalidArgumentError(`a pair needs a prompt or a response of at least two tokens: ${JSON.stringify(response)}`);
    start = 1;
  }
  if (start >= ids.length) throw new InvalidArgumentError(`response encodes to no tokens: ${JSON.stringify(response)}`);
  return { text: { ids, responseStart: start }, prompt: ids.slice(0, start), continuation: ids.slice(start) };
}

export function encodePair(model: Encoder, pair: ContrastPair): EncodedPair {
  if (pair.response !== undefined) {
    // Instruction contrast: one response under a good and a bad instruction.
    const p = encodeSide(model, contextOf(model, { system: pair.system, instruction: pair.chosen, prompt: pair.prompt }), pair.response);
    const n = encodeSide(model, contextOf(model, { system: pair.system, instruction: pair.rejected, prompt: pair.prompt }), pair.response);
    return { pos: p.text, neg: n.text, prompt: { pos: p.prompt, neg: n.prompt }, continuation: { pos: p.continuation, neg: n.continuation }, line: pair.line };
  }
  const ctx = contextOf(model, { system: pair.system, prompt: pair.prompt });
  const p = encodeSide(model, ctx, pair.chosen);
  const n = encodeSide(model, ctx, pair.rejected);
  return { pos: p.text, neg: n.text, prompt: { pos: p.prompt, neg: n.prompt }, continuation: { pos: p.continuation, neg: n.continuation }, line: pair.line };
}

/** Encodes every pair of a dataset for a model. */
export function encodePairs(model: Encoder, dataset: PairDataset): EncodedPair[] {
  return dataset.pairs.map((p) => {
    try {
      return encodePair(model, p);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`${dataset.source}:${p.line}: ${err.message}`, { cause: err });
      throw err;
    }
  });
}
