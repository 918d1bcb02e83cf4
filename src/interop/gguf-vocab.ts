/**
 * A Hugging Face tokenizer (tokenizer.json, tokenizer_config.json) as
 * llama.cpp's `tokenizer.ggml.*` metadata, the way llama.cpp's converter
 * writes it:
 *
 * - SentencePiece-style BPE (byte_fallback, `▁` for spaces; Llama 2,
 *   TinyStories, Mistral): `tokenizer.ggml.model = "llama"` with tokens,
 *   scores and token types. llama.cpp's SPM tokenizer merges the adjacent
 *   pair with the highest score, so each token's score is minus the rank of
 *   the merge that makes it (0 for tokens no merge makes): llama.cpp then
 *   merges in the BPE's own order. (The converter's tokenizer.json path
 *   writes −1000 for every token, which loses that order.)
 * - Byte-level BPE (GPT-2 style; Qwen2, Llama 3): `"gpt2"` with tokens, token
 *   types and merges; the pre-tokenizer name comes from the architecture
 *   (`qwen2`), else `default`.
 *
 * Token types follow the converter: BYTE for `<0xXX>`, CONTROL for special
 * added tokens, USER_DEFINED for other added tokens, UNKNOWN for the unk
 * token, NORMAL otherwise; vocabularies shorter than the model's embedding
 * are padded with `[PADn]` tokens of type UNUSED.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, UnsupportedArchitectureError } from '../errors.js';
import { readJsonFile } from '../files/fs.js';
import { meta, type GgufValue } from '../gguf/index.js';

export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

type Json = Record<string, unknown>;

export interface GgufVocab {
  kind: 'llama' | 'gpt2';
  tokens: string[];
  types: Int32Array;
  /** SPM only. */
  scores?: Float32Array;
  /** BPE only, "left right". */
  merges?: string[];
  metadata: [string, GgufValue][];
}

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  const o = obj(v);
  return typeof o?.content === 'string' ? o.content : undefined;
}

function mergePair(m: unknown, path: string): [string, string] {
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
  if (typeof m === 'string') {
    const at = m.indexOf(' ', 1);
    if (at > 0) return [m.slice(0, at), m.slice(at + 1)];
  }
  throw new CorruptFileError(path, `malformed BPE merge ${JSON.stringify(m)}`);
}

function isByteLevel(t: Json): boolean {
  const has = (node: unknown): boolean => {
    const o = obj(node);
    if (!o) return false;
    if (o.type === 'ByteLevel') return true;
    const list = o.pretokenizers ?? o.decoders;
    return Array.isArray(list) && list.some(has);
  };
  return has(t.pre_tokenizer) || has(t.decoder);
}

