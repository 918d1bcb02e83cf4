/** Embeddings: all-MiniLM-L6-v2 as an ONNX BERT encoder, and pooled policy activations. */
export { MiniLMEmbedder, minilmPackageFiles, embeddingModelFilesIn, type MiniLMOptions, type EmbeddingBatch, type EmbeddingModelFiles } from './minilm.js';
export { buildBertGraph, BERT_IO } from './bert-graph.js';
export { parseBertConfig, readBertConfig, type BertConfig } from './bert-config.js';
export { SafetensorsBertWeights, type BertWeightSource } from './bert-weights.js';
export { captureResponseActivations, type ResponseActivations, type ResponseInput, type ResponseActivationOptions } from './response-activations.js';
