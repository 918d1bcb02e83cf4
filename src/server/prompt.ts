/**
 * Prompts from request bodies. Chat messages go through the model's chat
 * template when it has one; otherwise their contents are joined with a blank
 * line ("\n\n"), without role markers, and encoded with the model's special
 * tokens (BOS), so a base model simply continues the text.
 */
import type { HooksManifest } from '../hooks/manifest.js';
import type { ChatMessage, TextTokenizer } from '../runtime/tokenizer.js';
import { checkTokenIds } from '../validate/index.js';
import { badRequest } from './errors.js';
import { field } from './params.js';

export interface Prompt { ids: number[]; text: string }

/** What prompts need of the served model: its tokenizer and manifest. */
export interface PromptModel {
  readonly tokenizer: TextTokenizer;
  readonly manifest: HooksManifest;
  decode(ids: readonly number[]): string;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

export function chatMessages(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest('messages must be a non-empty array', 'messages');
  return raw.map((m: unknown, i) => {
    const param = `messages[${i}]`;
    if (typeof m !== 'object' || m === null) throw badRequest(`${param} must be an object`, param);
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role)) throw badRequest(`${param}.role must be system, developer, user or assistant`, `${param}.role`);
    let text: string;
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content) && content.every((p) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string')) {
      text = content.map((p) => (p as { text: string }).text).join('');
    } else throw badRequest(`${param}.content must be a string or an array of text parts`, `${param}.content`);
    return { role: role === 'developer' ? 'system' : role, content: text };
  });
}

export function chatPrompt(model: PromptModel, messages: readonly ChatMessage[]): Prompt {
  if (model.tokenizer.hasChatTemplate) {
    const text = model.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    return { ids: model.tokenizer.encode(text, { addSpecialTokens: false }), text };
  }
  const text = messages.map((m) => m.content).join('\n\n');
  return { ids: model.tokenizer.encode(text), text };
}

/** The prompts of a completions request: a string, strings, token ids, or lists of token ids. */
export function completionPrompts(model: PromptModel, raw: unknown): Prompt[] {
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x));
  let list: Prompt[];
  if (typeof raw === 'string') list = [{ ids: model.tokenizer.encode(raw), text: raw }];
  else if (isIds(raw)) list = [{ ids: [...raw], text: model.decode(raw) }];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((p) => typeof p === 'string')) list = (raw).map((t) => ({ ids: model.tokenizer.encode(t), text: t }));
  else if (Array.isArray(raw) && raw.length > 0 && raw.every(isIds)) list = (raw).map((ids) => ({ ids: [...ids], text: model.decode(ids) }));
  else throw badRequest('prompt must be a string, an array of strings, an array of token ids or an array of such arrays', 'prompt');
  if (list.length > 64) throw badRequest('at most 64 prompts per request', 'prompt');
  const vocab = model.manifest.vocabSize;
  if (vocab !== undefined && (isIds(raw) || (Array.isArray(raw) && raw.every(isIds)))) {
    const lists: unknown[] = isIds(raw) ? [raw] : raw;
    lists.forEach((ids, i) => field(lists.length > 1 ? `prompt[${i}]` : 'prompt', () => checkTokenIds(ids, lists.length > 1 ? `prompt[${i}]` : 'prompt', vocab)));
  }
  return list;
}
