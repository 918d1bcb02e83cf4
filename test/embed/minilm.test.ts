/**
 * all-MiniLM-L6-v2 as an ONNX graph, checked three ways:
 *  1. against a second implementation (bert-reference.ts: float64 typed-array
 *     BERT, unpadded, one sentence at a time) on hidden states and embeddings;
 *  2. against the similarities published by sentence-transformers for this
 *     model (README quick start and the semantic-similarity docs example);
 *     the package ships fp16 weights, so agreement is to ~1e-3, not exact;
 *  3. on behaviour: unit norm, paraphrases closer than unrelated sentences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBertConfig } from '../../src/embed/bert-config.js';
import { BERT_IO } from '../../src/embed/bert-graph.js';
import { SafetensorsBertWeights } from '../../src/embed/bert-weights.js';
import { MiniLMEmbedder, minilmPackageFiles, type EmbeddingBatch } from '../../src/embed/minilm.js';
import { cosineMatrix } from '../../src/utilities/cosine.js';
import { minilmUtility } from '../../src/utilities/kinds/embedding.js';
import { bertReference } from './bert-reference.js';

let embedder: MiniLMEmbedder;
beforeAll(async () => { embedder = await MiniLMEmbedder.load({ intraOpNumThreads: 1 }); }, 60_000);
afterAll(async () => { await embedder?.dispose(); });

function row(b: EmbeddingBatch, i: number): Float32Array {
  return b.data.subarray(i * b.dim, (i + 1) * b.dim);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

// [anchor, paraphrase, unrelated]
const TRIPLES: [string, string, string][] = [
  ['The cat is sleeping on the sofa.', 'A cat naps on the couch.', 'Interest rates rose again this quarter.'],
  ['He bought a new car yesterday.', 'Yesterday he purchased a new automobile.', 'The soup needs more salt.'],
  ['The weather is cold and rainy today.', "It's chilly and wet outside today.", 'She plays the violin in an orchestra.'],
  ['I am very hungry.', 'I really want to eat something.', 'The bridge was built in 1890.'],
  ['The children played in the park.', 'Kids were playing at the park.', 'The server crashed during the update.'],
  ['How do I reset my password?', 'What is the way to change my forgotten password?', 'Penguins live in the southern hemisphere.'],
  ['The movie was boring and too long.', 'The film was dull and dragged on.', 'Add two eggs to the flour.'],
  ['She is a doctor at the city hospital.', 'She works as a physician in the town hospital.', 'The train leaves at noon.'],
  ['The little dog was sad and cried.', 'The small puppy felt unhappy and wept.', 'Mountains are covered with snow in winter.'],
  ['The stock market fell sharply.', 'Share prices dropped steeply.', 'My grandmother knits warm scarves.'],
  ['Please close the window.', 'Could you shut the window?', 'Jupiter is the largest planet.'],
  ['Once upon a time there was a happy girl.', 'Long ago there lived a cheerful girl.', 'The invoice is due next Tuesday.'],
];

describe('MiniLM embeddings', () => {
  it('agree with a float64 typed-array BERT (hidden states and embeddings, padding included)', async () => {
    const files = await minilmPackageFiles();
    const cfg = readBertConfig(files.configPath);
    const weights = new SafetensorsBertWeights(files.weightsPath);
    const texts = ['The quick brown fox jumps over the lazy dog near the river bank.', 'Hi there!'];
    const seqs = texts.map((t) => embedder.tokenize(t));
    expect(seqs[1]!.length).toBeLessThan(seqs[0]!.length); // row 1 is padded in the batch
    const out = await embedder.forward(seqs, [BERT_IO.embedding, BERT_IO.lastHidden]);
    const emb = out[BERT_IO.embedding]!.data as Float32Array;
    const hidden = out[BERT_IO.lastHidden]!.data as Float32Array;
    const L = seqs[0]!.length;
    const H = cfg.hiddenSize;
    let maxEmb = 0;
    let maxHidden = 0;
    seqs.forEach((ids, r) => {
      const ref = bertReference(cfg, weights, ids);
      for (let h = 0; h < H; h++) maxEmb = Math.max(maxEmb, Math.abs(emb[r * H + h]! - ref.embedding[h]!));
      for (let i = 0; i < ids.length * H; i++) maxHidden = Math.max(maxHidden, Math.abs(hidden[r * L * H + i]! - ref.hidden[i]!));
    });
    expect(maxEmb).toBeLessThan(1e-4);
    expect(maxHidden).toBeLessThan(1e-4);
  }, 60_000);

  it('reproduces the similarities sentence-transformers publishes for all-MiniLM-L6-v2', async () => {
    // README quick start: [[1, 0.6660, 0.1046], [0.6660, 1, 0.1411], [0.1046, 0.1411, 1]]
    const m = cosineMatrix(await embedder.embed(["The weather is lovely today.", "It's so sunny outside!", 'He drove to the stadium.']));
    expect(Math.abs(m[1]! - 0.666)).toBeLessThan(1e-3);
    expect(Math.abs(m[2]! - 0.1046)).toBeLessThan(1e-3);
    expect(Math.abs(m[5]! - 0.1411)).toBeLessThan(1e-3);
    // semantic textual similarity example: 0.2838, −0.0327, 0.6571
    const pairs: [string, string, number][] = [
      ['The cat sits outside', 'The dog plays in the garden', 0.2838],
      ['A man is playing guitar', 'A woman watches TV', -0.0327],
      ['The movies are awesome', 'The new movie is so great', 0.6571],
    ];
    for (const [a, b, expected] of pairs) {
      const e = await embedder.embed([a, b]);
      expect(Math.abs(dot(row(e, 0), row(e, 1)) - expected)).toBeLessThan(1e-3);
    }
  });

  it('are unit norm and place paraphrases closer than unrelated sentences', async () => {
    const texts = TRIPLES.flat();
    const e = await embedder.embed(texts);
    for (let i = 0; i < texts.length; i++) expect(Math.abs(Math.sqrt(dot(row(e, i), row(e, i))) - 1)).toBeLessThan(1e-5);
    TRIPLES.forEach((_, k) => {
      const [a, p, u] = [row(e, 3 * k), row(e, 3 * k + 1), row(e, 3 * k + 2)];
      expect(dot(a, p)).toBeGreaterThan(dot(a, u) + 0.2);
    });
  });

  it('gives the same embedding alone and in a padded, reordered batch', async () => {
    const texts = ['short', 'a much longer sentence that needs padding for the others', 'medium length one'];
    const batch = await embedder.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const alone = await embedder.embed([texts[i]!]);
      let d = 0;
      for (let h = 0; h < batch.dim; h++) d = Math.max(d, Math.abs(row(batch, i)[h]! - alone.data[h]!));
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('truncates long inputs to 256 tokens ([CLS] … [SEP])', async () => {
    const long = 'word '.repeat(1000);
    const ids = embedder.tokenize(long);
    expect(ids.length).toBe(256);
    expect(ids[0]).toBe(101);
    expect(ids[255]).toBe(102);
    const e = await embedder.embed([long, '']);
    expect(Math.sqrt(dot(row(e, 0), row(e, 0)))).toBeCloseTo(1, 5);
    expect(Math.sqrt(dot(row(e, 1), row(e, 1)))).toBeCloseTo(1, 5); // the empty text is [CLS][SEP]
  });

  it('the graph uses standard ONNX ops only', async () => {
    const { buildBertGraph } = await import('../../src/embed/bert-graph.js');
    const files = await minilmPackageFiles();
    const g = buildBertGraph(readBertConfig(files.configPath), new SafetensorsBertWeights(files.weightsPath));
    expect(g.graph!.node.every((n) => !n.domain)).toBe(true);
    expect(g.opsetImport).toEqual([{ domain: '', version: 17 }]);
  });

  it('backs the minilm utility', async () => {
    const u = minilmUtility(embedder);
    const items = TRIPLES[0]!.map((response) => ({ response }));
    const m = await u.matrix(items);
    expect(m[0]).toBeCloseTo(1, 5);
    expect(m[1]).toBeGreaterThan(m[2]!);
    expect(m[3]).toBe(m[1]);
  });
});
