/** GGUF v3 containers: a strict reader and a streaming atomic writer. */
export * from './types.js';
export { readGguf, parseGguf, readGgufTensorBytes, metadataOf, type GgufFile, type GgufTensorInfo } from './reader.js';
export {
  GgufWriter, writeGguf, layoutGguf, f32Bytes,
  type GgufTensorSpec, type GgufTensorInput, type PlannedTensor, type GgufLayout, type GgufMetadataInput, type GgufWriterOptions,
} from './writer.js';
