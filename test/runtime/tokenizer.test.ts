import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { FileNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import { FIXTURES, REFERENCE, TINYSTORIES } from '../helpers/paths.js';

describe('TextTokenizer', () => {
  it('encodes the reference texts to the reference ids', () => {
    const ref = JSON.parse(readFileSync(join(REFERENCE, 'tinystories-656k.transformers-reference.json'), 'utf8')) as { tokenizer_check: Record<string, number[]> };
    const tok = TextTokenizer.load(TINYSTORIES);
    for (const [text, ids] of Object.entries(ref.tokenizer_check)) expect(tok.encode(text)).toEqual(ids);
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([2]);
    expect(tok.hasChatTemplate).toBe(false);
    expect(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(InvalidArgumentError);
  });

  it('renders a chat template exactly as @huggingface/jinja does', () => {
    const dir = join(FIXTURES, 'ortgenai-mb-tiny-llama-fp16');
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template: string; bos_token: string; eos_token: string };
    const tok = TextTokenizer.load(dir);
    const conversations = [
      [{ role: 'user', content: 'Tell me a story.' }],
      [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi!' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'A story?' }],
    ];
    for (const messages of conversations) {
      const expected = new Template(cfg.chat_template).render({ messages, add_generation_prompt: true, bos_token: cfg.bos_token, eos_token: cfg.eos_token, pad_token: '<unk>', unk_token: '<unk>' });
      const rendered = tok.applyChatTemplate(messages);
      expect(rendered).toBe(expected);
      expect(rendered.startsWith('<s>[INST]')).toBe(true);
      // The rendered text carries its own BOS: encoding adds no second one.
      const ids = tok.encodeInput(messages);
      expect(ids.filter((id) => id === tok.bosId).length).toBe(rendered.split('<s>').length - 1);
    }
    expect(() => tok.applyChatTemplate([{ role: 'assistant', content: 'x' }, { role: 'assistant', content: 'y' }])).toThrow(/chat template failed/);
  });

  it('reports a missing tokenizer', () => {
    expect(() => TextTokenizer.load(join(FIXTURES, 'ortq-mb-tiny-llama-gqa-int4'))).toThrow(FileNotFoundError);
  });
});
