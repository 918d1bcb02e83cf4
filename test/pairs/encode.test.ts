/** Pair encoding with a stand-in tokenizer: word tokens that may span a boundary, BOS, chat templates. */
import { describe, expect, it } from 'vitest';
import type { HookedModel } from '../../src/model/hooked-model.js';
import type { ChatMessage } from '../../src/runtime/tokenizer.js';
import { encodePairs } from '../../src/pairs/encode.js';
import { parsePairs } from '../../src/pairs/pairs.js';

/**
 * Tokens are words with their trailing space, except that ". " glues onto
 * the next word (like TinyStories' "Lily. She " tokens); BOS = 1.
 */
function fakeModel(chat: boolean): HookedModel {
  const vocab = new Map<string, number>();
  const id = (t: string) => { if (!vocab.has(t)) vocab.set(t, vocab.size + 10); return vocab.get(t)!; };
  const encode = (text: string, o: { addSpecialTokens?: boolean } = {}) => {
    const toks = text.replace(/\. (\S)/g, '.\u0000$1').match(/[^ ]+ ?/g) ?? [];
    const ids = toks.map((t) => id(t.replace('\u0000', ' ')));
    return (o.addSpecialTokens ?? true) ? [1, ...ids] : ids;
  };
  const tokenizer = {
    hasChatTemplate: chat,
    bosId: 1,
    encode,
    applyChatTemplate: (messages: readonly ChatMessage[]) => `${messages.map((m) => `<${m.role}> ${m.content} `).join('')}<assistant> `,
  };
  return { tokenizer } as unknown as HookedModel;
}

describe('encodePairs', () => {
  it('tokenizes the whole text and starts the response at the first token that leaves the prompt', () => {
    const ds = parsePairs(JSON.stringify({ prompt: 'A cat sat.', chosen: 'She was happy.', rejected: 'He was sad.' }));
    const [e] = encodePairs(fakeModel(false), ds);
    // "sat. She " straddles the boundary: it belongs to the response.
    expect(e!.pos.ids.length).toBe(1 + 2 + 3);
    expect(e!.pos.responseStart).toBe(3);
    expect(e!.prompt.pos).toEqual(e!.pos.ids.slice(0, 3));
    expect(e!.prompt.pos).toEqual(e!.prompt.neg);
    expect(e!.continuation.pos).toHaveLength(3);
  });

  it('reads from BOS when there is no prompt, and joins system, instruction and prompt as lines', () => {
    const [a] = encodePairs(fakeModel(false), parsePairs(JSON.stringify({ chosen: 'good dog', rejected: 'bad dog' })));
    expect(a!.pos.ids[0]).toBe(1);
    expect(a!.pos.responseStart).toBe(1);
    const [b] = encodePairs(fakeModel(false), parsePairs(JSON.stringify({ prompt: 'Go', chosen: 'Be kind', rejected: 'Act rude', response: 'the end' })));
    // Same response under two instructions: identical response tokens after the one that
    // straddles the boundary ("kind\nGo " here, as the joining space changes the last word's token).
    expect(b!.continuation.pos).toHaveLength(3);
    expect(b!.continuation.pos.slice(1)).toEqual(b!.continuation.neg.slice(1));
    expect(b!.prompt.pos).not.toEqual(b!.prompt.neg);
  });

  it('renders the chat template when the model has one', () => {
    const [e] = encodePairs(fakeModel(true), parsePairs(JSON.stringify({ system: 'Be brief', prompt: 'Hi', chosen: 'Hello friend', rejected: 'Go away' })));
    // <system> Be brief <user> Hi <assistant>  — no BOS added to a rendered template.
    expect(e!.pos.responseStart).toBe(6);
    expect(e!.pos.ids).toHaveLength(8);
    expect(e!.pos.ids[0]).not.toBe(1);
  });
});