/** Reads the tokenizer of a model directory as GGUF metadata for `vocabSize` embedding rows. */
export function ggufVocab(dir: string, vocabSize: number, options: { architecture: string; config: Json }): GgufVocab {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) throw new UnsupportedArchitectureError(`${dir} has no tokenizer.json: a GGUF model needs its vocabulary (llama.cpp tokenizes with it)`);
  const tok = readJsonFile<Json>(path, 'tokenizer');
  const model = obj(tok.model);
  const vocab = obj(model?.vocab);
  if (!model || model.type !== 'BPE' || !vocab) {
    throw new UnsupportedArchitectureError(`${path}: only BPE tokenizers are exported to GGUF (got ${JSON.stringify(model?.type ?? null)})`);
  }
  const cfgPath = join(dir, 'tokenizer_config.json');
  const tcfg = existsSync(cfgPath) ? readJsonFile<Json>(cfgPath, 'tokenizer config') : {};
  const byteLevel = isByteLevel(tok);
  if (!byteLevel && model.byte_fallback !== true) {
    throw new UnsupportedArchitectureError(`${path}: a BPE tokenizer that is neither byte-level nor SentencePiece-style (byte_fallback) has no llama.cpp equivalent`);
  }

  const tokens: (string | undefined)[] = [];
  for (const [text, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new CorruptFileError(path, `token ${JSON.stringify(text)} has id ${JSON.stringify(id)}`);
    tokens[id] = text;
  }
  const special = new Set<number>();
  const added = new Set<number>();
  for (const a of Array.isArray(tok.added_tokens) ? tok.added_tokens : []) {
    const o = obj(a);
    if (!o || typeof o.id !== 'number' || typeof o.content !== 'string') continue;
    tokens[o.id] = o.content;
    added.add(o.id);
    if (o.special === true) special.add(o.id);
  }
  if (tokens.length > vocabSize) throw new CorruptFileError(path, `the tokenizer has ${tokens.length} tokens, the model's embedding only ${vocabSize} rows`);
  const ids = new Map<string, number>();
  const list: string[] = [];
  const types = new Int32Array(vocabSize);
  const unk = typeof model.unk_token === 'string' ? model.unk_token : undefined;
  for (let i = 0; i < vocabSize; i++) {
    const t = tokens[i];
    if (t === undefined) { list.push(`[PAD${i}]`); types[i] = TokenType.UNUSED; continue; }
    list.push(t);
    ids.set(t, i);
    types[i] = /^<0x[0-9A-Fa-f]{2}>$/.test(t) && !byteLevel ? TokenType.BYTE
      : t === unk ? TokenType.UNKNOWN
        : special.has(i) ? TokenType.CONTROL
          : added.has(i) ? TokenType.USER_DEFINED : TokenType.NORMAL;
  }

  const merges = (Array.isArray(model.merges) ? model.merges : []).map((m) => mergePair(m, path));
  const metadata: [string, GgufValue][] = [];
  const result: GgufVocab = { kind: byteLevel ? 'gpt2' : 'llama', tokens: list, types, metadata };
  if (byteLevel) {
    result.merges = merges.map(([a, b]) => `${a} ${b}`);
    metadata.push(['tokenizer.ggml.model', meta.string('gpt2')]);
    metadata.push(['tokenizer.ggml.pre', meta.string(options.architecture === 'Qwen2ForCausalLM' ? 'qwen2' : 'default')]);
  } else {
    const scores = new Float32Array(vocabSize);
    merges.forEach(([a, b], rank) => {
      const id = ids.get(a + b);
      if (id !== undefined && scores[id] === 0) scores[id] = -(rank + 1);
    });
    result.scores = scores;
    metadata.push(['tokenizer.ggml.model', meta.string('llama')]);
    metadata.push(['tokenizer.ggml.pre', meta.string('default')]);
  }
  metadata.push(['tokenizer.ggml.tokens', meta.array('string', list)]);
  if (result.scores) metadata.push(['tokenizer.ggml.scores', meta.array('float32', result.scores)]);
  metadata.push(['tokenizer.ggml.token_type', meta.array('int32', types)]);
  if (result.merges) metadata.push(['tokenizer.ggml.merges', meta.array('string', result.merges)]);

  const idOf = (key: string, configKey: string): number | undefined => {
    const text = tokenText(tcfg[key]);
    const id = text !== undefined ? ids.get(text) : undefined;
    if (id !== undefined) return id;
    const fromCfg = options.config[configKey];
    return typeof fromCfg === 'number' && Number.isInteger(fromCfg) && fromCfg >= 0 && fromCfg < vocabSize ? fromCfg : undefined;
  };
  const specials: [string, number | undefined][] = [
    ['bos', idOf('bos_token', 'bos_token_id')],
    ['eos', idOf('eos_token', 'eos_token_id')],
    ['unknown', unk !== undefined ? ids.get(unk) : undefined],
    ['padding', idOf('pad_token', 'pad_token_id')],
  ];
  for (const [name, id] of specials) if (id !== undefined) metadata.push([`tokenizer.ggml.${name}_token_id`, meta.uint32(id)]);
  if (typeof tcfg.add_bos_token === 'boolean') metadata.push(['tokenizer.ggml.add_bos_token', meta.bool(tcfg.add_bos_token)]);
  if (typeof tcfg.add_eos_token === 'boolean') metadata.push(['tokenizer.ggml.add_eos_token', meta.bool(tcfg.add_eos_token)]);
  if (typeof tcfg.add_prefix_space === 'boolean') metadata.push(['tokenizer.ggml.add_space_prefix', meta.bool(tcfg.add_prefix_space)]);
  const jinja = join(dir, 'chat_template.jinja');
  const template = typeof tcfg.chat_template === 'string' ? tcfg.chat_template : existsSync(jinja) ? readFileSync(jinja, 'utf8') : undefined;
  if (template !== undefined) metadata.push(['tokenizer.chat_template', meta.string(template)]);
  return result;
}
