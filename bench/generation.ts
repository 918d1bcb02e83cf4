/** Prefill and decode throughput, and the n = 8 / n = 1 wall-time ratio. */
import { generate } from '../src/generation/generate.js';
import { ModelRunner } from '../src/runtime/runner.js';
import type { SessionOptions } from '../src/runtime/session.js';
import { alternate, summarize, timeRuns, type BenchConfig, type Summary } from './stats.js';
import { idsOnly } from './models.js';

export interface DecodeFigures {
  model: string;
  newTokens: number;
  threads: number | 'default';
  batch1TokensPerSec: Summary;
  /** All rows' tokens per second at n = 8. */
  batch8TokensPerSec: Summary;
  /** Wall time of n = 8 ÷ n = 1 (same prompt and new tokens), per A/B pair. */
  ratioN8toN1: Summary;
}

const PROMPT = Array.from({ length: 16 }, (_, i) => 10 + i);

export async function decodeFigures(label: string, dir: string, newTokens: number, cfg: BenchConfig, session: SessionOptions = {}): Promise<DecodeFigures> {
  const runner = await ModelRunner.open(dir, session);
  const opts = { maxNewTokens: newTokens, temperature: 1, seed: 1, stopOnEos: false };
  const run = (n: number) => () => generate(runner, idsOnly, PROMPT, { ...opts, n });
  const { a, b, ratio } = await alternate(run(8), run(1), cfg);
  await runner.release();
  return {
    model: label,
    newTokens,
    threads: session.intraOpNumThreads ?? 'default',
    batch1TokensPerSec: summarize(b.map((ms) => (newTokens / ms) * 1000)),
    batch8TokensPerSec: summarize(a.map((ms) => ((8 * newTokens) / ms) * 1000)),
    ratioN8toN1: summarize(ratio),
  };
}

export interface PrefillFigures { model: string; promptTokens: number; tokensPerSec: Summary }

export async function prefillFigures(label: string, dir: string, promptTokens: number, cfg: BenchConfig): Promise<PrefillFigures> {
  const runner = await ModelRunner.open(dir);
  const ids = Array.from({ length: promptTokens }, (_, i) => 10 + (i % 500));
  const times = await timeRuns(() => runner.forward({ ids, batch: 1, seqLen: promptTokens, cache: runner.emptyCache(1) }), cfg);
  await runner.release();
  return { model: label, promptTokens, tokensPerSec: summarize(times.map((ms) => (promptTokens / ms) * 1000)) };
}

export interface ThreadScaling { model: string; newTokens: number; oneThreadTokensPerSec: Summary; twoThreadsTokensPerSec: Summary; speedup: Summary }

export async function threadScaling(label: string, dir: string, newTokens: number, cfg: BenchConfig): Promise<ThreadScaling> {
  const one = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  const two = await ModelRunner.open(dir, { intraOpNumThreads: 2 });
  const opts = { maxNewTokens: newTokens, temperature: 0, stopOnEos: false };
  const { a, b, ratio } = await alternate(() => generate(two, idsOnly, PROMPT, opts), () => generate(one, idsOnly, PROMPT, opts), cfg);
  await one.release();
  await two.release();
  return {
    model: label,
    newTokens,
    oneThreadTokensPerSec: summarize(b.map((ms) => (newTokens / ms) * 1000)),
    twoThreadsTokensPerSec: summarize(a.map((ms) => (newTokens / ms) * 1000)),
    speedup: summarize(ratio.map((r) => 1 / r)),
  };
}
