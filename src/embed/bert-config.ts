/**
 * The subset of a Hugging Face BERT `config.json` that an encoder forward pass
 * needs, validated. Only absolute position embeddings and the exact (erf)
 * GELU are supported: that is what BERT and all-MiniLM-L6-v2 use.
 */
import { InvalidDataError, UnsupportedArchitectureError } from '../errors.js';
import { readJsonFile } from '../files/fs.js';

export interface BertConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
}

function positiveInt(raw: Record<string, unknown>, key: string, path: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new InvalidDataError(`${path}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Parses and validates a BERT config object (`path` only names it in errors). */
export function parseBertConfig(raw: Record<string, unknown>, path = 'config.json'): BertConfig {
  const type = raw.model_type;
  if (type !== undefined && type !== 'bert') throw new UnsupportedArchitectureError(`${path}: model_type ${JSON.stringify(type)} is not a BERT encoder`);
  const act = raw.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new UnsupportedArchitectureError(`${path}: hidden_act ${JSON.stringify(act)} is not supported (only the exact erf "gelu")`);
  const pos = raw.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') throw new UnsupportedArchitectureError(`${path}: position_embedding_type ${JSON.stringify(pos)} is not supported (only "absolute")`);
  const hiddenSize = positiveInt(raw, 'hidden_size', path);
  const numHeads = positiveInt(raw, 'num_attention_heads', path);
  if (hiddenSize % numHeads !== 0) throw new InvalidDataError(`${path}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  const eps = raw.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) throw new InvalidDataError(`${path}: "layer_norm_eps" must be a positive number`);
  return {
    hiddenSize,
    numLayers: positiveInt(raw, 'num_hidden_layers', path),
    numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: positiveInt(raw, 'intermediate_size', path),
    vocabSize: positiveInt(raw, 'vocab_size', path),
    maxPositions: positiveInt(raw, 'max_position_embeddings', path),
    typeVocabSize: positiveInt(raw, 'type_vocab_size', path),
    layerNormEps: eps,
  };
}

export function readBertConfig(path: string): BertConfig {
  return parseBertConfig(readJsonFile<Record<string, unknown>>(path, 'BERT config'), path);
}

/** Safetensors names of the weights of layer `i` (HF BertModel naming, with or without a `bert.` prefix). */
export function bertLayerNames(i: number): Record<'q' | 'k' | 'v' | 'o' | 'attnLn' | 'up' | 'down' | 'outLn', string> {
  const p = `encoder.layer.${i}`;
  return {
    q: `${p}.attention.self.query`,
    k: `${p}.attention.self.key`,
    v: `${p}.attention.self.value`,
    o: `${p}.attention.output.dense`,
    attnLn: `${p}.attention.output.LayerNorm`,
    up: `${p}.intermediate.dense`,
    down: `${p}.output.dense`,
    outLn: `${p}.output.LayerNorm`,
  };
}

export const BERT_EMBEDDINGS = {
  word: 'embeddings.word_embeddings.weight',
  position: 'embeddings.position_embeddings.weight',
  tokenType: 'embeddings.token_type_embeddings.weight',
  ln: 'embeddings.LayerNorm',
} as const;
