/**
 * Text ⇄ token ids for a model directory: `tokenizer.json` through
 * @huggingface/tokenizers, the chat template through @huggingface/jinja, and
 * special tokens (BOS, EOS, pad) from the config files.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers';
import { CorruptFileError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { readJsonFile } from '../files/fs.js';

/** A chat message; roles are usually system, user and assistant. */
export interface ChatMessage { role: string; content: string }

/**
 * The part of @huggingface/tokenizers' Tokenizer this module uses. Its bundled
 * declarations use extensionless relative imports that NodeNext resolution
 * cannot follow, so the class is typed here.
 */
interface Tokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
}
const TokenizerCtor = HfTokenizerClass as unknown as new (json: object, config: object) => Tokenizer;

type TokenSpec = string | { content?: string } | null | undefined;

interface TokenizerConfig {
  chat_template?: string | { name: string; template: string }[];
  bos_token?: TokenSpec;
  eos_token?: TokenSpec;
  pad_token?: TokenSpec;
  unk_token?: TokenSpec;
  add_bos_token?: boolean;
  model_max_length?: number;
  [key: string]: unknown;
}

function tokenText(spec: TokenSpec): string | undefined {
  if (!spec) return undefined;
  return typeof spec === 'string' ? spec : spec.content;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function optionalJson(path: string): Record<string, unknown> | undefined {
  return existsSync(path) ? readJsonFile<Record<string, unknown>>(path) : undefined;
}

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly config: TokenizerConfig;
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly bosId?: number;
  /** Every id that ends generation (from generation_config, config and tokenizer_config). */
  readonly eosIds: readonly number[];
  readonly padId?: number;
  readonly chatTemplate?: string;
  private readonly template?: Template;

  private constructor(tokenizer: Tokenizer, config: TokenizerConfig, extra: { generation?: Record<string, unknown>; model?: Record<string, unknown> }) {
    this.tokenizer = tokenizer;
    this.config = config;
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    const id = (t?: string) => (t === undefined ? undefined : tokenizer.token_to_id(t));
    this.bosId = idList(extra.generation?.bos_token_id)[0] ?? idList(extra.model?.bos_token_id)[0] ?? id(this.bosToken);
    const eos = new Set<number>([...idList(extra.generation?.eos_token_id), ...idList(extra.model?.eos_token_id)]);
    const eosFromConfig = id(this.eosToken);
    if (eosFromConfig !== undefined) eos.add(eosFromConfig);
    this.eosIds = [...eos];
    this.padId = idList(extra.generation?.pad_token_id)[0] ?? id(tokenText(config.pad_token)) ?? this.eosIds[0];
    const tpl = config.chat_template;
    this.chatTemplate = typeof tpl === 'string' ? tpl : Array.isArray(tpl) ? tpl.find((t) => t.name === 'default')?.template ?? tpl[0]?.template : undefined;
    if (this.chatTemplate) this.template = new Template(this.chatTemplate);
  }

  /** Loads the tokenizer files of a model directory. */
  static load(dir: string): TextTokenizer {
    const tokPath = join(dir, 'tokenizer.json');
    if (!existsSync(tokPath)) throw new FileNotFoundError(tokPath, 'tokenizer.json');
    const tokenizerJson = readJsonFile<Record<string, unknown>>(tokPath);
    const config = (optionalJson(join(dir, 'tokenizer_config.json')) ?? {}) as TokenizerConfig;
    const specialMap = optionalJson(join(dir, 'special_tokens_map.json')) ?? {};
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const) {
      if (config[key] === undefined && specialMap[key] !== undefined) config[key] = specialMap[key];
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new TokenizerCtor(tokenizerJson, config);
    } catch (err) {
      throw new CorruptFileError(tokPath, `cannot build a tokenizer (${(err as Error).message})`, { cause: err });
    }
    return new TextTokenizer(tokenizer, config, {
      generation: optionalJson(join(dir, 'generation_config.json')),
      model: optionalJson(join(dir, 'config.json')),
    });
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  get hasChatTemplate(): boolean { return this.template !== undefined; }

  /** Renders messages with the model's chat template. */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.template) throw new InvalidArgumentError('this model has no chat template; pass a plain prompt instead of messages');
    try {
      return this.template.render({
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? true,
        bos_token: this.bosToken ?? '',
        eos_token: this.eosToken ?? '',
        pad_token: tokenText(this.config.pad_token) ?? '',
        unk_token: tokenText(this.config.unk_token) ?? '',
      });
    } catch (err) {
      throw new InvalidArgumentError(`chat template failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Token ids for a prompt or chat. A rendered chat template already carries
   * its special tokens, so it is encoded without adding more.
   */
  encodeInput(input: string | readonly ChatMessage[]): number[] {
    if (typeof input === 'string') return this.encode(input);
    return this.encode(this.applyChatTemplate(input), { addSpecialTokens: false });
  }
}

