/**
 * Extraction throughput: pairs/s of extractVector (mean-diff at one site,
 * held-out separability included), and its time divided by bare forward
 * passes over the same token sequences in the same batches.
 */
import { join } from 'node:path';
import { HookedModel } from '../src/model/hooked-model.js';
import { encodePairs } from '../src/pairs/encode.js';
import { extractVector } from '../src/vectors/extract.js';
import { loadPairs } from '../src/pairs/pairs.js';
import { parseReadPosition } from '../src/vectors/positions.js';
import { shippedDir } from '../src/vectors/shipped.js';
import { alternate, summarize, type BenchConfig, type Summary } from './stats.js';

export interface ExtractionFigures {
  model: string;
  pairs: number;
  pairsPerSec: Summary;
  /** extract time ÷ bare forward time over the same sequences (target ≤ 1.2). */
  ratio: Summary;
}

export async function extractionFigures(label: string, dir: string, cfg: BenchConfig): Promise<ExtractionFigures> {
  const model = await HookedModel.load(dir);
  const dataset = loadPairs(join(shippedDir(), 'joy.pairs.jsonl'));
  const site = 'blocks.0.hook_resid_post';
  const extract = () => extractVector(model, dataset, { method: 'mean-diff', read: parseReadPosition('mean'), sites: [site], recommend: false });
  // The same sequences, in the same batches of 16, through plain forward passes.
  const bare = async () => {
    const seqs = encodePairs(model, dataset).flatMap((p) => [p.pos.ids, p.neg.ids]);
    for (let i = 0; i < seqs.length; i += 16) {
      const chunk = seqs.slice(i, i + 16);
      const L = Math.max(...chunk.map((s) => s.length));
      const ids = chunk.flatMap((s) => Array.from({ length: L }, (_, t) => s[Math.min(t, s.length - 1)] ?? 0));
      await model.runner.forward({ ids, batch: chunk.length, seqLen: L, cache: model.runner.emptyCache(chunk.length) });
    }
  };
  const { a, ratio } = await alternate(extract, bare, cfg);
  await model.dispose();
  return { model: label, pairs: dataset.pairs.length, pairsPerSec: summarize(a.map((ms) => (dataset.pairs.length / ms) * 1000)), ratio: summarize(ratio) };
}
