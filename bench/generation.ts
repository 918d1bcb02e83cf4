/** Decode throughput at batch 1 and n = 8, and the n = 8 / n = 1 wall-time ratio. */
import { generate } from '../src/generation/generate.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { alternate, summarize, type BenchConfig, type Summary } from './stats.js';
import { idsOnly } from './models.js';

export interface DecodeFigures {
  model: string;
  newTokens: number;
  batch1TokensPerSec: Summary;
  batch8TokensPerSec: Summary;
  /** Wall time of n = 8 divided by n = 1 (same prompt, same new tokens), per A/B pair. */
  ratioN8toN1: Summary;
  prefillMs: Summary;
}

export async function decodeFigures(label: string, dir: string, newTokens: number, cfg: BenchConfig, threads?: number): Promise<DecodeFigures> {
  const runner = await ModelRunner.open(dir, threads ? { intraOpNumThreads: threads } : {});
  const prompt = Array.from({ length: 16 }, (_, i) => 10 + i);
  const opts = { maxNewTokens: newTokens, temperature: 1, seed: 1, stopOnEos: false };
  const prefill: number[] = [];
  const run = async (n: number) => {
    const r = await generate(runner, idsOnly, prompt, { ...opts, n });
    prefill.push(r.timing.prefillMs);
    return r;
  };
  const { a, b, ratio } = await alternate(() => run(8), () => run(1), cfg);
  await runner.release();
  return {
    model: label,
    newTokens,
    batch1TokensPerSec: summarize(b.map((ms) => (newTokens / ms) * 1000)),
    batch8TokensPerSec: summarize(a.map((ms) => ((8 * newTokens) / ms) * 1000)),
    ratioN8toN1: summarize(ratio),
    prefillMs: summarize(prefill),
  };
}
