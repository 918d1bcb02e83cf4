/**
 * Extraction throughput: pairs/s of extractVector (mean-diff at one site,
 * held-out separability included), and its time divided by bare forward
 * passes over the same token sequences in the same batches.
 *
 *   npx tsx bench/extraction.ts [--runs=5] [--smollm2]
 *
 * runs it standalone on the default model and (with --smollm2) on the
 * SmolLM2-135M shape, random init, given the default model's tokenizer (its
 * 2048 ids fit the 49,152-token vocabulary) so the same pairs encode.
 */
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../src/builder/index.js';
import { manifestPath } from '../src/hooks/manifest.js';
import { defaultModelDir, resolveDefaultCheckpoint } from '../src/model/default-model.js';
import { SMOLLM2_135M, benchDir } from './models.js';
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

/** The SmolLM2-135M shape with the default model's tokenizer (random init, every hook site). */
async function smollm2Tokenized(): Promise<string> {
  const dir = join(benchDir(), 'smollm2-135m-tok-hooked');
  if (existsSync(manifestPath(dir))) return dir;
  const cfg = join(benchDir(), 'smollm2-135m-tok-config');
  mkdirSync(cfg, { recursive: true });
  writeFileSync(join(cfg, 'config.json'), JSON.stringify(SMOLLM2_135M, null, 2));
  const tiny = await resolveDefaultCheckpoint();
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join(tiny, f), join(cfg, f));
  await buildModel(cfg, dir, { randomInit: { seed: 0 }, force: true });
  return dir;
}

async function main(): Promise<void> {
  const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5);
  const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
  line({ uptime: execSync('uptime').toString().trim() });
  line(await extractionFigures('tinystories-656k', await defaultModelDir(), { warmup: 1, runs }));
  if (process.argv.includes('--smollm2')) line(await extractionFigures('smollm2-135m shape (random init, default tokenizer)', await smollm2Tokenized(), { warmup: 1, runs }));
  line({ uptime: execSync('uptime').toString().trim() });
}

if (process.argv[1]?.endsWith('extraction.ts')) {
  main().catch((err: unknown) => {
    process.stderr.write(`extraction bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
