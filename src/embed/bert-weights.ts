/**
 * Float32 access to the weights of a BERT checkpoint stored as safetensors
 * (F32, F16 or BF16; converted to float32 on read). Names follow Hugging Face
 * `BertModel`; checkpoints saved from a task head carry a `bert.` prefix,
 * which is accepted too.
 */
import { CorruptFileError, ShapeMismatchError } from '../errors.js';
import { SafetensorsFile } from '../files/safetensors.js';

export interface BertWeightSource {
  /** The tensor `name` as float32, checked against `shape`. */
  read(name: string, shape: readonly number[]): Float32Array;
}

export class SafetensorsBertWeights implements BertWeightSource {
  readonly file: SafetensorsFile;
  private readonly prefix: string;

  constructor(path: string) {
    this.file = SafetensorsFile.open(path);
    this.prefix = this.file.get('embeddings.word_embeddings.weight') ? '' : this.file.get('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
  }

  read(name: string, shape: readonly number[]): Float32Array {
    const full = this.prefix + name;
    const entry = this.file.get(full);
    if (!entry) throw new CorruptFileError(this.file.path, `BERT weight "${full}" not found`);
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeMismatchError(`${this.file.path}: "${full}" has shape [${entry.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return this.file.readFloat32(full);
  }
}
